//! Elbo::TraceEnum: a discrete latent per row summed out exactly. With an exact guide (or
//! none, for a model-side sum) the ELBO of a mixture with known parameters is its log
//! evidence; a mixture with unknown means fits without score-function noise; what cannot be
//! enumerated is a named error.

use ppl_core::{Ctx, Data};
use ppl_dist::testkit::{t1, t2, tolerance};
use ppl_dist::{inference_suite, Bernoulli, Categorical, Constraint, Normal, Poisson, RngKey};
use ppl_infer::elbo::{Batch, Objective, ObjectiveInput, TraceEnumElbo};
use ppl_infer::TrainingBackend;
use ppl_infer::{model_fn, Elbo, InferError, Svi, SviConfig};

inference_suite!(
    enumerated_elbo_of_a_known_mixture_is_its_log_evidence,
    enumerated_mixture_recovers_component_means,
    what_cannot_be_enumerated_is_a_named_error,
    later_evaluations_skip_the_plain_run_and_give_the_same_estimate,
    partially_observed_rows_take_their_known_value,
);

/// Mixture weights and means, and six points.
const WEIGHTS: [f64; 3] = [0.2, 0.5, 0.3];
const MEANS: [f64; 3] = [-3.0, 0.0, 2.5];
const X: [f64; 6] = [-2.7, -0.4, 0.3, 2.2, 3.1, -1.4];

fn normal_pdf(x: f64, m: f64) -> f64 {
    (-(x - m) * (x - m) / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// p(c = k | x) for each point, and ln p(x).
fn exact() -> (Vec<f64>, f64) {
    let mut posterior = Vec::new();
    let mut log_evidence = 0.0;
    for x in X {
        let joint: Vec<f64> = (0..3).map(|k| WEIGHTS[k] * normal_pdf(x, MEANS[k])).collect();
        let evidence: f64 = joint.iter().sum();
        posterior.extend(joint.iter().map(|j| j / evidence));
        log_evidence += evidence.ln();
    }
    (posterior, log_evidence)
}

/// c ~ Categorical(w), x | c ~ N(m_c, 1), every parameter known.
fn known_mixture<B: TrainingBackend>(ctx: &mut Ctx<B>) {
    let weights = t2::<B>(&WEIGHTS, 1, 3, ctx.device());
    let means = t1::<B>(&MEANS, ctx.device());
    ctx.datamodel(|ctx| {
        let c = ctx.sample("c", Categorical::new(weights));
        let dims = c.dims();
        let idx = c.int().reshape([dims[0]]);
        ctx.sample("x", Normal::new(means.select(0, idx).reshape([dims[0], 1]), 1.0));
    });
}

fn enumerated_elbo_of_a_known_mixture_is_its_log_evidence<B: TrainingBackend>(dev: &B::Device) {
    let model = model_fn(known_mixture::<B>);
    let (posterior, log_evidence) = exact();
    let x = t2::<B>(&X, X.len(), 1, dev);
    let key = RngKey::new(3);
    let estimate = |guide: &dyn Fn(&mut Ctx<B>), data: &Data<B>| {
        let input = ObjectiveInput::new(&model, &guide, Batch::new(data, X.len()), &key, dev);
        TraceEnumElbo::new(1).estimate(input).unwrap().elbo
    };
    let tol = tolerance::<B>(log_evidence, 40.0, 1e-10);
    // No guide for c: summed out of the model, ln Σ_k p(x, c = k) per row.
    let data = Data::new().with("x", x.clone());
    let elbo = estimate(&|_: &mut Ctx<B>| {}, &data);
    assert!(
        (elbo - log_evidence).abs() < tol,
        "model-side sum {elbo} vs ln p(x) {log_evidence}"
    );
    // The exact posterior q(c | x) = p(c | x), bound per row as data: the ELBO is ln p(x)
    // (KL 0); a uniform q is below it.
    let with_q = |probs: &[f64]| data.clone().with("q", t2::<B>(probs, X.len(), 3, dev));
    let guide = |ctx: &mut Ctx<B>| {
        ctx.datamodel(|ctx| {
            let probs = ctx.data::<2>("q");
            ctx.sample("c", Categorical::new(probs));
        });
    };
    let elbo = estimate(&guide, &with_q(&posterior));
    assert!(
        (elbo - log_evidence).abs() < tol,
        "exact guide {elbo} vs ln p(x) {log_evidence}"
    );
    let uniform = estimate(&guide, &with_q(&[1.0 / 3.0; 18]));
    assert!(
        uniform < log_evidence - 0.1,
        "uniform guide {uniform} vs ln p(x) {log_evidence}"
    );
    // The posterior over c per row (infer_discrete) is p(c | x).
    let config = SviConfig {
        progress: false,
        ..Default::default()
    };
    let svi = Svi::new(model, model_fn(|_: &mut Ctx<B>| {}), config, dev);
    let (site, probs) = svi.enumerated_posterior(&data).unwrap();
    assert_eq!((site.as_str(), probs.dims()), ("c", [X.len(), 3]));
    for (got, want) in ppl_dist::testkit::host(probs).iter().zip(&posterior) {
        assert!(
            (got - want).abs() < tolerance::<B>(*want, 10.0, 1e-12),
            "{got} vs {want}"
        );
    }
}

fn enumerated_mixture_recovers_component_means<B: TrainingBackend>(dev: &B::Device) {
    // As tests/infer_suite/discrete.rs (20 points at ±2, σ = 0.5), with the assignment summed
    // out of the model: no guide for c, no score-function noise, a tenth of the steps.
    let x = crate::discrete::two_cluster_points();
    let n = x.len();
    let p = crate::discrete::two_component_mixture::<B>;
    let q = crate::discrete::component_means_guide::<B>;
    let config = SviConfig {
        epochs: 200,
        batch_size: n,
        shuffle: false,
        lr: 0.05,
        elbo: Elbo::TraceEnum { particles: 1 },
        progress: false,
        seed: 1,
        ..Default::default()
    };
    let mut svi = Svi::from_fns(p, q, config, dev);
    let data = Data::new().with("x", t1::<B>(&x, dev));
    svi.fit(&data).unwrap();
    crate::discrete::assert_component_means(&svi.param("mu.loc").unwrap().to_vec());
    // The ELBO estimate sums the assignments out too (the guide has no `c`).
    let estimate = svi.estimate_elbo(&data, 8).unwrap();
    assert!(estimate.mean.is_finite() && estimate.draws == 8, "{estimate:?}");
}

fn what_cannot_be_enumerated_is_a_named_error<B: TrainingBackend>(dev: &B::Device) {
    let data = Data::new().with("x", t1::<B>(&[1.0, 2.0], dev));
    let config = SviConfig {
        epochs: 1,
        batch_size: 2,
        elbo: Elbo::TraceEnum { particles: 1 },
        progress: false,
        ..Default::default()
    };
    let expect = |e: InferError, needles: &[&str]| {
        assert!(
            matches!(&e, InferError::Config(m) if needles.iter().all(|n| m.contains(n))),
            "{e}"
        );
    };
    // Two discrete sites in one plate.
    expect(
        fit_error(&config, &data, dev, |ctx: &mut Ctx<B>| {
            ctx.datamodel(|ctx| {
                let a = ctx.sample("a", Bernoulli::new(ctx.full([1], 0.5)));
                let b = ctx.sample("b", Bernoulli::new(ctx.full([1], 0.5)));
                ctx.sample("x", Normal::new(a + b, 1.0));
            });
        }),
        &["`a`", "`b`", "one discrete site"],
    );
    // An infinite support.
    expect(
        fit_error(&config, &data, dev, |ctx: &mut Ctx<B>| {
            ctx.datamodel(|ctx| {
                let k = ctx.sample("k", Poisson::new(ctx.full([1], 2.0)));
                ctx.sample("x", Normal::new(k, 1.0));
            });
        }),
        &["`k`", "Poisson", "finite support"],
    );
    // A global discrete latent.
    expect(
        fit_error(&config, &data, dev, |ctx: &mut Ctx<B>| {
            let s = ctx.sample("switch", Bernoulli::new(ctx.full([1], 0.5)));
            ctx.datamodel(|ctx| {
                ctx.sample("x", Normal::new(s, 1.0));
            });
        }),
        &["`switch`", "outside the data plate"],
    );
}

/// The error of fitting `p` (with an empty guide) on `data`.
fn fit_error<B: TrainingBackend, F: Fn(&mut Ctx<B>) + Clone + Send + Sync + 'static>(
    config: &SviConfig,
    data: &Data<B>,
    dev: &B::Device,
    p: F,
) -> InferError {
    let mut svi = Svi::new(model_fn(p), model_fn(|_: &mut Ctx<B>| {}), config.clone(), dev);
    svi.fit(data).unwrap_err()
}

fn later_evaluations_skip_the_plain_run_and_give_the_same_estimate<B: TrainingBackend>(dev: &B::Device) {
    // After the first evaluation the estimator knows the site for data of this layout and
    // skips the plain run; the estimates (value and gradient) equal a fresh estimator's, bit
    // for bit. A model whose site changes with the data values (same layout) is caught and
    // evaluated from a plain run again.
    let model = model_fn(|ctx: &mut Ctx<B>| {
        let mu = ctx.sample("mu", Normal::new(ctx.zeros([1]), 5.0));
        let positive = ppl_dist::testkit::host(ctx.data::<2>("x").sum())[0] > 0.0;
        ctx.datamodel(|ctx| {
            let c = ctx.sample(if positive { "c" } else { "d" }, Bernoulli::new(ctx.full([1, 1], 0.4)));
            ctx.sample("x", Normal::new(c * 3.0 + mu.clone().unsqueeze::<2>(), 1.0));
        });
    });
    let guide = model_fn(|ctx: &mut Ctx<B>| {
        let loc = ctx.param("loc", ctx.full([1], 0.2), Constraint::Real);
        ctx.sample("mu", Normal::new(loc, 0.7));
    });
    let data = |x: &[f64]| Data::new().with("x", t2::<B>(x, x.len(), 1, dev));
    let run = |elbo: &mut TraceEnumElbo, data: &Data<B>, seed: u64| {
        let key = RngKey::new(seed);
        let est = elbo
            .estimate(ObjectiveInput::new(&model, &guide, Batch::new(data, 4), &key, dev))
            .unwrap();
        let g = est.surrogate_loss.backward();
        let grad = ppl_dist::testkit::host(est.params.unconstrained("loc").unwrap().grad(&g).unwrap())[0];
        (est.elbo.to_bits(), grad.to_bits(), est.traces.1.contains("c"))
    };
    let (a, b) = (data(&[0.5, 3.2, -0.3, 2.9]), data(&[-0.5, -3.2, 0.3, -2.9]));
    let mut warm = TraceEnumElbo::new(2);
    run(&mut warm, &a, 1);
    for seed in 2..5 {
        assert_eq!(run(&mut warm, &a, seed), run(&mut TraceEnumElbo::new(2), &a, seed));
    }
    // Same layout, other site: the known site is not there, the plain run finds `d`.
    let got = run(&mut warm, &b, 7);
    assert_eq!(got, run(&mut TraceEnumElbo::new(2), &b, 7));
    assert!(!got.2, "`d` was enumerated");
    // A guide that has the site (q(c) weights the values): no plain run at all once known.
    let guide_c = model_fn(|ctx: &mut Ctx<B>| {
        let loc = ctx.param("loc", ctx.full([1], 0.2), Constraint::Real);
        ctx.sample("mu", Normal::new(loc, 0.7));
        let logit = ctx.param("logit", ctx.zeros([1, 1]), Constraint::Real);
        ctx.datamodel(|ctx| {
            ctx.sample("c", Bernoulli::from_logits(logit));
        });
    });
    let run_c = |elbo: &mut TraceEnumElbo, seed: u64| {
        let key = RngKey::new(seed);
        let est = elbo
            .estimate(ObjectiveInput::new(&model, &guide_c, Batch::new(&a, 4), &key, dev))
            .unwrap();
        let g = est.surrogate_loss.backward();
        let grad = ppl_dist::testkit::host(est.params.unconstrained("logit").unwrap().grad(&g).unwrap())[0];
        (est.elbo.to_bits(), grad.to_bits())
    };
    let mut warm = TraceEnumElbo::new(1);
    run_c(&mut warm, 1);
    assert_eq!(run_c(&mut warm, 2), run_c(&mut TraceEnumElbo::new(1), 2));
}

fn partially_observed_rows_take_their_known_value<B: TrainingBackend>(dev: &B::Device) {
    // Labels known for rows 0, 1 and 3 (row 1's, 2, is unlikely for x = −0.4): a known row's
    // term is ln p(x, c = its label), an unknown row's ln Σ_k p(x, c = k), with no guide for c
    // and with the exact posterior as guide in the unknown rows (whatever q says in the
    // known ones); the guide's logits of known rows get no gradient; infer_discrete returns
    // the known labels; a sampled objective and malformed labels are named errors.
    let model = model_fn(known_mixture::<B>);
    let (posterior, _) = exact();
    let labels = [0.0, 2.0, 0.0, 2.0, 0.0, 0.0];
    let known = [1.0, 1.0, 0.0, 1.0, 0.0, 0.0];
    let mut expected = 0.0;
    for (r, x) in X.iter().enumerate() {
        let joint = |k: usize| WEIGHTS[k] * normal_pdf(*x, MEANS[k]);
        expected += if known[r] == 1.0 {
            joint(labels[r] as usize).ln()
        } else {
            (0..3).map(joint).sum::<f64>().ln()
        };
    }
    let data = Data::new().with("x", t2::<B>(&X, X.len(), 1, dev)).with_partial(
        "c",
        t1::<B>(&labels, dev),
        t1::<B>(&known, dev),
    );
    let key = RngKey::new(5);
    let tol = tolerance::<B>(expected, 40.0, 1e-10);
    let estimate = |guide: &dyn Fn(&mut Ctx<B>), data: &Data<B>| {
        let input = ObjectiveInput::new(&model, &guide, Batch::new(data, X.len()), &key, dev);
        TraceEnumElbo::new(1).estimate(input)
    };
    let elbo = estimate(&|_: &mut Ctx<B>| {}, &data).unwrap().elbo;
    assert!((elbo - expected).abs() < tol, "model-side sum {elbo} vs {expected}");
    // q(c | x): the exact posterior in unknown rows, uniform in known ones, as learnable
    // log-probabilities.
    let q: Vec<f64> = (0..X.len() * 3)
        .map(|i| if known[i / 3] == 1.0 { 1.0 / 3.0 } else { posterior[i] }.ln())
        .collect();
    let guide = move |ctx: &mut Ctx<B>| {
        let table = ctx.param("logits", t2::<B>(&q, X.len(), 3, ctx.device()), Constraint::Real);
        ctx.datamodel(|ctx| {
            // Each row's own logits: its one-hot row index times the table.
            let logits = ctx.data::<2>("row").matmul(table);
            ctx.sample("c", Categorical::from_logits(logits));
        });
    };
    let rows: Vec<f64> = (0..X.len() * X.len())
        .map(|i| f64::from(i / X.len() == i % X.len()))
        .collect();
    let with_rows = data.clone().with("row", t2::<B>(&rows, X.len(), X.len(), dev));
    let est = estimate(&guide.clone(), &with_rows).unwrap();
    assert!(
        (est.elbo - expected).abs() < tol,
        "exact guide {} vs {expected}",
        est.elbo
    );
    let grads = est.surrogate_loss.backward();
    let g = ppl_dist::testkit::host(est.params.unconstrained("logits").unwrap().grad(&grads).unwrap());
    for (r, row) in g.chunks(3).enumerate() {
        if known[r] == 1.0 {
            assert!(row.iter().all(|&v| v == 0.0), "known row {r} has gradient {row:?}");
        }
    }
    // infer_discrete: the known rows hold their label; the others p(c | x).
    let config = SviConfig {
        progress: false,
        ..Default::default()
    };
    let svi = Svi::new(
        model_fn(known_mixture::<B>),
        model_fn(|_: &mut Ctx<B>| {}),
        config.clone(),
        dev,
    );
    let (_, probs) = svi.enumerated_posterior(&data).unwrap();
    for (i, got) in ppl_dist::testkit::host(probs).iter().enumerate() {
        let (r, k) = (i / 3, i % 3);
        let want = if known[r] == 1.0 {
            f64::from(labels[r] as usize == k)
        } else {
            posterior[i]
        };
        assert!(
            (got - want).abs() < tolerance::<B>(want, 10.0, 1e-12),
            "row {r}, value {k}: {got} vs {want}"
        );
    }
    // Minibatches of 3 rows slice the labels and the mask with the points: each step's loss
    // is −(N/M)·(its rows' terms), so the epoch's mean is −(every row's terms).
    let mut svi = Svi::new(
        model_fn(known_mixture::<B>),
        model_fn(|_: &mut Ctx<B>| {}),
        SviConfig {
            epochs: 1,
            batch_size: 3,
            shuffle: false,
            elbo: Elbo::TraceEnum { particles: 1 },
            ..config.clone()
        },
        dev,
    );
    let report = svi.fit(&data).unwrap();
    assert_eq!(report.steps, 2);
    let loss = report.epoch_losses[0];
    assert!(
        (loss + expected).abs() < tol,
        "minibatched epoch loss {loss} vs {}",
        -expected
    );
    // A sampled objective would draw c in the known rows too: refused, naming the site.
    let trace = |config: &SviConfig| {
        let mut svi = Svi::new(model_fn(known_mixture::<B>), model_fn(guide), config.clone(), dev);
        svi.step(&with_rows, X.len()).unwrap_err().to_string()
    };
    let err = trace(&SviConfig {
        elbo: Elbo::Trace { particles: 1 },
        ..config.clone()
    });
    assert!(err.contains("`c`") && err.contains("partially observed"), "{err}");
    // Malformed labels: a label outside 0..3, a mask entry that is not 0/1.
    let bad = |labels: &[f64], known: &[f64]| {
        let data = Data::new().with("x", t2::<B>(&X, X.len(), 1, dev)).with_partial(
            "c",
            t1::<B>(labels, dev),
            t1::<B>(known, dev),
        );
        estimate(&|_: &mut Ctx<B>| {}, &data).unwrap_err().to_string()
    };
    let err = bad(&[0.0, 3.0, 0.0, 2.0, 0.0, 0.0], &known);
    assert!(
        err.contains("`c`") && err.contains("row 1") && err.contains("0..3"),
        "{err}"
    );
    let err = bad(&labels, &[1.0, 0.5, 0.0, 1.0, 0.0, 0.0]);
    assert!(
        err.contains("`c`") && err.contains("row 1") && err.contains("0.5"),
        "{err}"
    );
    // Malformed bindings: labels of the wrong shape for an index site, a mask of another
    // length, and a guide reading the labels at the wrong rank.
    let two_columns: Vec<f64> = labels.iter().flat_map(|&l| [l, 0.0]).collect();
    let data = Data::new().with("x", t2::<B>(&X, X.len(), 1, dev)).with_partial(
        "c",
        t2::<B>(&two_columns, X.len(), 2, dev),
        t1::<B>(&known, dev),
    );
    let err = estimate(&|_: &mut Ctx<B>| {}, &data).unwrap_err().to_string();
    assert!(err.contains("`c`") && err.contains("[6, 2]"), "{err}");
    let short = bad(&labels, &known[..5]);
    assert!(
        short.contains("site `c`") && short.contains("has 6 values and 5 known-rows entries"),
        "{short}"
    );
    let rank_guide = |ctx: &mut Ctx<B>| {
        ctx.datamodel(|ctx| {
            let _ = ctx.partial_data::<2>("c");
        });
    };
    let err = estimate(&rank_guide, &data_with_labels(&labels, &known, dev))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`c`") && err.contains("actual [6]") && err.contains("rank-2"),
        "the values' shape, not the mask's: {err}"
    );
}

/// The six points with `c` partially observed (`labels` where `known` is 1).
fn data_with_labels<B: TrainingBackend>(labels: &[f64], known: &[f64], dev: &B::Device) -> Data<B> {
    Data::new()
        .with("x", t2::<B>(&X, X.len(), 1, dev))
        .with_partial("c", t1::<B>(labels, dev), t1::<B>(known, dev))
}

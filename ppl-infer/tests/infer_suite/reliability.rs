//! Issue 15: no silent wrong answers, no lost state. `fit` minibatches only the `datamodel`
//! plate's data; bound data nothing reads is an error; a diverging update is undone; errors
//! inside networks name the program, the site and the data; queries return guide errors;
//! an offending observed row is named; evaluations record no autodiff graph.

use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use ppl_core::{Ctx, Data, Model};
use ppl_dist::testkit::t1;
use ppl_dist::{Bernoulli, Binomial, Categorical, Constraint, HalfNormal, Normal, RngKey};
use ppl_infer::TrainingBackend;
use ppl_infer::{model_fn, AutoNormal, Elbo, InferError, LrSchedule, NonFinitePolicy, Svi, SviConfig};

ppl_dist::inference_suite!(
    unused_data_is_an_error_that_names_the_typo,
    autoguides_say_which_sites_they_fit,
    divergence_keeps_the_last_good_parameters,
    errors_inside_networks_name_program_site_and_data,
    posterior_predictive_returns_guide_errors,
    non_finite_observations_name_the_row_and_value,
);

/// The statistical checks (fits, many draws): NdArray f32 only with `slow-tests`.
mod fits {
    use super::*;
    ppl_dist::statistical_suite!(
        baseball_with_default_settings_recovers_per_player_means,
        data_read_outside_the_data_plate_is_passed_whole,
        evaluations_record_no_autodiff_graph,
    );
}

/// Efron & Morris (1975): hits in the first 45 at-bats of 18 players, 1970 season.
const HITS: [f64; 18] = [
    18.0, 17.0, 16.0, 15.0, 14.0, 14.0, 13.0, 12.0, 11.0, 11.0, 10.0, 10.0, 10.0, 10.0, 10.0, 9.0, 8.0, 7.0,
];
const AT_BATS: f64 = 45.0;

/// Logit-normal partial pooling: loc ~ N(−1, 1), scale ~ HalfNormal(1),
/// θ_j ~ N(loc, scale), hits_j ~ Binomial(45, sigmoid θ_j), in a named plate.
fn baseball<B: Backend>(ctx: &mut Ctx<B>) {
    let loc = ctx.sample("loc", Normal::new(ctx.full([1], -1.0), 1.0));
    let scale = ctx.sample("scale", HalfNormal::new(ctx.ones([1])));
    ctx.plate(&ppl_core::FixedPlate::new("players", HITS.len()), |ctx| {
        let theta = ctx.sample("theta", Normal::new(loc, scale));
        ctx.sample("hits", Binomial::from_logits(AT_BATS, theta));
    });
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// `∫ f(θ) w(θ) dθ / ∫ w(θ) dθ` on a fine grid over [lo, hi] (log-weights for stability).
fn grid_mean(lo: f64, hi: f64, log_w: impl Fn(f64) -> f64, f: impl Fn(f64) -> f64) -> f64 {
    let n = 2_000;
    let xs: Vec<f64> = (0..=n).map(|i| lo + (hi - lo) * i as f64 / n as f64).collect();
    let lw: Vec<f64> = xs.iter().map(|&x| log_w(x)).collect();
    let max = lw.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let (mut num, mut den) = (0.0, 0.0);
    for (x, l) in xs.iter().zip(&lw) {
        let w = (l - max).exp();
        num += w * f(*x);
        den += w;
    }
    num / den
}

/// Ranks with ties averaged (for Spearman's correlation).
fn ranks(v: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        for k in i..=j {
            r[idx[k]] = (i + j) as f64 / 2.0;
        }
        i = j + 1;
    }
    r
}

fn spearman(a: &[f64], b: &[f64]) -> f64 {
    let (ra, rb) = (ranks(a), ranks(b));
    let n = a.len() as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let cov: f64 = ra.iter().zip(&rb).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = ra.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = rb.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

fn baseball_with_default_settings_recovers_per_player_means<B: TrainingBackend>(dev: &B::Device) {
    // Default SviConfig (shuffle on, batch 128): the hits belong to the "players" plate, not
    // to a datamodel, so fit must pass them whole and in order at every step. Before the
    // fix every player got the same estimate (rank correlation with the hits ≈ 0).
    let data = Data::new().with("hits", t1::<B>(&HITS, dev));
    let guide = AutoNormal::new(&baseball::<B>, &data, dev).unwrap();
    let config = SviConfig {
        // One step per epoch (no datamodel rows); the learning rate decays 0.03 → 0.0003
        // so that Adam's noise settles.
        epochs: 3000,
        lr: 0.03,
        schedule: LrSchedule::Exponential {
            gamma: 0.01f64.powf(1.0 / 3000.0),
        },
        progress: false,
        elbo: Elbo::Trace { particles: 8 },
        seed: 3,
        ..Default::default()
    };
    assert!(config.shuffle, "the default shuffles");
    let mut svi = Svi::new(model_fn(baseball::<B>), guide, config, dev);
    svi.fit(&data).unwrap();
    let m = svi.param("theta.loc").unwrap().to_vec();
    let s = svi.param("theta.scale").unwrap().to_vec();
    // Per-player posterior mean of the batting average under the guide: E_q[sigmoid θ_j].
    let normal_lw = |mu: f64, sd: f64| move |x: f64| -0.5 * ((x - mu) / sd).powi(2);
    let svi_means: Vec<f64> = (0..HITS.len())
        .map(|j| grid_mean(m[j] - 8.0 * s[j], m[j] + 8.0 * s[j], normal_lw(m[j], s[j]), sigmoid))
        .collect();
    let rho = spearman(&svi_means, &HITS);
    assert!(
        rho > 0.9,
        "rank correlation with the hits {rho:.3}; means {svi_means:?}"
    );
    // Reference: exact quadrature per player given the hyper-parameters,
    // E[sigmoid θ_j | y_j, loc, scale] with p(θ_j | y_j, loc, scale) ∝ N(θ_j | loc, scale) ·
    // Binomial(y_j | 45, sigmoid θ_j), averaged over 200 seeded draws of (loc, scale) from
    // the fitted guide (the mean-field guide's q(θ_j) approximates that mixture).
    let (ll, ls) = (
        svi.param("loc.loc").unwrap().to_vec()[0],
        svi.param("loc.scale").unwrap().to_vec()[0],
    );
    let (sl, ss) = (
        svi.param("scale.loc").unwrap().to_vec()[0],
        svi.param("scale.scale").unwrap().to_vec()[0],
    );
    let mut key = RngKey::new(11);
    let (e1, e2) = (key.standard_normal(200), key.standard_normal(200));
    for (j, &y) in HITS.iter().enumerate() {
        let exact = (0..200)
            .map(|d| {
                let (loc, scale) = (ll + ls * e1[d], (sl + ss * e2[d]).exp());
                let log_post = |t: f64| -0.5 * ((t - loc) / scale).powi(2) + y * t - AT_BATS * t.exp().ln_1p();
                grid_mean(loc - 10.0 * scale, loc + 10.0 * scale, log_post, sigmoid)
            })
            .sum::<f64>()
            / 200.0;
        assert!(
            (svi_means[j] - exact).abs() < 0.01,
            "player {j} ({y} hits): SVI {:.4}, exact given the hyper-parameters {exact:.4}",
            svi_means[j]
        );
    }
}

fn data_read_outside_the_data_plate_is_passed_whole<B: TrainingBackend>(dev: &B::Device) {
    // `offset` has as many rows as the data plate but is read at top level: it must reach
    // the model whole and in order at every step, never shuffled or sliced.
    let model = |ctx: &mut Ctx<B>| {
        let offset = ctx.data::<1>("offset").mean().reshape([1]);
        let mu = ctx.sample("mu", Normal::new(offset * 0.0, 1.0));
        ctx.datamodel(|ctx| {
            ctx.sample("x", Normal::new(mu, 1.0));
        });
    };
    let guide = |ctx: &mut Ctx<B>| {
        let loc = ctx.param("loc", ctx.zeros([1]), Constraint::Real);
        ctx.sample("mu", Normal::new(loc, 1.0));
    };
    let x: Vec<f64> = (0..10).map(|i| i as f64 * 0.1).collect();
    let offset: Vec<f64> = (0..10).map(|i| 100.0 + i as f64).collect();
    let data = Data::new()
        .with("x", t1::<B>(&x, dev))
        .with("offset", t1::<B>(&offset, dev));
    let config = SviConfig {
        epochs: 2,
        batch_size: 3,
        progress: false,
        ..Default::default()
    };
    // A checking model: fails the run unless it sees the whole offset in order.
    let checked = move |ctx: &mut Ctx<B>| {
        let offset = ctx.data::<1>("offset").to_data().iter::<f64>().collect::<Vec<_>>();
        assert_eq!(offset.len(), 10, "offset passed whole");
        assert_eq!(offset[0], 100.0, "offset in its order");
        model(ctx)
    };
    let mut svi = Svi::from_fns(checked, guide, config.clone(), dev);
    let report = svi.fit(&data).unwrap();
    assert_eq!(
        report.steps,
        2 * 4,
        "x is still minibatched: 4 batches of ≤ 3 rows per epoch"
    );
    // Read both inside and outside the data plate: an error that says what to do.
    let both = |ctx: &mut Ctx<B>| {
        let _ = ctx.data::<1>("x");
        let mu = ctx.sample("mu", Normal::new(ctx.zeros([1]), 1.0));
        ctx.datamodel(|ctx| {
            ctx.sample("x", Normal::new(mu, 1.0));
        });
    };
    let mut svi = Svi::from_fns(both, guide, config.clone(), dev);
    let e = svi.fit(&Data::new().with("x", t1::<B>(&x, dev))).unwrap_err();
    assert!(
        matches!(&e, InferError::Config(m) if m.contains("`x`") && m.contains("with_whole")),
        "{e}"
    );
    // A whole entry with its own length (a lookup table) next to the rows.
    let table = move |ctx: &mut Ctx<B>| {
        let t = ctx.data::<1>("table");
        assert_eq!(t.dims(), [4]);
        let mu = ctx.sample("mu", Normal::new(ctx.zeros([1]), 1.0));
        ctx.datamodel(|ctx| {
            ctx.sample("x", Normal::new(mu, 1.0));
        });
    };
    let mut svi = Svi::from_fns(table, guide, config, dev);
    let d = Data::new()
        .with("x", t1::<B>(&x, dev))
        .with_whole("table", t1::<B>(&[1.0, 2.0, 3.0, 4.0], dev));
    svi.fit(&d).unwrap();
}

fn regression<B: Backend>(ctx: &mut Ctx<B>) {
    let w = ctx.sample("w", Normal::new(ctx.zeros([1]), 1.0));
    let b = ctx.sample("b", Normal::new(ctx.zeros([1]), 1.0));
    ctx.datamodel(|ctx| {
        let x = ctx.data::<1>("x");
        ctx.sample("y", Normal::new(x * w + b, 0.5));
    });
}

fn regression_data<B: Backend>(y_name: &str, dev: &B::Device) -> Data<B> {
    let x: Vec<f64> = (0..20).map(|i| i as f64 / 10.0 - 1.0).collect();
    let y: Vec<f64> = x.iter().map(|x| 1.5 * x + 0.5).collect();
    Data::new().with("x", t1::<B>(&x, dev)).with(y_name, t1::<B>(&y, dev))
}

/// A mean-field guide for `regression`: `{w,b}.loc` from 0, softplus `{w,b}.scale` from 0.5.
fn regression_guide<B: Backend>(ctx: &mut Ctx<B>) {
    for name in ["w", "b"] {
        let loc = ctx.param(&format!("{name}.loc"), ctx.zeros([1]), Constraint::Real);
        let scale = ctx.param(&format!("{name}.scale"), ctx.full([1], 0.5), Constraint::Positive);
        ctx.sample(name, Normal::new(loc, scale));
    }
}

fn unused_data_is_an_error_that_names_the_typo<B: TrainingBackend>(dev: &B::Device) {
    let typo = regression_data::<B>("yy", dev);
    // A hand-written guide: the first step names the unused entry and the site it meant.
    let guide = |ctx: &mut Ctx<B>| {
        for name in ["w", "b"] {
            let loc = ctx.param(&format!("{name}.loc"), ctx.zeros([1]), Constraint::Real);
            ctx.sample(name, Normal::new(loc, 0.1));
        }
    };
    let config = SviConfig {
        epochs: 3,
        progress: false,
        ..Default::default()
    };
    let mut svi = Svi::from_fns(regression::<B>, guide, config.clone(), dev);
    let e = svi.fit(&typo).unwrap_err();
    let msg = e.to_string();
    assert!(
        matches!(&e, InferError::UnusedData { names, sites, .. } if names == &["yy"] && sites.contains(&"y".to_string())),
        "{e}"
    );
    assert!(msg.contains("`yy` looks like the site `y`"), "{msg}");
    assert_eq!(svi.steps(), 0);
    // `step` checks too.
    let e = svi.step(&typo, 20).unwrap_err();
    assert!(matches!(e, InferError::UnusedData { .. }), "{e}");
    // With an autoguide the typo would make `y` a fitted latent: building the guide fails.
    let e = AutoNormal::new(&regression::<B>, &typo, dev).unwrap_err();
    assert!(e.to_string().contains("`yy` looks like the site `y`"), "{e}");
    // Opting out: an extra entry is accepted.
    let extra = regression_data::<B>("y", dev).with("notes", t1::<B>(&[0.0; 20], dev));
    let mut svi = Svi::from_fns(
        regression::<B>,
        guide,
        SviConfig {
            allow_unused_data: true,
            ..config
        },
        dev,
    );
    svi.fit(&extra).unwrap();
}

fn autoguides_say_which_sites_they_fit<B: TrainingBackend>(dev: &B::Device) {
    let data = regression_data::<B>("y", dev);
    let guide = AutoNormal::new(&regression::<B>, &data, dev).unwrap();
    assert_eq!(guide.latents(), ["w", "b"]);
    let notice = Model::<B>::notice(&guide).unwrap();
    assert!(
        notice.contains("AutoNormal") && notice.contains("[\"w\", \"b\"]"),
        "{notice}"
    );
    // A discrete latent is never auto-guided.
    let discrete = |ctx: &mut Ctx<B>| {
        ctx.sample("c", Bernoulli::new(ctx.full([1], 0.3)));
    };
    let e = AutoNormal::new(&discrete, &Data::new(), dev).unwrap_err();
    assert!(
        e.to_string().contains("`c`") && e.to_string().contains("discrete"),
        "{e}"
    );
}

fn divergence_keeps_the_last_good_parameters<B: TrainingBackend>(dev: &B::Device) {
    // Adam at lr 1e6 moves every parameter by ~1e6 in one step: the scale's unconstrained
    // value goes to −1e6, softplus gives 0, and the next step's Normal is invalid.
    let guide = regression_guide::<B>;
    let data = regression_data::<B>("y", dev);
    let config = SviConfig {
        epochs: 10,
        batch_size: 20,
        lr: 1e6,
        progress: false,
        ..Default::default()
    };
    let mut svi = Svi::from_fns(regression::<B>, guide, config.clone(), dev);
    svi.step(&data, 20).unwrap();
    // The parameters before that update (as created by the first step's guide run).
    let initial: Vec<f64> = [0.0, 0.5, 0.0, 0.5]
        .iter()
        .map(|v| ppl_dist::testkit::round::<B>(*v))
        .collect();
    let e = svi.step(&data, 20).unwrap_err();
    assert!(
        matches!(
            &e,
            InferError::InvalidParameter {
                step: 1,
                restored_to_step: Some(0),
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        e.to_string().contains("were undone") || e.to_string().contains("was undone"),
        "{e}"
    );
    let now: Vec<f64> = ["w.loc", "w.scale", "b.loc", "b.scale"]
        .iter()
        .map(|n| svi.param(n).unwrap().to_vec()[0])
        .collect();
    for (a, b) in now.iter().zip(&initial) {
        assert!(
            (a - b).abs() <= 1e-6 * (a.abs() + b.abs()).max(1.0),
            "{now:?} vs {initial:?}"
        );
    }
    assert_eq!(
        (svi.steps(), svi.losses().len()),
        (0, 0),
        "back to the state before step 0"
    );
    // Under Skip every other step diverges: fit undoes them and fails as too many skipped.
    let mut svi = Svi::from_fns(
        regression::<B>,
        guide,
        SviConfig {
            non_finite: NonFinitePolicy::Skip,
            ..config
        },
        dev,
    );
    let e = svi.fit(&data).unwrap_err();
    assert!(matches!(&e, InferError::TooManySkipped { steps: 10, .. }), "{e}");
    for n in ["w.loc", "w.scale", "b.loc", "b.scale"] {
        let v = svi.param(n).unwrap().to_vec()[0];
        assert!(v.is_finite() && (!n.ends_with("scale") || v > 0.0), "{n} = {v}");
    }
    // The state is usable: a step at a sane learning rate works from here.
    assert!(svi.evaluate(&data, 20, &RngKey::new(1)).unwrap().elbo.is_finite());
}

fn zeros<B: Backend>(shape: [usize; 2], dev: &B::Device) -> Tensor<B, 2> {
    Tensor::zeros(shape, ppl_dist::param::float_options::<B>(dev))
}

#[derive(Module, Debug)]
struct Encoder<B: Backend> {
    net: Linear<B>,
}

impl<B: Backend> Model<B> for Encoder<B> {
    fn model(&self, ctx: &mut Ctx<B>) {
        ctx.datamodel(|ctx| {
            let out = self.net.forward(ctx.data::<2>("x"));
            ctx.sample("z", Normal::new(out, 1.0));
        });
    }
}

impl<B: Backend> ppl_infer::VariationalFamily<B> for Encoder<B> {}

#[derive(Module, Debug)]
struct Decoder<B: Backend> {
    net: Linear<B>,
}

impl<B: Backend> Model<B> for Decoder<B> {
    fn model(&self, ctx: &mut Ctx<B>) {
        ctx.datamodel(|ctx| {
            let z = ctx.sample("z", Normal::new(ctx.zeros([1, 2]), 1.0));
            ctx.sample("x", Normal::new(self.net.forward(z), 1.0));
        });
    }
}

fn errors_inside_networks_name_program_site_and_data<B: TrainingBackend>(dev: &B::Device) {
    // A 19-wide x fed to an encoder built for 20 inputs.
    let q = Encoder {
        net: ppl_nn::linear(20, 2, 1, dev),
    };
    let p = Decoder {
        net: ppl_nn::linear(2, 19, 2, dev),
    };
    let config = SviConfig {
        progress: false,
        ..Default::default()
    };
    let mut svi = Svi::new(p, q, config, dev);
    let x = zeros::<B>([8, 19], dev);
    let e = svi.fit(&Data::new().with("x", x)).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("the guide panicked") && msg.contains("before its first site") && msg.contains("x [8, 19]"),
        "{msg}"
    );
    assert!(
        msg.to_lowercase().contains("matmul") || msg.contains("matrix"),
        "burn's message kept: {msg}"
    );
}

fn posterior_predictive_returns_guide_errors<B: TrainingBackend>(dev: &B::Device) {
    let q = Encoder {
        net: ppl_nn::linear(3, 2, 1, dev),
    };
    let p = Decoder {
        net: ppl_nn::linear(2, 3, 2, dev),
    };
    let config = SviConfig {
        progress: false,
        ..Default::default()
    };
    let mut svi = Svi::new(p, q, config, dev);
    svi.fit(&Data::new().with("x", zeros::<B>([8, 3], dev))).unwrap();
    // The guide fails on a 4-wide x: that error comes back (it used to be dropped, and z
    // silently came from the prior).
    let e = svi
        .posterior_predictive(&["x"], &Data::new().with("x", zeros::<B>([5, 4], dev)))
        .unwrap_err();
    assert!(e.to_string().contains("the guide panicked"), "{e}");
    // Given z itself, the guide is not needed.
    let z = Data::new().with("z", zeros::<B>([5, 2], dev));
    let q = svi.posterior_predictive(&["x"], &z).unwrap();
    assert_eq!(q.sample("x").unwrap().dims(), [5, 3]);
    // Neither z nor the guide's input: z would come from the prior, which is an error.
    let only_other = svi.posterior_predictive(&["x"], &Data::new().with("w", zeros::<B>([5, 2], dev)));
    assert!(
        matches!(&only_other, Err(InferError::UnmatchedSite { site, detail }) if site == "z" && detail.contains("prior")),
        "{only_other:?}"
    );
}

fn non_finite_observations_name_the_row_and_value<B: TrainingBackend>(dev: &B::Device) {
    let model = |ctx: &mut Ctx<B>| {
        let w = ctx.sample("w", Normal::new(ctx.zeros([1, 3]), 1.0));
        ctx.datamodel(|ctx| {
            ctx.sample("y", Categorical::from_logits(w));
        });
    };
    let guide = |ctx: &mut Ctx<B>| {
        let loc = ctx.param("loc", ctx.zeros([1, 3]), Constraint::Real);
        ctx.sample("w", Normal::new(loc, 0.1));
    };
    let config = SviConfig {
        progress: false,
        ..Default::default()
    };
    let mut svi = Svi::from_fns(model, guide, config.clone(), dev);
    let labels = Tensor::<B, 1, burn::tensor::Int>::from_ints([0, 1, 2, 5, 1], dev);
    let e = svi.fit(&Data::new().with("y", labels)).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("`y`") && msg.contains("data row 3") && msg.contains("[5]"),
        "{msg}"
    );
    // A Bernoulli observation of 0.5.
    let model = |ctx: &mut Ctx<B>| {
        let w = ctx.sample("w", Normal::new(ctx.zeros([1]), 1.0));
        ctx.datamodel(|ctx| {
            ctx.sample("y", Bernoulli::from_logits(w));
        });
    };
    let guide = |ctx: &mut Ctx<B>| {
        let loc = ctx.param("loc", ctx.zeros([1]), Constraint::Real);
        ctx.sample("w", Normal::new(loc, 0.1));
    };
    let mut svi = Svi::from_fns(model, guide, config, dev);
    let e = svi
        .fit(&Data::new().with("y", t1::<B>(&[1.0, 0.0, 0.5], dev)))
        .unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("data row 2") && msg.contains("[0.5]"), "{msg}");
}

fn evaluations_record_no_autodiff_graph<B: TrainingBackend>(dev: &B::Device) {
    // A graph recorded and never back-propagated stays registered in burn-autodiff 0.21 and
    // makes every later backward pass walk it (a step after 100 evaluations cost 28–48×).
    // The estimate's loss carries no graph, and the training state is untouched.
    let guide = regression_guide::<B>;
    let data = regression_data::<B>("y", dev);
    let config = SviConfig {
        epochs: 5,
        progress: false,
        lr: 0.05,
        ..Default::default()
    };
    let mut svi = Svi::from_fns(regression::<B>, guide, config, dev);
    svi.fit(&data).unwrap();
    let before = svi.param("w.loc").unwrap().to_vec();
    let est = svi.evaluate(&data, 20, &RngKey::new(4)).unwrap();
    assert!(
        !est.surrogate_loss.is_require_grad(),
        "evaluate recorded an autodiff graph"
    );
    assert_eq!(svi.param("w.loc").unwrap().to_vec(), before);
    // Many draws in one call: a mean with its Monte-Carlo standard error.
    let s = svi.estimate_elbo(&data, 200).unwrap();
    assert_eq!(s.draws, 200);
    assert!(
        s.mean.is_finite() && s.std_err > 0.0 && s.std_err < 0.2 * s.mean.abs(),
        "{s:?}"
    );
    let again = svi.estimate_elbo(&data, 200).unwrap();
    assert_eq!(s, again, "seeded: same estimate twice");
    // Training goes on normally.
    let steps = svi.steps();
    svi.step(&data, 20).unwrap();
    assert_eq!(svi.steps(), steps + 1);
}

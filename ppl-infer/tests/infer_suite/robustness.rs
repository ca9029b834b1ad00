//! R1, R2, R4, R5, R6, R8 and C2/C3: non-finite losses leave parameters untouched (and what
//! `Undo::Off` can and cannot undo), mismatched or duplicate sites are errors, invalid parameters reached during training name the site and
//! the step, an absurd learning rate never panics, and a seed fixes the trajectory whatever
//! runs beside it.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use ppl_core::{Ctx, Data};
use ppl_dist::testkit::t1;
use ppl_dist::{inference_suite, Constraint, Exponential, Normal};
use ppl_infer::TrainingBackend;
use ppl_infer::{
    model_fn, AutoNormal, Elbo, InferError, NonFinitePolicy, OptimizerKind, Svi, SviConfig, Undo, Validation,
};

inference_suite!(
    nan_data_stops_at_step_zero_with_parameters_unchanged,
    skip_policy_keeps_parameters_finite,
    undo_off_takes_the_same_steps,
    undo_off_never_applies_a_non_finite_gradient,
    undo_off_says_the_update_before_a_non_finite_loss_stays,
    undo_puts_back_every_bit_wherever_the_bad_step_falls,
    an_undo_the_replay_cannot_reproduce_goes_back_to_its_anchor,
    unmatched_and_duplicate_sites_are_errors,
    same_seed_same_trajectory_different_seed_different,
    invalid_parameters_inside_training_name_site_and_step,
    extreme_learning_rate_never_panics,
);

fn config(steps: usize) -> SviConfig {
    SviConfig {
        epochs: steps,
        batch_size: 8,
        lr: 0.01,
        progress: false,
        ..Default::default()
    }
}

/// R1's model: μ ~ N(0, 1), each row of `x` ~ N(μ, 1).
fn r1_model<B: TrainingBackend>(ctx: &mut Ctx<B>) {
    let mu = ctx.sample("mu", Normal::new(ctx.zeros([1]), 1.0));
    ctx.datamodel(|ctx| {
        ctx.sample("x", Normal::new(mu, 1.0));
    });
}

/// R1's guide: μ ~ N(loc, 0.5), loc starting at 0.2.
fn r1_guide<B: TrainingBackend>(ctx: &mut Ctx<B>) {
    let loc = ctx.param("loc", ctx.full([1], 0.2), Constraint::Real);
    ctx.sample("mu", Normal::new(loc, 0.5));
}

fn nan_data_stops_at_step_zero_with_parameters_unchanged<B: TrainingBackend>(dev: &B::Device) {
    // R1
    let (p, q) = (r1_model::<B>, r1_guide::<B>);
    let mut svi = Svi::from_fns(p, q, config(5), dev);
    // One finite step creates the parameter; then NaN data. A non-finite loss undoes the
    // update that led to it too (it may have produced the parameters that overflow), so the
    // state is the one before step 0's update: the initial loc, bitwise, and step 0.
    svi.step(&Data::new().with("x", t1::<B>(&[1.0, 2.0], dev)), 2).unwrap();
    let bad = Data::new().with("x", t1::<B>(&[1.0, f64::NAN], dev));
    let e = svi.step(&bad, 2).unwrap_err();
    assert!(
        matches!(&e, InferError::NonFinite { step: 1, what: "loss", site: Some(s), restored_to_step: Some(0), .. } if s == "x"),
        "{e}"
    );
    let msg = e.to_string();
    assert!(
        msg.contains("step 1") && msg.contains("`x`") && msg.contains("row 1"),
        "{msg}"
    );
    assert_eq!(
        svi.param("loc").unwrap().to_vec(),
        t1::<B>(&[0.2], dev).into_data().iter::<f64>().collect::<Vec<_>>()
    );
    assert_eq!((svi.steps(), svi.losses().len()), (0, 0));
    // At step 0 there is nothing to undo: the parameters stay bitwise unchanged.
    let before = svi.param("loc").unwrap().to_vec();
    let e = svi.step(&bad, 2).unwrap_err();
    assert!(
        matches!(
            &e,
            InferError::NonFinite {
                step: 0,
                restored_to_step: None,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(
        svi.param("loc").unwrap().to_vec(),
        before,
        "parameters bitwise unchanged"
    );
    // A fresh run fails at step 0.
    let mut svi = Svi::from_fns(p, q, config(5), dev);
    assert!(matches!(
        svi.fit(&bad).unwrap_err(),
        InferError::NonFinite { step: 0, .. }
    ));
}

fn skip_policy_keeps_parameters_finite<B: TrainingBackend>(dev: &B::Device) {
    // R2 (NumPyro test_stable_run): var ~ Exp(1), obs ~ N(0, √var), guide N(loc, 10) proposes
    // var < 0, where the model's log-density is −∞ (NaN gradients if applied).
    let p = |ctx: &mut Ctx<B>| {
        let var = ctx.sample("var", Exponential::new(ctx.ones([1])));
        ctx.datamodel(|ctx| {
            ctx.sample("obs", Normal::new_unchecked(ctx.zeros([1]), var.sqrt()));
        });
    };
    let q = |ctx: &mut Ctx<B>| {
        let loc = ctx.param("loc", ctx.zeros([1]), Constraint::Real);
        ctx.sample("var", Normal::new(loc, 10.0));
    };
    let data = Data::new().with("obs", t1::<B>(&[0.3], dev));
    let mut svi = Svi::from_fns(
        p,
        q,
        SviConfig {
            non_finite: NonFinitePolicy::Skip,
            // Half the guide's draws are negative by design: skipping is the point here.
            max_skipped_fraction: 1.0,
            ..config(200)
        },
        dev,
    );
    let report = svi.fit(&data).unwrap();
    assert!(report.skipped > 0, "some steps propose var < 0");
    assert!(svi.param("loc").unwrap().to_vec()[0].is_finite());
    // Under the default policy the run stops at the first non-finite step, naming it.
    let mut svi = Svi::from_fns(p, q, config(200), dev);
    match svi.fit(&data) {
        Err(InferError::NonFinite { step, .. }) => assert_eq!(step, svi.steps()),
        other => panic!("expected NonFinite, got {other:?}"),
    }
}

/// Every bit of a fit's parameters and losses.
fn fit_bits<B: TrainingBackend>(undo: Undo, dev: &B::Device) -> (Vec<u64>, Vec<u64>) {
    let p = |ctx: &mut Ctx<B>| {
        let mu = ctx.sample("mu", Normal::new(ctx.zeros([1]), 1.0));
        ctx.datamodel(|ctx| {
            ctx.sample("x", Normal::new(mu, 0.5));
        });
    };
    let q = |ctx: &mut Ctx<B>| {
        let loc = ctx.param("loc", ctx.full([1], 0.2), Constraint::Real);
        let scale = ctx.param("scale", ctx.full([1], 0.7), Constraint::Positive);
        ctx.sample("mu", Normal::new(loc, scale));
    };
    let data = Data::new().with("x", t1::<B>(&[1.0, 2.5, -0.5, 0.8, 1.7, 0.1, 2.2, 0.9, 1.1, 0.4], dev));
    let mut svi = Svi::from_fns(p, q, SviConfig { undo, ..config(20) }, dev);
    svi.fit(&data).unwrap();
    let mut params = svi.param("loc").unwrap().to_vec();
    params.extend(svi.param("scale").unwrap().to_vec());
    (
        params.into_iter().map(f64::to_bits).collect(),
        svi.losses().iter().map(|l| l.to_bits()).collect(),
    )
}

fn undo_off_takes_the_same_steps<B: TrainingBackend>(dev: &B::Device) {
    // Updating in place (flex's fused Adam once nothing else holds the buffers) computes the
    // same numbers as updating into new buffers: 40 steps, every bit.
    assert_eq!(fit_bits::<B>(Undo::Off, dev), fit_bits::<B>(Undo::LastUpdate, dev));
}

fn undo_off_never_applies_a_non_finite_gradient<B: TrainingBackend>(dev: &B::Device) {
    // Once `infinite` is set, the guide's mean is w + √(w − w.detach()): the same value (the
    // root of exactly 0), an infinite gradient. Checked before the update, the gradient is
    // never applied: the parameters stay bitwise, under either undo setting and policy.
    let p = |ctx: &mut Ctx<B>| {
        ctx.sample("mu", Normal::new(ctx.zeros([1]), 1.0));
    };
    for undo in [Undo::Off, Undo::LastUpdate] {
        for non_finite in [NonFinitePolicy::Error, NonFinitePolicy::Skip] {
            let infinite = Arc::new(AtomicBool::new(false));
            let flag = infinite.clone();
            let q = move |ctx: &mut Ctx<B>| {
                let w = ctx.param("w", ctx.full([1], 0.5), Constraint::Real);
                let mean = match flag.load(Ordering::Relaxed) {
                    true => w.clone() + (w.clone() - w.detach()).sqrt(),
                    false => w,
                };
                ctx.sample("mu", Normal::new(mean, 1.0));
            };
            let mut svi = Svi::from_fns(
                p,
                q,
                SviConfig {
                    undo,
                    non_finite,
                    ..config(3)
                },
                dev,
            );
            svi.step(&Data::new(), 1).unwrap();
            let after_one = svi.param("w").unwrap().to_vec();
            infinite.store(true, Ordering::Relaxed);
            match (non_finite, svi.step(&Data::new(), 1)) {
                (NonFinitePolicy::Error, Err(e)) => {
                    assert!(
                        matches!(&e, InferError::NonFinite { step: 1, what, restored_to_step: None, .. } if what.contains("non-finite gradient")),
                        "{undo:?}: {e}"
                    );
                    assert_eq!(svi.steps(), 1, "{undo:?}");
                }
                (NonFinitePolicy::Skip, Ok(loss)) => assert!(loss.is_nan(), "{undo:?}: skipped"),
                (_, other) => panic!("{undo:?}, {non_finite:?}: {other:?}"),
            }
            assert_eq!(svi.param("w").unwrap().to_vec(), after_one, "{undo:?}, {non_finite:?}");
        }
    }
}

fn undo_off_says_the_update_before_a_non_finite_loss_stays<B: TrainingBackend>(dev: &B::Device) {
    // R1's run under Undo::Off: the update of step 0 cannot be undone; the error says so and
    // the parameters are those after it (where Undo::LastUpdate goes back to the initial loc).
    let (p, q) = (r1_model::<B>, r1_guide::<B>);
    let good = Data::new().with("x", t1::<B>(&[1.0, 2.0], dev));
    let bad = Data::new().with("x", t1::<B>(&[1.0, f64::NAN], dev));
    let mut svi = Svi::from_fns(
        p,
        q,
        SviConfig {
            undo: Undo::Off,
            ..config(5)
        },
        dev,
    );
    svi.step(&good, 2).unwrap();
    let after = svi.param("loc").unwrap().to_vec();
    assert_ne!(after, vec![0.2], "step 0 moved loc");
    let e = svi.step(&bad, 2).unwrap_err();
    assert!(
        matches!(&e, InferError::NonFinite { step: 1, site: Some(s), restored_to_step: None, .. } if s == "x"),
        "{e}"
    );
    assert!(e.to_string().contains("not undone: SviConfig::undo is Off"), "{e}");
    assert_eq!(svi.param("loc").unwrap().to_vec(), after);
    assert_eq!((svi.steps(), svi.losses().len()), (1, 1));
}

fn unmatched_and_duplicate_sites_are_errors<B: TrainingBackend>(dev: &B::Device) {
    // R5: the guide samples a site the model lacks.
    let p = |ctx: &mut Ctx<B>| {
        ctx.sample("a", Normal::new(ctx.zeros([1]), 1.0));
    };
    let q = |ctx: &mut Ctx<B>| {
        ctx.sample("a", Normal::new(ctx.zeros([1]), 1.0));
        ctx.sample("extra", Normal::new(ctx.zeros([1]), 1.0));
    };
    let mut svi = Svi::from_fns(p, q, config(1), dev);
    let e = svi.step(&Data::new(), 1).unwrap_err();
    assert!(
        matches!(&e, InferError::UnmatchedSite { site, .. } if site == "extra"),
        "{e}"
    );
    // R5: the model has a latent the guide lacks.
    let q2 = |ctx: &mut Ctx<B>| {
        let _ = ctx;
    };
    let mut svi = Svi::from_fns(p, q2, config(1), dev);
    assert!(matches!(svi.step(&Data::new(), 1).unwrap_err(), InferError::UnmatchedSite { site, .. } if site == "a"));
    // R4: a duplicate site.
    let q3 = |ctx: &mut Ctx<B>| {
        ctx.sample("a", Normal::new(ctx.zeros([1]), 1.0));
        ctx.sample("a", Normal::new(ctx.zeros([1]), 1.0));
    };
    let mut svi = Svi::from_fns(p, q3, config(1), dev);
    let e = svi.step(&Data::new(), 1).unwrap_err();
    assert_eq!(e, InferError::Core(ppl_core::CoreError::DuplicateSite("a".into())));
}

fn same_seed_same_trajectory_different_seed_different<B: TrainingBackend>(dev: &B::Device) {
    // C2 (bitwise on NdArray), and C3: the suite runs this on parallel test threads beside
    // the other tests, so equality also shows independence from thread scheduling.
    let p = |ctx: &mut Ctx<B>| {
        let mu = ctx.sample("mu", Normal::new(ctx.zeros([1]), 1.0));
        ctx.datamodel(|ctx| {
            ctx.sample("x", Normal::new(mu, 1.0));
        });
    };
    let q = |ctx: &mut Ctx<B>| {
        let loc = ctx.param("loc", ctx.zeros([1]), Constraint::Real);
        let s = ctx.param("s", ctx.ones([1]), Constraint::Positive);
        ctx.sample("mu", Normal::new(loc, s));
    };
    let data = Data::new().with("x", t1::<B>(&[0.5, 1.5, -0.3, 2.2, 0.9, 1.1, 0.0, 0.4, 1.7, 0.8], dev));
    let traj = |seed: u64| {
        let mut svi = Svi::from_fns(
            p,
            q,
            SviConfig {
                seed,
                batch_size: 4,
                ..config(60)
            },
            dev,
        );
        svi.fit(&data).unwrap();
        (svi.losses().to_vec(), svi.param("loc").unwrap().to_vec())
    };
    let (a, b, c) = (traj(1), traj(1), traj(2));
    assert_eq!(a, b, "same seed, same loss trajectory and parameters");
    assert_ne!(a.0, c.0, "different seeds differ");
    assert_eq!(a.0.len(), 60 * 3);
}

/// `loc`'s value as f64 bits.
fn loc_bits<B: TrainingBackend, P: ppl_infer::SviModel<B>, Q: ppl_infer::SviGuide<B>>(svi: &Svi<B, P, Q>) -> Vec<u64> {
    svi.param("loc")
        .unwrap()
        .to_vec()
        .into_iter()
        .map(f64::to_bits)
        .collect()
}

/// R1's minibatch `k`: two rows that differ from step to step.
fn r1_batch<B: TrainingBackend>(k: usize, dev: &B::Device) -> Data<B> {
    let k = k as f64;
    Data::new().with("x", t1::<B>(&[1.0 + 0.1 * k, 2.0 - 0.05 * k], dev))
}

fn undo_puts_back_every_bit_wherever_the_bad_step_falls<B: TrainingBackend>(dev: &B::Device) {
    // `Undo::LastUpdate` keeps a copy only at the anchor of each window of steps and undoes
    // by replaying the window from it. Wherever the bad step falls (before, at and after a
    // window's end), the state is the one before the last update, bit for bit — and the
    // optimizer's moments with it: taking the undone step and the next again gives the
    // uninterrupted run's losses and parameters. Whole minibatches and in two shares.
    let (p, q) = (r1_model::<B>, r1_guide::<B>);
    let bad = Data::new().with("x", t1::<B>(&[1.0, f64::NAN], dev));
    for batch_shares in [1, 2] {
        let config = || SviConfig {
            batch_shares,
            ..config(30)
        };
        undo_by_replay_case(p, q, config, &bad, dev);
    }
}

/// [`undo_puts_back_every_bit_wherever_the_bad_step_falls`] for one configuration.
fn undo_by_replay_case<B: TrainingBackend>(
    p: fn(&mut Ctx<B>),
    q: fn(&mut Ctx<B>),
    config: impl Fn() -> SviConfig,
    bad: &Data<B>,
    dev: &B::Device,
) {
    let mut reference = Svi::from_fns(p, q, config(), dev);
    let (mut locs, mut losses) = (Vec::new(), Vec::new());
    for k in 0..20 {
        losses.push(reference.step(&r1_batch(k, dev), 2).unwrap().to_bits());
        locs.push(loc_bits(&reference));
    }
    for j in 1..19 {
        let mut svi = Svi::from_fns(p, q, config(), dev);
        for k in 0..j {
            svi.step(&r1_batch(k, dev), 2).unwrap();
        }
        let e = svi.step(bad, 2).unwrap_err();
        assert!(
            matches!(&e, InferError::NonFinite { step, restored_to_step: Some(r), .. } if *step == j && *r == j - 1),
            "bad step {j}: {e}"
        );
        assert_eq!((svi.steps(), svi.losses().len()), (j - 1, j - 1), "bad step {j}");
        if j >= 2 {
            assert_eq!(
                loc_bits(&svi),
                locs[j - 2],
                "bad step {j}: loc before step {}'s update",
                j - 1
            );
        } else {
            // Before step 0's update: the initial value, as the backend rounds it.
            let v = svi.param("loc").unwrap().to_vec()[0];
            assert!((v - 0.2).abs() < 1e-7, "bad step 1: loc {v}");
        }
        if j == 1 && config().batch_shares > 1 {
            // Step 0 again finds the parameters there and runs in shares, where the first
            // run created them and ran whole: other numbers, with or without an undo.
            continue;
        }
        for (k, &want) in losses.iter().enumerate().take(j + 1).skip(j - 1) {
            let loss = svi.step(&r1_batch(k, dev), 2).unwrap();
            assert_eq!(loss.to_bits(), want, "bad step {j}: step {k} again");
        }
        assert_eq!(loc_bits(&svi), locs[j], "bad step {j}: loc after step {j}");
    }
}

fn an_undo_the_replay_cannot_reproduce_goes_back_to_its_anchor<B: TrainingBackend>(dev: &B::Device) {
    // A guide that draws from something other than its context's keys (here a counter of its
    // own runs) cannot be replayed: the undo then goes back to the window's anchor — the state
    // before step 0's update, the last one known good — and the error says so.
    let runs = Arc::new(AtomicUsize::new(0));
    let count = runs.clone();
    let q = move |ctx: &mut Ctx<B>| {
        let loc = ctx.param("loc", ctx.full([1], 0.2), Constraint::Real);
        let shift = count.fetch_add(1, Ordering::Relaxed) as f64 * 1e-3;
        ctx.sample("mu", Normal::new(loc + shift, 0.5));
    };
    let mut svi = Svi::from_fns(r1_model::<B>, q, config(30), dev);
    for k in 0..5 {
        svi.step(&r1_batch(k, dev), 2).unwrap();
    }
    let bad = Data::new().with("x", t1::<B>(&[1.0, f64::NAN], dev));
    let e = svi.step(&bad, 2).unwrap_err();
    assert!(
        matches!(
            &e,
            InferError::NonFinite {
                step: 5,
                restored_to_step: Some(0),
                ..
            }
        ),
        "{e}"
    );
    assert_eq!((svi.steps(), svi.losses().len()), (0, 0));
    let v = svi.param("loc").unwrap().to_vec()[0];
    assert!((v - 0.2).abs() < 1e-7, "loc {v}");
    assert!(runs.load(Ordering::Relaxed) > 6, "the replay ran the guide");
}

fn invalid_parameters_inside_training_name_site_and_step<B: TrainingBackend>(dev: &B::Device) {
    // R6: the guide's scale is an unconstrained parameter fed to the checked constructor.
    // Plain SGD with lr 1 overshoots: −∂ELBO/∂s = −1/s + 2s sends s from 0.1 to ≈ 9.9, then
    // below zero, so the second or a later step builds an invalid Normal. Under every
    // `Validation` setting: when the step ran unchecked, its loss is NaN and the checked re-run
    // names the parameter (issue 16).
    let p = |ctx: &mut Ctx<B>| {
        let z = ctx.sample("z", Normal::new(ctx.zeros([1]), 1.0));
        ctx.sample("x", Normal::new(z, 1.0));
    };
    let q = |ctx: &mut Ctx<B>| {
        let loc = ctx.param("loc", ctx.zeros([1]), Constraint::Real);
        let s = ctx.param("s", ctx.full([1], 0.1), Constraint::Real);
        ctx.sample("z", Normal::new(loc, s));
    };
    for validation in [Validation::FirstStep, Validation::Always, Validation::Never] {
        let config = SviConfig {
            batch_size: 1,
            lr: 1.0,
            optimizer: OptimizerKind::Sgd { momentum: None },
            validation,
            ..config(20)
        };
        let mut svi = Svi::from_fns(p, q, config, dev);
        let data = Data::new().with("x", t1::<B>(&[0.5], dev));
        let err = svi.fit(&data).unwrap_err();
        let InferError::InvalidParameter { step, site, .. } = &err else {
            panic!("{validation:?}: expected InvalidParameter, got {err:?}");
        };
        assert_eq!(site, "z");
        assert!(*step >= 1, "step {step}");
        assert!(
            matches!(&err, InferError::InvalidParameter { restored_to_step: Some(k), .. } if *k + 1 == *step),
            "{validation:?}: {err:?}"
        );
        assert_eq!(
            svi.steps(),
            step - 1,
            "{validation:?}: the update that produced the invalid scale was undone"
        );
        let s = svi.param("s").unwrap().to_vec()[0];
        assert!(
            s > 0.0 && s.is_finite(),
            "{validation:?}: the parameters are the last good ones: s = {s}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("step {step}")) && msg.contains("`z`") && msg.contains("scale"),
            "{msg}"
        );
    }
}

fn extreme_learning_rate_never_panics<B: TrainingBackend>(dev: &B::Device) {
    // R8: S1's model with AutoNormal and Adam at lr = 1e3. Either it converges (finite
    // parameters) or it stops with a NonFinite/InvalidParameter error; it never panics.
    let p = |ctx: &mut Ctx<B>| {
        let mu = ctx.sample("mu", Normal::new(ctx.zeros([1, 2]), 10f64.sqrt()));
        ctx.datamodel(|ctx| {
            ctx.sample("x", Normal::new(mu, 0.5));
        });
    };
    let data = Data::new().with(
        "x",
        ppl_dist::testkit::t2::<B>(&[-0.1, 0.3, 0.0, 0.4, 0.2, 0.5, 0.1, 0.7], 4, 2, dev),
    );
    let guide = AutoNormal::new(&p, &data, dev).unwrap();
    let config = SviConfig {
        batch_size: 4,
        lr: 1e3,
        elbo: Elbo::Trace { particles: 8 },
        ..config(300)
    };
    let mut svi = Svi::new(model_fn(p), guide, config, dev);
    match svi.fit(&data) {
        Ok(_) => {
            for name in ["mu.loc", "mu.scale"] {
                let v = svi.param(name).unwrap().to_vec();
                assert!(v.iter().all(|x| x.is_finite()), "{name} = {v:?}");
            }
        }
        Err(InferError::NonFinite { .. } | InferError::InvalidParameter { .. }) => {}
        Err(e) => panic!("unexpected error {e:?}"),
    }
}

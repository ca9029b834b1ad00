//! C1: checkpoint after 5 steps, drop everything, load, 10 more steps = 15 uninterrupted steps,
//! bitwise, for Adam, Adam with an exponential LR schedule, and SGD with momentum and a step
//! schedule.
//!
//! Its own test binary on purpose: burn 0.21 keys the default float dtype by device *type*, so
//! in a process that also runs NdArray<f64> the first backend to touch the device decides the
//! dtype records load in. Here only NdArray<f32> runs, as in any application.

use burn::backend::{Autodiff, NdArray};
use ppl_core::{Ctx, Data};
use ppl_dist::testkit::t1;
use ppl_dist::{Constraint, Normal};
use ppl_infer::{LrSchedule, OptimizerKind, Svi, SviConfig};

type B = Autodiff<NdArray<f32>>;

fn run_case(kind: OptimizerKind, schedule: LrSchedule, tag: &str) {
    let dev = Default::default();
    let p = |ctx: &mut Ctx<B>| {
        let mu = ctx.sample("mu", Normal::new(ctx.zeros([1]), 1.0));
        ctx.datamodel(|ctx| {
            ctx.sample("x", Normal::new(mu, 1.0));
        });
    };
    let q = |ctx: &mut Ctx<B>| {
        let loc = ctx.param("loc", ctx.full([1], 0.1), Constraint::Real);
        let s = ctx.param("s", ctx.full([1], 0.5), Constraint::Positive);
        ctx.sample("mu", Normal::new(loc, s));
    };
    let config = SviConfig {
        seed: 8,
        lr: 0.05,
        optimizer: kind,
        schedule,
        progress: false,
        ..Default::default()
    };
    let data = Data::new().with("x", t1::<B>(&[0.3, 1.2, -0.4, 2.0, 0.7, 0.9], &dev));
    let batches: Vec<Data<B>> = (0..15)
        .map(|i| data.select_rows(&[i % 6, (i + 2) % 6, (i + 5) % 6]))
        .collect();
    let snapshot = |svi: &Svi<_, _, _>| {
        let mut v = svi.param("loc").unwrap().to_vec();
        v.extend(svi.param("s").unwrap().to_vec());
        v
    };
    let mut straight = Svi::from_fns(p, q, config.clone(), &dev);
    let mut want = Vec::new();
    for b in &batches {
        straight.step(b, 6).unwrap();
        want.push(snapshot(&straight));
    }
    let path = std::env::temp_dir().join(format!("ppl-ckpt-resume-{tag}-{}", std::process::id()));
    let mut first = Svi::from_fns(p, q, config.clone(), &dev);
    let mut got = Vec::new();
    for b in &batches[..5] {
        first.step(b, 6).unwrap();
        got.push(snapshot(&first));
    }
    first.save_checkpoint(&path).unwrap();
    first.save_checkpoint(&path).unwrap(); // overwriting an existing checkpoint works
    drop(first);
    let mut resumed = Svi::from_fns(p, q, config, &dev);
    resumed.load_checkpoint(&path).unwrap();
    assert_eq!(resumed.steps(), 5);
    for b in &batches[5..] {
        resumed.step(b, 6).unwrap();
        got.push(snapshot(&resumed));
    }
    let _ = std::fs::remove_dir_all(&path);
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(
            g, w,
            "{tag}: parameters after step {i} differ from the uninterrupted run"
        );
    }
    assert_eq!(resumed.losses(), straight.losses(), "{tag}: the loss history continues");
}

#[test]
fn adam_resume_equals_an_uninterrupted_run() {
    run_case(OptimizerKind::Adam, LrSchedule::Constant, "adam");
}

#[test]
fn adam_with_exponential_schedule_resumes_exactly() {
    run_case(OptimizerKind::Adam, LrSchedule::Exponential { gamma: 0.9 }, "adam-exp");
}

#[test]
fn sgd_with_momentum_and_step_schedule_resumes_exactly() {
    run_case(
        OptimizerKind::Sgd { momentum: Some(0.9) },
        LrSchedule::Step { every: 4, factor: 0.5 },
        "sgd",
    );
}

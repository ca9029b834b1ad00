//! Mismatched or corrupt checkpoints are clear errors. (C1, resume = uninterrupted run, is in
//! its own test binary, `tests/checkpoint_resume.rs`.)

use ppl_core::{Ctx, Data};
use ppl_dist::{inference_suite, Constraint, Normal};
use ppl_infer::TrainingBackend;
use ppl_infer::{InferError, Svi, SviConfig};

inference_suite!(mismatched_and_corrupt_checkpoints_are_errors);

fn dir(tag: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("ppl-ckpt-{tag}-{}", std::process::id()))
}

fn mismatched_and_corrupt_checkpoints_are_errors<B: TrainingBackend>(dev: &B::Device) {
    // One directory per backend: the backends' tests run at the same time.
    let suffix = std::any::type_name::<B>().replace(|c: char| !c.is_ascii_alphanumeric(), "_");
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
    // A guide whose parameter has another constraint (same name and shape).
    let q_pos = |ctx: &mut Ctx<B>| {
        let loc = ctx.param("loc", ctx.full([2], 1.0), Constraint::Positive);
        ctx.sample("mu", Normal::new(loc, 1.0));
    };
    let mut positive = Svi::from_fns(p, q_pos, config.clone(), dev);
    positive.step(&Data::new(), 1).unwrap();
    let msg = positive.load_checkpoint(&path).unwrap_err().to_string();
    assert!(msg.contains("Positive") && msg.contains("Real"), "{msg}");
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
    std::fs::write(path.join("state.json"), "garbage").unwrap();
    let mut fresh = Svi::from_fns(p, q, config, dev);
    assert!(fresh
        .load_checkpoint(&path)
        .unwrap_err()
        .to_string()
        .contains("state.json"));
    let _ = std::fs::remove_dir_all(&path);
}

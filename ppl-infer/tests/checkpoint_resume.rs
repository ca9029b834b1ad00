//! C1: checkpoint after 5 steps, drop everything, load, 10 more steps = 15 uninterrupted steps,
//! bitwise, for Adam, Adam with an exponential LR schedule, and SGD with momentum and a step
//! schedule. Checkpoints are all or nothing: damaged, swapped or foreign files are errors that
//! leave the `Svi` bit-identical, and a save killed at any point leaves a loadable checkpoint.
//!
//! Its own test binary on purpose: burn 0.21 keys the default float dtype by device *type*, so
//! in a process that also runs NdArray<f64> the first backend to touch the device decides the
//! dtype records load in. Here only NdArray<f32> runs, as in any application.

use burn::backend::{Autodiff, NdArray};
use burn_store::{BurnpackStore, ModuleStore};
use ppl_core::{Ctx, Data};
use ppl_dist::testkit::t1;
use ppl_dist::{Constraint, Normal, RngKey};
use ppl_infer::{
    model_fn, AutoAmortizedNormalConfig, InferError, LrSchedule, OptimizerKind, SaveStage, Svi, SviConfig,
};

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
fn adamw_resume_equals_an_uninterrupted_run() {
    run_case(
        OptimizerKind::AdamW { weight_decay: 0.05 },
        LrSchedule::Constant,
        "adamw",
    );
}

#[test]
fn rmsprop_plain_and_centered_resume_exactly() {
    for centered in [false, true] {
        run_case(
            OptimizerKind::RmsProp { alpha: 0.9, centered },
            LrSchedule::Exponential { gamma: 0.95 },
            if centered { "rmsprop-centered" } else { "rmsprop" },
        );
    }
}

#[test]
fn sgd_with_momentum_and_step_schedule_resumes_exactly() {
    run_case(
        OptimizerKind::Sgd { momentum: Some(0.9) },
        LrSchedule::Step { every: 4, factor: 0.5 },
        "sgd",
    );
}

fn model(ctx: &mut Ctx<B>) {
    let mu = ctx.sample("mu", Normal::new(ctx.zeros([1]), 1.0));
    ctx.datamodel(|ctx| {
        ctx.sample("x", Normal::new(mu, 1.0));
    });
}

fn guide(ctx: &mut Ctx<B>) {
    let loc = ctx.param("loc", ctx.full([1], 0.1), Constraint::Real);
    let s = ctx.param("s", ctx.full([1], 0.5), Constraint::Positive);
    ctx.sample("mu", Normal::new(loc, s));
}

fn other_guide(ctx: &mut Ctx<B>) {
    let loc = ctx.param("loc2", ctx.full([1], 0.1), Constraint::Real);
    ctx.sample("mu", Normal::new(loc, 0.3));
}

fn config() -> SviConfig {
    SviConfig {
        seed: 8,
        lr: 0.05,
        progress: false,
        ..Default::default()
    }
}

/// A fresh `Svi` of `model` and `guide` (a macro: the closure types cannot be named).
macro_rules! fresh {
    () => {
        Svi::from_fns(model, guide, config(), &Default::default())
    };
}

fn batch(i: usize) -> Data<B> {
    let data = Data::new().with("x", t1::<B>(&[0.3, 1.2, -0.4, 2.0, 0.7, 0.9], &Default::default()));
    data.select_rows(&[i % 6, (i + 2) % 6, (i + 5) % 6])
}

/// Everything an `Svi` holds that a failed load must not touch.
fn state<PP: ppl_infer::SviModel<B>, QQ: ppl_infer::SviGuide<B>>(svi: &Svi<B, PP, QQ>) -> (Vec<u32>, usize, Vec<u64>) {
    let bits = |n: &str| {
        svi.param(n)
            .map(|v| v.to_vec().iter().map(|x| (*x as f32).to_bits()).collect::<Vec<_>>())
            .unwrap_or_default()
    };
    let mut p = bits("loc");
    p.extend(bits("s"));
    (p, svi.steps(), svi.losses().iter().map(|l| l.to_bits()).collect())
}

fn tmp(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("ppl-ckpt-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    let _ = std::fs::remove_dir_all(to);
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

#[test]
fn damaged_or_foreign_checkpoints_are_errors_that_change_nothing() {
    // Checkpoint A after 5 steps, B after 7; the victim has taken 3 steps of its own.
    let (a, b, c) = (tmp("a"), tmp("b"), tmp("c"));
    let mut sa = fresh!();
    (0..5).for_each(|i| {
        sa.step(&batch(i), 6).unwrap();
    });
    sa.save_checkpoint(&a).unwrap();
    let mut sb = fresh!();
    (0..7).for_each(|i| {
        sb.step(&batch(i + 1), 6).unwrap();
    });
    sb.save_checkpoint(&b).unwrap();
    let mut victim = fresh!();
    let mut twin = fresh!();
    for i in 0..3 {
        victim.step(&batch(i), 6).unwrap();
        twin.step(&batch(i), 6).unwrap();
    }
    let before = state(&victim);
    let mut cases = 0;
    let mut expect_error = |victim: &mut Svi<_, _, _>, what: &str| {
        let e = victim.load_checkpoint(&c).expect_err(what);
        assert!(matches!(e, InferError::Checkpoint { .. }), "{what}: {e:?}");
        assert_eq!(state(victim), before, "{what}: the failed load changed the Svi");
        cases += 1;
    };
    let mut key = RngKey::new(21);
    for f in ["state.json", "modules.bpk", "optimizer.bpk"] {
        let len = std::fs::metadata(a.join(f)).unwrap().len() as usize;
        // Every truncation of a small file, a seeded sample of 120 for a larger one.
        let offsets: Vec<usize> = if len <= 800 {
            (0..len).collect()
        } else {
            (0..120).map(|_| key.index(len)).chain([0, len - 1]).collect()
        };
        for off in offsets {
            copy_dir(&a, &c);
            let bytes = std::fs::read(a.join(f)).unwrap();
            std::fs::write(c.join(f), &bytes[..off]).unwrap();
            expect_error(&mut victim, &format!("{f} truncated at {off}"));
        }
        // 60 random bit flips per file.
        for _ in 0..60 {
            copy_dir(&a, &c);
            let mut bytes = std::fs::read(a.join(f)).unwrap();
            let (i, bit) = (key.index(len), key.index(8));
            bytes[i] ^= 1 << bit;
            std::fs::write(c.join(f), &bytes).unwrap();
            expect_error(&mut victim, &format!("{f} byte {i} bit {bit} flipped"));
        }
        // The same file from another checkpoint.
        copy_dir(&a, &c);
        std::fs::copy(b.join(f), c.join(f)).unwrap();
        expect_error(&mut victim, &format!("{f} swapped in from checkpoint B"));
        // The file missing.
        copy_dir(&a, &c);
        std::fs::remove_file(c.join(f)).unwrap();
        expect_error(&mut victim, &format!("{f} missing"));
    }
    assert!(cases > 300, "{cases} cases");
    // A checkpoint of another model: a fresh Svi of that model refuses it, naming the types.
    let mut foreign = Svi::from_fns(
        model,
        other_guide,
        SviConfig {
            seed: 8,
            progress: false,
            ..Default::default()
        },
        &Default::default(),
    );
    let e = foreign.load_checkpoint(&a).unwrap_err();
    assert!(e.to_string().contains("other_guide"), "{e}");
    // Nothing was lost: the victim continues exactly as its twin.
    let (l1, l2) = (victim.step(&batch(3), 6).unwrap(), twin.step(&batch(3), 6).unwrap());
    assert_eq!(l1.to_bits(), l2.to_bits());
    assert_eq!(state(&victim), state(&twin));
    // And the undamaged checkpoint loads.
    victim.load_checkpoint(&a).unwrap();
    assert_eq!(state(&victim), state(&sa));
    for d in [a, b, c] {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[test]
fn a_save_killed_at_any_point_leaves_a_loadable_checkpoint() {
    let mut old = fresh!();
    (0..4).for_each(|i| {
        old.step(&batch(i), 6).unwrap();
    });
    let mut new = fresh!();
    (0..6).for_each(|i| {
        new.step(&batch(i), 6).unwrap();
    });
    for (k, stage) in [
        SaveStage::ModulesWritten,
        SaveStage::TemporaryComplete,
        SaveStage::OldMovedAside,
        SaveStage::NewInPlace,
    ]
    .into_iter()
    .enumerate()
    {
        let dir = tmp(&format!("kill{k}"));
        old.save_checkpoint(&dir).unwrap();
        new.save_checkpoint_until(&dir, stage).unwrap(); // "killed" after this stage
        let mut resumed = fresh!();
        resumed
            .load_checkpoint(&dir)
            .unwrap_or_else(|e| panic!("killed after {stage:?}: {e}"));
        let want = if matches!(stage, SaveStage::ModulesWritten | SaveStage::TemporaryComplete) {
            state(&old)
        } else {
            state(&new)
        };
        assert_eq!(
            state(&resumed),
            want,
            "killed after {stage:?}: the last complete checkpoint"
        );
        // The next save cleans the leftovers.
        new.save_checkpoint(&dir).unwrap();
        let parent = dir.parent().unwrap();
        let name = dir.file_name().unwrap().to_str().unwrap().to_string();
        let leftovers: Vec<_> = std::fs::read_dir(parent)
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.starts_with(&format!("{name}.")))
            .collect();
        assert!(leftovers.is_empty(), "after {stage:?}: {leftovers:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// Per row: z ~ N(0, 1), x ~ N(2z + 1, 0.5).
fn row_model(ctx: &mut Ctx<B>) {
    ctx.datamodel(|ctx| {
        let z = ctx.sample("z", Normal::new(ctx.zeros([1, 1]), 1.0));
        ctx.sample("x", Normal::new(z * 2.0 + 1.0, 0.5));
    });
}

#[test]
fn a_network_guide_resumes_exactly_from_burnpack_files() {
    // An encoder (rank-2 weights, rank-1 biases) whose Adam state is keyed by parameter ids
    // that a rebuilt guide does not share: the checkpoint names states by path.
    let dev = Default::default();
    let x: Vec<f64> = (0..32).map(|i| (i as f64 * 0.37).sin() * 2.0 + 1.0).collect();
    let data = Data::new().with("x", ppl_dist::testkit::t2::<B>(&x, 32, 1, &dev));
    let build = || {
        let p = model_fn(row_model);
        let q = AutoAmortizedNormalConfig::new()
            .with_hidden(&[8])
            .with_seed(3)
            .init(&p, &data, &dev)
            .unwrap();
        Svi::new(p, q, config(), &dev)
    };
    let batches: Vec<Data<B>> = (0..10)
        .map(|i| data.select_rows(&[(3 * i) % 32, (7 * i + 1) % 32, (5 * i + 2) % 32, (11 * i + 3) % 32]))
        .collect();
    let probe = |svi: &Svi<_, _, _>| {
        let m = svi.to_posterior().median(&["z"], &data).unwrap();
        m.sample("z")
            .unwrap()
            .to_vec()
            .iter()
            .map(|v| v.to_bits())
            .collect::<Vec<_>>()
    };
    let mut straight = build();
    for b in &batches {
        straight.step(b, 32).unwrap();
    }
    let dir = tmp("network");
    let mut first = build();
    for b in &batches[..5] {
        first.step(b, 32).unwrap();
    }
    first.save_checkpoint(&dir).unwrap();
    // The files are burnpack, tensors named by their place in the module tree.
    let mut modules = BurnpackStore::from_file(dir.join("modules.bpk"));
    let keys = modules.keys().unwrap();
    assert!(keys.iter().any(|k| k.starts_with("q.")), "{keys:?}");
    let mut optimizer = BurnpackStore::from_file(dir.join("optimizer.bpk"));
    let keys = optimizer.keys().unwrap();
    assert!(
        keys.iter().any(|k| k.starts_with("q.") && k.ends_with(".moment_2")),
        "{keys:?}"
    );
    let state: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("state.json")).unwrap()).unwrap();
    assert_eq!(state["step"], 5);
    drop(first);
    let mut resumed = build();
    resumed.load_checkpoint(&dir).unwrap();
    for b in &batches[5..] {
        resumed.step(b, 32).unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
    let bits = |l: &[f64]| l.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(
        bits(resumed.losses()),
        bits(straight.losses()),
        "the loss history continues bit for bit"
    );
    assert_eq!(probe(&resumed), probe(&straight), "the encoder continues bit for bit");
}

#[test]
fn per_site_baselines_resume_exactly() {
    // Elbo::TraceGraph keeps a baseline per discrete site; the checkpoint carries it, so a
    // resumed fit takes the same steps as an uninterrupted one, bit for bit.
    let dev = Default::default();
    let p = |ctx: &mut Ctx<B>| {
        let mu = ctx.sample("mu", Normal::new(ctx.zeros([1]), 1.0));
        ctx.datamodel(|ctx| {
            let c = ctx.sample("c", ppl_dist::Bernoulli::new(ctx.full([1], 0.5)));
            ctx.sample("x", Normal::new(mu + c * 2.0, 1.0));
        });
    };
    let q = |ctx: &mut Ctx<B>| {
        let loc = ctx.param("loc", ctx.full([1], 0.1), Constraint::Real);
        ctx.sample("mu", Normal::new(loc, 0.5));
        let l = ctx.param("l", ctx.zeros([1]), Constraint::Real);
        ctx.datamodel(|ctx| {
            ctx.sample("c", ppl_dist::Bernoulli::from_logits(l));
        });
    };
    let config = SviConfig {
        seed: 8,
        lr: 0.05,
        elbo: ppl_infer::Elbo::TraceGraph { particles: 2 },
        progress: false,
        ..Default::default()
    };
    let data = Data::new().with("x", t1::<B>(&[0.3, 2.2, -0.4, 2.0, 0.7, 2.9], &dev));
    let batches: Vec<Data<B>> = (0..12)
        .map(|i| data.select_rows(&[i % 6, (i + 2) % 6, (i + 5) % 6]))
        .collect();
    let bits = |svi: &Svi<_, _, _>| {
        ["loc", "l"]
            .iter()
            .flat_map(|n| svi.param(n).unwrap().to_vec())
            .map(|v| v.to_bits())
            .collect::<Vec<_>>()
    };
    let mut straight = Svi::from_fns(p, q, config.clone(), &dev);
    for b in &batches {
        straight.step(b, 6).unwrap();
    }
    let path = tmp("graph");
    let mut first = Svi::from_fns(p, q, config.clone(), &dev);
    for b in &batches[..4] {
        first.step(b, 6).unwrap();
    }
    first.save_checkpoint(&path).unwrap();
    let state = std::fs::read_to_string(path.join("state.json")).unwrap();
    assert!(state.contains("site_baselines"), "{state}");
    drop(first);
    let mut resumed = Svi::from_fns(p, q, config, &dev);
    resumed.load_checkpoint(&path).unwrap();
    for b in &batches[4..] {
        resumed.step(b, 6).unwrap();
    }
    let _ = std::fs::remove_dir_all(&path);
    assert_eq!(bits(&resumed), bits(&straight));
    let loss_bits = |svi: &Svi<_, _, _>| svi.losses().iter().map(|l| l.to_bits()).collect::<Vec<_>>();
    assert_eq!(loss_bits(&resumed), loss_bits(&straight));
}

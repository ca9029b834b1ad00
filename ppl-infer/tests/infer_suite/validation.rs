//! `SviConfig::validation`: when a step checks distribution parameters (issue 16). That a
//! failed unchecked step is re-run with the checks, so an invalid parameter is still named, is
//! R6 in robustness.rs, under every setting.

use std::cell::RefCell;

use ppl_core::{Ctx, Data};
use ppl_dist::testkit::t1;
use ppl_dist::validation::parameter_checks;
use ppl_dist::{inference_suite, Constraint, Normal};
use ppl_infer::TrainingBackend;
use ppl_infer::{Svi, SviConfig, Validation};

inference_suite!(checks_run_on_the_steps_the_setting_names);

thread_local! {
    /// Whether parameter checks were on, once per model run on this (test) thread.
    static SEEN: RefCell<Vec<bool>> = const { RefCell::new(Vec::new()) };
}

fn seen_since_last_call() -> Vec<bool> {
    SEEN.with(|s| std::mem::take(&mut *s.borrow_mut()))
}

fn checks_run_on_the_steps_the_setting_names<B: TrainingBackend>(dev: &B::Device) {
    let p = |ctx: &mut Ctx<B>| {
        SEEN.with(|s| s.borrow_mut().push(parameter_checks()));
        let z = ctx.sample("z", Normal::new(ctx.zeros([1]), 1.0));
        ctx.sample("x", Normal::new(z, 1.0));
    };
    let q = |ctx: &mut Ctx<B>| {
        let loc = ctx.param("loc", ctx.zeros([1]), Constraint::Real);
        let scale = ctx.param("scale", ctx.full([1], 0.5), Constraint::Positive);
        ctx.sample("z", Normal::new(loc, scale));
    };
    let data = Data::new().with("x", t1::<B>(&[0.5], dev));
    // Per setting: were the checks on in the model runs of steps 0, 1 and 2?
    let expect = [
        (Validation::FirstStep, [true, false, false]),
        (Validation::Always, [true, true, true]),
        (Validation::Never, [false, false, false]),
    ];
    for (validation, want) in expect {
        let config = SviConfig {
            progress: false,
            validation,
            ..Default::default()
        };
        let mut svi = Svi::from_fns(p, q, config, dev);
        seen_since_last_call();
        for (step, on) in want.into_iter().enumerate() {
            svi.step(&data, 1).unwrap();
            let seen = seen_since_last_call();
            assert!(!seen.is_empty(), "{validation:?}: the model ran at step {step}");
            assert!(
                seen.iter().all(|s| *s == on),
                "{validation:?}, step {step}: checks {seen:?}, expected all {on}"
            );
        }
        assert!(parameter_checks(), "the checks are back on after the steps");
    }
}

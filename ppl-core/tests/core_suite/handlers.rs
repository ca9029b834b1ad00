//! Effect handlers: replay + condition reproduce InferPy's semantics; block, scale, mask,
//! seed, substitute; `param` sites; the prior predictive.

use burn::tensor::{backend::AutodiffBackend, backend::Backend};
use ppl_core::handlers::{Block, Condition, Mask, Replay, Scale, Seed, Substitute};
use ppl_core::{prior, run, trace, Ctx, Data, Model, SiteKind, Value};
use ppl_dist::testkit::{host, scalar, t1};
use ppl_dist::{backend_suite, Constraint, Normal, RngKey};

use crate::models::{digit, digit_data};

backend_suite!(
    a_q_model_site_supplies_the_p_model_latent_of_the_same_name,
    condition_clamps_and_observes,
    block_scale_mask_seed_and_substitute,
    param_sites_are_constrained_and_persist,
    prior_predictive_draws_the_requested_sites,
);

fn a_q_model_site_supplies_the_p_model_latent_of_the_same_name<B: AutodiffBackend>(dev: &B::Device) {
    let (p, q) = digit::<B>(dev);
    let data = digit_data::<B>(dev);
    let guide = trace(&q, &data, 1, dev).unwrap();
    let tr = run(
        &p,
        Ctx::new(data, RngKey::new(99), dev).with_handler(Replay::new(&guide)),
    )
    .unwrap()
    .trace;
    assert_eq!(host(tr.value::<2>("z").unwrap()), host(guide.value::<2>("z").unwrap()));
    assert!(!tr.site("z").unwrap().observed);
}

fn condition_clamps_and_observes<B: AutodiffBackend>(dev: &B::Device) {
    let model = |ctx: &mut Ctx<B>| {
        let mu = ctx.sample("mu", Normal::new(ctx.zeros([1]), 1.0));
        ctx.sample("x", Normal::new(mu, 1.0));
    };
    let cond = Data::new().with("mu", t1::<B>(&[0.75], dev));
    let tr = run(
        &model,
        Ctx::new(Data::new(), RngKey::new(0), dev).with_handler(Condition::new(cond)),
    )
    .unwrap()
    .trace;
    let mu = tr.site("mu").unwrap();
    assert!(mu.observed && mu.value.to_vec() == vec![0.75]);
    assert!(tr.site("x").unwrap().is_latent());
}

fn block_scale_mask_seed_and_substitute<B: AutodiffBackend>(dev: &B::Device) {
    let model = |ctx: &mut Ctx<B>| {
        let a = ctx.sample("a", Normal::new(ctx.zeros([3]), 1.0));
        ctx.sample("b", Normal::new(a, 1.0));
    };
    let base = || Ctx::<B>::new(Data::new(), RngKey::new(5), dev);
    let plain = run(&model, base()).unwrap().trace;
    // Block hides a site.
    let tr = run(&model, base().with_handler(Block::hide(&["a"]))).unwrap().trace;
    assert!(!tr.contains("a") && tr.contains("b"));
    let tr = run(&model, base().with_handler(Block::expose(&["a"]))).unwrap().trace;
    assert!(tr.contains("a") && !tr.contains("b"));
    // Scale multiplies every log-density.
    let tr = run(&model, base().with_handler(Scale(0.5))).unwrap().trace;
    let (l0, l1) = (scalar(plain.log_joint().unwrap()), scalar(tr.log_joint().unwrap()));
    assert!((l1 - 0.5 * l0).abs() < 1e-5 * l0.abs().max(1.0));
    // Mask drops terms.
    let mask = Value::from_tensor(t1::<B>(&[1.0, 0.0, 0.0], dev));
    let tr = run(&model, base().with_handler(Mask::new(mask, &["a"]))).unwrap().trace;
    let a_lp = tr.site("a").unwrap().log_prob.as_ref().unwrap().to_vec();
    assert!(a_lp[0] != 0.0 && a_lp[1] == 0.0 && a_lp[2] == 0.0);
    // Seed fixes draws whatever the context's key; different seeds differ.
    let s1 = run(&model, base().with_handler(Seed(RngKey::new(1)))).unwrap().trace;
    let s1b = run(
        &model,
        Ctx::new(Data::new(), RngKey::new(123), dev).with_handler(Seed(RngKey::new(1))),
    )
    .unwrap()
    .trace;
    let s2 = run(&model, base().with_handler(Seed(RngKey::new(2)))).unwrap().trace;
    assert_eq!(
        s1.site("a").unwrap().value.to_vec(),
        s1b.site("a").unwrap().value.to_vec()
    );
    assert_ne!(
        s1.site("a").unwrap().value.to_vec(),
        s2.site("a").unwrap().value.to_vec()
    );
    // Substitute sets a latent value without observing it.
    let sub = Data::new().with("a", t1::<B>(&[1.0, 2.0, 3.0], dev));
    let tr = run(&model, base().with_handler(Substitute::new(sub))).unwrap().trace;
    assert!(tr.site("a").unwrap().is_latent());
    assert_eq!(tr.site("a").unwrap().value.to_vec(), vec![1.0, 2.0, 3.0]);
}

struct Scaled;

impl<B: Backend> Model<B> for Scaled {
    fn model(&self, ctx: &mut Ctx<B>) {
        let s = ctx.param("s", ctx.full([2], 0.5), Constraint::Positive);
        let loc = ctx.param("loc", ctx.zeros([2]), Constraint::Real);
        ctx.sample("x", Normal::new(loc, s));
    }
}

fn param_sites_are_constrained_and_persist<B: AutodiffBackend>(dev: &B::Device) {
    let res = run(&Scaled, Ctx::<B>::new(Data::new(), RngKey::new(0), dev)).unwrap();
    let s = res.trace.site("s").unwrap();
    assert_eq!(s.kind, SiteKind::Param);
    let v = s.value.to_vec();
    assert!(
        v.iter().all(|x| (x - 0.5).abs() < 1e-5),
        "init recovered through softplus: {v:?}"
    );
    assert_eq!(res.params.len(), 2);
    // The store persists: a second run reads the stored value, not a new init.
    let again = run(
        &Scaled,
        Ctx::<B>::new(Data::new(), RngKey::new(1), dev).with_params(res.params),
    )
    .unwrap();
    assert_eq!(again.params.len(), 2);
    // Gradients reach the stored unconstrained leaf, through the softplus.
    let grads = again.trace.log_joint().unwrap().backward();
    let leaf = again.params.unconstrained("s").unwrap();
    let g = host(leaf.grad(&grads).expect("the positive param gets a gradient"));
    assert!(g.iter().all(|v| v.is_finite() && *v != 0.0), "{g:?}");
    // A later call with another shape or constraint is an error naming both, never the
    // stored value in their place.
    for (shape, constraint) in [(3, Constraint::Positive), (2, Constraint::Real)] {
        let other = move |ctx: &mut Ctx<B>| {
            ctx.param("s", ctx.full([shape], 0.5), constraint);
        };
        let e = run(
            &other,
            Ctx::<B>::new(Data::new(), RngKey::new(2), dev).with_params(again.params.clone()),
        )
        .unwrap_err();
        let msg = e.to_string();
        assert!(
            matches!(e, ppl_core::CoreError::ParamMismatch { .. })
                && msg.contains("`s`")
                && msg.contains("[2]")
                && msg.contains(&format!("{constraint:?}")),
            "{msg}"
        );
    }
}

fn prior_predictive_draws_the_requested_sites<B: AutodiffBackend>(dev: &B::Device) {
    let (p, _) = digit::<B>(dev);
    let out = prior(&p, &["z", "x", "y"], &Data::new(), 7, RngKey::new(3), dev).unwrap();
    assert_eq!(out.get("z").unwrap().dims(), vec![7, 2]);
    assert_eq!(out.get("x").unwrap().dims(), vec![7, 6]);
    let y = out.get("y").unwrap().to_vec();
    assert!(y.len() == 7 && y.iter().all(|c| [0.0, 1.0, 2.0].contains(c)));
    assert!(prior(&p, &["nope"], &Data::new(), 7, RngKey::new(3), dev).is_err());
}

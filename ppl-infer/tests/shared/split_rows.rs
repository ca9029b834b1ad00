//! Models for the checks that split a minibatch's rows (data-parallel peers in
//! `tests/data_parallel.rs`, batch shares in `tests/infer_suite/batch_shares.rs`): one with
//! global latents only, whose split steps equal the whole ones, and one with a local latent
//! per row, whose shares must draw noise of their own.

use burn::tensor::backend::Backend;
use ppl_core::{Ctx, Data};
use ppl_dist::testkit::t1;
use ppl_dist::{Bernoulli, Constraint, Normal, RngKey};
use ppl_infer::SviConfig;

/// Rows of [`logistic_data`].
pub const ROWS: usize = 40;

/// 5 epochs of 4 shuffled minibatches of [`logistic_data`] (13, 13, 13, 1 rows: uneven
/// shares, and a last minibatch smaller than two or three shares): 20 steps.
pub fn split_config() -> SviConfig {
    SviConfig {
        epochs: 5,
        batch_size: 13,
        lr: 0.05,
        seed: 3,
        progress: false,
        ..Default::default()
    }
}

/// Logistic regression with global latents w and b: every share draws them alike, and the
/// rows' terms are deterministic given them, so the summed gradient is the whole
/// minibatch's to rounding.
pub fn logistic_model<B: Backend>(ctx: &mut Ctx<B>) {
    let w = ctx.sample("w", Normal::new(ctx.zeros([1]), 1.0));
    let b = ctx.sample("b", Normal::new(ctx.zeros([1]), 1.0));
    ctx.datamodel(|ctx| {
        let x = ctx.data::<1>("x");
        ctx.sample("y", Bernoulli::from_logits(x * w + b));
    });
}

/// [`ROWS`] rows of x ~ N(0, 1) and y ~ Bernoulli(σ(1.5x − 0.5)), seeded.
pub fn logistic_data<B: Backend>(dev: &B::Device) -> Data<B> {
    let mut key = RngKey::new(17);
    let x: Vec<f64> = key.standard_normal(ROWS);
    let u = key.uniform(ROWS);
    let y: Vec<f64> = x
        .iter()
        .zip(&u)
        .map(|(x, u)| f64::from(*u < 1.0 / (1.0 + (-(1.5 * x - 0.5)).exp())))
        .collect();
    Data::new().with("x", t1::<B>(&x, dev)).with("y", t1::<B>(&y, dev))
}

/// Per row a local latent zᵢ ~ N(0, 1) and xᵢ ~ N(zᵢ, 1).
pub fn local_model<B: Backend>(ctx: &mut Ctx<B>) {
    ctx.datamodel(|ctx| {
        let x = ctx.data::<1>("x");
        let z = ctx.sample("z", Normal::new(x.zeros_like(), 1.0));
        ctx.sample("x", Normal::new(z, 1.0));
    });
}

/// q(zᵢ) = N(loc, 1) for [`local_model`], one global `loc`.
pub fn local_guide<B: Backend>(ctx: &mut Ctx<B>) {
    let loc = ctx.param("loc", ctx.zeros([1]), Constraint::Real);
    ctx.datamodel(|ctx| {
        let x = ctx.data::<1>("x");
        ctx.sample("z", Normal::new(x.zeros_like() + loc, 1.0));
    });
}

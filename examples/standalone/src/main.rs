//! The README's complete program ("Use it in your own project"), built and run by CI.

use burn::backend::{Autodiff, Flex};
use burn::tensor::Tensor;
use ppl_core::{Ctx, Data};
use ppl_dist::{Constraint, Normal};
use ppl_infer::{Svi, SviConfig};

type B = Autodiff<Flex>;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dev = Default::default();
    // z ~ N(0, 1), x_i ~ N(z, 1); the guide is N(loc, scale).
    let model = |ctx: &mut Ctx<B>| {
        let z = ctx.sample("z", Normal::new(ctx.zeros([1]), 1.0));
        ctx.datamodel(|ctx| {
            ctx.sample("x", Normal::new(z, 1.0));
        });
    };
    let guide = |ctx: &mut Ctx<B>| {
        let loc = ctx.param("loc", ctx.zeros([1]), Constraint::Real);
        let scale = ctx.param("scale", ctx.ones([1]), Constraint::Positive);
        ctx.sample("z", Normal::new(loc, scale));
    };
    let config = SviConfig { epochs: 300, batch_size: 3, lr: 0.05, seed: 0, ..Default::default() };
    let mut svi = Svi::from_fns(model, guide, config, &dev);
    svi.fit(&Data::new().with("x", Tensor::<B, 1>::from_floats([1.0, 2.0, 3.0], &dev)))?;
    println!("posterior mean of z ≈ {:?} (exact: 1.5)", svi.param("loc").unwrap().to_vec());
    Ok(())
}

//! The reparameterization dense layer: one pathwise weight draw per pass.

use burn::module::Module;
use burn::tensor::{backend::Backend, module::linear, Tensor};
use ppl_core::Ctx;

use super::MeanFieldWeights;

/// A dense layer with weight uncertainty (TFP's `DenseReparameterization`): each forward pass
/// draws `W = loc + softplus(ρ) ⊙ ε` once, shared by all rows, and adds the weights' `−KL` to
/// the model (see [the module docs](super)). Build with
/// [`super::BayesianDenseConfig::init_reparameterization`].
///
/// # Shapes
/// `forward`: `[..., d_in]` → `[..., d_out]`.
#[derive(Module, Debug)]
pub struct DenseReparameterization<B: Backend> {
    /// The posterior over kernel and bias.
    pub weights: MeanFieldWeights<B>,
}

impl<B: Backend> DenseReparameterization<B> {
    /// Apply the layer with one weight draw from the posterior; records the KL factor in
    /// `ctx` (call once per model run).
    pub fn forward<const D: usize>(&self, ctx: &mut Ctx<B>, x: Tensor<B, D>) -> Tensor<B, D> {
        let w = &self.weights;
        let mut key = w.enter(ctx);
        let shape = w.kernel_loc.dims();
        let kernel = w.kernel_loc.val() + w.kernel_scale() * w.noise(&mut key, shape);
        linear(x, kernel, Some(w.bias_draw(&mut key)))
    }
}

//! The Flipout dense layer: one weight draw per pass, decorrelated across rows.

use burn::module::Module;
use burn::tensor::{backend::Backend, module::linear, Tensor};
use ppl_core::Ctx;
use ppl_dist::RngKey;

use super::MeanFieldWeights;

/// A dense layer with weight uncertainty estimated by Flipout (Wen et al. 2018, TFP's
/// `DenseFlipout`): with one draw `ΔW = softplus(ρ) ⊙ ε` and random signs `s` (per row and
/// input) and `r` (per row and output), row n's output is
/// `xₙ·loc + ((xₙ ⊙ sₙ)·ΔW) ⊙ rₙ + b`: each row sees a different (pseudo-independent)
/// weight sample with the same marginal distribution, so gradients have lower variance than
/// [`super::DenseReparameterization`] at about twice the cost. Build with
/// [`super::BayesianDenseConfig::init_flipout`].
///
/// # Shapes
/// `forward`: `[..., d_in]` → `[..., d_out]`.
#[derive(Module, Debug)]
pub struct DenseFlipout<B: Backend> {
    /// The posterior over kernel and bias.
    pub weights: MeanFieldWeights<B>,
}

/// ±1 with equal probability, `shape`.
fn signs<B: Backend, const D: usize>(key: &mut RngKey, shape: [usize; D], device: &B::Device) -> Tensor<B, D> {
    let n = shape.iter().product();
    let s: Vec<f64> = key
        .uniform(n)
        .into_iter()
        .map(|u| if u < 0.5 { -1.0 } else { 1.0 })
        .collect();
    ppl_dist::param::upload::<B, D>(s, shape, device)
}

impl<B: Backend> DenseFlipout<B> {
    /// Apply the layer (mean path plus sign-flipped perturbation); records the KL factor in
    /// `ctx` (call once per model run).
    pub fn forward<const D: usize>(&self, ctx: &mut Ctx<B>, x: Tensor<B, D>) -> Tensor<B, D> {
        let w = &self.weights;
        let mut key = w.enter(ctx);
        let device = w.kernel_loc.device();
        let [d_in, d_out] = w.kernel_loc.dims();
        let delta = w.kernel_scale() * w.noise(&mut key, [d_in, d_out]);
        let mean = linear(x.clone(), w.kernel_loc.val(), Some(w.bias_draw(&mut key)));
        let in_shape = x.dims();
        let mut out_shape = in_shape;
        out_shape[D - 1] = d_out;
        let s = signs::<B, D>(&mut key, in_shape, &device);
        let r = signs::<B, D>(&mut key, out_shape, &device);
        mean + linear(x * s, delta, None) * r
    }
}

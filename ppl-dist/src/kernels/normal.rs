//! The normal log-density as one fused operation, composed from burn's operations: the
//! forward pass (what [`Normal::log_prob`](crate::Normal) computes) and its gradients with
//! respect to the value, the location and the scale.
//!
//! With `z = (x − μ)/σ`, `ln p(x) = −½z² − ln σ − ½ ln 2π`, so
//! `∂/∂x = −z/σ`, `∂/∂μ = z/σ`, `∂/∂σ = (z² − 1)/σ`; with a scale given as a number `s`,
//! `ln p(x) = −(x − μ)²/(2s²) − (ln s + ½ ln 2π)` and `∂/∂x = −(x − μ)/s²`.
//! Shapes broadcast (dimensions of size 1 grow); the gradients here have the broadcast shape
//! and the autodiff node sums them back to each input's shape.

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use crate::special::HALF_LN_2PI;

/// `−½((x − μ)/σ)² − ln σ − ½ ln 2π` with `value`, `loc` and `scale` broadcast together
/// (the result has the broadcast shape), as [`Normal::log_prob`](crate::Normal) computes it.
pub fn normal_log_prob_composed<B: Backend, const D: usize>(
    value: Tensor<B, D>,
    loc: Tensor<B, D>,
    scale: Tensor<B, D>,
) -> Tensor<B, D> {
    let z = (value - loc) / scale.clone();
    z.powi_scalar(2) * -0.5 - scale.log() - HALF_LN_2PI
}

/// The normal log-density with the scale given as one number `scale`:
/// `−(x − μ)²/(2s²) − (ln s + ½ ln 2π)`, 4 element-wise passes; equal bit for bit to
/// [`normal_log_prob_composed`] when `scale` is 1.
pub fn normal_log_prob_fixed_scale_composed<B: Backend, const D: usize>(
    value: Tensor<B, D>,
    loc: Tensor<B, D>,
    scale: f64,
) -> Tensor<B, D> {
    (value - loc).powi_scalar(2) * (-0.5 / (scale * scale)) - (scale.ln() + HALF_LN_2PI)
}

/// The gradients of [`normal_log_prob_composed`] given the gradient `grad` of its output
/// (which has the broadcast shape): `(∂/∂value, ∂/∂loc, ∂/∂scale)`, each in the broadcast
/// shape, computed only where `wanted` says so (`None` otherwise).
pub fn normal_log_prob_grads<B: Backend, const D: usize>(
    value: Tensor<B, D>,
    loc: Tensor<B, D>,
    scale: Tensor<B, D>,
    grad: Tensor<B, D>,
    wanted: [bool; 3],
) -> [Option<Tensor<B, D>>; 3] {
    let inv = scale.recip();
    let z = (value - loc) * inv.clone();
    // ∂/∂x = −g·z/σ; ∂/∂μ its negation.
    let g_value = (wanted[0] || wanted[1]).then(|| (grad.clone() * z.clone()).neg() * inv.clone());
    let g_scale = wanted[2].then(|| grad * (z.clone() * z - 1.0) * inv);
    let g_loc = if wanted[1] {
        g_value.clone().map(Tensor::neg)
    } else {
        None
    };
    [if wanted[0] { g_value } else { None }, g_loc, g_scale]
}

/// The gradients of [`normal_log_prob_fixed_scale_composed`] given `grad`:
/// `(∂/∂value, ∂/∂loc)` in the broadcast shape, where `wanted`: `∂/∂μ = g·(x − μ)·σ⁻²`, and
/// `∂/∂x` the same product times `−σ⁻²` (rounding is symmetric in the sign, so the two are
/// exact negations of each other).
pub fn normal_log_prob_fixed_scale_grads<B: Backend, const D: usize>(
    value: Tensor<B, D>,
    loc: Tensor<B, D>,
    scale: f64,
    grad: Tensor<B, D>,
    wanted: [bool; 2],
) -> [Option<Tensor<B, D>>; 2] {
    let k = 1.0 / (scale * scale);
    let product = grad * (value - loc);
    match wanted {
        [true, true] => [Some(product.clone() * -k), Some(product * k)],
        [true, false] => [Some(product * -k), None],
        [false, true] => [None, Some(product * k)],
        [false, false] => [None, None],
    }
}

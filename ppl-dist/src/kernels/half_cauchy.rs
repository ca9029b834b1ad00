//! The half-Cauchy log-density as one fused operation, composed from burn's operations: the
//! forward pass (what [`HalfCauchy::log_prob`](crate::HalfCauchy) computes) and its gradients
//! with respect to the value and the scale.
//!
//! With `t = x/s`, `ln p(x) = ln(2/π) − ln s − ln(1 + t²)` for `x ≥ 0` (`−∞` elsewhere), so
//! `∂/∂x = −r/s` and `∂/∂s = (t·r − 1)/s` with `r = 2t/(1 + t²) = 2/(t + 1/t)` (finite for
//! every `t`, 0 at 0 and at ±∞); no gradient flows from values outside the support. Shapes
//! broadcast as in [`normal`](super::normal).

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use crate::constraint::{mask_outside, zero_outside};

/// `ln(2/π) − ln s − ln(1 + (x/s)²)` for `x ≥ 0`, `−∞` elsewhere, with `value` and `scale`
/// broadcast together (the result has the broadcast shape), as
/// [`HalfCauchy::log_prob`](crate::HalfCauchy) computes it.
pub fn half_cauchy_log_prob_composed<B: Backend, const D: usize>(
    value: Tensor<B, D>,
    scale: Tensor<B, D>,
) -> Tensor<B, D> {
    let inside = value.clone().greater_equal_elem(0.0);
    let lp =
        crate::special::log1p_square(value / scale.clone()).neg() - scale.log() + (2.0 / std::f64::consts::PI).ln();
    mask_outside(lp, inside)
}

/// The gradients of [`half_cauchy_log_prob_composed`] given the gradient `grad` of its
/// output (which has the broadcast shape): `(∂/∂value, ∂/∂scale)`, each in the broadcast
/// shape and 0 where the value is outside the support, computed only where `wanted` says so.
pub fn half_cauchy_log_prob_grads<B: Backend, const D: usize>(
    value: Tensor<B, D>,
    scale: Tensor<B, D>,
    grad: Tensor<B, D>,
    wanted: [bool; 2],
) -> [Option<Tensor<B, D>>; 2] {
    let grad = zero_outside(grad, value.clone().lower_elem(0.0));
    let inv = scale.recip();
    let t = value * inv.clone();
    let r = (t.clone() + t.clone().recip()).recip() * 2.0;
    let g_value = wanted[0].then(|| (grad.clone() * r.clone()).neg() * inv.clone());
    let g_scale = wanted[1].then(|| grad * (t * r - 1.0) * inv);
    [g_value, g_scale]
}

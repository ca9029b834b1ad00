//! The log-normal log-density as one fused operation, composed from burn's operations: the
//! forward pass (what [`LogNormal::log_prob`](crate::LogNormal) computes with a tensor scale)
//! and its gradients with respect to the value, the location and the scale.
//!
//! With `y = ln x` and `z = (y − μ)/σ`, `ln p(x) = −½z² − ln σ − ½ ln 2π − y` for `x > 0`
//! (`−∞` elsewhere), so `∂/∂x = −(z/σ + 1)/x`, `∂/∂μ = z/σ`, `∂/∂σ = (z² − 1)/σ`, and no
//! gradient flows from values outside the support. Shapes broadcast as in
//! [`normal`](super::normal).

use burn::tensor::backend::Backend;
use burn::tensor::{Bool, Tensor};

use super::normal::{normal_log_prob_composed, normal_log_prob_grads};
use crate::constraint::{mask_outside, zero_outside};

/// `value > 0`, and `ln value` with 0 where the value is outside the support.
fn log_inside<B: Backend, const D: usize>(value: Tensor<B, D>) -> (Tensor<B, D, Bool>, Tensor<B, D>) {
    let inside = value.clone().greater_elem(0.0);
    let safe = value.mask_fill(inside.clone().bool_not(), 1.0);
    (inside, safe.log())
}

/// `−½((ln x − μ)/σ)² − ln σ − ½ ln 2π − ln x` for `x > 0`, `−∞` elsewhere, with `value`,
/// `loc` and `scale` broadcast together (the result has the broadcast shape), as
/// [`LogNormal::log_prob`](crate::LogNormal) computes it.
pub fn log_normal_log_prob_composed<B: Backend, const D: usize>(
    value: Tensor<B, D>,
    loc: Tensor<B, D>,
    scale: Tensor<B, D>,
) -> Tensor<B, D> {
    let (inside, log_x) = log_inside(value);
    mask_outside(normal_log_prob_composed(log_x.clone(), loc, scale) - log_x, inside)
}

/// The gradients of [`log_normal_log_prob_composed`] given the gradient `grad` of its
/// output (which has the broadcast shape): `(∂/∂value, ∂/∂loc, ∂/∂scale)`, each in the
/// broadcast shape and 0 where the value is outside the support, computed only where
/// `wanted` says so (`None` otherwise).
pub fn log_normal_log_prob_grads<B: Backend, const D: usize>(
    value: Tensor<B, D>,
    loc: Tensor<B, D>,
    scale: Tensor<B, D>,
    grad: Tensor<B, D>,
    wanted: [bool; 3],
) -> [Option<Tensor<B, D>>; 3] {
    let (inside, log_x) = log_inside(value.clone());
    let outside = inside.bool_not();
    let grad = zero_outside(grad, outside.clone());
    // The normal's gradients at y = ln x give ∂/∂μ and ∂/∂σ; ∂/∂x = (∂/∂y − g)/x (the value
    // is 1 where masked, and g 0 there).
    let [g_y, g_loc, g_scale] = normal_log_prob_grads(log_x, loc, scale, grad.clone(), wanted);
    let g_value = g_y.map(|g_y| (g_y - grad) / value.mask_fill(outside, 1.0));
    [g_value, g_loc, g_scale]
}

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

use super::normal::normal_log_prob_composed;
use crate::constraint::mask_outside;

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
    let inv = scale.recip();
    let z = (log_x - loc) * inv.clone();
    let outside = inside.bool_not();
    let grad = {
        let outside = if outside.dims() == grad.dims() {
            outside.clone()
        } else {
            outside.clone().expand(grad.dims())
        };
        grad.mask_fill(outside, 0.0)
    };
    // ∂/∂μ = g·z/σ; ∂/∂x = −(g·z/σ + g)/x (the value is 1 where masked, and g 0 there).
    let g_loc = (wanted[0] || wanted[1]).then(|| grad.clone() * z.clone() * inv.clone());
    let g_value = wanted[0].then(|| {
        let safe = value.mask_fill(outside, 1.0);
        (g_loc.clone().expect("computed when the value's gradient is wanted") + grad.clone()).neg() / safe
    });
    let g_scale = wanted[2].then(|| grad * (z.clone() * z - 1.0) * inv);
    [g_value, if wanted[1] { g_loc } else { None }, g_scale]
}

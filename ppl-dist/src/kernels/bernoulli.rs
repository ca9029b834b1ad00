//! The Bernoulli log-density from logits as one fused operation, composed from burn's
//! operations: the forward pass and the gradient with respect to the logits.
//!
//! With `s = 2x − 1` for a value `x ∈ {0, 1}`, `ln p(x) = ln σ(s·l)` (the two softplus
//! branches in one: `−softplus(−l)` at 1, `−softplus(l)` at 0). The argument is floored at
//! `−f32::MAX` (a NaN stays NaN) so that an infinite logit on the wrong side scores about
//! `−3.4·10³⁸`; values outside `{0, 1}` score `−∞`. The gradient is
//! `∂/∂l = s·σ(−s·l)`, 0 where the floor applied or the value is outside the support.

use burn::tensor::activation::log_sigmoid;
use burn::tensor::backend::Backend;
use burn::tensor::{Bool, Tensor};

use super::float;
use crate::constraint::{mask_outside, Constraint};

/// The floor of the logit argument, `−f32::MAX` (finite in every float type we run).
pub(crate) const LOGIT_FLOOR: f64 = -(f32::MAX as f64);

/// `ln σ(s·l)`: the log-density of `value` under a Bernoulli with `logits` (shapes:
/// broadcastable; the result has the broadcast shape), as `Bernoulli::log_prob` computes it.
/// On an autodiff backend, gradients flow to `logits` (and to `value`, which the fused
/// kernels do not do: they take the value as data).
pub fn bernoulli_logits_log_prob_composed<B: Backend, const D: usize>(
    logits: Tensor<B, D>,
    value: Tensor<B, D>,
) -> Tensor<B, D> {
    let arg = Argument::new(logits, value);
    mask_outside(log_sigmoid(arg.t), arg.inside)
}

/// The pieces both passes share, as the composed operations compute them: whether the value
/// is in `{0, 1}`, the sign `s = 2x − 1` (values outside taken as 0), and `t = s·l` floored
/// at `−f32::MAX` with where the floor applied.
struct Argument<B: Backend, const D: usize> {
    inside: Tensor<B, D, Bool>,
    sign: Tensor<B, D>,
    t: Tensor<B, D>,
    below: Tensor<B, D, Bool>,
}

impl<B: Backend, const D: usize> Argument<B, D> {
    fn new(logits: Tensor<B, D>, value: Tensor<B, D>) -> Self {
        let inside = Constraint::Boolean.check(value.clone()).expect("boolean check");
        let x = value.mask_fill(inside.clone().bool_not(), 0.0);
        let sign = x * 2.0 - 1.0;
        let t = logits * sign.clone();
        let below = t.clone().lower_elem(LOGIT_FLOOR);
        let t = t.mask_fill(below.clone(), LOGIT_FLOOR);
        Argument { inside, sign, t, below }
    }
}

/// The gradient of [`bernoulli_logits_log_prob_composed`] with respect to `logits`, given
/// the gradient `grad` of its output (all three of one shape): burn-autodiff's backward pass
/// through those operations, step for step, so the numbers are the ones it computes.
pub fn bernoulli_logits_grad_composed<B: Backend, const D: usize>(
    logits: Tensor<B, D>,
    value: Tensor<B, D>,
    grad: Tensor<B, D>,
) -> Tensor<B, D> {
    let Argument { inside, sign, t, below } = Argument::new(logits, value);
    let grad = grad.mask_fill(inside.bool_not(), 0.0);
    let grad_t = B::log_sigmoid_backward(t.into_primitive().tensor(), grad.into_primitive().tensor());
    float::<B, D>(grad_t).mask_fill(below, 0.0) * sign
}

/// The gradient burn-autodiff's backward step of `sum` hands to the summed tensor, given the
/// sum's gradient `grad` (`[1]`): ones of `like`'s shape (in `grad`'s float type) times
/// `grad`, so every element is `grad` exactly. What the Bernoulli sum's gradient feeds the
/// element-wise gradient where no kernel takes the one number.
pub(crate) fn sum_grad_filled<B: Backend, const D: usize>(like: &Tensor<B, D>, grad: Tensor<B, 1>) -> Tensor<B, D> {
    Tensor::<B, D>::ones(like.shape(), (&like.device(), grad.dtype())) * grad.reshape([1; D])
}

/// `grad·w` for each slope `w` of `slopes` (`[..]`), in the slopes' float type and rounded
/// once to `grad`'s (`[1]`), and `w` itself where it is 0: the gradient of a Bernoulli
/// log-density's sum from its slopes (see
/// [`FusedKernels::bernoulli_logits_log_prob_slopes`](super::FusedKernels::bernoulli_logits_log_prob_slopes)),
/// composed from burn's operations.
pub fn bernoulli_logits_sum_grad_from_slopes_composed<B: Backend, const D: usize>(
    slopes: Tensor<B, D>,
    grad: Tensor<B, 1>,
) -> Tensor<B, D> {
    let dtype = grad.dtype();
    let zero = slopes.clone().equal_elem(0.0);
    let g = grad.cast(slopes.dtype()).reshape([1; D]);
    (slopes.clone() * g).mask_where(zero, slopes).cast(dtype)
}

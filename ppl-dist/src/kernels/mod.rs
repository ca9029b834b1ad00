//! Backend extensions: fused kernels that burn's op set cannot express in one pass.
//!
//! [`FusedKernels`] is implemented for every backend this crate builds with (NdArray, flex,
//! LibTorch `f32`/`f64`, CUDA `f32`), each method with a default that composes burn's own
//! operations; a backend overrides a method where it has a faster kernel that gives the same
//! numbers (two exceptions on LibTorch, below: its Bernoulli gradient, more accurate, and its
//! Adam, rounded as torch's fused operators round it). Today flex (the default CPU backend) overrides
//! - [`FusedKernels::adam_update`]: one pass over parameter, gradient and both moments instead
//!   of thirteen tensor operations (each reading and writing a whole buffer), which also says
//!   whether the new values are finite ([`FusedKernels::adam_update_checked`]: no second pass
//!   over them to check);
//! - [`FusedKernels::bernoulli_logits_log_prob`] and its gradient: one pass each way instead
//!   of about ten operations; for an observed site's sum
//!   ([`FusedKernels::bernoulli_logits_log_prob_sum`]), the forward pass in `f32` also keeps
//!   each element's slope ([`FusedKernels::bernoulli_logits_log_prob_slopes`]), so the
//!   gradient is one multiplication per element by the sum's one incoming number
//!   ([`FusedKernels::bernoulli_logits_sum_grad_from_slopes`]) instead of burn's tensor of
//!   ones times that number followed by the density's derivative;
//! - [`FusedKernels::dense`] and [`FusedKernels::dense_grads`]: a network's dense layer and
//!   its ReLU, gemm into a buffer nothing zeroes first and one pass for the bias and the
//!   activation (backward: one pass for ReLU's mask and the bias gradient, the two products
//!   on strided views), where burn's `linear` and `relu` take five passes and two nodes,
//!
//! the first bit for bit the composed result in the parameters (its moments are flushed to
//! zero where they fall below the smallest normal number, which moves no parameter and keeps
//! x86 off its ~100× slower subnormal arithmetic), the second too in f64 and within 2 ulps of
//! it in f32 (its kernel rounds once, within 1 ulp of the exact value), the third bit for bit.
//! The element-wise loops split long buffers (Bernoulli from 65 536 elements, Adam from
//! 131 072) across rayon's threads (the pool flex and gemm use), chunk by chunk, which changes
//! no number; inside [`with_serial_kernels`] neither they nor the dense layer's products
//! split. LibTorch overrides the Bernoulli pair with libtorch's own operators (9 forward and
//! 13 backward instead of 13 and 29 through burn's generic `log_sigmoid_backward`):
//! the log-density bit for bit, the gradient `g·σ(−t)·(2x − 1)` within 4 ulps; Adam with
//! torch's fused element-wise operators (`lerp` for both moments, `addcdiv`: 7 passes instead of
//! 13, and two in-place passes that flush subnormal moments to zero as flex's kernel does),
//! the same update rounded differently, within a few ulps per step of the composed one;
//! and the dense layer with its bias and ReLU in place on the product's buffer and
//! `threshold_backward` for ReLU's mask (bit for bit). burn's `Autodiff`
//! backend (with this crate's `autodiff` feature) records a fused density as one graph node
//! whose backward pass is the inner backend's gradient kernel. On `Autodiff`, where the cost
//! of a small model is the bookkeeping per graph node rather than the arithmetic, these are
//! one node each over the composed defaults: [`FusedKernels::normal_log_prob`] (seven
//! nodes otherwise; gradients for value, loc and scale, summed back over broadcast
//! dimensions), [`FusedKernels::log_normal_log_prob`] (eleven otherwise),
//! [`FusedKernels::half_cauchy_log_prob`] (about seventeen; eight schools' τ),
//! [`FusedKernels::softplus`] (six otherwise; the map of positive parameters) and
//! [`FusedKernels::normal_reparameterized`] (two otherwise; a latent's pathwise draw, reached
//! through [`fused_rsample`]). Their values are the composed operations' bit for bit, their
//! gradients within rounding (the draw's bit for bit). Inference reaches the densities
//! through [`fused_log_prob`]
//! (`ppl_core::Ctx::with_scorer`), so models keep writing `Bernoulli::from_logits(..)` and
//! `Normal::new(..)` on any `B: Backend`; networks reach the dense layer through [`dense`],
//! which takes the kernel of the enclosing [`with_dense_kernel`] scope (`ppl_core::run` opens
//! one around every model and guide run with a scorer), so `ppl_nn::Mlp` stays generic too.
//!
//! [`TrainingBackend`] names what the optimizers need: an autodiff backend whose inner backend
//! has these kernels. It is implemented for every such backend, so generic code writes
//! `B: TrainingBackend` where it would write `B: AutodiffBackend`:
//!
//! ```
//! use burn::backend::{Autodiff, Flex};
//! use ppl_dist::kernels::TrainingBackend;
//!
//! fn trains<B: TrainingBackend>() -> bool { true }
//! assert!(trains::<Autodiff<Flex>>());
//! ```
//!
//! A backend outside that list (wgpu, candle, a custom one) cannot be given these traits from
//! outside this crate (Rust's orphan rule); open an issue, or add it beside the impls below.

mod adam;
#[cfg(feature = "autodiff")]
mod autodiff;
mod bernoulli;
mod dense;
#[cfg(feature = "flex")]
mod flex;
mod half_cauchy;
#[cfg(feature = "tch")]
mod libtorch;
mod log_normal;
mod normal;
mod serial;
#[cfg(feature = "flex")]
mod vector_math;

pub use adam::{adam_update_composed, AdamMoments, AdamStep};
pub use bernoulli::{
    bernoulli_logits_grad_composed, bernoulli_logits_log_prob_composed, bernoulli_logits_sum_grad_from_slopes_composed,
};
pub use dense::{
    dense, dense_composed, dense_grads_composed, with_dense_kernel, DenseActivation, DenseGrads, DenseKernel,
};
pub use half_cauchy::{half_cauchy_log_prob_composed, half_cauchy_log_prob_grads};
pub use log_normal::{log_normal_log_prob_composed, log_normal_log_prob_grads};
pub use normal::{
    normal_log_prob_composed, normal_log_prob_fixed_scale_composed, normal_log_prob_fixed_scale_grads,
    normal_log_prob_grads,
};
pub use serial::{serial_kernels, with_serial_kernels};

use std::any::Any;

use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::ops::FloatTensor;
use burn::tensor::{Tensor, TensorPrimitive};

use crate::probs::BinaryParam;
use crate::{Bernoulli, HalfCauchy, LogNormal, Normal};

/// Fused kernels a backend may provide (see the [module docs](self)). Every method has a
/// default composed from burn's operations; overrides must give the same values (two
/// exceptions, both on LibTorch: its Bernoulli gradient is more accurate, and its Adam update
/// rounds as torch's fused operators do; see those methods).
pub trait FusedKernels: Backend {
    /// Whether this backend's kernels split their work across rayon's global thread pool
    /// (flex and NdArray: their products and element-wise loops). `false` by default:
    /// LibTorch and CUDA compute on pools of their own. `ppl_infer::PoolWait` keeps rayon's
    /// threads awake through a training step only where this holds.
    fn kernels_on_rayon_pool() -> bool {
        false
    }

    /// Whether every element of `t` is finite, when this backend can tell in one pass over a
    /// buffer it holds on the host; `None` (the default) where it cannot, and the caller sums
    /// on the device instead (one read-back for all tensors). flex: a pass over the buffer,
    /// split across the thread pool for large tensors. Used by `Svi` to check gradients and
    /// updated parameters every step.
    fn all_finite<const D: usize>(t: Tensor<Self, D>) -> Option<bool> {
        let _ = t;
        None
    }

    /// One Adam update of a parameter `param` with gradient `grad` and the moments of the
    /// steps before (`None` on the first step): returns the new parameter and moments.
    /// Shapes: all `[..]` of the parameter's shape. The arithmetic is burn-optim 0.21's Adam
    /// (without weight decay or AMSGrad), operation for operation; see [`AdamStep`].
    /// LibTorch's override computes the same update with torch's fused operators (`lerp`,
    /// `addcdiv`: 7 passes instead of 13), held to a few ulps of each result's
    /// terms per step rather than bit for bit (`ppl-dist/tests/suite/fused_adam.rs`). The
    /// flex and LibTorch kernels flush moments below the smallest normal number to zero
    /// (subnormal arithmetic is ~100× slower on x86; such a moment moves no parameter).
    fn adam_update<const D: usize>(
        param: Tensor<Self, D>,
        grad: Tensor<Self, D>,
        moments: Option<AdamMoments<Self, D>>,
        step: &AdamStep,
    ) -> (Tensor<Self, D>, AdamMoments<Self, D>) {
        adam_update_composed(param, grad, moments, step)
    }

    /// [`FusedKernels::adam_update`], and whether every value of the new parameter is finite
    /// where the kernel can tell without another pass over it (`None`: it cannot; check the
    /// parameter separately). flex's kernel tells (it writes each value anyway); the others
    /// keep the default, `None`.
    fn adam_update_checked<const D: usize>(
        param: Tensor<Self, D>,
        grad: Tensor<Self, D>,
        moments: Option<AdamMoments<Self, D>>,
        step: &AdamStep,
    ) -> (Tensor<Self, D>, AdamMoments<Self, D>, Option<bool>) {
        let (param, moments) = Self::adam_update(param, grad, moments, step);
        (param, moments, None)
    }

    /// The Bernoulli log-density of `value` (0 or 1; anything else scores `−∞`) given
    /// `logits`, `ln σ((2x − 1)·l)`, as [`bernoulli_logits_log_prob_composed`] computes it
    /// (see there for the floor at `−f32::MAX`). Shapes: both the same `[..]`. On the
    /// autodiff backend one graph node whose gradient (to `logits` only) is
    /// [`FusedKernels::bernoulli_logits_grad`].
    fn bernoulli_logits_log_prob<const D: usize>(logits: Tensor<Self, D>, value: Tensor<Self, D>) -> Tensor<Self, D> {
        bernoulli_logits_log_prob_composed(logits, value)
    }

    /// The gradient of [`FusedKernels::bernoulli_logits_log_prob`] with respect to `logits`,
    /// given the gradient `grad` of its output; all three of one shape. The numbers are
    /// burn-autodiff's through the composed operations ([`bernoulli_logits_grad_composed`]);
    /// LibTorch's override writes `σ(−t)` directly and is held to the exact value (4 ulps)
    /// instead, since burn's generic `log_sigmoid_backward` under the composed operations
    /// loses digits to cancellation for large logits (4.6e−4 relative at 10 in f32).
    fn bernoulli_logits_grad<const D: usize>(
        logits: Tensor<Self, D>,
        value: Tensor<Self, D>,
        grad: Tensor<Self, D>,
    ) -> Tensor<Self, D> {
        bernoulli_logits_grad_composed(logits, value, grad)
    }

    /// [`FusedKernels::bernoulli_logits_log_prob`] and the sum of all its elements (`[1]`),
    /// the sum as `Tensor::sum` computes it. On the autodiff backend the sum is a graph node
    /// of its own with `logits` as its parent, whose gradient is
    /// [`FusedKernels::bernoulli_logits_sum_grad`]: a loss that uses only the sum (the ELBO
    /// of an observed site) never builds the `[..]` gradient of the element-wise values
    /// (burn's `sum` fills a tensor of ones and multiplies it by the gradient). The values
    /// are those of the two operations apart, bit for bit.
    fn bernoulli_logits_log_prob_sum<const D: usize>(
        logits: Tensor<Self, D>,
        value: Tensor<Self, D>,
    ) -> (Tensor<Self, D>, Tensor<Self, 1>) {
        let lp = Self::bernoulli_logits_log_prob(logits, value);
        (lp.clone(), lp.sum())
    }

    /// The gradient with respect to `logits` of the sum of
    /// [`FusedKernels::bernoulli_logits_log_prob`]'s elements, given the gradient `grad`
    /// (`[1]`) of that sum: [`FusedKernels::bernoulli_logits_grad`] with every element of its
    /// incoming gradient equal to `grad`: the default builds that tensor as burn's `sum`
    /// does (ones times `grad`); flex's kernel takes the one number instead, the same
    /// numbers. Shapes: `logits` and `value` the same `[..]`; the result has it.
    fn bernoulli_logits_sum_grad<const D: usize>(
        logits: Tensor<Self, D>,
        value: Tensor<Self, D>,
        grad: Tensor<Self, 1>,
    ) -> Tensor<Self, D> {
        let grad = bernoulli::sum_grad_filled(&logits, grad);
        Self::bernoulli_logits_grad(logits, value, grad)
    }

    /// [`FusedKernels::bernoulli_logits_log_prob`] and, from the same pass, each element's
    /// slope `w = s·σ(−s·l)` (`∂ ln p/∂l`; `±0`, the sign of `s`, where the gradient is 0:
    /// outside the support or below the floor), where the backend keeps slopes for a
    /// backward pass: the gradient of the values' sum is then
    /// [`FusedKernels::bernoulli_logits_sum_grad_from_slopes`], one multiplication per
    /// element, instead of the density's derivative evaluated again. `None` (the default)
    /// where it does not. flex gives slopes for `f32` logits, as an `f64` tensor (so that the
    /// gradient rounds once, as its [`FusedKernels::bernoulli_logits_grad`] does). Shapes:
    /// both the same `[..]`, and both results.
    fn bernoulli_logits_log_prob_slopes<const D: usize>(
        logits: Tensor<Self, D>,
        value: Tensor<Self, D>,
    ) -> Option<(Tensor<Self, D>, Tensor<Self, D>)> {
        let _ = (logits, value);
        None
    }

    /// The gradient with respect to the logits of the sum of the log-density's elements,
    /// from the slopes of [`FusedKernels::bernoulli_logits_log_prob_slopes`] and the sum's
    /// gradient `grad` (`[1]`): `grad·w` for each slope `w`, computed in the slopes' float
    /// type and rounded once to `grad`'s, and `w` itself (`±0`) where it is 0 (so a
    /// non-finite `grad` gives 0 there, as [`FusedKernels::bernoulli_logits_sum_grad`]
    /// does). The same numbers as [`FusedKernels::bernoulli_logits_sum_grad`] on the
    /// logits and value the slopes came from. Shapes: `slopes` `[..]`; the result has it.
    fn bernoulli_logits_sum_grad_from_slopes<const D: usize>(
        slopes: Tensor<Self, D>,
        grad: Tensor<Self, 1>,
    ) -> Tensor<Self, D> {
        bernoulli_logits_sum_grad_from_slopes_composed(slopes, grad)
    }

    /// The normal log-density of `value` given `loc` and `scale`, as
    /// [`normal_log_prob_composed`] computes it. Shapes: broadcastable; the result has the
    /// broadcast shape. On the autodiff backend one graph node (instead of seven) with all
    /// three as parents, whose backward pass is [`normal_log_prob_grads`].
    fn normal_log_prob<const D: usize>(
        value: Tensor<Self, D>,
        loc: Tensor<Self, D>,
        scale: Tensor<Self, D>,
    ) -> Tensor<Self, D> {
        normal_log_prob_composed(value, loc, scale)
    }

    /// The normal log-density with the scale given as one number, as
    /// [`normal_log_prob_fixed_scale_composed`] computes it; on the autodiff backend one node
    /// (instead of four) with `value` and `loc` as parents.
    fn normal_log_prob_fixed_scale<const D: usize>(
        value: Tensor<Self, D>,
        loc: Tensor<Self, D>,
        scale: f64,
    ) -> Tensor<Self, D> {
        normal_log_prob_fixed_scale_composed(value, loc, scale)
    }

    /// `a + b` for two tensors of one shape, such as two shares' gradients of one parameter
    /// (flex: added into `a`'s buffer when it is `a`'s alone, split across the thread pool for
    /// large tensors; the same bits as `a + b`).
    fn add_same_shape<const D: usize>(a: Tensor<Self, D>, b: Tensor<Self, D>) -> Tensor<Self, D> {
        a + b
    }

    /// The gradients of [`FusedKernels::normal_log_prob_fixed_scale`] given the gradient
    /// `grad` of its output, `(∂/∂value, ∂/∂loc)` where `wanted`, as
    /// [`normal_log_prob_fixed_scale_grads`] computes them (flex: one pass, the same bits).
    fn normal_log_prob_fixed_scale_grads<const D: usize>(
        value: Tensor<Self, D>,
        loc: Tensor<Self, D>,
        scale: f64,
        grad: Tensor<Self, D>,
        wanted: [bool; 2],
    ) -> [Option<Tensor<Self, D>>; 2] {
        normal_log_prob_fixed_scale_grads(value, loc, scale, grad, wanted)
    }

    /// The log-normal log-density of `value` given the location `loc` and scale `scale` of
    /// its logarithm, as [`log_normal_log_prob_composed`] computes it (`−∞` for `x ≤ 0`).
    /// Shapes: broadcastable; the result has the broadcast shape. On the autodiff backend one
    /// graph node (instead of eleven) whose backward pass is [`log_normal_log_prob_grads`].
    fn log_normal_log_prob<const D: usize>(
        value: Tensor<Self, D>,
        loc: Tensor<Self, D>,
        scale: Tensor<Self, D>,
    ) -> Tensor<Self, D> {
        log_normal_log_prob_composed(value, loc, scale)
    }

    /// The half-Cauchy log-density of `value` given `scale`, as
    /// [`half_cauchy_log_prob_composed`] computes it (`−∞` for `x < 0`). Shapes:
    /// broadcastable; the result has the broadcast shape. On the autodiff backend one graph
    /// node (instead of about seventeen) whose backward pass is [`half_cauchy_log_prob_grads`].
    fn half_cauchy_log_prob<const D: usize>(value: Tensor<Self, D>, scale: Tensor<Self, D>) -> Tensor<Self, D> {
        half_cauchy_log_prob_composed(value, scale)
    }

    /// A normal's reparameterized draw `loc + scale·ε` from standard normal noise `eps`
    /// (shapes: broadcastable), as `Normal::rsample` computes it. On the autodiff backend one
    /// graph node (instead of two) with `loc` and `scale` as parents: gradients `g` and `g·ε`,
    /// summed back over broadcast dimensions (the composed operations' numbers).
    fn normal_reparameterized<const D: usize>(
        loc: Tensor<Self, D>,
        scale: Tensor<Self, D>,
        eps: Tensor<Self, D>,
    ) -> Tensor<Self, D> {
        loc + scale * eps
    }

    /// A dense layer `act(x·W + b)` with `x` `[m, d_in]`, `weight` `[d_in, d_out]` and
    /// `bias` `[d_out]` (result `[m, d_out]`), as [`dense_composed`] computes it (burn's
    /// `linear`, then the activation). On the autodiff backend one graph node (instead of
    /// two) whose backward pass is [`FusedKernels::dense_grads`]. Networks reach it through
    /// [`dense`] inside a [`with_dense_kernel`] scope.
    fn dense(
        x: Tensor<Self, 2>,
        weight: Tensor<Self, 2>,
        bias: Option<Tensor<Self, 1>>,
        activation: DenseActivation,
    ) -> Tensor<Self, 2> {
        dense_composed(x, weight, bias, activation)
    }

    /// The gradients of [`FusedKernels::dense`] given the gradient `grad` `[m, d_out]` of its
    /// output, as [`dense_grads_composed`] computes them: `∂/∂x` when `weight` is given,
    /// `∂/∂W` when `x` is given, `∂/∂b` when `bias_wanted`; ReLU needs the layer's `output`.
    fn dense_grads(
        x: Option<Tensor<Self, 2>>,
        weight: Option<Tensor<Self, 2>>,
        output: Option<Tensor<Self, 2>>,
        grad: Tensor<Self, 2>,
        activation: DenseActivation,
        bias_wanted: bool,
    ) -> DenseGrads<Self> {
        dense_grads_composed(x, weight, output, grad, activation, bias_wanted)
    }

    /// `softplus(x) = ln(1 + eˣ)` as [`special::softplus`](crate::special::softplus)
    /// computes it (the map of positive parameters). On the autodiff backend one graph node
    /// (instead of six) whose gradient is `σ(x)` ([`special::sigmoid`](crate::special::sigmoid))
    /// times the incoming one.
    fn softplus<const D: usize>(x: Tensor<Self, D>) -> Tensor<Self, D> {
        crate::special::softplus(x)
    }
}

/// A backend's float primitive as a tensor of rank `D` (what the kernels compute on).
fn float<B: Backend, const D: usize>(t: FloatTensor<B>) -> Tensor<B, D> {
    Tensor::from_primitive(TensorPrimitive::Float(t))
}

/// The log-density of `value` under `dist` (a distribution seen as [`Any`], e.g. through
/// `ppl_core::ErasedDist::inner_any`) computed by a fused kernel, where the distribution
/// has one; `None` otherwise (score it with its own `log_prob`). Same values as `log_prob`.
///
/// Fused today: [`Bernoulli`] from logits of the value's shape, [`Normal`], [`LogNormal`]
/// with a tensor scale and [`HalfCauchy`] (any shapes that broadcast).
pub fn fused_log_prob<B: FusedKernels, const D: usize>(dist: &dyn Any, value: &Tensor<B, D>) -> Option<Tensor<B, D>> {
    if let Some(normal) = dist.downcast_ref::<Normal<B, D>>() {
        let (loc, value) = (normal.loc().clone(), value.clone());
        return Some(match normal.scale_const() {
            Some(s) => B::normal_log_prob_fixed_scale(value, loc, s),
            None => B::normal_log_prob(value, loc, normal.scale().clone()),
        });
    }
    if let Some(log_normal) = dist.downcast_ref::<LogNormal<B, D>>() {
        // A scale given as a number keeps LogNormal's own (composed) path.
        return log_normal
            .scale_const()
            .is_none()
            .then(|| B::log_normal_log_prob(value.clone(), log_normal.loc().clone(), log_normal.scale().clone()));
    }
    if let Some(half_cauchy) = dist.downcast_ref::<HalfCauchy<B, D>>() {
        return Some(B::half_cauchy_log_prob(value.clone(), half_cauchy.scale().clone()));
    }
    match dist.downcast_ref::<Bernoulli<B, D>>()?.param() {
        BinaryParam::Logits(l) if l.dims() == value.dims() => {
            Some(B::bernoulli_logits_log_prob(l.clone(), value.clone()))
        }
        _ => None,
    }
}

/// [`fused_log_prob`], and the sum of all the log-density's elements where a kernel computes
/// it as an operation of its own (see [`FusedKernels::bernoulli_logits_log_prob_sum`]: on the
/// autodiff backend the sum's gradient then goes to the parameters without a `[..]` tensor of
/// the element-wise values' gradient); `None` in its place where the caller sums the values
/// itself. `None` altogether where [`fused_log_prob`] is `None`. The same values as
/// [`fused_log_prob`] and its `sum()`, bit for bit.
///
/// Summed by a kernel today: [`Bernoulli`] from logits of the value's shape.
///
/// ```
/// use burn::backend::Flex;
/// use burn::tensor::Tensor;
/// use ppl_dist::kernels::fused_log_prob_with_sum;
/// use ppl_dist::Bernoulli;
/// let dev = Default::default();
/// let d = Bernoulli::from_logits(Tensor::<Flex, 1>::from_floats([0.5, -2.0], &dev)).unwrap();
/// let x = Tensor::<Flex, 1>::from_floats([1.0, 0.0], &dev);
/// let (lp, sum) = fused_log_prob_with_sum(&d, &x).unwrap();
/// assert_eq!(sum.unwrap().into_scalar(), lp.sum().into_scalar());
/// ```
pub fn fused_log_prob_with_sum<B: FusedKernels, const D: usize>(
    dist: &dyn Any,
    value: &Tensor<B, D>,
) -> Option<(Tensor<B, D>, Option<Tensor<B, 1>>)> {
    if let Some(bernoulli) = dist.downcast_ref::<Bernoulli<B, D>>() {
        if let BinaryParam::Logits(l) = bernoulli.param() {
            if l.dims() == value.dims() {
                let (lp, sum) = B::bernoulli_logits_log_prob_sum(l.clone(), value.clone());
                return Some((lp, Some(sum)));
            }
        }
    }
    fused_log_prob(dist, value).map(|lp| (lp, None))
}

/// A pathwise draw of `shape` from `dist` (a distribution seen as [`Any`]) through a fused
/// kernel, where it has one; `None` otherwise, before drawing anything (draw with the
/// distribution's own `rsample_expanded`). The same draws from the same `rng`.
///
/// Fused today: [`Normal`] with a tensor scale ([`FusedKernels::normal_reparameterized`]),
/// and [`LogNormal`] with a tensor scale (the exponential of that draw).
pub fn fused_rsample<B: FusedKernels, const D: usize>(
    dist: &dyn Any,
    shape: [usize; D],
    rng: &mut crate::RngKey,
) -> Option<Tensor<B, D>> {
    if let Some(normal) = dist.downcast_ref::<Normal<B, D>>() {
        if normal.scale_const().is_some() {
            // `loc + ε·s`: the product is untracked, one node already.
            return None;
        }
        let eps = crate::noise::normal::<B, D>(shape, rng, &normal.loc().device());
        return Some(B::normal_reparameterized(
            normal.loc().clone(),
            normal.scale().clone(),
            eps,
        ));
    }
    // A log-normal draw is the exponential of its normal's.
    let log_normal = dist.downcast_ref::<LogNormal<B, D>>()?;
    if log_normal.scale_const().is_some() {
        return None;
    }
    let eps = crate::noise::normal::<B, D>(shape, rng, &log_normal.loc().device());
    Some(B::normal_reparameterized(log_normal.loc().clone(), log_normal.scale().clone(), eps).exp())
}

/// An autodiff backend with [`FusedKernels`] (the densities' fused nodes) whose inner backend
/// (where optimizers update parameters) has them too: what
/// [`Svi`](../../ppl_infer/struct.Svi.html) trains on. Implemented for every such backend;
/// burn's `Autodiff<B>` has the kernels with this crate's `autodiff` feature.
pub trait TrainingBackend: AutodiffBackend<InnerBackend: FusedKernels> + FusedKernels {}

impl<B> TrainingBackend for B
where
    B: AutodiffBackend + FusedKernels,
    B::InnerBackend: FusedKernels,
{
}

#[cfg(feature = "ndarray")]
impl<E, I, Q> FusedKernels for burn_ndarray::NdArray<E, I, Q>
where
    E: burn_ndarray::FloatNdArrayElement,
    I: burn_ndarray::IntNdArrayElement,
    Q: burn_ndarray::QuantElement,
    burn_ndarray::NdArrayTensor: From<burn_ndarray::SharedArray<E>>,
    burn_ndarray::NdArrayTensor: From<burn_ndarray::SharedArray<I>>,
{
    /// With the workspace's `multi-threads` feature of burn-ndarray.
    fn kernels_on_rayon_pool() -> bool {
        true
    }
}

/// LibTorch: the Bernoulli log-density from logits and its gradient, Adam and the dense layer
/// with libtorch's own operators (`kernels/libtorch.rs`); the rest composed.
#[cfg(feature = "tch")]
macro_rules! libtorch_fused_kernels {
    ($($e:ty),*) => {$(
        impl FusedKernels for burn::backend::LibTorch<$e> {
            fn adam_update<const D: usize>(
                param: Tensor<Self, D>,
                grad: Tensor<Self, D>,
                moments: Option<AdamMoments<Self, D>>,
                step: &AdamStep,
            ) -> (Tensor<Self, D>, AdamMoments<Self, D>) {
                let moments = moments
                    .map(|m| (m.moment_1.into_primitive().tensor(), m.moment_2.into_primitive().tensor()));
                let (p, m, v) = libtorch::adam_update(
                    param.into_primitive().tensor(),
                    grad.into_primitive().tensor(),
                    moments,
                    step,
                );
                (float(p), AdamMoments { moment_1: float(m), moment_2: float(v) })
            }

            fn dense(
                x: Tensor<Self, 2>,
                weight: Tensor<Self, 2>,
                bias: Option<Tensor<Self, 1>>,
                activation: DenseActivation,
            ) -> Tensor<Self, 2> {
                float(libtorch::dense(
                    x.into_primitive().tensor(),
                    weight.into_primitive().tensor(),
                    bias.map(|b| b.into_primitive().tensor()),
                    activation == DenseActivation::Relu,
                ))
            }

            fn dense_grads(
                x: Option<Tensor<Self, 2>>,
                weight: Option<Tensor<Self, 2>>,
                output: Option<Tensor<Self, 2>>,
                grad: Tensor<Self, 2>,
                activation: DenseActivation,
                bias_wanted: bool,
            ) -> DenseGrads<Self> {
                let (dx, dw, db) = libtorch::dense_grads(
                    x.map(|t| t.into_primitive().tensor()),
                    weight.map(|t| t.into_primitive().tensor()),
                    output.map(|t| t.into_primitive().tensor()),
                    grad.into_primitive().tensor(),
                    activation == DenseActivation::Relu,
                    bias_wanted,
                );
                DenseGrads { x: dx.map(float), weight: dw.map(float), bias: db.map(float) }
            }

            fn bernoulli_logits_log_prob<const D: usize>(
                logits: Tensor<Self, D>,
                value: Tensor<Self, D>,
            ) -> Tensor<Self, D> {
                float(libtorch::bernoulli_logits_log_prob(
                    logits.into_primitive().tensor(),
                    value.into_primitive().tensor(),
                ))
            }

            fn bernoulli_logits_grad<const D: usize>(
                logits: Tensor<Self, D>,
                value: Tensor<Self, D>,
                grad: Tensor<Self, D>,
            ) -> Tensor<Self, D> {
                float(libtorch::bernoulli_logits_grad(
                    logits.into_primitive().tensor(),
                    value.into_primitive().tensor(),
                    grad.into_primitive().tensor(),
                ))
            }
        }
    )*};
}

#[cfg(feature = "tch")]
libtorch_fused_kernels!(f32, f64);

#[cfg(feature = "cuda")]
impl FusedKernels for burn::backend::Cuda<f32, i32> {}

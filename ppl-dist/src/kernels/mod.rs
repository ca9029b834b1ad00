//! Backend extensions: fused kernels that burn's op set cannot express in one pass.
//!
//! [`FusedKernels`] is implemented for every backend this crate builds with (NdArray, flex,
//! LibTorch `f32`/`f64`, CUDA `f32`), each method with a default that composes burn's own
//! operations; a backend overrides a method where it has a faster kernel that gives the same
//! numbers. Today flex (the default CPU backend) overrides [`FusedKernels::adam_update`]:
//! one pass over parameter, gradient and both moments instead of thirteen tensor operations
//! (each reading and writing a whole buffer), bit for bit the composed result.
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
#[cfg(feature = "flex")]
mod flex;

pub use adam::{adam_update_composed, AdamMoments, AdamStep};

use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::Tensor;

/// Fused kernels a backend may provide (see the [module docs](self)). Every method has a
/// default composed from burn's operations; overrides must give the same values.
pub trait FusedKernels: Backend {
    /// One Adam update of a parameter `param` with gradient `grad` and the moments of the
    /// steps before (`None` on the first step): returns the new parameter and moments.
    /// Shapes: all `[..]` of the parameter's shape. The arithmetic is burn-optim 0.21's Adam
    /// (without weight decay or AMSGrad), operation for operation; see [`AdamStep`].
    fn adam_update<const D: usize>(
        param: Tensor<Self, D>,
        grad: Tensor<Self, D>,
        moments: Option<AdamMoments<Self, D>>,
        step: &AdamStep,
    ) -> (Tensor<Self, D>, AdamMoments<Self, D>) {
        adam_update_composed(param, grad, moments, step)
    }
}

/// An autodiff backend whose inner backend (where optimizers update parameters) has
/// [`FusedKernels`]: what [`Svi`](../../ppl_infer/struct.Svi.html) trains on. Implemented for
/// every such backend.
pub trait TrainingBackend: AutodiffBackend<InnerBackend: FusedKernels> {}

impl<B> TrainingBackend for B
where
    B: AutodiffBackend,
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
}

#[cfg(feature = "tch")]
impl FusedKernels for burn::backend::LibTorch<f32> {}

#[cfg(feature = "tch")]
impl FusedKernels for burn::backend::LibTorch<f64> {}

#[cfg(feature = "cuda")]
impl FusedKernels for burn::backend::Cuda<f32, i32> {}

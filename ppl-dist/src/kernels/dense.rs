//! A dense layer `act(x·W + b)` as one fused operation: the composed forward pass (burn's
//! `linear` followed by the activation), its gradients, and the scope through which a network
//! written for any `B: Backend` reaches a backend's fused kernel ([`dense`],
//! [`with_dense_kernel`]).
//!
//! With `y = act(x·W + b)` and the gradient `g` of `y`, the pre-activation gradient is
//! `h = g ⊙ act′` (for ReLU, `g` where `y > 0` and 0 elsewhere), and
//! `∂/∂x = h·Wᵀ`, `∂/∂W = xᵀ·h`, `∂/∂b = Σ_rows h`.

use std::any::Any;
use std::cell::RefCell;

use burn::tensor::activation::relu;
use burn::tensor::backend::Backend;
use burn::tensor::module::linear;
use burn::tensor::Tensor;

use super::float;

/// The activation a fused dense layer applies to `x·W + b` (the others are applied after the
/// layer, as separate operations).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DenseActivation {
    /// None: the layer's output is `x·W + b`.
    Identity,
    /// `max(·, 0)`.
    Relu,
}

/// The gradients of a dense layer: each `None` where it was not asked for.
#[derive(Debug)]
pub struct DenseGrads<B: Backend> {
    /// `∂/∂x`, `[m, d_in]`.
    pub x: Option<Tensor<B, 2>>,
    /// `∂/∂W`, `[d_in, d_out]`.
    pub weight: Option<Tensor<B, 2>>,
    /// `∂/∂b`, `[d_out]`.
    pub bias: Option<Tensor<B, 1>>,
}

/// `act(x·W + b)` for `x` `[m, d_in]`, `weight` `[d_in, d_out]`, `bias` `[d_out]`: burn's
/// `linear` then the activation, the numbers every fused kernel must give.
pub fn dense_composed<B: Backend>(
    x: Tensor<B, 2>,
    weight: Tensor<B, 2>,
    bias: Option<Tensor<B, 1>>,
    activation: DenseActivation,
) -> Tensor<B, 2> {
    activate(linear(x, weight, bias), activation)
}

fn activate<B: Backend, const D: usize>(y: Tensor<B, D>, activation: DenseActivation) -> Tensor<B, D> {
    match activation {
        DenseActivation::Identity => y,
        DenseActivation::Relu => relu(y),
    }
}

/// The gradients of [`dense_composed`] given the gradient `grad` `[m, d_out]` of its output,
/// as burn's autodiff computes them through `linear` and the activation: `∂/∂x` when
/// `weight` is given, `∂/∂W` when `x` is given, `∂/∂b` when `bias_wanted`. `output` (the
/// layer's output) is needed by ReLU, whose gradient is 0 where the output is not positive.
///
/// # Panics
/// With ReLU and no `output` (a broken invariant of the caller).
pub fn dense_grads_composed<B: Backend>(
    x: Option<Tensor<B, 2>>,
    weight: Option<Tensor<B, 2>>,
    output: Option<Tensor<B, 2>>,
    grad: Tensor<B, 2>,
    activation: DenseActivation,
    bias_wanted: bool,
) -> DenseGrads<B> {
    let grad = grad.into_primitive().tensor();
    let h = match activation {
        DenseActivation::Identity => grad,
        DenseActivation::Relu => {
            let output = output.expect("ReLU's gradient needs the layer's output");
            B::relu_backward(output.into_primitive().tensor(), grad)
        }
    };
    DenseGrads {
        x: weight.map(|w| float(B::linear_x_backward(w.into_primitive().tensor(), h.clone()))),
        weight: x.map(|x| float(B::linear_weight_backward(x.into_primitive().tensor(), h.clone()))),
        bias: bias_wanted.then(|| float(B::linear_bias_backward(h))),
    }
}

/// A backend's fused dense layer (the shape of [`FusedKernels::dense`](super::FusedKernels::dense)).
pub type DenseKernel<B> = fn(Tensor<B, 2>, Tensor<B, 2>, Option<Tensor<B, 1>>, DenseActivation) -> Tensor<B, 2>;

thread_local! {
    /// The dense kernel of the innermost [`with_dense_kernel`] scope on this thread: a
    /// [`DenseKernel<B>`] for the scope's backend.
    static DENSE_KERNEL: RefCell<Option<Box<dyn Any>>> = const { RefCell::new(None) };
}

/// Run `f` with `kernel` as the dense layer of backend `B` on this thread (`None`: the
/// composed operations), restoring the enclosing scope's afterwards, also when `f` panics.
/// `ppl_core::run` opens this scope with its scorer's kernel around every model and guide
/// run, so an `Mlp` inside a model trained by `Svi` takes the fused layer.
pub fn with_dense_kernel<B: Backend, R>(kernel: Option<DenseKernel<B>>, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Box<dyn Any>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            DENSE_KERNEL.with(|k| *k.borrow_mut() = previous);
        }
    }
    let installed = kernel.map(|k| Box::new(k) as Box<dyn Any>);
    let _restore = Restore(DENSE_KERNEL.with(|k| std::mem::replace(&mut *k.borrow_mut(), installed)));
    f()
}

/// The dense kernel for `B` in scope on this thread, if any.
fn kernel_in_scope<B: Backend>() -> Option<DenseKernel<B>> {
    DENSE_KERNEL.with(|k| {
        k.borrow()
            .as_ref()
            .and_then(|k| k.downcast_ref::<DenseKernel<B>>().copied())
    })
}

/// A dense layer `act(x·W + b)` on any backend: the fused kernel of the enclosing
/// [`with_dense_kernel`] scope where there is one for `B`, burn's `linear` and the activation
/// otherwise (the same values; gradients within rounding).
///
/// # Shapes
/// `x` `[..., d_in]` (any rank; leading dimensions are flattened for the kernel), `weight`
/// `[d_in, d_out]`, `bias` `[d_out]`; the result is `[..., d_out]`.
///
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::Tensor;
/// use ppl_dist::kernels::{dense, DenseActivation};
/// let dev = Default::default();
/// let x = Tensor::<NdArray<f32>, 2>::from_floats([[1.0, -2.0]], &dev);
/// let w = Tensor::from_floats([[1.0, 0.0], [0.0, 1.0]], &dev);
/// let y = dense(x, w, None, DenseActivation::Relu);
/// assert_eq!(y.into_data().to_vec::<f32>().unwrap(), vec![1.0, 0.0]);
/// ```
pub fn dense<B: Backend, const D: usize>(
    x: Tensor<B, D>,
    weight: Tensor<B, 2>,
    bias: Option<Tensor<B, 1>>,
    activation: DenseActivation,
) -> Tensor<B, D> {
    let Some(kernel) = kernel_in_scope::<B>().filter(|_| D >= 2) else {
        return activate(linear(x, weight, bias), activation);
    };
    let dims = x.dims();
    if D == 2 {
        // Already `[m, d_in]`: the same primitive at rank 2 (a reshape would add a node).
        let y = kernel(Tensor::from_primitive(x.into_primitive()), weight, bias, activation);
        return Tensor::from_primitive(y.into_primitive());
    }
    let rows = dims[..D - 1].iter().product::<usize>();
    let y = kernel(x.reshape([rows, dims[D - 1]]), weight, bias, activation);
    let mut out = dims;
    out[D - 1] = y.dims()[1];
    y.reshape(out)
}

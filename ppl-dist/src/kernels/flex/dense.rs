//! flex's fused dense layer: gemm (the crate flex's `matmul` calls, with the same strides and
//! parallelism, so the same products) into a fresh buffer that nothing zeroes first, then one
//! pass that adds the bias and applies the activation; backward, one pass that masks the
//! gradient by ReLU's output and sums the bias gradient, then the two products on strided
//! views (no transposed copies). Every number equals burn's `linear` + `relu` on flex.

use burn::tensor::{DType, Shape, Tensor};
use burn_flex::{Flex, FlexTensor};

use super::{contiguous, Real};
use crate::kernels::{dense_composed, dense_grads_composed, float, DenseActivation, DenseGrads};

/// flex's threshold (in multiply-adds) above which its `matmul` lets gemm use every thread.
const PARALLEL_THRESHOLD: usize = 192 * 192 * 192;

/// A strided matrix view: the first element and the row and column strides, in elements.
#[derive(Clone, Copy)]
struct View<E> {
    ptr: *const E,
    row: isize,
    col: isize,
}

impl<E: Real> View<E> {
    /// The view of a rank-2 flex tensor as it is laid out (transposed views included).
    fn of(t: &FlexTensor) -> Self {
        let strides = t.layout().strides();
        let data = E::slice(t);
        // SAFETY: the layout's start offset lies inside the tensor's buffer.
        let ptr = unsafe { data.as_ptr().add(t.layout().start_offset()) };
        View {
            ptr,
            row: strides[0],
            col: strides[1],
        }
    }

    /// The transposed view (no copy).
    fn t(self) -> Self {
        View {
            ptr: self.ptr,
            row: self.col,
            col: self.row,
        }
    }
}

/// `lhs [m, k] · rhs [k, n]` into a fresh row-major `[m, n]` buffer, as flex's `matmul`
/// computes it (serially inside [`with_serial_kernels`](crate::kernels::with_serial_kernels)).
fn product<E: Real>(m: usize, k: usize, n: usize, lhs: View<E>, rhs: View<E>) -> Vec<E> {
    if k == 0 {
        return vec![E::ZERO; m * n];
    }
    let parallelism =
        if m.saturating_mul(n).saturating_mul(k) >= PARALLEL_THRESHOLD && !crate::kernels::serial_kernels() {
            gemm::Parallelism::Rayon(0)
        } else {
            gemm::Parallelism::None
        };
    let mut out = Vec::<E>::with_capacity(m * n);
    // SAFETY: `out` has room for m·n elements; gemm writes each of them without reading the
    // destination (`read_dst` false), and reads `lhs`/`rhs` only at offsets their views
    // describe inside live tensors.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            1,
            n as isize,
            false,
            lhs.ptr,
            lhs.col,
            lhs.row,
            rhs.ptr,
            rhs.col,
            rhs.row,
            E::ZERO,
            E::ONE,
            false,
            false,
            false,
            parallelism,
        );
        out.set_len(m * n);
    }
    out
}

/// The forward pass (see the module docs); `None` for a dtype the kernel does not cover.
pub(super) fn forward(
    x: Tensor<Flex, 2>,
    weight: Tensor<Flex, 2>,
    bias: Option<Tensor<Flex, 1>>,
    activation: DenseActivation,
) -> Tensor<Flex, 2> {
    let dtype = x.dtype();
    let same = weight.dtype() == dtype && bias.as_ref().is_none_or(|b| b.dtype() == dtype);
    if !same || !matches!(dtype, DType::F32 | DType::F64) {
        return dense_composed(x, weight, bias, activation);
    }
    let ([m, k], [k_w, n]) = (x.dims(), weight.dims());
    assert_eq!(k, k_w, "dense: x [{m}, {k}] and weight [{k_w}, {n}] do not chain");
    let x = x.into_primitive().tensor();
    let w = weight.into_primitive().tensor();
    let b = bias.map(contiguous);
    let out = match dtype {
        DType::F32 => forward_typed::<f32>(&x, &w, b.as_ref(), activation, [m, k, n]),
        _ => forward_typed::<f64>(&x, &w, b.as_ref(), activation, [m, k, n]),
    };
    float(out)
}

fn forward_typed<E: Real>(
    x: &FlexTensor,
    w: &FlexTensor,
    b: Option<&FlexTensor>,
    activation: DenseActivation,
    [m, k, n]: [usize; 3],
) -> FlexTensor {
    let mut out = product(m, k, n, View::<E>::of(x), View::of(w));
    let relu = activation == DenseActivation::Relu;
    match b.map(E::slice) {
        Some(b) => {
            for row in out.chunks_exact_mut(n.max(1)) {
                for (y, &b) in row.iter_mut().zip(b) {
                    let v = *y + b;
                    *y = if relu { v.max(E::ZERO) } else { v };
                }
            }
        }
        None if relu => out.iter_mut().for_each(|y| *y = y.max(E::ZERO)),
        None => {}
    }
    E::tensor(out, Shape::new([m, n]))
}

/// The backward pass (see the module docs); `dense_grads_composed` for a dtype the kernel
/// does not cover.
pub(super) fn grads(
    x: Option<Tensor<Flex, 2>>,
    weight: Option<Tensor<Flex, 2>>,
    output: Option<Tensor<Flex, 2>>,
    grad: Tensor<Flex, 2>,
    activation: DenseActivation,
    bias_wanted: bool,
) -> DenseGrads<Flex> {
    let dtype = grad.dtype();
    let same = [&x, &weight, &output]
        .iter()
        .all(|t| t.as_ref().is_none_or(|t| t.dtype() == dtype));
    let relu = activation == DenseActivation::Relu;
    if !same || !matches!(dtype, DType::F32 | DType::F64) || (relu && output.is_none()) {
        return dense_grads_composed(x, weight, output, grad, activation, bias_wanted);
    }
    let [m, n] = grad.dims();
    let mut h = contiguous(grad);
    let output = output.filter(|_| relu).map(contiguous);
    let x = x.map(|x| x.into_primitive().tensor());
    let w = weight.map(|w| w.into_primitive().tensor());
    match dtype {
        DType::F32 => grads_typed::<f32>(&mut h, output.as_ref(), x.as_ref(), w.as_ref(), bias_wanted, [m, n]),
        _ => grads_typed::<f64>(&mut h, output.as_ref(), x.as_ref(), w.as_ref(), bias_wanted, [m, n]),
    }
}

fn grads_typed<E: Real>(
    h: &mut FlexTensor,
    output: Option<&FlexTensor>,
    x: Option<&FlexTensor>,
    w: Option<&FlexTensor>,
    bias_wanted: bool,
    [m, n]: [usize; 2],
) -> DenseGrads<Flex> {
    // ReLU's mask (burn's `relu_backward` on flex: the gradient where the output is
    // positive, 0 elsewhere) and the bias gradient, the rows summed in order as flex's
    // `sum_dim` does, in one pass.
    let mut bias = bias_wanted.then(|| vec![E::ZERO; n]);
    if output.is_some() || bias.is_some() {
        let hs = E::slice_mut(h);
        let out = output.map(E::slice);
        for (r, row) in hs.chunks_exact_mut(n.max(1)).enumerate() {
            if let Some(out) = out {
                for (g, &y) in row.iter_mut().zip(&out[r * n..(r + 1) * n]) {
                    *g = if y > E::ZERO { *g } else { E::ZERO };
                }
            }
            if let Some(acc) = bias.as_mut() {
                for (a, &g) in acc.iter_mut().zip(row.iter()) {
                    *a = *a + g;
                }
            }
        }
    }
    let hv = View::<E>::of(h);
    let dx = w.map(|w| {
        let k = w.layout().shape()[0];
        E::tensor(product(m, n, k, hv, View::of(w).t()), Shape::new([m, k]))
    });
    let dw = x.map(|x| {
        let k = x.layout().shape()[1];
        E::tensor(product(k, m, n, View::of(x).t(), hv), Shape::new([k, n]))
    });
    DenseGrads {
        x: dx.map(float),
        weight: dw.map(float),
        bias: bias.map(|b| float(E::tensor(b, Shape::new([n])))),
    }
}

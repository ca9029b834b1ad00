//! flex's fused dense layer: gemm (the crate flex's `matmul` calls, with the same strides, so
//! the same products: how many threads split one does not change its numbers) into a fresh
//! buffer that nothing zeroes first, then one pass that adds the bias and applies the
//! activation; backward, one pass that masks the gradient by ReLU's output and sums the bias
//! gradient, then the two products on strided views (no transposed copies), side by side on
//! rayon's pool when both are wanted. Every number equals burn's `linear` + `relu` on flex.

use burn::tensor::{DType, Shape, Tensor};
use burn_flex::{Flex, FlexTensor};

use super::{contiguous, splits, Real, CHUNK, PARALLEL_MIN};
use crate::kernels::{dense_composed, dense_grads_composed, float, DenseActivation, DenseGrads};

/// flex's threshold (in multiply-adds) above which its `matmul` lets gemm use every thread.
const PARALLEL_THRESHOLD: usize = 192 * 192 * 192;

/// The size (in multiply-adds, each) from which the backward pass's two products run side by
/// side, one on each half of rayon's threads, rather than one after the other each across
/// all of them (then neither waits on the other's serial packing, and products too small to
/// split get a thread each: VAE whole, 2 threads, see benches/README).
const SIDE_BY_SIDE_THRESHOLD: usize = 64 * 64 * 64;

/// A strided matrix view: the first element and the row and column strides, in elements.
#[derive(Clone, Copy)]
struct View<E> {
    ptr: *const E,
    row: isize,
    col: isize,
}

// SAFETY: a view only reads a tensor that outlives every use of it (the products of one
// backward pass, joined before the pass returns), and nothing writes that tensor meanwhile.
unsafe impl<E: Sync> Send for View<E> {}
// SAFETY: as for `Send`: shared views only read.
unsafe impl<E: Sync> Sync for View<E> {}

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

/// How many of rayon's threads a product of `size` multiply-adds may use here, as flex's
/// `matmul` decides (all of them from [`PARALLEL_THRESHOLD`]; one inside
/// [`with_serial_kernels`](crate::kernels::with_serial_kernels)).
fn threads_for(size: usize) -> usize {
    if splits(size, PARALLEL_THRESHOLD) {
        rayon::current_num_threads()
    } else {
        1
    }
}

/// `lhs [m, k] · rhs [k, n]` into a fresh row-major `[m, n]` buffer, as flex's `matmul`
/// computes it, on up to `threads` of rayon's threads (the numbers do not depend on it: each
/// element sums its `k` terms in the same order).
fn product<E: Real>(m: usize, k: usize, n: usize, lhs: View<E>, rhs: View<E>, threads: usize) -> Vec<E> {
    if k == 0 {
        return vec![E::ZERO; m * n];
    }
    let parallelism = if threads > 1 {
        gemm::Parallelism::Rayon(threads)
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
    let threads = threads_for(m.saturating_mul(n).saturating_mul(k));
    let mut out = product(m, k, n, View::<E>::of(x), View::of(w), threads);
    let relu = activation == DenseActivation::Relu;
    let b = b.map(E::slice);
    if b.is_some() || relu {
        // Whole rows at a time, split across the pool for long outputs.
        let pass = |rows: &mut [E]| {
            for row in rows.chunks_exact_mut(n.max(1)) {
                match b {
                    Some(b) => {
                        for (y, &b) in row.iter_mut().zip(b) {
                            let v = *y + b;
                            *y = if relu { v.max(E::ZERO) } else { v };
                        }
                    }
                    None => row.iter_mut().for_each(|y| *y = y.max(E::ZERO)),
                }
            }
        };
        if splits(m * n, PARALLEL_MIN) {
            use rayon::prelude::*;
            out.par_chunks_mut(rows_per_chunk(n) * n).for_each(pass);
        } else {
            pass(&mut out);
        }
    }
    E::tensor(out, Shape::new([m, n]))
}

/// Whole rows of `n` elements per chunk of about [`CHUNK`] elements (at least one row).
fn rows_per_chunk(n: usize) -> usize {
    (CHUNK / n.max(1)).max(1)
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
    // `sum_dim` does: in one pass, or for long gradients, split across the pool, the mask
    // by rows and then the sum by columns (each column's rows still in order).
    let mut bias = bias_wanted.then(|| vec![E::ZERO; n]);
    let hs = E::slice_mut(h);
    let out = output.map(E::slice);
    let mask = |g: &mut [E], y: &[E]| {
        for (g, &y) in g.iter_mut().zip(y) {
            *g = if y > E::ZERO { *g } else { E::ZERO };
        }
    };
    let sum_rows = |acc: &mut [E], hs: &[E], first_column: usize| {
        for row in hs.chunks_exact(n.max(1)) {
            for (a, &g) in acc.iter_mut().zip(&row[first_column..]) {
                *a = *a + g;
            }
        }
    };
    if splits(m * n, PARALLEL_MIN) {
        use rayon::prelude::*;
        let rows = rows_per_chunk(n) * n;
        if let Some(out) = out {
            hs.par_chunks_mut(rows)
                .zip(out.par_chunks(rows))
                .for_each(|(g, y)| mask(g, y));
        }
        if let Some(acc) = bias.as_mut() {
            let hs = &*hs;
            let columns = n
                .div_ceil(2 * rayon::current_num_threads())
                .next_multiple_of(16)
                .max(64);
            acc.par_chunks_mut(columns)
                .enumerate()
                .for_each(|(j, acc)| sum_rows(acc, hs, j * columns));
        }
    } else if out.is_some() || bias.is_some() {
        for (r, row) in hs.chunks_exact_mut(n.max(1)).enumerate() {
            if let Some(out) = out {
                mask(row, &out[r * n..(r + 1) * n]);
            }
            if let Some(acc) = bias.as_mut() {
                sum_rows(acc, row, 0);
            }
        }
    }
    // `∂x = ∂y·Wᵀ` and `∂W = xᵀ·∂y`: the same number of multiply-adds each (m·n·k).
    let hv = View::<E>::of(h);
    let dx_of =
        |(wv, k): (View<E>, usize), threads| E::tensor(product(m, n, k, hv, wv.t(), threads), Shape::new([m, k]));
    let dw_of =
        |(xv, k): (View<E>, usize), threads| E::tensor(product(k, m, n, xv.t(), hv, threads), Shape::new([k, n]));
    let wv = w.map(|w| (View::<E>::of(w), w.layout().shape()[0]));
    let xv = x.map(|x| (View::<E>::of(x), x.layout().shape()[1]));
    let size = |k: usize| m.saturating_mul(n).saturating_mul(k);
    let (dx, dw) = match (wv, xv) {
        (Some(wv), Some(xv)) if splits(size(wv.1), SIDE_BY_SIDE_THRESHOLD) => {
            // Half the threads each (one each on two), and one below flex's threshold.
            let all = rayon::current_num_threads();
            let split = size(wv.1) >= PARALLEL_THRESHOLD;
            let (left, right) = if split { (all / 2, all - all / 2) } else { (1, 1) };
            let (dx, dw) = rayon::join(|| dx_of(wv, left), || dw_of(xv, right));
            (Some(dx), Some(dw))
        }
        (wv, xv) => (
            wv.map(|wv| dx_of(wv, threads_for(size(wv.1)))),
            xv.map(|xv| dw_of(xv, threads_for(size(xv.1)))),
        ),
    };
    DenseGrads {
        x: dx.map(float),
        weight: dw.map(float),
        bias: bias.map(|b| float(E::tensor(b, Shape::new([n])))),
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::{DType, Tensor, TensorCreationOptions, TensorData};
    use burn_flex::Flex;

    use super::{forward, grads, PARALLEL_MIN, PARALLEL_THRESHOLD, SIDE_BY_SIDE_THRESHOLD};
    use crate::kernels::{dense_composed, dense_grads_composed, DenseActivation, DenseGrads};

    fn tensor<const D: usize>(v: Vec<f64>, shape: [usize; D], dtype: DType) -> Tensor<Flex, D> {
        let opts = TensorCreationOptions::new(Default::default()).with_dtype(dtype);
        Tensor::from_data(TensorData::new(v, shape), opts)
    }

    /// Values of both signs over a few magnitudes, with zeros, varying with `seed`.
    fn values(n: usize, seed: usize) -> Vec<f64> {
        (0..n)
            .map(|i| {
                let j = i * 7 + seed * 13;
                if j % 9 == 4 {
                    0.0
                } else {
                    ((j * 5) % 23) as f64 / 8.0 - 1.4 + (j % 3) as f64 * 0.01
                }
            })
            .collect()
    }

    fn bits<const D: usize>(t: Option<Tensor<Flex, D>>) -> Option<Vec<u64>> {
        t.map(|t| t.to_data().iter::<f64>().map(f64::to_bits).collect())
    }

    /// The kernel's forward and backward passes give burn's composed operations bit for bit
    /// at sizes where the products split across the pool, where the backward pass runs its
    /// two products side by side (one thread each, or half the pool each) and where the bias
    /// and ReLU passes split across the pool (by rows, and the bias gradient by columns), on
    /// pools of 1–4 threads, f32 and f64, ReLU and identity, with a transposed (strided)
    /// weight.
    #[test]
    fn flex_dense_kernel_equals_the_composed_layer_where_products_split_or_run_side_by_side() {
        let sizes = [[64, 80, 70], [128, 300, 200], [256, 40, 300]];
        assert!(sizes[0].iter().product::<usize>() >= SIDE_BY_SIDE_THRESHOLD);
        assert!(sizes[0].iter().product::<usize>() < PARALLEL_THRESHOLD);
        assert!(sizes[1].iter().product::<usize>() >= PARALLEL_THRESHOLD);
        assert!(sizes[2][0] * sizes[2][2] >= PARALLEL_MIN);
        for threads in 1..=4 {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            for [m, k, n] in sizes {
                for dtype in [DType::F32, DType::F64] {
                    for (transposed, a) in [false, true]
                        .into_iter()
                        .flat_map(|t| [(t, DenseActivation::Relu), (t, DenseActivation::Identity)])
                    {
                        let what = format!(
                            "{threads} threads, [{m}, {k}]·[{k}, {n}], {dtype:?}, transposed {transposed}, {a:?}"
                        );
                        pool.install(|| {
                            let x = tensor(values(m * k, 1), [m, k], dtype);
                            let w = if transposed {
                                tensor(values(n * k, 2), [n, k], dtype).transpose()
                            } else {
                                tensor(values(k * n, 2), [k, n], dtype)
                            };
                            let b = tensor(values(n, 3), [n], dtype);
                            let g = tensor(values(m * n, 4), [m, n], dtype);
                            let y = forward(x.clone(), w.clone(), Some(b.clone()), a);
                            let y_c = dense_composed(x.clone(), w.clone(), Some(b), a);
                            assert_eq!(bits(Some(y.clone())), bits(Some(y_c)), "output, {what}");
                            let run = |fused: bool| {
                                let args = (Some(x.clone()), Some(w.clone()), Some(y.clone()), g.clone());
                                let DenseGrads { x, weight, bias } = if fused {
                                    grads(args.0, args.1, args.2, args.3, a, true)
                                } else {
                                    dense_grads_composed(args.0, args.1, args.2, args.3, a, true)
                                };
                                (bits(x), bits(weight), bits(bias))
                            };
                            let (f, c) = (run(true), run(false));
                            assert!(f.0.is_some() && f.1.is_some() && f.2.is_some(), "{what}");
                            assert_eq!(f.0, c.0, "∂x, {what}");
                            assert_eq!(f.1, c.1, "∂W, {what}");
                            assert_eq!(f.2, c.2, "∂b, {what}");
                        });
                    }
                }
            }
        }
    }
}

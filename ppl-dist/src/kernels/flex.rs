//! flex's kernels: one pass over contiguous host buffers, in place where a buffer is not
//! shared (flex's copy-on-write storage copies it otherwise).

use std::ops::{Add, Div, Mul, SubAssign};

use burn::tensor::{DType, Tensor, TensorPrimitive};
use burn_flex::{Flex, FlexTensor};

use super::adam::{adam_update_composed, AdamMoments, AdamStep};
use super::FusedKernels;

impl FusedKernels for Flex {
    fn adam_update<const D: usize>(
        param: Tensor<Flex, D>,
        grad: Tensor<Flex, D>,
        moments: Option<AdamMoments<Flex, D>>,
        step: &AdamStep,
    ) -> (Tensor<Flex, D>, AdamMoments<Flex, D>) {
        let dtype = param.dtype();
        let same = grad.dtype() == dtype
            && moments
                .as_ref()
                .is_none_or(|m| m.moment_1.dtype() == dtype && m.moment_2.dtype() == dtype);
        if !same || !matches!(dtype, DType::F32 | DType::F64) {
            return adam_update_composed(param, grad, moments, step);
        }
        let shape = param.shape();
        let mut p = contiguous(param);
        let g = contiguous(grad);
        let (mut m, mut v, first) = match moments {
            Some(AdamMoments { moment_1, moment_2 }) => (contiguous(moment_1), contiguous(moment_2), false),
            None => (
                FlexTensor::zeros(shape.clone(), dtype),
                FlexTensor::zeros(shape, dtype),
                true,
            ),
        };
        let (f1, f2) = step.complements();
        let (c, eps) = step.corrections();
        // The f32 scalars as flex applies them: widened exactly in f64, the learning rate
        // rounded to the element type.
        match dtype {
            DType::F32 => adam_pass(
                p.storage_mut(),
                g.storage(),
                m.storage_mut(),
                v.storage_mut(),
                [step.beta_1, f1, step.beta_2, f2, c, eps, step.lr as f32],
                first,
            ),
            _ => {
                let k = [step.beta_1, f1, step.beta_2, f2, c, eps].map(f64::from);
                adam_pass(
                    p.storage_mut(),
                    g.storage(),
                    m.storage_mut(),
                    v.storage_mut(),
                    [k[0], k[1], k[2], k[3], k[4], k[5], step.lr],
                    first,
                )
            }
        }
        (
            wrap(p),
            AdamMoments {
                moment_1: wrap(m),
                moment_2: wrap(v),
            },
        )
    }
}

/// The tensor's flex storage, copied to a fresh contiguous buffer only when it is a view.
fn contiguous<const D: usize>(t: Tensor<Flex, D>) -> FlexTensor {
    let t = t.into_primitive().tensor();
    let whole = t.is_contiguous()
        && t.layout().start_offset() == 0
        && t.bytes().len() == t.layout().num_elements() * t.dtype().size();
    if whole {
        t
    } else {
        t.to_contiguous()
    }
}

fn wrap<const D: usize>(t: FlexTensor) -> Tensor<Flex, D> {
    Tensor::from_primitive(TensorPrimitive::Float(t))
}

/// The element types the kernel runs on: IEEE arithmetic and a correctly rounded square root.
trait Real: Copy + Mul<Output = Self> + Add<Output = Self> + Div<Output = Self> + SubAssign {
    fn sqrt(self) -> Self;
}

impl Real for f32 {
    fn sqrt(self) -> Self {
        f32::sqrt(self)
    }
}

impl Real for f64 {
    fn sqrt(self) -> Self {
        f64::sqrt(self)
    }
}

/// The update of [`AdamStep`]'s docs over host buffers; `k` = `[β₁, 1 − β₁, β₂, 1 − β₂, c,
/// ε·s, lr]` in the element type. Each line is one of the composed path's operations, in its
/// order (Rust does not contract `a·b + c` into a fused multiply-add, so the roundings match).
fn adam_pass<E: Real>(p: &mut [E], g: &[E], m: &mut [E], v: &mut [E], k: [E; 7], first: bool) {
    let [b1, f1, b2, f2, c, eps, lr] = k;
    assert!(g.len() == p.len() && m.len() == p.len() && v.len() == p.len());
    for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
        if first {
            *m = g * f1;
            *v = (g * g) * f2;
        } else {
            *m = *m * b1 + g * f1;
            *v = *v * b2 + (g * g) * f2;
        }
        *p -= (*m * c) / (v.sqrt() + eps) * lr;
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::{DType, Tensor, TensorCreationOptions, TensorData};
    use burn_flex::Flex;

    use super::super::{adam_update_composed, AdamMoments, AdamStep, FusedKernels};

    fn tensor(v: &[f64], shape: [usize; 2], dtype: DType) -> Tensor<Flex, 2> {
        let opts = TensorCreationOptions::new(Default::default()).with_dtype(dtype);
        Tensor::from_data(TensorData::new(v.to_vec(), shape), opts)
    }

    fn bits(t: &Tensor<Flex, 2>) -> Vec<u64> {
        t.to_data().iter::<f64>().map(f64::to_bits).collect()
    }

    /// Values over many magnitudes, zeros and both signs, varying with `k`.
    fn values(k: usize, n: usize) -> Vec<f64> {
        (0..n)
            .map(|i| {
                let x = ((i * 7 + k * 13) % 11) as f64 - 5.0;
                x * 10f64.powi((i % 9) as i32 - 4) * if (i + k).is_multiple_of(5) { 0.0 } else { 1.0 }
            })
            .collect()
    }

    /// The one-pass kernel gives the composed operations' values bit for bit, in f32 and
    /// f64, over six steps (the first without moments), with a transposed gradient (a
    /// strided view) and a parameter whose buffer is shared (left untouched).
    #[test]
    fn flex_adam_kernel_equals_the_composed_update_bit_for_bit() {
        for dtype in [DType::F32, DType::F64] {
            let mut fused = tensor(&values(0, 12), [3, 4], dtype);
            let mut composed = fused.clone();
            let shared = fused.clone();
            let before = bits(&shared);
            let (mut mf, mut mc): (Option<AdamMoments<Flex, 2>>, Option<AdamMoments<Flex, 2>>) = (None, None);
            for time in 1..=6 {
                let grad = tensor(&values(time, 12), [4, 3], dtype).transpose();
                let step = AdamStep {
                    beta_1: 0.9,
                    beta_2: 0.999,
                    epsilon: 1e-5,
                    lr: 0.013,
                    time,
                };
                let (p, m) = Flex::adam_update(fused, grad.clone(), mf, &step);
                let (q, n) = adam_update_composed(composed, grad, mc, &step);
                assert_eq!(bits(&p), bits(&q), "{dtype:?}, step {time}: parameter");
                assert_eq!(bits(&m.moment_1), bits(&n.moment_1), "{dtype:?}, step {time}: m");
                assert_eq!(bits(&m.moment_2), bits(&n.moment_2), "{dtype:?}, step {time}: v");
                assert_eq!(p.dtype(), dtype);
                (fused, composed, mf, mc) = (p, q, Some(m), Some(n));
            }
            assert_eq!(bits(&shared), before, "{dtype:?}: a shared buffer was written");
        }
    }
}

//! flex's kernels: one pass over contiguous host buffers, in place where a buffer is not
//! shared (flex's copy-on-write storage copies it otherwise).

use std::mem::MaybeUninit;
use std::ops::{Add, Div, Mul, Neg, Sub, SubAssign};

use burn::tensor::{DType, Shape, Tensor, TensorData};
use burn_flex::{Flex, FlexTensor};

use super::adam::{adam_update_composed, AdamMoments, AdamStep};
use super::bernoulli::{
    bernoulli_logits_grad_composed, bernoulli_logits_log_prob_composed, bernoulli_logits_sum_grad_from_slopes_composed,
    sum_grad_filled,
};
use super::normal::{normal_log_prob_fixed_scale_composed, normal_log_prob_fixed_scale_grads};
use super::vector_math::{exp_neg, ln_1p_unit};
use super::{float, DenseActivation, DenseGrads, FusedKernels};
use crate::special::HALF_LN_2PI;

mod dense;

/// Elements per parallel task of the element-wise kernels, and the fewest elements worth
/// splitting: below it a loop runs on the calling thread, because handing work to a second
/// thread and waiting for it costs more than it saves. Adam's loop is memory-bound and cheap
/// per element, so it needs longer buffers (measured: splitting the digit classifier's
/// 78 400-element weights made its 2-thread step 10 % slower; the VAE's 200 704-element ones
/// gain). Measured again with the pool's threads spinning through a step (`PoolWait`, where
/// handing work over costs no wake-up): halving either threshold gained nothing.
const CHUNK: usize = 1 << 14;
const PARALLEL_MIN: usize = 1 << 16;
const PARALLEL_MIN_ADAM: usize = 1 << 17;

/// `chunked!(n, min, |a = a_src.par_chunks, b = b_src.par_chunks_mut, …| body)`: `body` on
/// the whole slices, or, for `n ≥ min` elements and a pool of several threads, on matching
/// chunks of `CHUNK` elements across rayon's threads (not inside
/// [`with_serial_kernels`](super::with_serial_kernels)). The kernels are element-wise, so every
/// element goes through the same loop either way: the same numbers whatever the thread count.
macro_rules! chunked {
    ($n:expr, $min:expr, |$($arg:ident = $src:ident . $split:ident),+| $body:expr) => {{
        if splits($n, $min) {
            use rayon::prelude::*;
            ($($src.$split(CHUNK)),+).into_par_iter().for_each(|($($arg),+)| $body);
        } else {
            let ($($arg),+) = ($($src),+);
            $body
        }
    }};
}

/// [`chunked!`] for a `body` that returns a `bool`: the `&` of every chunk's result (every
/// chunk runs; none is skipped once one returns `false`).
macro_rules! chunked_all {
    ($n:expr, $min:expr, |$($arg:ident = $src:ident . $split:ident),+| $body:expr) => {{
        if splits($n, $min) {
            use rayon::prelude::*;
            ($($src.$split(CHUNK)),+).into_par_iter().map(|($($arg),+)| $body).reduce(|| true, |a, b| a & b)
        } else {
            let ($($arg),+) = ($($src),+);
            $body
        }
    }};
}

/// Whether a loop over `n` elements is split across rayon's threads: `n ≥ min`, a pool of
/// several threads, and not inside [`with_serial_kernels`](super::with_serial_kernels).
fn splits(n: usize, min: usize) -> bool {
    n >= min && rayon::current_num_threads() > 1 && !crate::kernels::serial_kernels()
}

impl FusedKernels for Flex {
    fn kernels_on_rayon_pool() -> bool {
        true
    }

    fn all_finite<const D: usize>(t: Tensor<Flex, D>) -> Option<bool> {
        let t = contiguous(t);
        match t.dtype() {
            DType::F32 => Some(all_finite_in(f32::slice(&t))),
            DType::F64 => Some(all_finite_in(f64::slice(&t))),
            _ => None,
        }
    }

    fn adam_update<const D: usize>(
        param: Tensor<Flex, D>,
        grad: Tensor<Flex, D>,
        moments: Option<AdamMoments<Flex, D>>,
        step: &AdamStep,
    ) -> (Tensor<Flex, D>, AdamMoments<Flex, D>) {
        let (param, moments, _) = Self::adam_update_checked(param, grad, moments, step);
        (param, moments)
    }

    fn adam_update_checked<const D: usize>(
        param: Tensor<Flex, D>,
        grad: Tensor<Flex, D>,
        moments: Option<AdamMoments<Flex, D>>,
        step: &AdamStep,
    ) -> (Tensor<Flex, D>, AdamMoments<Flex, D>, Option<bool>) {
        let dtype = param.dtype();
        let same = grad.dtype() == dtype
            && moments
                .as_ref()
                .is_none_or(|m| m.moment_1.dtype() == dtype && m.moment_2.dtype() == dtype);
        if !same || !matches!(dtype, DType::F32 | DType::F64) {
            let (param, moments) = adam_update_composed(param, grad, moments, step);
            return (param, moments, None);
        }
        let shape = param.shape();
        let p = contiguous(param);
        let g = contiguous(grad);
        let (m, v, first) = match moments {
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
        let (p, m, v, finite) = match dtype {
            DType::F32 => adam_buffers(
                p,
                &g,
                m,
                v,
                [step.beta_1, f1, step.beta_2, f2, c, eps, step.lr as f32],
                first,
            ),
            _ => {
                let [b1, f1, b2, f2, c, eps] = [step.beta_1, f1, step.beta_2, f2, c, eps].map(f64::from);
                adam_buffers(p, &g, m, v, [b1, f1, b2, f2, c, eps, step.lr], first)
            }
        };
        (
            float(p),
            AdamMoments {
                moment_1: float(m),
                moment_2: float(v),
            },
            Some(finite),
        )
    }

    fn bernoulli_logits_log_prob<const D: usize>(logits: Tensor<Flex, D>, value: Tensor<Flex, D>) -> Tensor<Flex, D> {
        let dtype = logits.dtype();
        if value.dtype() != dtype || logits.dims() != value.dims() || !matches!(dtype, DType::F32 | DType::F64) {
            return bernoulli_logits_log_prob_composed(logits, value);
        }
        let (l, x) = (contiguous(logits), contiguous(value));
        let shape = l.layout().shape().clone();
        // A fresh buffer of the element type (flex's `empty` would copy a byte buffer to
        // realign it).
        let data = match dtype {
            DType::F32 => {
                let n = shape.num_elements();
                let (ls, xs) = (l.storage::<f32>(), x.storage::<f32>());
                // SAFETY: the kernel writes every element (see `written`).
                let out = unsafe {
                    written(n, |os| {
                        chunked!(n, PARALLEL_MIN, |l = ls.par_chunks, x = xs.par_chunks, o = os.par_chunks_mut| {
                            bernoulli_forward_f32(l, x, o)
                        })
                    })
                };
                TensorData::new(out, shape)
            }
            _ => {
                let n = shape.num_elements();
                let (ls, xs, mut out) = (l.storage::<f64>(), x.storage::<f64>(), vec![0.0f64; n]);
                let os = out.as_mut_slice();
                chunked!(n, PARALLEL_MIN, |l = ls.par_chunks, x = xs.par_chunks, o = os.par_chunks_mut| {
                    bernoulli_forward(l, x, o)
                });
                TensorData::new(out, shape)
            }
        };
        float(FlexTensor::from_data(data))
    }

    fn add_same_shape<const D: usize>(a: Tensor<Flex, D>, b: Tensor<Flex, D>) -> Tensor<Flex, D> {
        let dtype = a.dtype();
        if b.dtype() != dtype || a.dims() != b.dims() || !matches!(dtype, DType::F32 | DType::F64) {
            return a + b;
        }
        let (mut a, b) = (contiguous(a), contiguous(b));
        match dtype {
            DType::F32 => add_into::<f32>(&mut a, &b),
            _ => add_into::<f64>(&mut a, &b),
        }
        float(a)
    }

    fn normal_log_prob_fixed_scale<const D: usize>(
        value: Tensor<Flex, D>,
        loc: Tensor<Flex, D>,
        scale: f64,
    ) -> Tensor<Flex, D> {
        let dtype = value.dtype();
        if loc.dtype() != dtype || value.dims() != loc.dims() || !matches!(dtype, DType::F32 | DType::F64) {
            return normal_log_prob_fixed_scale_composed(value, loc, scale);
        }
        let (x, m) = (contiguous(value), contiguous(loc));
        // The composed operations' scalars: −σ⁻²/2 and ln σ + ln(2π)/2, rounded as flex rounds
        // a scalar operand.
        let (k, c) = (-0.5 / (scale * scale), scale.ln() + HALF_LN_2PI);
        float(match dtype {
            DType::F32 => normal_fixed_scale_forward::<f32>(&x, &m, k, c),
            _ => normal_fixed_scale_forward::<f64>(&x, &m, k, c),
        })
    }

    fn normal_log_prob_fixed_scale_grads<const D: usize>(
        value: Tensor<Flex, D>,
        loc: Tensor<Flex, D>,
        scale: f64,
        grad: Tensor<Flex, D>,
        wanted: [bool; 2],
    ) -> [Option<Tensor<Flex, D>>; 2] {
        let dtype = grad.dtype();
        let same = value.dtype() == dtype && loc.dtype() == dtype;
        if !same
            || value.dims() != loc.dims()
            || value.dims() != grad.dims()
            || !matches!(dtype, DType::F32 | DType::F64)
            || wanted == [false, false]
        {
            return normal_log_prob_fixed_scale_grads(value, loc, scale, grad, wanted);
        }
        let (x, m, mut g) = (contiguous(value), contiguous(loc), contiguous(grad));
        // ∂/∂μ = (g·(x − μ))·σ⁻², written over g's buffer (flex copies it first if shared);
        // ∂/∂x its negation (the composed product times −σ⁻²: the same bits).
        let k = 1.0 / (scale * scale);
        match dtype {
            DType::F32 => normal_fixed_scale_loc_grad::<f32>(&x, &m, &mut g, k),
            _ => normal_fixed_scale_loc_grad::<f64>(&x, &m, &mut g, k),
        }
        let g_loc: Tensor<Flex, D> = float(g);
        match wanted {
            [true, true] => [Some(g_loc.clone().neg()), Some(g_loc)],
            [true, false] => [Some(g_loc.neg()), None],
            _ => [None, Some(g_loc)],
        }
    }

    fn bernoulli_logits_grad<const D: usize>(
        logits: Tensor<Flex, D>,
        value: Tensor<Flex, D>,
        grad: Tensor<Flex, D>,
    ) -> Tensor<Flex, D> {
        let dtype = logits.dtype();
        let same = value.dtype() == dtype && grad.dtype() == dtype;
        if !same
            || logits.dims() != value.dims()
            || logits.dims() != grad.dims()
            || !matches!(dtype, DType::F32 | DType::F64)
        {
            return bernoulli_logits_grad_composed(logits, value, grad);
        }
        let (l, x, mut g) = (contiguous(logits), contiguous(value), contiguous(grad));
        let n = l.layout().num_elements();
        match dtype {
            DType::F32 => {
                let (ls, xs, gs) = (l.storage::<f32>(), x.storage::<f32>(), g.storage_mut::<f32>());
                chunked!(n, PARALLEL_MIN, |l = ls.par_chunks, x = xs.par_chunks, g = gs.par_chunks_mut| {
                    bernoulli_backward_f32(l, x, g)
                });
            }
            _ => {
                let (ls, xs, gs) = (l.storage::<f64>(), x.storage::<f64>(), g.storage_mut::<f64>());
                chunked!(n, PARALLEL_MIN, |l = ls.par_chunks, x = xs.par_chunks, g = gs.par_chunks_mut| {
                    bernoulli_backward(l, x, g)
                });
            }
        }
        float(g)
    }

    /// One pass writing `s·g·σ(−s·l)` with the one number `g`: no `[..]` gradient filled
    /// with it first, the same numbers as [`FusedKernels::bernoulli_logits_grad`] given that
    /// tensor.
    fn bernoulli_logits_sum_grad<const D: usize>(
        logits: Tensor<Flex, D>,
        value: Tensor<Flex, D>,
        grad: Tensor<Flex, 1>,
    ) -> Tensor<Flex, D> {
        let dtype = logits.dtype();
        let same = value.dtype() == dtype && grad.dtype() == dtype;
        if !same || logits.dims() != value.dims() || grad.dims() != [1] || !matches!(dtype, DType::F32 | DType::F64) {
            let grad = sum_grad_filled(&logits, grad);
            return bernoulli_logits_grad_composed(logits, value, grad);
        }
        let (l, x, g) = (contiguous(logits), contiguous(value), contiguous(grad));
        let shape = l.layout().shape().clone();
        let n = shape.num_elements();
        let data = match dtype {
            DType::F32 => {
                let (ls, xs, g) = (l.storage::<f32>(), x.storage::<f32>(), g.storage::<f32>()[0]);
                // SAFETY: the kernel writes every element (see `written`).
                let out = unsafe {
                    written(n, |os| {
                        chunked!(n, PARALLEL_MIN, |l = ls.par_chunks, x = xs.par_chunks, o = os.par_chunks_mut| {
                            bernoulli_backward_scalar_f32(l, x, g, o)
                        })
                    })
                };
                TensorData::new(out, shape)
            }
            _ => {
                // The in-place kernel on a buffer of copies of `g` (f64 is not the hot path).
                let (ls, xs) = (l.storage::<f64>(), x.storage::<f64>());
                let mut out = vec![g.storage::<f64>()[0]; n];
                let os = out.as_mut_slice();
                chunked!(n, PARALLEL_MIN, |l = ls.par_chunks, x = xs.par_chunks, o = os.par_chunks_mut| {
                    bernoulli_backward(l, x, o)
                });
                TensorData::new(out, shape)
            }
        };
        float(FlexTensor::from_data(data))
    }

    /// For `f32` logits and values of one shape: the log-density and the slopes (`f64`) in
    /// one pass, each number as the separate kernels compute it; `None` otherwise.
    fn bernoulli_logits_log_prob_slopes<const D: usize>(
        logits: Tensor<Flex, D>,
        value: Tensor<Flex, D>,
    ) -> Option<(Tensor<Flex, D>, Tensor<Flex, D>)> {
        if logits.dtype() != DType::F32 || value.dtype() != DType::F32 || logits.dims() != value.dims() {
            return None;
        }
        let (l, x) = (contiguous(logits), contiguous(value));
        let shape = l.layout().shape().clone();
        let n = shape.num_elements();
        let (ls, xs) = (l.storage::<f32>(), x.storage::<f32>());
        let (mut out, mut slopes) = (Vec::<f32>::with_capacity(n), Vec::<f64>::with_capacity(n));
        let (os, ws) = (
            &mut out.spare_capacity_mut()[..n],
            &mut slopes.spare_capacity_mut()[..n],
        );
        chunked!(n, PARALLEL_MIN, |l = ls.par_chunks, x = xs.par_chunks, o = os.par_chunks_mut, w = ws.par_chunks_mut| {
            bernoulli_forward_slopes_f32(l, x, o, w)
        });
        // SAFETY: the kernel wrote all `n` elements of both (as in `written`, for two buffers).
        unsafe {
            out.set_len(n);
            slopes.set_len(n);
        }
        let tensor = |data| float(FlexTensor::from_data(data));
        Some((
            tensor(TensorData::new(out, shape.clone())),
            tensor(TensorData::new(slopes, shape)),
        ))
    }

    /// `f64` slopes and an `f32` gradient: one pass; other types by the composed operations.
    fn bernoulli_logits_sum_grad_from_slopes<const D: usize>(
        slopes: Tensor<Flex, D>,
        grad: Tensor<Flex, 1>,
    ) -> Tensor<Flex, D> {
        if slopes.dtype() != DType::F64 || grad.dtype() != DType::F32 || grad.dims() != [1] {
            return bernoulli_logits_sum_grad_from_slopes_composed(slopes, grad);
        }
        let (w, g) = (contiguous(slopes), contiguous(grad));
        let shape = w.layout().shape().clone();
        let n = shape.num_elements();
        let (ws, g) = (w.storage::<f64>(), g.storage::<f32>()[0]);
        // SAFETY: the kernel writes every element (see `written`).
        let out = unsafe {
            written(
                n,
                |os| chunked!(n, PARALLEL_MIN, |w = ws.par_chunks, o = os.par_chunks_mut| bernoulli_grad_from_slopes_f32(w, g, o)),
            )
        };
        float(FlexTensor::from_data(TensorData::new(out, shape)))
    }

    fn dense(
        x: Tensor<Flex, 2>,
        weight: Tensor<Flex, 2>,
        bias: Option<Tensor<Flex, 1>>,
        activation: DenseActivation,
    ) -> Tensor<Flex, 2> {
        dense::forward(x, weight, bias, activation)
    }

    fn dense_grads(
        x: Option<Tensor<Flex, 2>>,
        weight: Option<Tensor<Flex, 2>>,
        output: Option<Tensor<Flex, 2>>,
        grad: Tensor<Flex, 2>,
        activation: DenseActivation,
        bias_wanted: bool,
    ) -> DenseGrads<Flex> {
        dense::grads(x, weight, output, grad, activation, bias_wanted)
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

/// A vector of `n` elements written by `write` into fresh memory that nothing zeroes first.
///
/// # Safety
/// `write` must write every element of the slice it is given. The kernels here do: they
/// assert that their slices have one length and write through iterators over all of them,
/// and `chunked!` hands them matching chunks of buffers of one length.
unsafe fn written<E>(n: usize, write: impl FnOnce(&mut [MaybeUninit<E>])) -> Vec<E> {
    let mut out = Vec::with_capacity(n);
    write(&mut out.spare_capacity_mut()[..n]);
    // SAFETY: all `n` elements are initialized (the caller's promise).
    unsafe { out.set_len(n) };
    out
}

/// The element types the kernels run on: IEEE arithmetic, a correctly rounded square root,
/// and the standard library's `exp` and `ln_1p` (what flex's own operations call).
trait Real:
    Copy
    + Send
    + Sync
    + 'static
    + PartialOrd
    + Mul<Output = Self>
    + Add<Output = Self>
    + Sub<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + SubAssign
{
    const ZERO: Self;
    const ONE: Self;
    const TWO: Self;
    const NEG_INFINITY: Self;
    /// `−f32::MAX`, the floor of the Bernoulli logit argument.
    const LOGIT_FLOOR: Self;
    /// The smallest positive normal number.
    const MIN_NORMAL: Self;
    fn sqrt(self) -> Self;
    fn exp(self) -> Self;
    fn ln_1p(self) -> Self;
    /// `max(self, other)` as the standard library's (`f32::max`: what flex's ReLU calls).
    fn max(self, other: Self) -> Self;
    /// Neither infinite nor NaN.
    fn is_finite(self) -> bool;
    /// `v` rounded to this type, as flex rounds a scalar operand (`v as f32`).
    fn of_f64(v: f64) -> Self;
    /// The tensor's buffer as elements of this type.
    fn slice(t: &FlexTensor) -> &[Self];
    /// The same, writable (flex copies a shared buffer first).
    fn slice_mut(t: &mut FlexTensor) -> &mut [Self];
    /// A contiguous tensor owning `values`.
    fn tensor(values: Vec<Self>, shape: Shape) -> FlexTensor;
}

macro_rules! real {
    ($t:ty) => {
        impl Real for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            const TWO: Self = 2.0;
            const NEG_INFINITY: Self = <$t>::NEG_INFINITY;
            const LOGIT_FLOOR: Self = -(f32::MAX as $t);
            const MIN_NORMAL: Self = <$t>::MIN_POSITIVE;
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            fn exp(self) -> Self {
                <$t>::exp(self)
            }
            fn ln_1p(self) -> Self {
                <$t>::ln_1p(self)
            }
            fn max(self, other: Self) -> Self {
                <$t>::max(self, other)
            }
            fn is_finite(self) -> bool {
                <$t>::is_finite(self)
            }
            fn of_f64(v: f64) -> Self {
                v as $t
            }
            fn slice(t: &FlexTensor) -> &[Self] {
                t.storage()
            }
            fn slice_mut(t: &mut FlexTensor) -> &mut [Self] {
                t.storage_mut()
            }
            fn tensor(values: Vec<Self>, shape: Shape) -> FlexTensor {
                FlexTensor::from_data(TensorData::new(values, shape))
            }
        }
    };
}

real!(f32);
real!(f64);

/// The value's sign `s = 2x − 1` (after values outside `{0, 1}` became 0), whether the value
/// is inside the support, and the floored argument `s·l` with whether the floor applied:
/// the composed path's operations, in its order. Without branches (`|` on the comparisons,
/// selects), so the loops that call it run on vector registers.
#[inline(always)]
fn bernoulli_argument<E: Real>(l: E, x: E) -> (E, bool, E, bool) {
    let inside = (x == E::ZERO) | (x == E::ONE);
    let x = if inside { x } else { E::ZERO };
    let s = x * E::TWO - E::ONE;
    let t = l * s;
    let below = t < E::LOGIT_FLOOR;
    (s, inside, if below { E::LOGIT_FLOOR } else { t }, below)
}

/// `dispatch: name, fn portable(args) { body }`: the portable function as written, and
/// `name(args)`, which runs the body compiled for AVX-512 (F, DQ, BW, VL: eight `f64` lanes),
/// for AVX2 (four) or for the baseline instruction set (two), the widest the CPU has, chosen at
/// run time. All builds compute the same numbers: the same IEEE operations in the same order
/// (Rust never contracts `a·b + c` into a fused multiply-add), more lanes at a time. The body's
/// helpers are `#[inline(always)]`, so they are compiled into each build.
macro_rules! multiversion {
    (
        dispatch: $name:ident,
        $(#[$attr:meta])*
        fn $portable:ident $(<$g:ident: $bound:path>)? ($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block
    ) => {
        $(#[$attr])*
        #[inline(always)]
        fn $portable $(<$g: $bound>)? ($($arg: $ty),*) $(-> $ret)? $body

        /// The widest build of
        #[doc = concat!("[`", stringify!($portable), "`]")]
        /// the CPU runs (see `multiversion!`).
        fn $name $(<$g: $bound>)? ($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f,avx512dq,avx512bw,avx512vl")]
            fn avx512 $(<$g: $bound>)? ($($arg: $ty),*) $(-> $ret)? {
                $portable($($arg),*)
            }
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2")]
            fn avx2 $(<$g: $bound>)? ($($arg: $ty),*) $(-> $ret)? {
                $portable($($arg),*)
            }
            #[cfg(target_arch = "x86_64")]
            {
                use std::arch::is_x86_feature_detected as has;
                if has!("avx512f") && has!("avx512dq") && has!("avx512bw") && has!("avx512vl") {
                    // SAFETY: the CPU has these features, checked on the line above.
                    return unsafe { avx512($($arg),*) };
                }
                if has!("avx2") {
                    // SAFETY: the CPU has AVX2, checked on the line above.
                    return unsafe { avx2($($arg),*) };
                }
            }
            $portable($($arg),*)
        }
    };
}

multiversion! {
    dispatch: bernoulli_forward_f32,
    /// `out = ln σ(s·l)` (`−∞` outside the support) for `f32`: `min(t, 0) − ln(1 + e^{−|t|})`
    /// evaluated in `f64` without branches ([`vector_math`](super::vector_math)) and rounded
    /// once, within 1 ulp of the exact value (tested), where flex's `f32` `log_sigmoid` rounds
    /// after each library call. The loop body has no branches, so it runs on vector registers.
    fn bernoulli_forward_f32_portable(l: &[f32], x: &[f32], out: &mut [MaybeUninit<f32>]) {
        assert!(x.len() == l.len() && out.len() == l.len());
        for ((o, &l), &x) in out.iter_mut().zip(l).zip(x) {
            let (_, inside, t, _) = bernoulli_argument(l, x);
            let t = f64::from(t);
            let lp = log_sigmoid_of(t, exp_neg(t.abs()));
            o.write(if inside { lp as f32 } else { f32::NEG_INFINITY });
        }
    }
}

/// `ln σ(t) = min(t, 0) − ln(1 + e)` from `e = e^{−|t|}`, in `f64` (the f32 kernels' one
/// formula for the density).
#[inline(always)]
fn log_sigmoid_of(t: f64, e: f64) -> f64 {
    (if t < 0.0 { t } else { 0.0 }) - ln_1p_unit(e)
}

/// `σ(−t)` from `e = e^{−|t|}`, in `f64` (the f32 kernels' one formula for the gradient).
#[inline(always)]
fn sigmoid_neg_of(t: f64, e: f64) -> f64 {
    (if t >= 0.0 { e } else { 1.0 }) / (1.0 + e)
}

/// `s·g·σ(−s·l)` for one `f32` element (0 outside the support or below the floor), the
/// product `g·σ` evaluated in `f64` and rounded once; without branches, so the loops that
/// call it run on vector registers.
#[inline(always)]
fn bernoulli_grad_f32(l: f32, x: f32, g: f64) -> f32 {
    let (s, inside, t, below) = bernoulli_argument(l, x);
    let keep = inside & !below;
    let t = f64::from(t);
    let sigmoid = sigmoid_neg_of(t, exp_neg(t.abs()));
    let grad = (g * sigmoid) as f32;
    if keep {
        grad * s
    } else {
        0.0 * s
    }
}

multiversion! {
    dispatch: bernoulli_backward_f32,
    /// `g ← s·g·σ(−s·l)` in place for `f32` ([`bernoulli_grad_f32`]).
    fn bernoulli_backward_f32_portable(l: &[f32], x: &[f32], g: &mut [f32]) {
        assert!(x.len() == l.len() && g.len() == l.len());
        for ((g, &l), &x) in g.iter_mut().zip(l).zip(x) {
            *g = bernoulli_grad_f32(l, x, f64::from(*g));
        }
    }
}

multiversion! {
    dispatch: bernoulli_backward_scalar_f32,
    /// `out = s·g·σ(−s·l)` for `f32` with one incoming gradient `g` for every element
    /// ([`bernoulli_grad_f32`]): the numbers of [`bernoulli_backward_f32_portable`] given a
    /// buffer of copies of `g`, without one.
    fn bernoulli_backward_scalar_f32_portable(l: &[f32], x: &[f32], g: f32, out: &mut [MaybeUninit<f32>]) {
        assert!(x.len() == l.len() && out.len() == l.len());
        let g = f64::from(g);
        for ((o, &l), &x) in out.iter_mut().zip(l).zip(x) {
            o.write(bernoulli_grad_f32(l, x, g));
        }
    }
}

multiversion! {
    dispatch: bernoulli_forward_slopes_f32,
    /// [`bernoulli_forward_f32_portable`] into `out` and each element's slope
    /// `w = s·σ(−s·l)` into `slopes`, in `f64` as [`bernoulli_grad_f32`] computes `σ` before
    /// it multiplies by the incoming gradient (`±0`, the sign of `s`, where that gradient is
    /// 0); the `e^{−|t|}` both need evaluated once.
    fn bernoulli_forward_slopes_f32_portable(
        l: &[f32],
        x: &[f32],
        out: &mut [MaybeUninit<f32>],
        slopes: &mut [MaybeUninit<f64>],
    ) {
        assert!(x.len() == l.len() && out.len() == l.len() && slopes.len() == l.len());
        for (((o, w), &l), &x) in out.iter_mut().zip(slopes.iter_mut()).zip(l).zip(x) {
            let (s, inside, t, below) = bernoulli_argument(l, x);
            let t = f64::from(t);
            let e = exp_neg(t.abs());
            o.write(if inside { log_sigmoid_of(t, e) as f32 } else { f32::NEG_INFINITY });
            let sigmoid = sigmoid_neg_of(t, e);
            w.write(f64::from(s) * (if inside & !below { sigmoid } else { 0.0 }));
        }
    }
}

multiversion! {
    dispatch: bernoulli_grad_from_slopes_f32,
    /// `out = g·w` rounded once to `f32` for each slope `w`, and `w` (`±0`) where it is 0:
    /// [`bernoulli_backward_scalar_f32_portable`]'s numbers on the logits and values the
    /// slopes came from (`(g·(s·σ))` rounds as `s·(g·σ)` does; a kept element's `σ` is
    /// positive, so a zero slope marks exactly the elements whose gradient is `0·s`).
    fn bernoulli_grad_from_slopes_f32_portable(w: &[f64], g: f32, out: &mut [MaybeUninit<f32>]) {
        assert!(out.len() == w.len());
        let g = f64::from(g);
        for (o, &w) in out.iter_mut().zip(w) {
            o.write(if w == 0.0 { w as f32 } else { (g * w) as f32 });
        }
    }
}

/// Whether every value in `xs` is finite: blocks of 1024 folded without a branch (so the loop
/// vectorizes), stopping at the first block with a non-finite value; in chunks across the
/// thread pool for long buffers.
fn all_finite_in<E: Real>(xs: &[E]) -> bool {
    let blocks = |c: &[E]| c.chunks(1024).all(|b| b.iter().fold(true, |ok, &x| ok & x.is_finite()));
    if splits(xs.len(), PARALLEL_MIN) {
        use rayon::prelude::*;
        xs.par_chunks(CHUNK).all(blocks)
    } else {
        blocks(xs)
    }
}

/// `a ← a + b` over equal-shaped contiguous tensors (flex copies `a` first if it is shared),
/// in chunks across the thread pool for large ones.
fn add_into<E: Real>(a: &mut FlexTensor, b: &FlexTensor) {
    let (bs, as_) = (E::slice(b), E::slice_mut(a));
    let n = as_.len();
    chunked!(n, PARALLEL_MIN, |a = as_.par_chunks_mut, b = bs.par_chunks| add_in_place(a, b));
}

multiversion! {
    dispatch: add_in_place,
    /// `a ← a + b` (one build per instruction set, the same bits from each).
    fn add_in_place_portable<E: Real>(a: &mut [E], b: &[E]) {
        assert!(a.len() == b.len());
        for (a, &b) in a.iter_mut().zip(b) {
            *a = *a + b;
        }
    }
}

/// `((x − μ)²·k) − c` over equal-shaped contiguous `x`, `μ` into a new tensor, the scalars
/// rounded to the element type: the composed fixed-scale normal density's operations (flex's
/// `powi_scalar(2)` is `d·d`) in one pass, the same bits.
fn normal_fixed_scale_forward<E: Real>(x: &FlexTensor, m: &FlexTensor, k: f64, c: f64) -> FlexTensor {
    let (xs, ms) = (E::slice(x), E::slice(m));
    let n = xs.len();
    let mut out = vec![E::ZERO; n];
    let (k, c) = (E::of_f64(k), E::of_f64(c));
    let os = out.as_mut_slice();
    chunked!(n, PARALLEL_MIN, |x = xs.par_chunks, m = ms.par_chunks, o = os.par_chunks_mut| {
        normal_fixed_scale_values(x, m, o, [k, c])
    });
    E::tensor(out, x.layout().shape().clone())
}

multiversion! {
    dispatch: normal_fixed_scale_values,
    /// `o = ((x − m)·(x − m))·k − c` (one build per instruction set, the same bits from each).
    fn normal_fixed_scale_values_portable<E: Real>(x: &[E], m: &[E], o: &mut [E], kc: [E; 2]) {
        assert!(x.len() == m.len() && o.len() == m.len());
        let [k, c] = kc;
        for ((o, &x), &m) in o.iter_mut().zip(x).zip(m) {
            let d = x - m;
            *o = d * d * k - c;
        }
    }
}

/// `g ← (g·(x − μ))·k` in place over equal-shaped contiguous tensors, `k` rounded to the
/// element type: the composed gradient's operations in one pass, the same bits.
fn normal_fixed_scale_loc_grad<E: Real>(x: &FlexTensor, m: &FlexTensor, g: &mut FlexTensor, k: f64) {
    let (xs, ms, gs) = (E::slice(x), E::slice(m), E::slice_mut(g));
    let n = gs.len();
    let k = E::of_f64(k);
    chunked!(n, PARALLEL_MIN, |x = xs.par_chunks, m = ms.par_chunks, g = gs.par_chunks_mut| {
        normal_fixed_scale_grads_in_place(x, m, g, k)
    });
}

multiversion! {
    dispatch: normal_fixed_scale_grads_in_place,
    /// `g ← (g·(x − m))·k` (one build per instruction set, the same bits from each).
    fn normal_fixed_scale_grads_in_place_portable<E: Real>(x: &[E], m: &[E], g: &mut [E], k: E) {
        assert!(x.len() == m.len() && g.len() == m.len());
        for ((g, &x), &m) in g.iter_mut().zip(x).zip(m) {
            *g = *g * (x - m) * k;
        }
    }
}

/// `out = ln σ(s·l)` (`−∞` outside the support), with flex's `log_sigmoid` formula.
fn bernoulli_forward<E: Real>(l: &[E], x: &[E], out: &mut [E]) {
    assert!(x.len() == l.len() && out.len() == l.len());
    for ((o, &l), &x) in out.iter_mut().zip(l).zip(x) {
        let (_, inside, t, _) = bernoulli_argument(l, x);
        let lp = if t >= E::ZERO {
            -((-t).exp().ln_1p())
        } else {
            t - t.exp().ln_1p()
        };
        *o = if inside { lp } else { E::NEG_INFINITY };
    }
}

/// `g ← s·g·σ(−s·l)` in place (0 outside the support or below the floor), with flex's
/// `log_sigmoid_backward` formula.
fn bernoulli_backward<E: Real>(l: &[E], x: &[E], g: &mut [E]) {
    assert!(x.len() == l.len() && g.len() == l.len());
    for ((g, &l), &x) in g.iter_mut().zip(l).zip(x) {
        let (s, inside, t, below) = bernoulli_argument(l, x);
        let grad = if inside { *g } else { E::ZERO };
        let u = -t;
        let sigmoid = if u >= E::ZERO {
            E::ONE / (E::ONE + (-u).exp())
        } else {
            let e = u.exp();
            e / (E::ONE + e)
        };
        let grad_t = grad * sigmoid;
        *g = (if below { E::ZERO } else { grad_t }) * s;
    }
}

/// One Adam step on host buffers: in place where parameter and moments are not shared, into
/// fresh buffers otherwise (`Svi` keeps the previous state for its undo, so its buffers are
/// shared: writing new ones reads each old value once, where copy-on-write would copy them and
/// then update the copies). `k` as in [`adam_element`].
fn adam_buffers<E: Real>(
    mut p: FlexTensor,
    g: &FlexTensor,
    mut m: FlexTensor,
    mut v: FlexTensor,
    k: [E; 7],
    first: bool,
) -> (FlexTensor, FlexTensor, FlexTensor, bool) {
    let n = E::slice(&p).len();
    assert!(E::slice(g).len() == n && E::slice(&m).len() == n && E::slice(&v).len() == n);
    if p.is_unique() && m.is_unique() && v.is_unique() {
        let (ps, gs) = (E::slice_mut(&mut p), E::slice(g));
        let (ms, vs) = (E::slice_mut(&mut m), E::slice_mut(&mut v));
        let finite = chunked_all!(n, PARALLEL_MIN_ADAM, |p = ps.par_chunks_mut, g = gs.par_chunks, m = ms.par_chunks_mut, v = vs.par_chunks_mut| {
            adam_in_place(p, g, m, v, k, first)
        });
        return (p, m, v, finite);
    }
    // Fresh buffers, written once each (no zero-filling first: the loop writes every element).
    let (mut po, mut mo, mut vo) = (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
    let [ps, gs, ms, vs] = [E::slice(&p), E::slice(g), E::slice(&m), E::slice(&v)];
    let (pn, mn, vn) = (
        &mut po.spare_capacity_mut()[..n],
        &mut mo.spare_capacity_mut()[..n],
        &mut vo.spare_capacity_mut()[..n],
    );
    let finite = chunked_all!(
        n,
        PARALLEL_MIN_ADAM,
        |p = ps.par_chunks,
         g = gs.par_chunks,
         m = ms.par_chunks,
         v = vs.par_chunks,
         po = pn.par_chunks_mut,
         mo = mn.par_chunks_mut,
         vo = vn.par_chunks_mut| adam_into([p, g, m, v], [po, mo, vo], k, first)
    );
    // SAFETY: `adam_into` wrote all `n` elements of each buffer's spare capacity (its loop
    // visits every index of its equal-length slices, asserted above and in it).
    unsafe {
        po.set_len(n);
        mo.set_len(n);
        vo.set_len(n);
    }
    let shape = p.layout().shape().clone();
    (
        E::tensor(po, shape.clone()),
        E::tensor(mo, shape.clone()),
        E::tensor(vo, shape),
        finite,
    )
}

multiversion! {
    dispatch: adam_in_place,
    /// The Adam loop updating `p`, `m`, `v` in place (one version per instruction set, the
    /// same bits from each); whether every new `p` is finite.
    fn adam_in_place_portable<E: Real>(p: &mut [E], g: &[E], m: &mut [E], v: &mut [E], k: [E; 7], first: bool) -> bool {
        let mut finite = true;
        for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
            (*p, *m, *v) = adam_element(*p, g, *m, *v, k, first);
            finite &= p.is_finite();
        }
        finite
    }
}

multiversion! {
    dispatch: adam_into,
    /// The Adam loop from `[p, g, m, v]` into `[p, m, v]` (all of one length), every element
    /// written (one build per instruction set, as [`adam_in_place_portable`]); whether every
    /// new `p` is finite.
    fn adam_into_portable<E: Real>(old: [&[E]; 4], new: [&mut [MaybeUninit<E>]; 3], k: [E; 7], first: bool) -> bool {
        let [p, g, m, v] = old;
        let [po, mo, vo] = new;
        let n = p.len();
        assert!([g.len(), m.len(), v.len(), po.len(), mo.len(), vo.len()]
            .iter()
            .all(|&l| l == n));
        let old = p.iter().zip(g).zip(m).zip(v);
        let new = po.iter_mut().zip(mo.iter_mut()).zip(vo.iter_mut());
        let mut finite = true;
        for ((((&p, &g), &m), &v), ((po, mo), vo)) in old.zip(new) {
            let (p, m, v) = adam_element(p, g, m, v, k, first);
            po.write(p);
            mo.write(m);
            vo.write(v);
            finite &= p.is_finite();
        }
        finite
    }
}

/// The update of [`AdamStep`]'s docs for one element: the new `(p, m, v)`; `k` = `[β₁,
/// 1 − β₁, β₂, 1 − β₂, c, ε·s, lr]` in the element type. Each line is one of the composed
/// path's operations, in its order (Rust does not contract `a·b + c` into a fused
/// multiply-add, so the roundings match).
#[inline(always)]
fn adam_element<E: Real>(p: E, g: E, m: E, v: E, k: [E; 7], first: bool) -> (E, E, E) {
    let [b1, f1, b2, f2, c, eps, lr] = k;
    let (m, v) = if first {
        (g * f1, (g * g) * f2)
    } else {
        (m * b1 + g * f1, v * b2 + (g * g) * f2)
    };
    // Moments below the smallest normal number are flushed to zero (without branches): x86
    // computes with subnormal operands through a microcode assist ~100× slower, and the
    // moments of a parameter whose gradient has faded (a pixel that is rarely on) decay
    // through that range for hundreds of steps — the digit classifier's fit spent a third of
    // its time there. Such a moment moves no parameter: √v < 1.1e−19 vanishes beside ε, and
    // m·c/ε·lr < 1e−30 vanishes beside any parameter that is not itself that small.
    let m = if (m < E::MIN_NORMAL) & (-m < E::MIN_NORMAL) {
        E::ZERO
    } else {
        m
    };
    let v = if v < E::MIN_NORMAL { E::ZERO } else { v };
    let mut p = p;
    p -= (m * c) / (v.sqrt() + eps) * lr;
    (p, m, v)
}

#[cfg(test)]
mod tests {
    use std::mem::MaybeUninit;

    use burn::tensor::{DType, Tensor, TensorCreationOptions, TensorData};
    use burn_flex::Flex;

    use super::super::{adam_update_composed, AdamMoments, AdamStep, FusedKernels};

    fn tensor(v: &[f64], shape: [usize; 2], dtype: DType) -> Tensor<Flex, 2> {
        let opts = TensorCreationOptions::new(Default::default()).with_dtype(dtype);
        Tensor::from_data(TensorData::new(v.to_vec(), shape), opts)
    }

    /// The values' bits, a zero of either sign counted as +0 (a −0 parameter with a zero
    /// gradient ends as −0 or +0 depending on the order of the operations that keep it 0).
    fn bits(t: &Tensor<Flex, 2>) -> Vec<u64> {
        t.to_data()
            .iter::<f64>()
            .map(|v| if v == 0.0 { 0 } else { v.to_bits() })
            .collect()
    }

    /// The `n` values a kernel writes into a fresh buffer.
    fn written<E>(n: usize, kernel: impl FnOnce(&mut [MaybeUninit<E>])) -> Vec<E> {
        // SAFETY: the kernels under test write every element of the slice they are given.
        unsafe { super::written(n, kernel) }
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

    /// The kernel says whether every new parameter value is finite, in place and into fresh
    /// buffers (the parameter shared), for 12 elements and for 160 000 (in chunks across the
    /// pool): `true` for finite values; `false` for one NaN or infinite gradient or parameter
    /// at the first, a middle or the last element — every other element still updated.
    #[test]
    fn flex_adam_kernel_says_whether_the_new_parameter_is_finite() {
        let step = AdamStep {
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-5,
            lr: 0.01,
            time: 2,
        };
        for (rows, cols) in [(3, 4), (400, 400)] {
            let n = rows * cols;
            for dtype in [DType::F32, DType::F64] {
                for shared in [false, true] {
                    for bad in [
                        None,
                        Some((0, f64::NAN)),
                        Some((n / 2 + 1, f64::INFINITY)),
                        Some((n - 1, f64::NEG_INFINITY)),
                    ] {
                        for in_param in [false, true] {
                            let mut g = values(1, n);
                            let mut p = values(2, n);
                            if let Some((at, x)) = bad {
                                if in_param {
                                    p[at] = x
                                } else {
                                    g[at] = x
                                }
                            }
                            let p = tensor(&p, [rows, cols], dtype);
                            let kept = shared.then(|| p.clone());
                            let moments = AdamMoments {
                                moment_1: tensor(&values(3, n), [rows, cols], dtype),
                                moment_2: tensor(&values(4, n), [rows, cols], dtype).abs(),
                            };
                            let (q, _, finite) =
                                Flex::adam_update_checked(p, tensor(&g, [rows, cols], dtype), Some(moments), &step);
                            let what = format!(
                                "{n} elements, {dtype:?}, shared {shared}, bad {bad:?} in the parameter {in_param}"
                            );
                            assert_eq!(finite, Some(bad.is_none()), "{what}");
                            let non_finite = q.to_data().iter::<f64>().filter(|x| !x.is_finite()).count();
                            assert_eq!(
                                non_finite,
                                usize::from(bad.is_some()),
                                "{what}: every other element updated"
                            );
                            drop(kept);
                        }
                    }
                }
            }
        }
    }

    /// The one-pass kernel gives the composed operations' values bit for bit, in f32 and
    /// f64, over six steps (the first without moments), with a transposed gradient (a
    /// strided view), in place and (buffers shared on the first and every other step) into
    /// fresh buffers, the shared ones left untouched; for 12 elements (one loop) and for
    /// 160 000 (split in chunks across the thread pool).
    #[test]
    fn flex_adam_kernel_equals_the_composed_update_bit_for_bit() {
        for ((rows, cols), dtype) in [(3, 4), (400, 400)]
            .into_iter()
            .flat_map(|s| [(s, DType::F32), (s, DType::F64)])
        {
            let size = rows * cols;
            let mut fused = tensor(&values(0, size), [rows, cols], dtype);
            let mut composed = fused.clone();
            let shared = fused.clone();
            let before = bits(&shared);
            let (mut mf, mut mc): (Option<AdamMoments<Flex, 2>>, Option<AdamMoments<Flex, 2>>) = (None, None);
            for time in 1..=6 {
                let grad = tensor(&values(time, size), [cols, rows], dtype).transpose();
                let step = AdamStep {
                    beta_1: 0.9,
                    beta_2: 0.999,
                    epsilon: 1e-5,
                    lr: 0.013,
                    time,
                };
                // Every other step the parameter and moments are shared (as `Svi`'s undo state
                // shares them): the kernel writes fresh buffers and leaves these untouched.
                let kept = (time % 2 == 0).then(|| (fused.clone(), mf.clone()));
                let kept_bits = kept
                    .as_ref()
                    .map(|(p, m)| (bits(p), m.as_ref().map(|m| bits(&m.moment_1))));
                let (p, m) = Flex::adam_update(fused, grad.clone(), mf, &step);
                if let Some((p, m)) = kept {
                    let now = (bits(&p), m.as_ref().map(|m| bits(&m.moment_1)));
                    assert_eq!(
                        Some(now),
                        kept_bits,
                        "{dtype:?}, step {time}: a shared buffer was written"
                    );
                }
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

    /// Moments that fall below the smallest normal number are flushed to zero, and the
    /// parameters still equal the composed update's bit for bit: gradients of 1e−20 (whose
    /// square is subnormal in f32) and a gradient that stops, so that its moments decay
    /// through the subnormal range, over 900 steps.
    #[test]
    fn flex_adam_kernel_flushes_subnormal_moments_and_moves_parameters_alike() {
        for dtype in [DType::F32, DType::F64] {
            let mut fused = tensor(&[0.5, -0.25, 1.5, 2.0], [2, 2], dtype);
            let mut composed = fused.clone();
            let (mut mf, mut mc): (Option<AdamMoments<Flex, 2>>, Option<AdamMoments<Flex, 2>>) = (None, None);
            for time in 1..=900 {
                // Element 0: 1e−20; element 1: 0.3 for 5 steps, then 0; the others ordinary.
                let fading = if time <= 5 { 0.3 } else { 0.0 };
                let grad = tensor(&[1e-20, fading, 0.1, -0.2], [2, 2], dtype);
                let step = AdamStep {
                    beta_1: 0.9,
                    beta_2: 0.999,
                    epsilon: 1e-5,
                    lr: 0.01,
                    time,
                };
                let (p, m) = Flex::adam_update(fused, grad.clone(), mf, &step);
                let (q, n) = adam_update_composed(composed, grad, mc, &step);
                assert_eq!(bits(&p), bits(&q), "{dtype:?}, step {time}: parameter");
                if dtype == DType::F32 {
                    let subnormal = small_count(&m.moment_1) + small_count(&m.moment_2);
                    assert_eq!(subnormal, 0, "step {time}: a subnormal moment");
                }
                (fused, composed, mf, mc) = (p, q, Some(m), Some(n));
            }
            if dtype == DType::F32 {
                let n = mc.unwrap();
                assert!(
                    small_count(&n.moment_1) + small_count(&n.moment_2) > 0,
                    "the composed update does reach subnormal moments (the case is exercised)"
                );
            }
        }
    }

    /// Nonzero entries below f32's smallest normal number.
    fn small_count(t: &Tensor<Flex, 2>) -> usize {
        t.to_data()
            .convert::<f64>()
            .to_vec::<f64>()
            .unwrap()
            .into_iter()
            .filter(|x| *x != 0.0 && x.abs() < f32::MIN_POSITIVE as f64)
            .count()
    }

    /// The f32 Bernoulli kernels against an f64 reference (`min(t, 0) − ln_1p(e^{−|t|})` and
    /// `g·s·σ(−t)` with the standard library's f64 functions), within 1 ulp of the reference,
    /// on 20 000 logits from 10⁻⁸ to 120 in magnitude, both signs, both values, gradients of
    /// several magnitudes; and the build the CPU runs (AVX-512 or AVX2) and the portable one agree
    /// bit for bit.
    #[test]
    fn flex_bernoulli_f32_kernels_are_within_one_ulp() {
        let n = 20_000;
        let l: Vec<f32> = (0..n)
            .map(|i| {
                let m = 10f64.powf(-8.0 + 10.08 * (i / 2) as f64 / (n / 2) as f64);
                (if i % 2 == 0 { m } else { -m }) as f32
            })
            .collect();
        let x: Vec<f32> = (0..n).map(|i| ((i / 2) % 2) as f32).collect();
        let g0: Vec<f32> = (0..n).map(|i| [1.0, -0.37, 1e3, 2.5e-3][i % 4]).collect();
        let lp = written(n, |o| super::bernoulli_forward_f32(&l, &x, o));
        let mut g = g0.clone();
        super::bernoulli_backward_f32(&l, &x, &mut g);
        // 1 ulp: relative for normal numbers, 2⁻¹⁴⁹ among the subnormals.
        let ulp = |v: f64| (f64::from(f32::EPSILON) * v.abs()).max(2f64.powi(-149));
        for i in 0..n {
            let s = if x[i] == 1.0 { 1.0 } else { -1.0 };
            let t = f64::from(l[i]) * s;
            let want = t.min(0.0) - (-t.abs()).exp().ln_1p();
            assert!(
                (f64::from(lp[i]) - want).abs() <= ulp(want),
                "log-density at l = {}, x = {}: {} vs {want}",
                l[i],
                x[i],
                lp[i]
            );
            let want = f64::from(g0[i]) * s / (1.0 + t.exp());
            assert!(
                (f64::from(g[i]) - want).abs() <= ulp(want),
                "gradient at l = {}, x = {}: {} vs {want}",
                l[i],
                x[i],
                g[i]
            );
        }
        let (lp2, mut g2) = (written(n, |o| super::bernoulli_forward_f32_portable(&l, &x, o)), g0);
        super::bernoulli_backward_f32_portable(&l, &x, &mut g2);
        assert!(lp.iter().zip(&lp2).all(|(a, b)| a.to_bits() == b.to_bits()));
        assert!(g.iter().zip(&g2).all(|(a, b)| a.to_bits() == b.to_bits()));
    }

    /// The gradient of the log-density's sum from one number equals the element-wise gradient
    /// given a tensor filled with that number, bit for bit: from the logits (f32, f64) and
    /// from the slopes the f32 forward pass keeps, whose log-density is the plain kernel's;
    /// the composed slope gradient equals flex's; for gradients 1, −0.37, ±0, NaN and ±∞, on
    /// buffers split across the pool and kept to one thread, with special logits (±∞, NaN,
    /// ±0, beyond the floor) and values outside the support; the portable builds of the new
    /// kernels give the CPU's build's bits.
    #[test]
    fn flex_bernoulli_sum_gradient_from_one_number_or_slopes_equals_the_filled_gradient() {
        use crate::kernels::bernoulli_logits_sum_grad_from_slopes_composed;
        let n = super::PARALLEL_MIN + 3 * super::CHUNK + 7;
        let special = [f64::INFINITY, f64::NEG_INFINITY, f64::NAN, 0.0, -0.0, 1e39, -1e39];
        let l: Vec<f64> = values(4, n)
            .iter()
            .enumerate()
            .map(|(i, v)| if i % 97 == 5 { special[(i / 97) % 7] } else { v * 3.0 })
            .collect();
        let x: Vec<f64> = (0..n)
            .map(|i| [0.0, 1.0, 1.0, 0.5, 0.0, f64::NAN, -1.0][i % 7])
            .collect();
        let t = |v: &[f64], dtype| tensor(v, [1, n], dtype).reshape([n]);
        let bits1 = |t: Tensor<Flex, 1>| t.to_data().iter::<f64>().map(f64::to_bits).collect::<Vec<_>>();
        for dtype in [DType::F32, DType::F64] {
            for g in [1.0, -0.37, 0.0, -0.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
                let scalar = || tensor(&[g], [1, 1], dtype).reshape([1]);
                let filled = Flex::bernoulli_logits_grad(t(&l, dtype), t(&x, dtype), t(&vec![g; n], dtype));
                let want = bits1(filled);
                let from_one = || Flex::bernoulli_logits_sum_grad(t(&l, dtype), t(&x, dtype), scalar());
                assert_eq!(bits1(from_one()), want, "{dtype:?}, g = {g}: from one number");
                let serial = crate::kernels::with_serial_kernels(from_one);
                assert_eq!(bits1(serial), want, "{dtype:?}, g = {g}: kept to one thread");
                let slopes = || Flex::bernoulli_logits_log_prob_slopes(t(&l, dtype), t(&x, dtype));
                if dtype == DType::F64 {
                    assert!(slopes().is_none(), "f64 keeps no slopes");
                    continue;
                }
                for split in [true, false] {
                    let (lp, w) = if split {
                        slopes().expect("f32 slopes")
                    } else {
                        crate::kernels::with_serial_kernels(slopes).expect("f32 slopes")
                    };
                    let plain = Flex::bernoulli_logits_log_prob(t(&l, dtype), t(&x, dtype));
                    assert_eq!(bits1(lp), bits1(plain), "g = {g}: log-density beside the slopes");
                    assert_eq!(w.dtype(), DType::F64);
                    let got = Flex::bernoulli_logits_sum_grad_from_slopes(w.clone(), scalar());
                    assert_eq!(got.dtype(), DType::F32);
                    assert_eq!(bits1(got), want, "g = {g}: from the slopes (split: {split})");
                    let composed = bernoulli_logits_sum_grad_from_slopes_composed(w, scalar());
                    assert_eq!(bits1(composed), want, "g = {g}: composed, from the slopes");
                }
            }
        }
        // The portable builds.
        let f = |v: &[f64]| v.iter().map(|&v| v as f32).collect::<Vec<_>>();
        let (l, x) = (f(&l), f(&x));
        type SlopesKernel = fn(&[f32], &[f32], &mut [MaybeUninit<f32>], &mut [MaybeUninit<f64>]);
        let pair = |kernel: SlopesKernel| {
            let mut lp = Vec::new();
            let w = written(n, |w| lp = written(n, |o| kernel(&l, &x, o, w)));
            (lp, w)
        };
        let (lp, w) = pair(super::bernoulli_forward_slopes_f32);
        let (lp2, w2) = pair(super::bernoulli_forward_slopes_f32_portable);
        assert!(lp.iter().zip(&lp2).all(|(a, b)| a.to_bits() == b.to_bits()));
        assert!(w.iter().zip(&w2).all(|(a, b)| a.to_bits() == b.to_bits()));
        let g1 = written(n, |o| super::bernoulli_grad_from_slopes_f32(&w, -0.37, o));
        let g2 = written(n, |o| super::bernoulli_grad_from_slopes_f32_portable(&w, -0.37, o));
        assert!(g1.iter().zip(&g2).all(|(a, b)| a.to_bits() == b.to_bits()));
        let g3 = written(n, |o| super::bernoulli_backward_scalar_f32(&l, &x, -0.37, o));
        let g4 = written(n, |o| super::bernoulli_backward_scalar_f32_portable(&l, &x, -0.37, o));
        assert!(g3.iter().zip(&g4).all(|(a, b)| a.to_bits() == b.to_bits()));
        assert!(g1.iter().zip(&g3).all(|(a, b)| a.to_bits() == b.to_bits()));
    }

    /// `all_finite` finds one NaN or infinity wherever it sits in a long buffer (first and last
    /// element, block and chunk boundaries, split across the pool or not), in f32 and f64, and
    /// passes finite values up to the largest; a strided view is read as the values it shows.
    #[test]
    fn flex_all_finite_finds_every_non_finite_value() {
        let n = super::PARALLEL_MIN + 3 * super::CHUNK + 7;
        let finite: Vec<f64> = values(3, n).iter().map(|v| v * 1e30).collect();
        let places = [0, 1, 1023, 1024, super::CHUNK - 1, super::CHUNK, n / 2, n - 1];
        for dtype in [DType::F32, DType::F64] {
            let mut big = finite.clone();
            big[5] = if dtype == DType::F32 {
                f64::from(f32::MAX)
            } else {
                f64::MAX
            };
            for serial in [false, true] {
                let check = |v: &[f64]| {
                    let t = tensor(v, [1, n], dtype);
                    if serial {
                        crate::kernels::with_serial_kernels(|| Flex::all_finite(t))
                    } else {
                        Flex::all_finite(t)
                    }
                };
                assert_eq!(check(&big), Some(true), "{dtype:?}");
                for &i in &places {
                    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
                        let mut v = finite.clone();
                        v[i] = bad;
                        assert_eq!(check(&v), Some(false), "{dtype:?}: {bad} at {i} of {n}");
                    }
                }
            }
            // The transposed view of [[1, NaN], [2, 3]] still holds the NaN; [[1, 2]]'s does not.
            let t = tensor(&[1.0, f64::NAN, 2.0, 3.0], [2, 2], dtype);
            assert_eq!(Flex::all_finite(t.transpose()), Some(false));
            assert_eq!(
                Flex::all_finite(tensor(&[1.0, 2.0], [1, 2], dtype).transpose()),
                Some(true)
            );
        }
    }

    /// Buffers long enough to be split across the thread pool (`PARALLEL_MIN` and more, not a
    /// multiple of `CHUNK`) give the same bits as one loop over the whole buffer, both ways,
    /// in f32 and f64, split or kept to one thread (`with_serial_kernels`).
    #[test]
    fn flex_bernoulli_kernels_split_in_chunks_equal_one_loop() {
        let n = super::PARALLEL_MIN + 3 * super::CHUNK + 7;
        let l: Vec<f64> = values(1, n).iter().map(|v| v * 3.0).collect();
        let x: Vec<f64> = (0..n).map(|i| [0.0, 1.0, 1.0, 0.5][i % 4]).collect();
        let g: Vec<f64> = values(2, n);
        for dtype in [DType::F32, DType::F64] {
            let t = |v: &[f64]| tensor(v, [1, n], dtype);
            let lp = Flex::bernoulli_logits_log_prob(t(&l), t(&x)).to_data();
            let grad = Flex::bernoulli_logits_grad(t(&l), t(&x), t(&g)).to_data();
            let (want_lp, want_g): (Vec<f64>, Vec<f64>) = if dtype == DType::F32 {
                let f = |v: &[f64]| v.iter().map(|&v| v as f32).collect::<Vec<_>>();
                let (l, x, mut g) = (f(&l), f(&x), f(&g));
                let out = written(n, |o| super::bernoulli_forward_f32_portable(&l, &x, o));
                super::bernoulli_backward_f32_portable(&l, &x, &mut g);
                let wide = |v: Vec<f32>| v.into_iter().map(f64::from).collect();
                (wide(out), wide(g))
            } else {
                let (mut out, mut g) = (vec![0.0f64; n], g.clone());
                super::bernoulli_forward(&l, &x, &mut out);
                super::bernoulli_backward(&l, &x, &mut g);
                (out, g)
            };
            let bits = |v: Vec<f64>| v.into_iter().map(f64::to_bits).collect::<Vec<_>>();
            assert_eq!(
                bits(lp.iter::<f64>().collect()),
                bits(want_lp),
                "{dtype:?}: log-density"
            );
            assert_eq!(bits(grad.iter::<f64>().collect()), bits(want_g), "{dtype:?}: gradient");
            // Kept to this thread (batch shares), the same loops give the same bits.
            let serial = crate::kernels::with_serial_kernels(|| {
                (
                    Flex::bernoulli_logits_log_prob(t(&l), t(&x)).to_data(),
                    Flex::bernoulli_logits_grad(t(&l), t(&x), t(&g)).to_data(),
                )
            });
            assert_eq!((serial.0, serial.1), (lp, grad), "{dtype:?}: serial kernels");
        }
    }
}

//! The fused density kernels (`ppl_dist::kernels::FusedKernels`) give the composed
//! operations' numbers, value and gradient, through burn's autodiff backend on every backend:
//! bit for bit where the backend runs the composed defaults behind one graph node (NdArray,
//! CUDA, libtorch except its Bernoulli gradient) and flex in f64; within 2 ulps on flex in f32,
//! whose one-pass kernel evaluates `exp` and `ln(1 + y)` in f64 and rounds once (its accuracy
//! against an f64 reference is tested beside the kernel). libtorch's Bernoulli gradient is held
//! to the exact value (4 ulps) rather than to the composed one, which cancellation makes less
//! accurate.
//!
//! Inputs: logits over many magnitudes with both signs, zeros, ±∞ and a NaN, against values
//! 0 and 1 and some outside the support (0.5, −1, 2, NaN, ±∞, 1e−30, one f32 ulp either side of 1); the output is weighted before
//! the sum so the incoming gradient differs per element.

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use ppl_dist::kernels::{bernoulli_logits_log_prob_composed, FusedKernels, TrainingBackend};

use crate::common::{backend_suite, float_limits, host, is_f64, t2};

backend_suite!(
    fused_bernoulli_logits_equals_the_composed_operations,
    fused_bernoulli_sum_is_the_sum_of_the_fused_values_with_its_gradient,
    fused_normal_equals_the_composed_operations,
    fused_fixed_scale_normal_of_equal_shapes_is_the_composed_operations_bit_for_bit,
    add_same_shape_is_the_plain_sum_and_leaves_shared_operands_alone,
    fused_softplus_equals_the_composed_operations,
    fused_normal_draw_equals_the_composed_operations,
    fused_log_normal_and_half_cauchy_equal_the_composed_operations,
);

const ROWS: usize = 6;
const COLS: usize = 9;

fn logits() -> Vec<f64> {
    let special = [f64::INFINITY, f64::NEG_INFINITY, f64::NAN, 0.0, -0.0, 1e30, -1e30];
    (0..ROWS * COLS)
        .map(|i| {
            if i % 8 == 3 {
                special[(i / 8) % special.len()]
            } else {
                let m = ((i * 5) % 13) as f64 - 6.0;
                m * 10f64.powi((i % 7) as i32 - 3)
            }
        })
        .collect()
}

fn values() -> Vec<f64> {
    // Next to the support too: 1e−30, and one ulp (f32) below and above 1.
    let outside = [
        0.5,
        -1.0,
        2.0,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        1e-30,
        1.0 - 2f64.powi(-24),
        1.0 + 2f64.powi(-23),
    ];
    (0..ROWS * COLS)
        .map(|i| {
            if i % 6 == 5 {
                outside[(i / 6) % outside.len()]
            } else {
                ((i * 7) % 3 % 2) as f64
            }
        })
        .collect()
}

fn bits<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<u64> {
    host(t).into_iter().map(f64::to_bits).collect()
}

/// The weights `w` of each element's log-density in the summed loss.
fn weights() -> Vec<f64> {
    (0..ROWS * COLS).map(|i| 0.25 + (i % 5) as f64 * 0.5).collect()
}

/// `(value bits, gradient bits)` of `Σ w·lp` with `lp` from `f`.
fn run<B: TrainingBackend>(
    f: impl Fn(Tensor<B, 2>, Tensor<B, 2>) -> Tensor<B, 2>,
    dev: &B::Device,
) -> (Vec<u64>, Vec<u64>) {
    let l = t2::<B>(&logits(), ROWS, COLS, dev).require_grad();
    let x = t2::<B>(&values(), ROWS, COLS, dev);
    let lp = f(l.clone(), x);
    let loss = (lp.clone() * t2::<B>(&weights(), ROWS, COLS, dev))
        .mask_fill(lp.clone().is_inf(), 0.0)
        .sum();
    let grads = loss.backward();
    let g = l.grad(&grads).expect("logits gradient");
    (bits(lp.inner()), bits(g))
}

/// Equal bits, both NaN, or (where `ulps > 0`) within `ulps` f32 ulps of each other.
fn assert_same(what: &str, fused: &[u64], composed: &[u64], ulps: f64) {
    assert_eq!(fused.len(), composed.len());
    for (i, (a, b)) in fused.iter().zip(composed).enumerate() {
        let (x, y) = (f64::from_bits(*a), f64::from_bits(*b));
        let close = (x - y).abs() <= ulps * f64::from(f32::EPSILON) * x.abs().max(y.abs());
        assert!(
            a == b || (x.is_nan() && y.is_nan()) || close,
            "{what} {i}: fused {x:e}, composed {y:e}"
        );
    }
}

/// The f32 ulps allowed between fused and composed: flex's f32 kernel rounds once where the
/// composed operations round after each step (each within 1 ulp).
fn ulps<B: Backend>() -> f64 {
    if cfg!(feature = "flex") && std::any::type_name::<B>().contains("Flex") && !is_f64::<B>() {
        2.0
    } else {
        0.0
    }
}

/// `∂/∂l Σ w·ln σ((2x − 1)·l)` in f64 at the logits as the backend holds them (`held`): `w·s·σ(−t)`
/// with `s = 2x − 1` and `t = s·l`, 0 outside `{0, 1}` and where `t` is below the floor
/// (`−∞` included).
fn exact_bernoulli_grad(held: &[f64]) -> Vec<f64> {
    let floor = -f64::from(f32::MAX);
    let x = values();
    held.iter()
        .zip(&x)
        .zip(weights())
        .map(|((&l, &x), w)| {
            let s = 2.0 * x - 1.0;
            let t = s * l;
            if !(x == 0.0 || x == 1.0) || t < floor {
                0.0
            } else {
                w * s / (1.0 + t.exp())
            }
        })
        .collect()
}

fn fused_bernoulli_logits_equals_the_composed_operations<B: TrainingBackend>(dev: &B::Device) {
    let (fused_lp, fused_grad) = run::<B>(|l, x| B::bernoulli_logits_log_prob(l, x), dev);
    let (lp, grad) = run::<B>(bernoulli_logits_log_prob_composed, dev);
    assert_same("log-density", &fused_lp, &lp, ulps::<B>());
    if cfg!(feature = "tch") && std::any::type_name::<B>().contains("LibTorch") {
        // libtorch's kernel writes `σ(−t)` directly; burn's generic `log_sigmoid_backward`,
        // which the composed operations use there, forms `1 − 1/(1 + e⁻ᵗ)` and loses digits
        // to cancellation for large t (4.6e−4 relative at t = 10 in f32). So the kernel is held
        // to the exact value instead: within 4 ulps of the backend's precision.
        let held = host(t2::<B>(&logits(), ROWS, COLS, dev));
        // `tiny`: values below the smallest normal number may underflow to 0.
        let (eps, tiny) = if is_f64::<B>() {
            (f64::EPSILON, f64::MIN_POSITIVE)
        } else {
            (f64::from(f32::EPSILON), f64::from(f32::MIN_POSITIVE))
        };
        for (i, (g, e)) in fused_grad.iter().zip(exact_bernoulli_grad(&held)).enumerate() {
            let g = f64::from_bits(*g);
            assert!(
                (g - e).abs() <= 4.0 * eps * e.abs() + tiny || (g.is_nan() && held[i].is_nan()),
                "gradient {i}: fused {g:e}, exact {e:e}"
            );
        }
    } else {
        assert_same("gradient", &fused_grad, &grad, ulps::<B>());
    }
    // The inner backend's kernel alone (no autodiff) gives the same values too.
    let l = t2::<B::InnerBackend>(&logits(), ROWS, COLS, dev);
    let x = t2::<B::InnerBackend>(&values(), ROWS, COLS, dev);
    let inner = bits(B::InnerBackend::bernoulli_logits_log_prob(l.clone(), x.clone()));
    let composed = bits(bernoulli_logits_log_prob_composed(l, x));
    assert_same("inner log-density", &inner, &composed, ulps::<B>());
}

/// The sum node of `bernoulli_logits_log_prob_sum` gives `Σ lp` and, through autodiff, the
/// logits' gradient of `c·Σ lp` that `lp.sum()` after `bernoulli_logits_log_prob` gives, bit for
/// bit (flex's f32 from the slopes its forward pass keeps, its f64 from the one number, the other
/// backends through the filled tensor), for `c` = 1, −0.37, 0; the element-wise values beside it
/// are the fused kernel's. A loss over both outputs gets both nodes' gradients (within rounding
/// of one node's: the two incoming gradients are then added after the kernel, not before), and
/// untracked logits give the same values without a graph.
fn fused_bernoulli_sum_is_the_sum_of_the_fused_values_with_its_gradient<B: TrainingBackend>(dev: &B::Device) {
    // Only values in the support: an element outside scores −∞, which makes the sum −∞.
    let x: Vec<f64> = values().iter().map(|&v| if v == 1.0 { 1.0 } else { 0.0 }).collect();
    let inputs = || {
        let l = t2::<B>(&logits(), ROWS, COLS, dev).require_grad();
        (l, t2::<B>(&x, ROWS, COLS, dev))
    };
    for c in [1.0, -0.37, 0.0] {
        let (l, xv) = inputs();
        let (lp, sum) = B::bernoulli_logits_log_prob_sum(l.clone(), xv);
        let grads = (sum.clone() * c).backward();
        let g = bits(l.grad(&grads).expect("logits gradient"));
        let (l2, xv2) = inputs();
        let lp2 = B::bernoulli_logits_log_prob(l2.clone(), xv2);
        let sum2 = lp2.clone().sum();
        let grads2 = (sum2.clone() * c).backward();
        let g2 = bits(l2.grad(&grads2).expect("logits gradient"));
        assert_eq!(bits(lp.inner()), bits(lp2.inner()), "c = {c}: element-wise values");
        assert_eq!(bits(sum.inner()), bits(sum2.inner()), "c = {c}: the sum");
        assert_eq!(g, g2, "c = {c}: the logits' gradient");
    }
    // Both outputs in one loss: `Σ w·lp + 0.5·Σ lp`.
    let w = || t2::<B>(&weights(), ROWS, COLS, dev);
    let (l, xv) = inputs();
    let (lp, sum) = B::bernoulli_logits_log_prob_sum(l.clone(), xv);
    let grads = ((lp * w()).sum() + sum * 0.5).backward();
    let both = host(l.grad(&grads).expect("logits gradient"));
    let (l2, xv2) = inputs();
    let lp2 = B::bernoulli_logits_log_prob(l2.clone(), xv2);
    let grads2 = ((lp2.clone() * w()).sum() + lp2.sum() * 0.5).backward();
    let one = host(l2.grad(&grads2).expect("logits gradient"));
    let eps = if is_f64::<B>() {
        f64::EPSILON
    } else {
        f64::from(f32::EPSILON)
    };
    for (i, (a, b)) in both.iter().zip(&one).enumerate() {
        let close = (a - b).abs() <= 4.0 * eps * (a.abs() + b.abs()) || (a.is_nan() && b.is_nan());
        assert!(close, "both outputs, element {i}: {a:e} vs {b:e}");
    }
    // Untracked logits: the same values.
    let l = t2::<B>(&logits(), ROWS, COLS, dev);
    let (lp, sum) = B::bernoulli_logits_log_prob_sum(l.clone(), t2::<B>(&x, ROWS, COLS, dev));
    let lp2 = B::bernoulli_logits_log_prob(l, t2::<B>(&x, ROWS, COLS, dev));
    assert_eq!(bits(lp.inner()), bits(lp2.clone().inner()));
    assert_eq!(bits(sum.inner()), bits(lp2.sum().inner()));
}

/// `(log-density bits, gradients)` of `Σ w·lp` with `lp = f(x, μ, σ)` for a value `[3, 4]`,
/// a location `[1, 4]` and a scale `[3, 1]` (both broadcast), each tracked where `track`
/// says so; inputs the density does not depend on, or untracked, get no gradient (`None`).
#[allow(clippy::type_complexity)]
fn run_density<B: TrainingBackend>(
    f: impl Fn(Tensor<B, 2>, Tensor<B, 2>, Tensor<B, 2>) -> Tensor<B, 2>,
    track: [bool; 3],
    dev: &B::Device,
) -> (Vec<u64>, [Option<Vec<f64>>; 3]) {
    let maybe = |t: Tensor<B, 2>, on: bool| if on { t.require_grad() } else { t };
    let x: Vec<f64> = (0..12)
        .map(|i| (i as f64 - 5.5) * 0.7 + (i % 3) as f64 * 1e-3)
        .collect();
    let x = maybe(t2::<B>(&x, 3, 4, dev), track[0]);
    let m = maybe(t2::<B>(&[0.3, -1.0, 2.5, 0.0], 1, 4, dev), track[1]);
    let s = maybe(t2::<B>(&[0.5, 1.0, 3.0], 3, 1, dev), track[2]);
    let w: Vec<f64> = (0..12).map(|i| 0.25 + (i % 5) as f64 * 0.5).collect();
    let lp = f(x.clone(), m.clone(), s.clone());
    let grads = (lp.clone() * t2::<B>(&w, 3, 4, dev)).sum().backward();
    let g = |t: &Tensor<B, 2>| t.grad(&grads).map(host);
    (bits(lp.inner()), [g(&x), g(&m), g(&s)])
}

/// Gradients equal within f32 rounding, relative to the sum of the two magnitudes and the
/// gradient's typical size (a broadcast input's gradient is a sum of terms of both signs).
/// `eps` is the machine epsilon of the backend's float type.
fn assert_close_grads(what: &str, fused: &[f64], composed: &[f64], eps: f64) {
    assert_eq!(fused.len(), composed.len(), "{what}");
    let typical = composed.iter().map(|g| g.abs()).sum::<f64>() / composed.len() as f64;
    for (i, (a, b)) in fused.iter().zip(composed).enumerate() {
        let tol = 32.0 * eps * (a.abs() + b.abs() + typical);
        assert!((a - b).abs() <= tol, "{what} {i}: fused {a:e}, composed {b:e}");
    }
}

/// The tracking combinations every fused density is checked under.
const TRACKS: [[bool; 3]; 5] = [
    [true, true, true],
    [true, false, false],
    [false, true, true],
    [false, false, true],
    [false, false, false],
];

/// A fused density of (value, location, scale) against its composed operations, every input
/// tracked or not as `track` says: the same bits, a gradient exactly for the tracked inputs it
/// `uses`, and gradients within rounding ([`assert_close_grads`]).
#[allow(clippy::type_complexity)]
fn assert_fused_density<B: TrainingBackend>(
    what: &str,
    fused: &dyn Fn(Tensor<B, 2>, Tensor<B, 2>, Tensor<B, 2>) -> Tensor<B, 2>,
    composed: &dyn Fn(Tensor<B, 2>, Tensor<B, 2>, Tensor<B, 2>) -> Tensor<B, 2>,
    uses: [bool; 3],
    track: [bool; 3],
    dev: &B::Device,
) {
    let eps = if is_f64::<B>() {
        f64::EPSILON
    } else {
        f64::from(f32::EPSILON)
    };
    let (fused_lp, fused_g) = run_density::<B>(fused, track, dev);
    let (lp, g) = run_density::<B>(composed, track, dev);
    // The same operations on the inner backend: the same bits.
    assert_same(&format!("{what} log-density"), &fused_lp, &lp, 0.0);
    for k in 0..3 {
        let want = track[k] && uses[k];
        assert_eq!(
            fused_g[k].is_some(),
            want,
            "{what}: gradient {k} of the fused density ({track:?})"
        );
        assert_eq!(
            g[k].is_some(),
            want,
            "{what}: gradient {k} of the composed density ({track:?})"
        );
        if let (Some(a), Some(b)) = (&fused_g[k], &g[k]) {
            assert_close_grads(&format!("{what} gradient {k} {track:?}"), a, b, eps);
        }
    }
}

fn fused_normal_equals_the_composed_operations<B: TrainingBackend>(dev: &B::Device) {
    use ppl_dist::kernels::{normal_log_prob_composed, normal_log_prob_fixed_scale_composed};
    for track in TRACKS {
        assert_fused_density::<B>(
            "normal",
            &|x, m, s| B::normal_log_prob(x, m, s),
            &normal_log_prob_composed,
            [true; 3],
            track,
            dev,
        );
        // A scale given as a number (the scale input is then ignored).
        assert_fused_density::<B>(
            "fixed-scale normal",
            &|x, m, _| B::normal_log_prob_fixed_scale(x, m, 2.5),
            &|x, m, _| normal_log_prob_fixed_scale_composed(x, m, 2.5),
            [true, true, false],
            track,
            dev,
        );
    }
}

/// `add_same_shape` (the sum of two shares' gradients) against `a + b`, bit for bit, on a
/// tensor large enough for flex to split across threads: with `a` its own and with `a` held
/// elsewhere too (which keeps its values).
fn add_same_shape_is_the_plain_sum_and_leaves_shared_operands_alone<B: TrainingBackend>(dev: &B::Device) {
    type Inner<B> = <B as burn::tensor::backend::AutodiffBackend>::InnerBackend;
    let (rows, cols) = (300, 700);
    let a: Vec<f64> = (0..rows * cols)
        .map(|i| ((i * 37) % 101) as f64 * 0.013 - 0.6)
        .collect();
    let b: Vec<f64> = (0..rows * cols)
        .map(|i| ((i * 11) % 97) as f64 * -0.021 + 1e-4)
        .collect();
    let tensor = |v: &[f64]| t2::<Inner<B>>(v, rows, cols, dev);
    let want = bits(tensor(&a) + tensor(&b));
    assert_eq!(
        bits(<Inner<B> as FusedKernels>::add_same_shape(tensor(&a), tensor(&b))),
        want,
        "own"
    );
    let held = tensor(&a);
    let held_bits = bits(held.clone());
    assert_eq!(
        bits(<Inner<B> as FusedKernels>::add_same_shape(held.clone(), tensor(&b))),
        want,
        "shared"
    );
    assert_eq!(bits(held), held_bits, "the operand held elsewhere was written over");
}

/// The fixed-scale normal's kernels where value, location and output have one shape (a
/// decoder's pixels; flex runs each in one pass) against the generic operations on the same
/// backend: the log-density and the gradients, each alone or both, bit for bit.
fn fused_fixed_scale_normal_of_equal_shapes_is_the_composed_operations_bit_for_bit<B: TrainingBackend>(
    dev: &B::Device,
) {
    use ppl_dist::kernels::{normal_log_prob_fixed_scale_composed, normal_log_prob_fixed_scale_grads};
    type Inner<B> = <B as burn::tensor::backend::AutodiffBackend>::InnerBackend;
    let values = |f: &dyn Fn(usize) -> f64| (0..ROWS * COLS).map(f).collect::<Vec<f64>>();
    let tensor = |v: &[f64]| t2::<Inner<B>>(v, ROWS, COLS, dev);
    let x = tensor(&values(&|i| (i as f64 - 20.0) * 0.37 + (i % 4) as f64 * 1e-3));
    let m = tensor(&values(&|i| ((i * 7) % 13) as f64 * 0.9 - 5.0));
    let g = tensor(&values(&|i| 0.25 + (i % 5) as f64 * 0.5 - (i % 2) as f64));
    let kernel = <Inner<B> as FusedKernels>::normal_log_prob_fixed_scale(x.clone(), m.clone(), 0.7);
    let composed = normal_log_prob_fixed_scale_composed(x.clone(), m.clone(), 0.7);
    assert_eq!(bits(kernel), bits(composed), "log-density");
    for wanted in [[true, true], [false, true], [true, false]] {
        let kernel =
            <Inner<B> as FusedKernels>::normal_log_prob_fixed_scale_grads(x.clone(), m.clone(), 0.7, g.clone(), wanted);
        let composed = normal_log_prob_fixed_scale_grads(x.clone(), m.clone(), 0.7, g.clone(), wanted);
        for (k, (a, b)) in kernel.into_iter().zip(composed).enumerate() {
            assert_eq!(a.is_some(), wanted[k], "gradient {k}, wanted {wanted:?}");
            assert_eq!(a.map(bits), b.map(bits), "gradient {k}, wanted {wanted:?}");
        }
    }
    assert_eq!(
        host(g),
        values(&|i| 0.25 + (i % 5) as f64 * 0.5 - (i % 2) as f64),
        "the caller's gradient is left alone"
    );
}

/// The log-normal and half-Cauchy densities over values on both sides of 0 (`−∞` and no
/// gradient outside the support), fused against composed.
fn fused_log_normal_and_half_cauchy_equal_the_composed_operations<B: TrainingBackend>(dev: &B::Device) {
    use ppl_dist::kernels::{half_cauchy_log_prob_composed, log_normal_log_prob_composed};
    for track in TRACKS {
        assert_fused_density::<B>(
            "log-normal",
            &|x, m, s| B::log_normal_log_prob(x, m, s),
            &log_normal_log_prob_composed,
            [true; 3],
            track,
            dev,
        );
        // The half-Cauchy takes the value and the scale (the location input is unused).
        assert_fused_density::<B>(
            "half-Cauchy",
            &|x, _, s| B::half_cauchy_log_prob(x, s),
            &|x, _, s| half_cauchy_log_prob_composed(x, s),
            [true, false, true],
            track,
            dev,
        );
    }
}

/// Softplus over many magnitudes, both signs, zeros and ±∞: the same values, and a gradient
/// (`σ(x)` against the composed operations' chain) within rounding.
fn fused_softplus_equals_the_composed_operations<B: TrainingBackend>(dev: &B::Device) {
    let special = [0.0, -0.0, f64::INFINITY, f64::NEG_INFINITY, 1e30, -1e30];
    let xs: Vec<f64> = (0..40)
        .map(|i| {
            if i < special.len() {
                special[i]
            } else {
                (i as f64 - 23.0) * 10f64.powi(i as i32 % 5 - 2)
            }
        })
        .collect();
    // Below the smallest normal number a backend may flush σ(x) to zero (NdArray's f32 σ(−100)).
    let (eps, tiny) = float_limits::<B>();
    let run = |f: &dyn Fn(Tensor<B, 2>) -> Tensor<B, 2>| {
        let x = t2::<B>(&xs, 5, 8, dev).require_grad();
        let w: Vec<f64> = (0..40).map(|i| 0.5 + (i % 3) as f64).collect();
        let y = f(x.clone());
        let grads = (y.clone() * t2::<B>(&w, 5, 8, dev))
            .mask_fill(y.clone().is_inf(), 0.0)
            .sum()
            .backward();
        (bits(y.inner()), host(x.grad(&grads).expect("x is tracked")))
    };
    let (fused, fused_g) = run(&|x| B::softplus(x));
    let (composed, g) = run(&|x| ppl_dist::special::softplus(x));
    assert_same("softplus", &fused, &composed, 0.0);
    for (i, (a, b)) in fused_g.iter().zip(&g).enumerate() {
        let tol = 4.0 * eps * (a.abs() + b.abs()) + tiny;
        assert!(
            (a - b).abs() <= tol,
            "softplus gradient {i} at x = {:e}: fused {a:e}, composed {b:e}",
            xs[i]
        );
    }
}

/// `loc + scale·ε` as one node: the composed operations' values and gradients bit for bit
/// (loc `[1, 4]` and scale `[3, 1]` broadcast against noise `[3, 4]`; either untracked).
fn fused_normal_draw_equals_the_composed_operations<B: TrainingBackend>(dev: &B::Device) {
    let eps: Vec<f64> = (0..12).map(|i| ((i * 7) % 11) as f64 * 0.37 - 1.8).collect();
    let run = |f: &dyn Fn(Tensor<B, 2>, Tensor<B, 2>, Tensor<B, 2>) -> Tensor<B, 2>, track: [bool; 2]| {
        let maybe = |t: Tensor<B, 2>, on: bool| if on { t.require_grad() } else { t };
        let m = maybe(t2::<B>(&[0.3, -1.0, 2.5, 0.0], 1, 4, dev), track[0]);
        let s = maybe(t2::<B>(&[0.5, 1.0, 3.0], 3, 1, dev), track[1]);
        let w: Vec<f64> = (0..12).map(|i| 0.25 + (i % 5) as f64 * 0.5).collect();
        let z = f(m.clone(), s.clone(), t2::<B>(&eps, 3, 4, dev));
        let grads = (z.clone() * t2::<B>(&w, 3, 4, dev)).sum().backward();
        let g = |t: &Tensor<B, 2>| t.grad(&grads).map(bits);
        (bits(z.inner()), [g(&m), g(&s)])
    };
    for track in [[true, true], [true, false], [false, true]] {
        let fused = run(&|m, s, e| B::normal_reparameterized(m, s, e), track);
        let composed = run(&|m, s, e| m + s * e, track);
        assert_eq!(fused, composed, "fused and composed draws differ ({track:?})");
        assert_eq!(fused.1.map(|g| g.is_some()), track, "gradients where tracked");
    }
}

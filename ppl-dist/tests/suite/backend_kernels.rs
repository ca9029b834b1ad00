//! The backend's elementary kernels behind every log-density gradient are correctly rounded.
//!
//! burn-autodiff differentiates `div`, `log` and `log1p` through the backend's `recip`. With
//! burn-ndarray's `simd` feature, `recip` on f32 is an approximate instruction (`rcp14` with
//! AVX-512, relative error up to 2⁻¹⁴; `rcp` with AVX2, 1.5·2⁻¹²: Intel's documented bounds) on
//! the aligned middle of a buffer and an exact division elsewhere, so every such gradient was
//! slightly wrong and, depending on where the allocator put the buffer, differed from run to run (the digit classifier's loss curve
//! diverged from step 9 between two runs with the same seed). The workspace builds burn-ndarray
//! without `simd`; these checks keep it that way on every backend.
//!
//! Inputs: 1 024 log-uniform values in [0.01, 100] (long enough for a vectorised middle of any
//! alignment), rounded to the backend's float type. Tolerance: 2 ε of that type, relative
//! (one rounding of `1 + x` and one of the reciprocal); the approximate path was off by up to ~400 ε₃₂ here.

use burn::tensor::backend::AutodiffBackend;
use ppl_dist::RngKey;

use crate::common::{backend_suite, grad, host, is_f64, log_uniform, round, t1};

backend_suite!(
    reciprocal_is_correctly_rounded,
    gradients_of_log_log1p_and_div_are_correctly_rounded,
);

fn inputs<B: AutodiffBackend>() -> Vec<f64> {
    let mut key = RngKey::new(11);
    log_uniform(&mut key, 1024, 0.01, 100.0)
        .into_iter()
        .map(round::<B>)
        .collect()
}

fn eps<B: AutodiffBackend>() -> f64 {
    if is_f64::<B>() {
        f64::EPSILON
    } else {
        f32::EPSILON as f64
    }
}

fn assert_close<B: AutodiffBackend>(what: &str, got: &[f64], want: impl Fn(usize) -> f64) {
    let tol = 2.0 * eps::<B>();
    let worst = got
        .iter()
        .enumerate()
        .map(|(i, g)| (i, (g - want(i)).abs() / want(i).abs()))
        .fold((0, 0.0f64), |a, b| if b.1 > a.1 { b } else { a });
    assert!(
        worst.1 <= tol,
        "{what}: element {} has relative error {:e} > {tol:e} (got {}, want {})",
        worst.0,
        worst.1,
        got[worst.0],
        want(worst.0)
    );
}

fn reciprocal_is_correctly_rounded<B: AutodiffBackend>(dev: &B::Device) {
    let x = inputs::<B>();
    let got = host(t1::<B>(&x, dev).recip());
    assert_close::<B>("recip(x)", &got, |i| 1.0 / x[i]);
}

fn gradients_of_log_log1p_and_div_are_correctly_rounded<B: AutodiffBackend>(dev: &B::Device) {
    let x = inputs::<B>();
    assert_close::<B>("∂ log(x)/∂x", &grad::<B>(&x, dev, |t| t.log()), |i| 1.0 / x[i]);
    assert_close::<B>("∂ log1p(x)/∂x", &grad::<B>(&x, dev, |t| t.log1p()), |i| {
        1.0 / (1.0 + x[i])
    });
    // ∂(x / c)/∂x = 1/c: the backward of `div` takes the reciprocal of the divisor.
    let c = t1::<B>(&x, dev);
    assert_close::<B>("∂ (x / c)/∂x", &grad::<B>(&x, dev, |t| t / c.clone()), |i| {
        1.0 / x[i]
    });
}

//! The log of the standard normal CDF, `ln Φ(x)`, and the log-mass of an interval,
//! `ln(Φ(β) − Φ(α))`, accurate far into both tails (what a truncated normal needs).

use burn::tensor::{backend::Backend, Tensor};

use super::log1mexp;

use super::HALF_LN_2PI;
/// Below this, `ln Φ(x)` comes from the Mills-ratio continued fraction.
const TAIL: f64 = -2.0;
/// Terms of the continued fraction: at `|x| ≥ 2` its relative error is below 10⁻¹⁴.
const CF_TERMS: usize = 80;

/// `ln R(t)` for the Mills ratio `R(t) = (1 − Φ(t)) / φ(t)`, `t ≥ 2`, by Laplace's continued
/// fraction `R(t) = 1/(t + 1/(t + 2/(t + 3/(t + …))))` evaluated from the bottom.
fn log_mills<B: Backend, const D: usize>(t: Tensor<B, D>) -> Tensor<B, D> {
    let mut d = t.clone();
    for k in (1..=CF_TERMS).rev() {
        d = t.clone() + crate::param::recip(d) * k as f64;
    }
    d.log().neg()
}

/// `ln Φ(x)`, the log of the standard normal CDF, element-wise.
///
/// # Numerics
/// `ln(½(1 + erf(x/√2)))` for `x ≥ −2`; below, `−x²/2 − ½ ln 2π + ln R(−x)` with the Mills
/// ratio `R` from its continued fraction (80 terms, relative error < 10⁻¹⁴), so the result
/// stays accurate (and finite) where `Φ(x)` itself underflows. Each branch sees clamped
/// inputs, so gradients are finite everywhere.
pub fn log_ndtr<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    let tail = x.clone().lower_elem(TAIL);
    let body = (x.clone().clamp_min(TAIL) * std::f64::consts::FRAC_1_SQRT_2)
        .erf()
        .add_scalar(1.0)
        .log()
        - std::f64::consts::LN_2;
    let t = x.neg().clamp_min(-TAIL);
    let far = t.clone().powi_scalar(2) * -0.5 - HALF_LN_2PI + log_mills(t);
    body.mask_where(tail, far)
}

/// `ln(Φ(β) − Φ(α))` for `α < β` (either may be ±∞), element-wise: the log-probability that
/// a standard normal falls in `[α, β]`.
///
/// # Numerics
/// By symmetry the interval is first reflected so that its centre is ≤ 0. An interval that
/// contains 0 uses `½(erf(β/√2) − erf(α/√2))` (no cancellation: the terms have opposite
/// signs); one in the lower tail uses `ln Φ(β) + ln(1 − exp(ln Φ(α) − ln Φ(β)))`, exact to
/// the precision of [`log_ndtr`] however far out. The relative error grows only for very
/// narrow intervals far in a tail (width ≪ 1/|α|), as the log-difference then cancels.
/// Infinite bounds are replaced by ±10³ (their mass beyond is below e⁻⁵⁰⁰⁰⁰⁰); `α ≥ β` gives −∞.
pub fn log_normal_interval_mass<B: Backend, const D: usize>(alpha: Tensor<B, D>, beta: Tensor<B, D>) -> Tensor<B, D> {
    let (alpha, beta) = (finite_bound(alpha), finite_bound(beta));
    let flip = (alpha.clone() + beta.clone()).greater_elem(0.0);
    let a = alpha.clone().mask_where(flip.clone(), beta.clone().neg());
    let b = beta.mask_where(flip, alpha.neg());
    let straddle = b.clone().greater_equal_elem(0.0);
    // each branch on inputs that keep the other branch's elements harmless
    let (a_s, b_s) = (
        a.clone().mask_fill(straddle.clone().bool_not(), -1.0),
        b.clone().mask_fill(straddle.clone().bool_not(), 1.0),
    );
    let s = std::f64::consts::FRAC_1_SQRT_2;
    let centre = ((b_s * s).erf() - (a_s * s).erf()).log() - std::f64::consts::LN_2;
    let (a_t, b_t) = (a.mask_fill(straddle.clone(), -2.0), b.mask_fill(straddle.clone(), -1.0));
    let log_b = log_ndtr(b_t);
    let tail = log_b.clone() + log1mexp(log_ndtr(a_t) - log_b);
    tail.mask_where(straddle, centre)
}

/// ±∞ replaced by ±10³ through a mask (so no infinity meets a differentiated operation).
fn finite_bound<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    let inf = x.clone().is_inf();
    let sign_pos = x.clone().greater_elem(0.0);
    let big = x.zeros_like().add_scalar(-1e3).mask_fill(sign_pos, 1e3);
    x.mask_fill(inf.clone(), 0.0).mask_where(inf, big)
}

/// `ln Φ(x)` on the host, in f64 (`erfc` from `libm` for `x ≥ −20`, the continued fraction
/// below).
pub fn log_ndtr_f64(x: f64) -> f64 {
    if x > 0.0 {
        (-0.5 * libm::erfc(x * std::f64::consts::FRAC_1_SQRT_2)).ln_1p()
    } else if x > -20.0 {
        (0.5 * libm::erfc(-x * std::f64::consts::FRAC_1_SQRT_2)).ln()
    } else {
        let t = -x;
        let mut d = t;
        for k in (1..=CF_TERMS).rev() {
            d = t + k as f64 / d;
        }
        -0.5 * t * t - HALF_LN_2PI - d.ln()
    }
}

/// `ln φ(x)`, the log of the standard normal density.
pub fn log_normal_pdf_f64(x: f64) -> f64 {
    -0.5 * x * x - HALF_LN_2PI
}

/// The `x` with `ln Φ(x) = log_p` (`log_p ≤ 0`), by Newton's method on the concave
/// `ln Φ` (monotone convergence once an iterate is left of the root), in f64.
pub fn ndtri_log_f64(log_p: f64) -> f64 {
    if log_p >= 0.0 {
        return f64::INFINITY;
    }
    if log_p == f64::NEG_INFINITY {
        return f64::NEG_INFINITY;
    }
    // a start left of the root: for p < ½ the tail asymptote −√(−2 ln p) lies left of it
    let mut x = if log_p < -std::f64::consts::LN_2 {
        -(-2.0 * log_p).sqrt()
    } else {
        0.0
    };
    for _ in 0..200 {
        let g = log_ndtr_f64(x) - log_p;
        let slope = (log_normal_pdf_f64(x) - log_ndtr_f64(x)).exp();
        let step = g / slope;
        x -= step;
        if step.abs() <= 1e-15 * (1.0 + x.abs()) {
            break;
        }
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_inverse_round_trips_across_the_tails() {
        for &x in &[-37.0, -20.5, -8.0, -2.5, -0.3, 0.0, 0.7, 3.0, 7.5] {
            let back = ndtri_log_f64(log_ndtr_f64(x));
            assert!((back - x).abs() <= 1e-12 * (1.0 + x.abs()), "{x} -> {back}");
        }
    }

    #[test]
    fn host_log_ndtr_is_continuous_where_it_switches_method() {
        let (l, r) = (log_ndtr_f64(-20.0 - 1e-12), log_ndtr_f64(-20.0 + 1e-12));
        assert!((l - r).abs() < 1e-9 * l.abs(), "{l} vs {r}");
    }
}

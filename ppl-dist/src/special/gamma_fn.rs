use burn::tensor::{backend::Backend, Tensor};

/// Below this argument the recurrences shift `x` up by [`SHIFT`] before the asymptotic series
/// (f64; the host twins use the same).
const SMALL: f64 = 7.0;
const SHIFT: usize = 7;

/// The shift for a backend: 7 in f64; 3 in lower precision, where the series is already
/// exact to 1e−8 at `y ≥ 3` and a smaller shift means smaller cancelling terms.
fn shift_for<B: Backend>() -> usize {
    if std::mem::size_of::<B::FloatElem>() >= 8 {
        SHIFT
    } else {
        3
    }
}
use super::HALF_LN_2PI;

/// Stirling-series coefficients `B₂ₖ / (2k(2k − 1))`, k = 1..7, for `lnΓ`.
const LGAMMA_SERIES: [f64; 7] = [
    1.0 / 12.0,
    -1.0 / 360.0,
    1.0 / 1260.0,
    -1.0 / 1680.0,
    1.0 / 1188.0,
    -691.0 / 360_360.0,
    1.0 / 156.0,
];
/// Asymptotic coefficients `B₂ₖ / (2k)`, k = 1..7, for `ψ`.
const DIGAMMA_SERIES: [f64; 7] = [
    1.0 / 12.0,
    -1.0 / 120.0,
    1.0 / 252.0,
    -1.0 / 240.0,
    1.0 / 132.0,
    -691.0 / 32_760.0,
    1.0 / 12.0,
];

/// `Σₖ c[k]·r2ᵏ` (Horner), as a tensor.
fn poly<B: Backend, const D: usize>(r2: Tensor<B, D>, c: &[f64; 7]) -> Tensor<B, D> {
    let mut acc = r2.clone() * c[6];
    for k in (1..6).rev() {
        acc = (acc + c[k]) * r2.clone();
    }
    acc + c[0]
}

/// `ln Γ(x)` for `x > 0`, differentiable.
///
/// # Numerics
/// Stirling's series to the `x⁻¹³` term for `x ≥ 7` (truncation error < 1e−14); for
/// `x < 7`, `lnΓ(x) = lnΓ(x + 7) − ln(x(x+1)…(x+6))` (f32: shift 3, series error < 1e−8). The leading terms are written
/// `(y − ½)(ln y − 1)` to keep the cancelling magnitudes small in f32. About 1e−13 relative
/// in f64, 1e−6 in f32 (absolute near the roots `x = 1, 2`). NaN for `x ≤ 0`.
///
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::Tensor;
/// let x = Tensor::<NdArray<f64>, 1>::from_floats([5.0], &Default::default());
/// let v: Vec<f64> = ppl_dist::special::lgamma(x).into_data().to_vec().unwrap();
/// assert!((v[0] - 24f64.ln()).abs() < 1e-12);
/// ```
pub fn lgamma<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    let shift = shift_for::<B>();
    let small = x.clone().lower_elem(shift as f64);
    let y = x.clone() + crate::param::mask_to_float(small.clone()) * shift as f64;
    // Product x(x+1)…(x+shift−1), on inputs replaced by 1 where unused (keeps it finite).
    let xs = x.mask_fill(small.clone().bool_not(), 1.0);
    let mut prod = xs.clone();
    for i in 1..shift {
        prod = prod * (xs.clone() + i as f64);
    }
    let correction = prod.log().mask_fill(small.bool_not(), 0.0);
    let r = crate::param::recip(y.clone());
    let series = r.clone() * poly(r.clone() * r, &LGAMMA_SERIES);
    (y.clone() - 0.5) * (y.log() - 1.0) + (HALF_LN_2PI - 0.5) + series - correction
}

/// The digamma function `ψ(x) = d/dx ln Γ(x)` for `x > 0`, differentiable.
///
/// # Numerics
/// Asymptotic series to the `x⁻¹⁴` term for `x ≥ 7`; `ψ(x) = ψ(x + 7) − Σᵢ 1/(x + i)`
/// below. About 1e−13 relative in f64 (absolute near the root x ≈ 1.4616).
pub fn digamma<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    let shift = shift_for::<B>();
    let small = x.clone().lower_elem(shift as f64);
    let y = x.clone() + crate::param::mask_to_float(small.clone()) * shift as f64;
    let xs = x.mask_fill(small.clone().bool_not(), 1.0);
    let mut recip_sum = crate::param::recip(xs.clone());
    for i in 1..shift {
        recip_sum = recip_sum + crate::param::recip(xs.clone() + i as f64);
    }
    let correction = recip_sum.mask_fill(small.bool_not(), 0.0);
    let r = crate::param::recip(y.clone());
    let r2 = r.clone() * r.clone();
    let series = r2.clone() * poly(r2, &DIGAMMA_SERIES);
    y.log() - r * 0.5 - series - correction
}

/// `Σₖ c[k]·r2ᵏ` on the host.
fn poly_f64(r2: f64, c: &[f64; 7]) -> f64 {
    c.iter().rev().fold(0.0, |acc, ck| acc * r2 + ck)
}

/// Host twin of [`lgamma`] (same method), for samplers.
pub fn lgamma_f64(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return f64::NAN;
    }
    let (y, correction) = if x < SMALL {
        let prod: f64 = (0..SHIFT).map(|i| x + i as f64).product();
        (x + SHIFT as f64, prod.ln())
    } else {
        (x, 0.0)
    };
    let r = 1.0 / y;
    (y - 0.5) * (y.ln() - 1.0) + (HALF_LN_2PI - 0.5) + r * poly_f64(r * r, &LGAMMA_SERIES) - correction
}

/// Host twin of [`digamma`] (same method).
pub fn digamma_f64(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return f64::NAN;
    }
    let (y, correction) = if x < SMALL {
        (x + SHIFT as f64, (0..SHIFT).map(|i| 1.0 / (x + i as f64)).sum::<f64>())
    } else {
        (x, 0.0)
    };
    let r = 1.0 / y;
    y.ln() - 0.5 * r - r * r * poly_f64(r * r, &DIGAMMA_SERIES) - correction
}

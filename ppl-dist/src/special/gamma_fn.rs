use burn::tensor::{backend::Backend, Tensor};

/// Below this argument the recurrences shift `x` up by [`SHIFT`] before the asymptotic series.
const SMALL: f64 = 10.0;
const SHIFT: usize = 10;
const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

/// `ln Γ(x)` for `x > 0`, differentiable.
///
/// # Numerics
/// Stirling's series to the `x⁻⁹` term for `x ≥ 10` (truncation error < 3·10⁻¹³); for
/// `x < 10`, `lnΓ(x) = lnΓ(x + 10) − ln(x(x+1)…(x+9))`. About 1e−13 relative in f64
/// (absolute near the roots `x = 1, 2`). NaN for `x ≤ 0`.
///
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::Tensor;
/// let x = Tensor::<NdArray<f64>, 1>::from_floats([5.0], &Default::default());
/// let v: Vec<f64> = ppl_dist::special::lgamma(x).into_data().to_vec().unwrap();
/// assert!((v[0] - 24f64.ln()).abs() < 1e-12);
/// ```
pub fn lgamma<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    let small = x.clone().lower_elem(SMALL);
    let y = x.clone() + small.clone().float() * SHIFT as f64;
    // Product x(x+1)…(x+9), on inputs replaced by 1 where unused (keeps it finite).
    let xs = x.mask_fill(small.clone().bool_not(), 1.0);
    let mut prod = xs.clone();
    for i in 1..SHIFT {
        prod = prod * (xs.clone() + i as f64);
    }
    let correction = prod.log().mask_fill(small.bool_not(), 0.0);
    let r = y.clone().recip();
    let r2 = r.clone() * r.clone();
    // 1/(12y) − 1/(360y³) + 1/(1260y⁵) − 1/(1680y⁷) + 1/(1188y⁹), in Horner form.
    let series = r
        * (((((r2.clone() * (1.0 / 1188.0)) - 1.0 / 1680.0) * r2.clone() + 1.0 / 1260.0) * r2.clone() - 1.0 / 360.0)
            * r2
            + 1.0 / 12.0);
    (y.clone() - 0.5) * y.clone().log() - y + HALF_LN_2PI + series - correction
}

/// The digamma function `ψ(x) = d/dx ln Γ(x)` for `x > 0`, differentiable.
///
/// # Numerics
/// Asymptotic series to the `x⁻¹⁰` term for `x ≥ 10`; `ψ(x) = ψ(x + 10) − Σᵢ 1/(x + i)`
/// below. About 1e−13 relative in f64 (absolute near the root x ≈ 1.4616).
pub fn digamma<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    let small = x.clone().lower_elem(SMALL);
    let y = x.clone() + small.clone().float() * SHIFT as f64;
    let xs = x.mask_fill(small.clone().bool_not(), 1.0);
    let mut recip_sum = xs.clone().recip();
    for i in 1..SHIFT {
        recip_sum = recip_sum + (xs.clone() + i as f64).recip();
    }
    let correction = recip_sum.mask_fill(small.bool_not(), 0.0);
    let r = y.clone().recip();
    let r2 = r.clone() * r.clone();
    // 1/(12y²) − 1/(120y⁴) + 1/(252y⁶) − 1/(240y⁸) + 1/(132y¹⁰)
    let series = r2.clone()
        * ((((r2.clone() * (1.0 / 132.0) - 1.0 / 240.0) * r2.clone() + 1.0 / 252.0) * r2.clone() - 1.0 / 120.0) * r2
            + 1.0 / 12.0);
    y.clone().log() - r * 0.5 - series - correction
}

/// Host twin of [`lgamma`] (same method), for samplers.
pub fn lgamma_f64(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return f64::NAN;
    }
    let (y, correction) = if x < SMALL {
        let mut prod = 1.0;
        for i in 0..SHIFT {
            prod *= x + i as f64;
        }
        (x + SHIFT as f64, prod.ln())
    } else {
        (x, 0.0)
    };
    let r = 1.0 / y;
    let r2 = r * r;
    let series = r * (((((r2 / 1188.0) - 1.0 / 1680.0) * r2 + 1.0 / 1260.0) * r2 - 1.0 / 360.0) * r2 + 1.0 / 12.0);
    (y - 0.5) * y.ln() - y + HALF_LN_2PI + series - correction
}

/// Host twin of [`digamma`] (same method).
pub fn digamma_f64(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return f64::NAN;
    }
    let (y, correction) = if x < SMALL {
        (
            (x + SHIFT as f64),
            (0..SHIFT).map(|i| 1.0 / (x + i as f64)).sum::<f64>(),
        )
    } else {
        (x, 0.0)
    };
    let r = 1.0 / y;
    let r2 = r * r;
    let series = r2 * ((((r2 / 132.0 - 1.0 / 240.0) * r2 + 1.0 / 252.0) * r2 - 1.0 / 120.0) * r2 + 1.0 / 12.0);
    y.ln() - 0.5 * r - series - correction
}

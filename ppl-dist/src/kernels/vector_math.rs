//! `e^{−a}` and `ln(1 + y)` in `f64` without branches or library calls, so that a loop over
//! `f32` elements that uses them compiles to vector instructions. The f32 kernels evaluate
//! their transcendental functions here and round once at the end, which makes them at
//! least as accurate as the standard library's `f32` `exp`/`ln_1p` (about 1 ulp each, and
//! rounded after every step), while running several elements per instruction.
//!
//! Methods (standard; e.g. J.-M. Muller, *Elementary Functions*, 3rd ed., ch. 11):
//! - `e^x`: `x = k·ln 2 + r` with `k` the nearest integer to `x/ln 2` (found by adding
//!   1.5·2⁵² and reading the low bits), `|r| ≤ ln 2 / 2`, `ln 2` split in a head with
//!   trailing zeros and a tail (fdlibm's constants) so `k·ln 2` is subtracted exactly; `e^r`
//!   by its Taylor polynomial of degree 8 (truncation below 2·10⁻¹⁰ relative); `2^k` built
//!   in the exponent field.
//! - `ln(1 + y)` for `0 ≤ y ≤ 1`: `2·atanh(s)` with `s = y / (2 + y) ≤ 1/3` (no
//!   cancellation), the odd series `2s·Σ s²ⁿ/(2n + 1)` to `n = 9` (truncation below 2·10⁻¹⁰).
//!
//! That is far more than an `f32` result needs (its ulp is 6·10⁻⁸ relative) at a third of
//! the work of full `f64` accuracy; polynomials are evaluated by Estrin's scheme.
//!
//! Both give NaN for NaN. Products and sums are rounded separately (no fused multiply-add,
//! which Rust never contracts on its own), so the results are the same on every x86-64 CPU
//! whichever instruction set the loop was compiled for.

const LOG2_E: f64 = std::f64::consts::LOG2_E;
/// ln 2 = `LN2_HI + LN2_LO` (6.93147180369123816490e−1 + 1.90821492927058770002e−10), the
/// head with 32 trailing zero bits (fdlibm's `ln2_hi`, `ln2_lo`).
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
/// 1.5·2⁵²: adding it rounds to an integer held in the low mantissa bits.
const SHIFTER: f64 = 6_755_399_441_055_744.0;

/// `e^{−a}` for `a ≥ 0`, relative error below 3·10⁻¹⁰ (enough for an `f32` result within
/// 1 ulp). `a` above 708 counts as 708 (`e^{−708} ≈ 3·10⁻³⁰⁸`, below every `f32`), so the
/// result stays a normal number.
#[inline(always)]
pub(super) fn exp_neg(a: f64) -> f64 {
    let x = -(if a > 708.0 { 708.0 } else { a });
    let shifted = x * LOG2_E + SHIFTER;
    let k = shifted - SHIFTER;
    let r = (x - k * LN2_HI) - k * LN2_LO;
    // Taylor polynomial of degree 8 by Estrin's scheme (short dependency chains).
    let r2 = r * r;
    let r4 = r2 * r2;
    let p01 = 1.0 + r;
    let p23 = 1.0 / 2.0 + r * (1.0 / 6.0);
    let p45 = 1.0 / 24.0 + r * (1.0 / 120.0);
    let p67 = 1.0 / 720.0 + r * (1.0 / 5_040.0);
    let p = (p01 + r2 * p23) + r4 * ((p45 + r2 * p67) + r4 * (1.0 / 40_320.0));
    // k in two's complement, then 2^k = the exponent field k + 1023 (k ∈ [−1022, 0]).
    let k_bits = shifted.to_bits().wrapping_sub(SHIFTER.to_bits());
    p * f64::from_bits(k_bits.wrapping_add(1023) << 52)
}

/// `ln(1 + y)` for `0 ≤ y ≤ 1`, relative error below 3·10⁻¹⁰.
#[inline(always)]
pub(super) fn ln_1p_unit(y: f64) -> f64 {
    let s = y / (2.0 + y);
    let z = s * s;
    let z2 = z * z;
    let z4 = z2 * z2;
    // Σ zⁿ/(2n + 1), n = 0..=9, by Estrin's scheme.
    let a01 = 1.0 + z * (1.0 / 3.0);
    let a23 = 1.0 / 5.0 + z * (1.0 / 7.0);
    let a45 = 1.0 / 9.0 + z * (1.0 / 11.0);
    let a67 = 1.0 / 13.0 + z * (1.0 / 15.0);
    let a89 = 1.0 / 17.0 + z * (1.0 / 19.0);
    let p = (a01 + z2 * a23) + z4 * ((a45 + z2 * a67) + z4 * a89);
    2.0 * s * p
}

#[cfg(test)]
mod tests {
    use super::{exp_neg, ln_1p_unit};

    fn rel(got: f64, want: f64) -> f64 {
        if got == want {
            0.0
        } else {
            ((got - want) / want).abs()
        }
    }

    /// Against the standard library's f64 functions (correctly rounded or within 1 ulp) on
    /// 200 001 points of each domain, the ends and NaN.
    #[test]
    fn exp_neg_and_ln_1p_unit_match_the_standard_library() {
        let mut worst = (0.0f64, 0.0f64);
        for i in 0..=200_000 {
            let a = 708.0 * i as f64 / 200_000.0;
            let e = rel(exp_neg(a), (-a).exp());
            let y = i as f64 / 200_000.0;
            let l = rel(ln_1p_unit(y), y.ln_1p());
            worst = (worst.0.max(e), worst.1.max(l));
        }
        for y in [1e-300, 1e-30, 1e-8, 0.5, 1.0] {
            worst.1 = worst.1.max(rel(ln_1p_unit(y), y.ln_1p()));
        }
        assert!(worst.0 < 3e-10, "exp_neg: worst relative error {:e}", worst.0);
        assert!(worst.1 < 3e-10, "ln_1p_unit: worst relative error {:e}", worst.1);
        assert_eq!(exp_neg(0.0), 1.0);
        assert_eq!(exp_neg(f64::INFINITY), exp_neg(708.0));
        assert_eq!(ln_1p_unit(0.0), 0.0);
        assert!(exp_neg(f64::NAN).is_nan() && ln_1p_unit(f64::NAN).is_nan());
    }
}

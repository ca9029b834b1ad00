use burn::tensor::{backend::Backend, Tensor};

/// `ln(1 + t²)`, without overflow for huge `|t|`.
///
/// # Numerics
/// `ln1p(t²)` for `|t| ≤ 1`; `2 ln|t| + ln1p(1/t²)` above, so `t = 1e30` stays finite in f32.
pub fn log1p_square<B: Backend, const D: usize>(t: Tensor<B, D>) -> Tensor<B, D> {
    let a = t.abs();
    let big = a.clone().greater_elem(1.0);
    let small_in = a.clone().mask_fill(big.clone(), 0.0);
    let big_in = a.mask_fill(big.clone().bool_not(), 1.0);
    let small = small_in.powi_scalar(2).log1p();
    let large = big_in.clone().log() * 2.0 + crate::param::recip(big_in.powi_scalar(2)).log1p();
    small.mask_where(big, large)
}

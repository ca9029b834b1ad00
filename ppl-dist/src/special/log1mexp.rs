use burn::tensor::{backend::Backend, Tensor};

/// `eˣ − 1`, accurate for small `|x|` (burn 0.21 has no `expm1`).
///
/// # Numerics
/// `2 tanh(x/2) / (1 − tanh(x/2))` for `|x| < ln 2`, `eˣ − 1` elsewhere.
pub fn expm1<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    let small = x.clone().abs().lower_elem(std::f64::consts::LN_2);
    let xs = x.clone().mask_fill(small.clone().bool_not(), 0.0);
    let t = (xs / 2.0).tanh();
    let near = t.clone() * 2.0 / (t.neg() + 1.0);
    let far = x.mask_fill(small.clone(), 0.0).exp() - 1.0;
    far.mask_where(small, near)
}

/// `ln(1 − eˣ)` for `x ≤ 0`, accurate on both sides of `−ln 2` (Mächler 2012).
///
/// # Numerics
/// `ln(−expm1(x))` for `x > −ln 2`, `ln1p(−eˣ)` otherwise. `log1mexp(0) = −∞`; the gradient
/// is finite for every `x < 0` (e.g. at `x = −1e−30`).
pub fn log1mexp<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    let near_zero = x.clone().greater_elem(-std::f64::consts::LN_2);
    let a = x.clone().mask_fill(near_zero.clone().bool_not(), -1.0);
    let b = x.mask_fill(near_zero.clone(), -1.0);
    let near = expm1(a).neg().log();
    let far = b.exp().neg().log1p();
    far.mask_where(near_zero, near)
}

use burn::tensor::{backend::Backend, Tensor};

/// `ln Σ exp(x)` along `dim` (kept as size 1), stable for any spread of values.
///
/// # Numerics
/// The (detached) maximum is subtracted first; a row of all −∞ gives −∞, not NaN.
pub fn log_sum_exp<B: Backend, const D: usize>(x: Tensor<B, D>, dim: usize) -> Tensor<B, D> {
    let m = x.clone().max_dim(dim).detach();
    let m = m.clone().mask_fill(m.is_finite().bool_not(), 0.0);
    (x - m.clone()).exp().sum_dim(dim).log() + m
}

use burn::tensor::{backend::Backend, Tensor};

use super::lgamma;

/// `ln B(a, b) = lnΓ(a) + lnΓ(b) − lnΓ(a + b)` for `a, b > 0`.
pub fn log_beta<B: Backend, const D: usize>(a: Tensor<B, D>, b: Tensor<B, D>) -> Tensor<B, D> {
    lgamma(a.clone()) + lgamma(b.clone()) - lgamma(a + b)
}

//! Stick-breaking: `ℝ^{K−1}` onto the simplex in `ℝ^K` (formulas on [`super::Transform::StickBreaking`]).

use burn::tensor::{backend::Backend, Tensor, TensorData};

use crate::special::softplus;

/// `ln(K − 1 − i)` for `i = 0 … K − 2`, shaped `[1, …, 1, K − 1]` to broadcast against `x`.
fn offsets<B: Backend, const D: usize>(km1: usize, device: &B::Device) -> Tensor<B, D> {
    let values: Vec<f64> = (0..km1).map(|i| ((km1 - i) as f64).ln()).collect();
    let mut shape = [1; D];
    shape[D - 1] = km1;
    Tensor::<B, 1>::from_data(TensorData::new(values, [km1]), crate::param::float_options::<B>(device)).reshape(shape)
}

/// `(ln z, ln(1 − z), ln of the stick left before each piece)`, each of `x`'s shape.
fn pieces<B: Backend, const D: usize>(x: Tensor<B, D>) -> (Tensor<B, D>, Tensor<B, D>, Tensor<B, D>) {
    let km1 = x.dims()[D - 1];
    let t = x.clone() - offsets::<B, D>(km1, &x.device());
    let log_z = softplus(t.clone().neg()).neg();
    let log_1mz = softplus(t).neg();
    // exclusive cumulative sum: Σ_{j<i} ln(1 − zⱼ)
    let log_rest = log_1mz.clone().cumsum(D - 1) - log_1mz.clone();
    (log_z, log_1mz, log_rest)
}

pub(super) fn forward<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    forward_with_ladj(x).0
}

pub(super) fn forward_with_ladj<B: Backend, const D: usize>(x: Tensor<B, D>) -> (Tensor<B, D>, Tensor<B, D>) {
    let km1 = x.dims()[D - 1];
    if km1 == 0 {
        // K = 1: the simplex is the single point [1].
        let mut shape = x.dims();
        shape[D - 1] = 1;
        let zero = Tensor::<B, D>::zeros(shape, crate::param::float_options::<B>(&x.device()));
        return (zero.clone() + 1.0, zero);
    }
    let (log_z, log_1mz, log_rest) = pieces(x);
    let head = (log_z.clone() + log_rest.clone()).exp();
    let last = log_1mz.clone().sum_dim(D - 1).exp();
    let ladj = (log_z + log_1mz + log_rest).sum_dim(D - 1);
    (Tensor::cat(vec![head, last], D - 1), ladj)
}

pub(super) fn inverse<B: Backend, const D: usize>(y: Tensor<B, D>) -> Tensor<B, D> {
    let k = y.dims()[D - 1];
    let km1 = k.saturating_sub(1);
    let head = y.narrow(D - 1, 0, km1);
    if km1 == 0 {
        return head;
    }
    // the stick left before piece i: 1 − Σ_{j<i} yⱼ
    let rest = (head.clone().cumsum(D - 1) - head.clone()).neg() + 1.0;
    let z = head / rest;
    let device = z.device();
    z.clone().log() - z.neg().log1p() + offsets::<B, D>(km1, &device)
}

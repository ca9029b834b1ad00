//! The element-wise transforms: identity, exp, softplus, sigmoid, affine.

use burn::tensor::{backend::Backend, Tensor};

use super::Transform;
use crate::special::{inverse_softplus, sigmoid, softplus};

pub(super) fn forward<B: Backend, const D: usize>(t: &Transform, x: Tensor<B, D>) -> Tensor<B, D> {
    match t {
        Transform::Exp => x.exp(),
        Transform::Softplus => softplus(x),
        Transform::Sigmoid => sigmoid(x),
        Transform::Affine { loc, scale } => x * *scale + *loc,
        _ => x,
    }
}

pub(super) fn inverse<B: Backend, const D: usize>(t: &Transform, y: Tensor<B, D>) -> Tensor<B, D> {
    match t {
        Transform::Exp => y.log(),
        Transform::Softplus => inverse_softplus(y),
        // logit(y) = ln y − ln(1 − y)
        Transform::Sigmoid => y.clone().log() - y.neg().log1p(),
        Transform::Affine { loc, scale } => (y - *loc) / *scale,
        _ => y,
    }
}

pub(super) fn forward_with_ladj<B: Backend, const D: usize>(
    t: &Transform,
    x: Tensor<B, D>,
) -> (Tensor<B, D>, Tensor<B, D>) {
    match t {
        Transform::Exp => (x.clone().exp(), x),
        // ln σ(x) = −softplus(−x)
        Transform::Softplus => (softplus(x.clone()), softplus(x.neg()).neg()),
        // ln σ(x) + ln σ(−x) = −softplus(−x) − softplus(x)
        Transform::Sigmoid => (sigmoid(x.clone()), (softplus(x.clone().neg()) + softplus(x)).neg()),
        Transform::Affine { loc, scale } => {
            let ladj = x.zeros_like() + scale.abs().ln();
            (x * *scale + *loc, ladj)
        }
        _ => (x.clone(), x.zeros_like()),
    }
}

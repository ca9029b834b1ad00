//! Adam's update (Kingma & Ba 2015, Algorithm 1 with the bias corrections folded into the
//! step size and ε, as burn-optim 0.21 computes it), composed from burn's operations.

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

/// Adam's first and second moment estimates of one parameter (shapes: the parameter's).
#[derive(Debug, Clone)]
pub struct AdamMoments<B: Backend, const D: usize> {
    /// The moving average of the gradient, `m`.
    pub moment_1: Tensor<B, D>,
    /// The moving average of the squared gradient, `v`.
    pub moment_2: Tensor<B, D>,
}

/// The scalars of one Adam step: decay rates, ε, learning rate and the step number.
///
/// The update is, element by element and in this order (`t` = [`AdamStep::time`], the first
/// step being 1, and `β₁, β₂, ε` rounded to `f32` as burn-optim keeps them):
/// `m ← m·β₁ + g·(1 − β₁)` (on the first step `m ← g·(1 − β₁)`),
/// `v ← v·β₂ + g²·(1 − β₂)` (first step `v ← g²·(1 − β₂)`),
/// `p ← p − (m·c) / (√v + ε·s)·lr` with `s = √(1 − β₂ᵗ)` and `c = s / (1 − β₁ᵗ)`, where
/// `1 − β`, `s` and `c` are computed in `f32` and every product in the backend's precision.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamStep {
    /// β₁, the first moment's decay (0.9 by default).
    pub beta_1: f32,
    /// β₂, the second moment's decay (0.999 by default).
    pub beta_2: f32,
    /// ε, added to `√v` (1e−5 by default, burn's).
    pub epsilon: f32,
    /// The learning rate of this step.
    pub lr: f64,
    /// The step number, counting from 1 (the moments' bias corrections depend on it).
    pub time: usize,
}

impl AdamStep {
    /// `(1 − β₁, 1 − β₂)`, in `f32`.
    pub fn complements(&self) -> (f32, f32) {
        (1.0 - self.beta_1, 1.0 - self.beta_2)
    }

    /// `(c, ε·s)`: the factor of `m` and the term added to `√v` (see the type's docs).
    pub fn corrections(&self) -> (f32, f32) {
        let t = self.time as i32;
        let s = (1.0 - self.beta_2.powi(t)).sqrt();
        let c = s / (1.0 - self.beta_1.powi(t));
        (c, self.epsilon * s)
    }
}

/// [`FusedKernels::adam_update`](super::FusedKernels::adam_update) composed from burn's
/// tensor operations, in burn-optim's order (so it equals burn's `Adam` bit for bit).
pub fn adam_update_composed<B: Backend, const D: usize>(
    param: Tensor<B, D>,
    grad: Tensor<B, D>,
    moments: Option<AdamMoments<B, D>>,
    step: &AdamStep,
) -> (Tensor<B, D>, AdamMoments<B, D>) {
    let (f1, f2) = step.complements();
    let moments = match moments {
        Some(AdamMoments { moment_1, moment_2 }) => AdamMoments {
            moment_1: moment_1.mul_scalar(step.beta_1).add(grad.clone().mul_scalar(f1)),
            moment_2: moment_2.mul_scalar(step.beta_2).add(grad.square().mul_scalar(f2)),
        },
        None => AdamMoments {
            moment_1: grad.clone().mul_scalar(f1),
            moment_2: grad.square().mul_scalar(f2),
        },
    };
    let (c, eps) = step.corrections();
    let update = moments
        .moment_1
        .clone()
        .mul_scalar(c)
        .div(moments.moment_2.clone().sqrt().add_scalar(eps));
    (param - update.mul_scalar(step.lr), moments)
}

//! Shared probs/logits parameterisation of binary-outcome distributions.

use burn::tensor::{backend::Backend, Tensor};

use crate::param::{check_param, not_nan, unit_interval};
use crate::special::{sigmoid, softplus};
use crate::DistError;

/// A success probability given as probabilities or as logits (log-odds).
#[derive(Debug, Clone)]
pub enum BinaryParam<B: Backend, const D: usize> {
    /// `p ∈ [0, 1]`.
    Probs(Tensor<B, D>),
    /// `l = ln(p / (1 − p))`, any real (±∞ allowed).
    Logits(Tensor<B, D>),
}

impl<B: Backend, const D: usize> BinaryParam<B, D> {
    /// Validate: probs in `[0, 1]`, logits not NaN.
    pub fn validate(&self, dist: &'static str) -> Result<(), DistError> {
        match self {
            BinaryParam::Probs(p) => check_param(dist, "probs", p, "must be in [0, 1]", unit_interval),
            BinaryParam::Logits(l) => check_param(dist, "logits", l, "must not be NaN", not_nan),
        }
    }

    /// The underlying tensor.
    pub fn tensor(&self) -> &Tensor<B, D> {
        match self {
            BinaryParam::Probs(t) | BinaryParam::Logits(t) => t,
        }
    }

    /// The device of the parameter.
    pub fn device(&self) -> B::Device {
        self.tensor().device()
    }

    /// `p`.
    pub fn probs(&self) -> Tensor<B, D> {
        match self {
            BinaryParam::Probs(p) => p.clone(),
            BinaryParam::Logits(l) => sigmoid(l.clone()),
        }
    }

    /// `(ln p, ln(1 − p))`, from the logits by `−softplus(∓l)` when given as logits.
    pub fn log_p_and_log_1mp(&self) -> (Tensor<B, D>, Tensor<B, D>) {
        match self {
            BinaryParam::Probs(p) => (p.clone().log(), p.clone().neg().log1p()),
            BinaryParam::Logits(l) => (softplus(l.clone().neg()).neg(), softplus(l.clone()).neg()),
        }
    }

    /// `k ln p + m ln(1 − p)`, with `0 · ln 0 = 0` (so `p ∈ {0, 1}` scores correctly).
    pub fn weighted_log(&self, k: Tensor<B, D>, m: Tensor<B, D>) -> Tensor<B, D> {
        match self {
            BinaryParam::Probs(p) => crate::special::xlogy(k, p.clone()) + crate::special::xlog1py(m, p.clone().neg()),
            BinaryParam::Logits(_) => {
                let (lp, l1p) = self.log_p_and_log_1mp();
                let zero_k = k.clone().equal_elem(0.0);
                let zero_m = m.clone().equal_elem(0.0);
                (k * lp).mask_fill(zero_k, 0.0) + (m * l1p).mask_fill(zero_m, 0.0)
            }
        }
    }
}

//! The geometric distribution.

use burn::tensor::{backend::Backend, Tensor};

use crate::constraint::mask_outside;
use crate::macros::dist_common;
use crate::probs::BinaryParam;
use crate::{noise, Constraint, DistError, Distribution, RngKey};

/// Geometric distribution: the number of failures before the first success, success
/// probability `p` (from `probs` or `logits`): `ln p(k) = k ln(1 − p) + ln p`, `k ≥ 0`
/// (Pyro's convention; [Wikipedia](https://en.wikipedia.org/wiki/Geometric_distribution)).
#[derive(Debug, Clone)]
pub struct Geometric<B: Backend, const D: usize> {
    param: BinaryParam<B, D>,
    shape: [usize; D],
}

impl<B: Backend, const D: usize> Geometric<B, D> {
    /// From `probs` in `(0, 1]`.
    ///
    /// # Errors
    /// [`DistError::InvalidParameter`] naming `probs`.
    pub fn new(probs: Tensor<B, D>) -> Result<Self, DistError> {
        crate::param::check_param("Geometric", "probs", &probs, "must be in (0, 1]", |v| {
            v > 0.0 && v <= 1.0
        })?;
        Ok(Self::build(BinaryParam::Probs(probs)))
    }

    /// From `logits`.
    ///
    /// # Errors
    /// [`DistError::InvalidParameter`] naming `logits` if one is NaN.
    pub fn from_logits(logits: Tensor<B, D>) -> Result<Self, DistError> {
        let param = BinaryParam::Logits(logits);
        param.validate("Geometric")?;
        Ok(Self::build(param))
    }

    /// Without parameter checks.
    pub fn new_unchecked(param: BinaryParam<B, D>) -> Self {
        Self::build(param)
    }

    fn build(param: BinaryParam<B, D>) -> Self {
        let shape = param.tensor().dims();
        Geometric { param, shape }
    }

    /// The success probability.
    pub fn probs(&self) -> Tensor<B, D> {
        self.param.probs()
    }
}

impl<B: Backend, const D: usize> Distribution<B, D> for Geometric<B, D> {
    dist_common!(
        "Geometric",
        event_dims = 0,
        support = Constraint::NonNegativeInteger,
        device = param
    );

    fn log_prob(&self, value: Tensor<B, D>) -> Tensor<B, D> {
        let inside = Constraint::NonNegativeInteger
            .check(value.clone())
            .expect("integer check");
        let k = value.mask_fill(inside.clone().bool_not(), 0.0);
        let one = k.ones_like();
        mask_outside(self.param.weighted_log(one, k), inside)
    }
    fn sample_expanded(&self, shape: [usize; D], rng: &mut RngKey) -> Tensor<B, D> {
        // floor(ln U / ln(1 − p)) with U uniform in (0, 1).
        let log_u = noise::from_open_uniform::<B, D>(shape, rng, &self.device(), f64::ln, |u| u.log());
        let (_, log_1mp) = self.param.log_p_and_log_1mp();
        (log_u / log_1mp.detach()).floor()
    }
    fn mean(&self) -> Option<Tensor<B, D>> {
        let p = self.probs();
        Some((p.clone().neg() + 1.0) / p)
    }
    fn variance(&self) -> Option<Tensor<B, D>> {
        let p = self.probs();
        Some((p.clone().neg() + 1.0) / p.powi_scalar(2))
    }
    fn entropy(&self) -> Option<Tensor<B, D>> {
        let p = self.probs();
        let q = p.clone().neg() + 1.0;
        Some((crate::special::xlogy(q.clone(), q) + crate::special::xlogy(p.clone(), p.clone())).neg() / p)
    }
}

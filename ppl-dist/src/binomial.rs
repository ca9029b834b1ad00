//! The binomial distribution.

use burn::tensor::{backend::Backend, Tensor};

use crate::constraint::mask_outside;
use crate::macros::dist_common;
use crate::param::{broadcast_params, check_param_each, expand_value, host_values, upload, ParamArg};
use crate::probs::BinaryParam;
use crate::special::lgamma;
use crate::{Constraint, DistError, Distribution, RngKey};

/// Binomial distribution: successes in `total_count` trials with success probability `p`
/// (from `probs` or `logits`):
/// `ln p(k) = lnΓ(n+1) − lnΓ(k+1) − lnΓ(n−k+1) + k ln p + (n−k) ln(1−p)`
/// ([Wikipedia](https://en.wikipedia.org/wiki/Binomial_distribution)).
///
/// # Shapes
/// `total_count` and the probability broadcast to the value shape.
#[derive(Debug, Clone)]
pub struct Binomial<B: Backend, const D: usize> {
    total_count: Tensor<B, D>,
    param: BinaryParam<B, D>,
    shape: [usize; D],
}

impl<B: Backend, const D: usize> Binomial<B, D> {
    /// From `total_count` (a non-negative integer) and `probs` in `[0, 1]`.
    ///
    /// # Errors
    /// [`DistError::InvalidParameter`] naming `total_count` or `probs`;
    /// [`DistError::ShapeMismatch`].
    pub fn new(total_count: impl Into<ParamArg<B, D>>, probs: Tensor<B, D>) -> Result<Self, DistError> {
        Self::checked(total_count.into(), BinaryParam::Probs(probs))
    }

    /// From `total_count` and `logits`.
    ///
    /// # Errors
    /// As [`Binomial::new`], naming `logits`.
    pub fn from_logits(total_count: impl Into<ParamArg<B, D>>, logits: Tensor<B, D>) -> Result<Self, DistError> {
        Self::checked(total_count.into(), BinaryParam::Logits(logits))
    }

    /// Without parameter checks.
    ///
    /// # Panics
    /// If the shapes do not broadcast.
    pub fn new_unchecked(total_count: impl Into<ParamArg<B, D>>, param: BinaryParam<B, D>) -> Self {
        let n = total_count.into().into_tensor(&param.device());
        let shape = broadcast_params("Binomial", "total_count and probs", &[n.dims(), param.tensor().dims()])
            .expect("Binomial::new_unchecked: shapes do not broadcast");
        Binomial {
            total_count: n,
            param,
            shape,
        }
    }

    fn checked(total_count: ParamArg<B, D>, param: BinaryParam<B, D>) -> Result<Self, DistError> {
        let n = total_count.into_tensor(&param.device());
        check_param_each("Binomial", "total_count", &n, "must be a non-negative integer", |v| {
            v.is_finite() && v >= 0.0 && v.fract() == 0.0
        })?;
        param.validate("Binomial")?;
        let shape = broadcast_params("Binomial", "total_count and probs", &[n.dims(), param.tensor().dims()])?;
        Ok(Binomial {
            total_count: n,
            param,
            shape,
        })
    }

    /// The number of trials.
    pub fn total_count(&self) -> &Tensor<B, D> {
        &self.total_count
    }

    /// The success probability.
    pub fn probs(&self) -> Tensor<B, D> {
        self.param.probs()
    }
}

impl<B: Backend, const D: usize> Distribution<B, D> for Binomial<B, D> {
    dist_common!(
        "Binomial",
        event_dims = 0,
        support = Constraint::IntegerInterval,
        device = total_count
    );

    fn log_prob(&self, value: Tensor<B, D>) -> Tensor<B, D> {
        let value = expand_value("Binomial", value, self.shape);
        let n = self.total_count.clone();
        let (k, inside, log_choose) = counts_of(value, n.clone());
        mask_outside(log_choose + self.param.weighted_log(k.clone(), n - k), inside)
    }
    fn sample_expanded(&self, shape: [usize; D], rng: &mut RngKey) -> Tensor<B, D> {
        let n = host_values(&self.total_count.clone().expand(shape));
        let p = host_values(&self.probs().expand(shape));
        let draws = n.iter().zip(&p).map(|(&n, &p)| rng.binomial(n as u64, p)).collect();
        upload(draws, shape, &self.device())
    }
    fn mean(&self) -> Option<Tensor<B, D>> {
        Some((self.total_count.clone() * self.probs()).expand(self.shape))
    }
    fn variance(&self) -> Option<Tensor<B, D>> {
        let p = self.probs();
        Some((self.total_count.clone() * p.clone() * (p.neg() + 1.0)).expand(self.shape))
    }
}

/// For a count `value` of `n` trials: the count with out-of-support entries set to 0, the mask
/// of entries in `{0, …, n}`, and `ln C(n, k)` (shared by Binomial and BetaBinomial).
pub(crate) fn counts_of<B: Backend, const D: usize>(
    value: Tensor<B, D>,
    n: Tensor<B, D>,
) -> (Tensor<B, D>, Tensor<B, D, burn::tensor::Bool>, Tensor<B, D>) {
    let inside = Constraint::NonNegativeInteger
        .check(value.clone())
        .expect("integer check")
        .bool_and(value.clone().lower_equal(n.clone().expand(value.dims())));
    let k = value.mask_fill(inside.clone().bool_not(), 0.0);
    let log_choose = lgamma(n.clone() + 1.0) - lgamma(k.clone() + 1.0) - lgamma(n - k.clone() + 1.0);
    (k, inside, log_choose)
}

//! The Bernoulli distribution.

use burn::tensor::{backend::Backend, Tensor};

use crate::constraint::mask_outside;
use crate::kernels::bernoulli_logits_log_prob_composed;
use crate::macros::dist_common;
use crate::probs::BinaryParam;
use crate::special::softplus;
use crate::{noise, Constraint, DistError, Distribution, RngKey};

/// Bernoulli distribution on `{0, 1}`, from `probs` or (first-class) `logits`:
/// `ln p(x) = x ln p + (1 − x) ln(1 − p)`; from logits `l`,
/// `ln p(x) = −x·softplus(−l) − (1 − x)·softplus(l)` (finite for any finite `l`)
/// ([Wikipedia](https://en.wikipedia.org/wiki/Bernoulli_distribution)).
///
/// # Example
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::Tensor;
/// use ppl_dist::{Bernoulli, Distribution};
/// let l = Tensor::<NdArray<f32>, 1>::from_floats([100.0, -100.0], &Default::default());
/// let lp: Vec<f32> = Bernoulli::from_logits(l).unwrap().log_prob(Tensor::from_floats([1.0, 1.0], &Default::default())).into_data().to_vec().unwrap();
/// assert!(lp[0].abs() < 1e-30 && lp[1] == -100.0); // −softplus(∓l), finite at ±100
/// ```
#[derive(Debug, Clone)]
pub struct Bernoulli<B: Backend, const D: usize> {
    param: BinaryParam<B, D>,
    shape: [usize; D],
}

impl<B: Backend, const D: usize> Bernoulli<B, D> {
    /// From probabilities in `[0, 1]`.
    ///
    /// # Errors
    /// [`DistError::InvalidParameter`] naming `probs`.
    pub fn new(probs: Tensor<B, D>) -> Result<Self, DistError> {
        Self::checked(BinaryParam::Probs(probs))
    }

    /// From logits (any non-NaN value).
    ///
    /// # Errors
    /// [`DistError::InvalidParameter`] naming `logits` if one is NaN.
    pub fn from_logits(logits: Tensor<B, D>) -> Result<Self, DistError> {
        Self::checked(BinaryParam::Logits(logits))
    }

    /// Without parameter checks.
    pub fn new_unchecked(param: BinaryParam<B, D>) -> Self {
        let shape = param.tensor().dims();
        Bernoulli { param, shape }
    }

    fn checked(param: BinaryParam<B, D>) -> Result<Self, DistError> {
        param.validate("Bernoulli")?;
        Ok(Self::new_unchecked(param))
    }

    /// The success probabilities.
    pub fn probs(&self) -> Tensor<B, D> {
        self.param.probs()
    }

    /// The parameter as given.
    pub fn param(&self) -> &BinaryParam<B, D> {
        &self.param
    }
}

impl<B: Backend, const D: usize> Distribution<B, D> for Bernoulli<B, D> {
    dist_common!(
        "Bernoulli",
        event_dims = 0,
        support = Constraint::Boolean,
        device = param
    );

    /// From logits `l`: `ln σ(s·l)` with the sign `s = 2x − 1`, one call of burn's
    /// `log_sigmoid` (a single pass forward and backward on flex and libtorch) instead of two
    /// softplus branches weighted by `x` and `1 − x`; the argument is floored at `−f32::MAX`
    /// so that an infinite logit on the wrong side scores about `−3.4·10³⁸`
    /// ([`bernoulli_logits_log_prob_composed`]; training runs the same numbers as one fused
    /// kernel, [`FusedKernels::bernoulli_logits_log_prob`](crate::kernels::FusedKernels::bernoulli_logits_log_prob)).
    /// Values outside `{0, 1}` score `−∞`.
    fn log_prob(&self, value: Tensor<B, D>) -> Tensor<B, D> {
        match &self.param {
            BinaryParam::Logits(l) => bernoulli_logits_log_prob_composed(l.clone(), value),
            BinaryParam::Probs(_) => {
                let inside = Constraint::Boolean.check(value.clone()).expect("boolean check");
                let x = value.mask_fill(inside.clone().bool_not(), 0.0);
                mask_outside(self.param.weighted_log(x.clone(), x.neg() + 1.0), inside)
            }
        }
    }
    fn sample_expanded(&self, shape: [usize; D], rng: &mut RngKey) -> Tensor<B, D> {
        let u = noise::uniform::<B, D>(shape, rng, &self.device());
        crate::param::mask_to_float(u.lower(self.probs().detach().expand(shape)))
    }
    fn mean(&self) -> Option<Tensor<B, D>> {
        Some(self.probs())
    }
    fn variance(&self) -> Option<Tensor<B, D>> {
        let p = self.probs();
        Some(p.clone() * (p.neg() + 1.0))
    }
    fn entropy(&self) -> Option<Tensor<B, D>> {
        Some(match &self.param {
            BinaryParam::Probs(p) => {
                let q = p.clone().neg() + 1.0;
                (crate::special::xlogy(p.clone(), p.clone()) + crate::special::xlogy(q.clone(), q)).neg()
            }
            BinaryParam::Logits(l) => softplus(l.clone()) - l.clone() * crate::special::sigmoid(l.clone()),
        })
    }
}

//! The categorical distribution over class indices.

use burn::tensor::{backend::Backend, Int, Tensor};

use crate::constraint::mask_outside;
use crate::param::{check_param, expand_value, not_nan};
use crate::{noise, Constraint, DistError, Distribution, RngKey};

/// Validate probabilities along the last dimension and normalise them to log-probabilities.
pub(crate) fn log_probs_from_probs<B: Backend, const D: usize>(
    dist: &'static str,
    probs: Tensor<B, D>,
) -> Result<Tensor<B, D>, DistError> {
    check_param(dist, "probs", &probs, "must be finite and ≥ 0", |v| {
        v.is_finite() && v >= 0.0
    })?;
    let sums = probs.clone().sum_dim(D - 1);
    check_param(
        dist,
        "probs",
        &sums,
        "must not sum to 0 along the last dimension",
        |v| v > 0.0,
    )?;
    Ok((probs / sums).log())
}

/// Validate logits and normalise them with `log_softmax` along the last dimension.
pub(crate) fn log_probs_from_logits<B: Backend, const D: usize>(
    dist: &'static str,
    logits: Tensor<B, D>,
) -> Result<Tensor<B, D>, DistError> {
    check_param(dist, "logits", &logits, "must not be NaN", not_nan)?;
    Ok(normalize_logits(logits))
}

/// `log_softmax` that tolerates −∞ entries (a row of all −∞ stays −∞).
pub(crate) fn normalize_logits<B: Backend, const D: usize>(logits: Tensor<B, D>) -> Tensor<B, D> {
    logits.clone() - crate::special::log_sum_exp(logits, D - 1)
}

/// `Σ p·ln p` along the last dimension with `0·ln 0 = 0`, as `−entropy`.
pub(crate) fn neg_entropy<B: Backend, const D: usize>(log_probs: Tensor<B, D>) -> Tensor<B, D> {
    let p = log_probs.clone().exp();
    let zero = p.clone().equal_elem(0.0);
    (p * log_probs).mask_fill(zero, 0.0).sum_dim(D - 1)
}

/// Categorical distribution over `{0, …, K−1}`, from `probs` or (first-class) `logits`
/// along the last dimension: `ln p(x = i) = log_softmax(logits)ᵢ`
/// ([Wikipedia](https://en.wikipedia.org/wiki/Categorical_distribution)).
///
/// # Shapes
/// `logits`/`probs`: `[batch…, K]`. A value stores the class index in a trailing dimension
/// of size 1: `[batch…, 1]`; `log_prob` is `[batch…, 1]`. Mean and variance are `None`.
///
/// # Example
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::Tensor;
/// use ppl_dist::{Categorical, Distribution, RngKey};
/// let dev = Default::default();
/// let logits = Tensor::<NdArray<f32>, 2>::from_floats([[0.0, 1.0, 2.0]], &dev);
/// let c = Categorical::from_logits(logits).unwrap();
/// let y = c.sample_n(4, &mut RngKey::new(1)).unwrap();     // [4, 1], values in {0, 1, 2}
/// assert_eq!(c.log_prob(y).dims(), [4, 1]);
/// ```
#[derive(Debug, Clone)]
pub struct Categorical<B: Backend, const D: usize> {
    log_probs: Tensor<B, D>,
    shape: [usize; D],
}

impl<B: Backend, const D: usize> Categorical<B, D> {
    /// From probabilities along the last dimension (normalised to sum to 1).
    ///
    /// # Errors
    /// [`DistError::InvalidParameter`] naming `probs` (negative, non-finite, or a zero row).
    pub fn new(probs: Tensor<B, D>) -> Result<Self, DistError> {
        Ok(Self::from_log_probs(log_probs_from_probs("Categorical", probs)?))
    }

    /// From logits along the last dimension (−∞ allowed for impossible classes).
    ///
    /// # Errors
    /// [`DistError::InvalidParameter`] naming `logits` if one is NaN.
    pub fn from_logits(logits: Tensor<B, D>) -> Result<Self, DistError> {
        Ok(Self::from_log_probs(log_probs_from_logits("Categorical", logits)?))
    }

    /// From logits, without checks.
    pub fn from_logits_unchecked(logits: Tensor<B, D>) -> Self {
        Self::from_log_probs(normalize_logits(logits))
    }

    fn from_log_probs(log_probs: Tensor<B, D>) -> Self {
        let mut shape = log_probs.dims();
        shape[D - 1] = 1;
        Categorical { log_probs, shape }
    }

    /// Number of classes K.
    pub fn num_classes(&self) -> usize {
        self.log_probs.dims()[D - 1]
    }

    /// Normalised log-probabilities `[batch…, K]`.
    pub fn log_probs(&self) -> &Tensor<B, D> {
        &self.log_probs
    }

    /// Probabilities `[batch…, K]`.
    pub fn probs(&self) -> Tensor<B, D> {
        self.log_probs.clone().exp()
    }
}

impl<B: Backend, const D: usize> Distribution<B, D> for Categorical<B, D> {
    fn name(&self) -> &'static str {
        "Categorical"
    }
    fn value_shape(&self) -> [usize; D] {
        self.shape
    }
    fn event_dims(&self) -> usize {
        1
    }
    fn batch_shape(&self) -> Vec<usize> {
        self.shape[..D - 1].to_vec()
    }
    fn event_shape(&self) -> Vec<usize> {
        Vec::new()
    }
    fn support(&self) -> Constraint {
        Constraint::CategoricalIndex
    }
    fn device(&self) -> B::Device {
        self.log_probs.device()
    }
    fn enumerate_size(&self) -> Option<usize> {
        Some(self.num_classes())
    }
    fn log_prob(&self, value: Tensor<B, D>) -> Tensor<B, D> {
        let k = self.num_classes();
        let value = expand_value("Categorical", value, self.shape);
        let dims = value.dims();
        let inside = Constraint::CategoricalIndex
            .check(value.clone())
            .expect("index check")
            .bool_and(value.clone().lower_elem(k as f64));
        let mut full = dims;
        full[D - 1] = k;
        let idx: Tensor<B, D, Int> = value.mask_fill(inside.clone().bool_not(), 0.0).int();
        let lp = self.log_probs.clone().expand(full).gather(D - 1, idx);
        mask_outside(lp, inside)
    }
    fn sample_expanded(&self, shape: [usize; D], rng: &mut RngKey) -> Tensor<B, D> {
        // Gumbel-max: argmax(log p + G) is an exact categorical draw.
        let mut full = shape;
        full[D - 1] = self.num_classes();
        let g = noise::gumbel::<B, D>(full, rng, &self.device());
        crate::param::int_to_float((self.log_probs.clone().detach().expand(full) + g).argmax(D - 1))
    }
    fn entropy(&self) -> Option<Tensor<B, D>> {
        Some(neg_entropy(self.log_probs.clone()).neg())
    }
}

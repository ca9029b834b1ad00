//! Mixtures of univariate components of one family.

use burn::tensor::{backend::Backend, Tensor};

use crate::categorical::normalize_logits;
use crate::param::check_param;
use crate::special::log_sum_exp;
use crate::{Categorical, Constraint, DistError, Distribution, Normal, RngKey};

/// A finite mixture whose K components are the last batch dimension of one distribution
/// (Pyro's `MixtureSameFamily` for univariate components):
/// `ln p(x) = logsumexp_k(ln wₖ + ln pₖ(x))`.
///
/// # Shapes
/// Mixing logits `[batch…, K]` (or `[1, …, K]`); the component distribution has value shape
/// `[batch…, K]` and no event dimensions. A value is `[batch…, 1]` (the size-1 trailing slot,
/// as for [`Categorical`]); `log_prob` is `[batch…, 1]`. Not reparameterizable.
#[derive(Debug, Clone)]
pub struct MixtureSameFamily<B: Backend, const D: usize, C> {
    log_weights: Tensor<B, D>,
    components: C,
    shape: [usize; D],
}

/// A mixture of normals, the common case: `MixtureGaussian::new(logits, locs, scales)`.
pub type MixtureGaussian<B, const D: usize> = MixtureSameFamily<B, D, Normal<B, D>>;

impl<B: Backend, const D: usize, C: Distribution<B, D>> MixtureSameFamily<B, D, C> {
    /// A mixture from mixing logits `[…, K]` and components with value shape `[…, K]`.
    ///
    /// # Errors
    /// [`DistError::InvalidParameter`] for NaN logits; [`DistError::ShapeMismatch`] if the
    /// components have event dimensions or their last dimension is not K.
    pub fn new(mixing_logits: Tensor<B, D>, components: C) -> Result<Self, DistError> {
        check_param(
            "MixtureSameFamily",
            "mixing_logits",
            &mixing_logits,
            "must not be NaN",
            |v| !v.is_nan(),
        )?;
        let k = mixing_logits.dims()[D - 1];
        let cs = components.value_shape();
        if components.event_dims() != 0 || cs[D - 1] != k {
            return Err(DistError::ShapeMismatch {
                dist: "MixtureSameFamily",
                what: "components (last dimension = number of mixture components)",
                expected: vec![k],
                actual: cs.to_vec(),
                hint: "; components must be univariate with K in the last dimension".into(),
            });
        }
        let mut shape = crate::param::broadcast_params(
            "MixtureSameFamily",
            "mixing logits and components",
            &[mixing_logits.dims(), cs],
        )?;
        shape[D - 1] = 1;
        Ok(MixtureSameFamily {
            log_weights: normalize_logits(mixing_logits),
            components,
            shape,
        })
    }

    /// The normalised log mixing weights `[…, K]`.
    pub fn log_weights(&self) -> &Tensor<B, D> {
        &self.log_weights
    }

    /// The component distribution.
    pub fn components(&self) -> &C {
        &self.components
    }

    fn component_shape(&self) -> [usize; D] {
        let mut s = self.shape;
        s[D - 1] = self.components.value_shape()[D - 1];
        s
    }

    fn weights(&self) -> Tensor<B, D> {
        self.log_weights.clone().exp()
    }
}

impl<B: Backend, const D: usize> MixtureGaussian<B, D> {
    /// A Gaussian mixture from mixing logits, component locations and scales (`[…, K]`).
    ///
    /// # Errors
    /// As [`Normal::new`] and [`MixtureSameFamily::new`].
    pub fn gaussian(mixing_logits: Tensor<B, D>, locs: Tensor<B, D>, scales: Tensor<B, D>) -> Result<Self, DistError> {
        MixtureSameFamily::new(mixing_logits, Normal::new(locs, scales)?)
    }
}

impl<B: Backend, const D: usize, C: Distribution<B, D>> Distribution<B, D> for MixtureSameFamily<B, D, C> {
    fn name(&self) -> &'static str {
        "MixtureSameFamily"
    }
    fn value_shape(&self) -> [usize; D] {
        self.shape
    }
    fn event_dims(&self) -> usize {
        1
    }
    fn support(&self) -> Constraint {
        self.components.support()
    }
    fn device(&self) -> B::Device {
        self.log_weights.device()
    }
    fn log_prob(&self, value: Tensor<B, D>) -> Tensor<B, D> {
        // value [.., 1] broadcasts against the K components.
        log_sum_exp(self.log_weights.clone() + self.components.log_prob(value), D - 1)
    }
    fn sample_expanded(&self, shape: [usize; D], rng: &mut RngKey) -> Tensor<B, D> {
        let which = Categorical::from_logits_unchecked(self.log_weights.clone()).sample_expanded(shape, rng);
        let mut full = shape;
        full[D - 1] = self.component_shape()[D - 1];
        let draws = self.components.sample_expanded(full, rng);
        draws.gather(D - 1, which.int())
    }
    fn mean(&self) -> Option<Tensor<B, D>> {
        Some((self.weights() * self.components.mean()?).sum_dim(D - 1))
    }
    fn variance(&self) -> Option<Tensor<B, D>> {
        let (m, v) = (self.components.mean()?, self.components.variance()?);
        let w = self.weights();
        let mean = (w.clone() * m.clone()).sum_dim(D - 1);
        Some((w * (v + m.powi_scalar(2))).sum_dim(D - 1) - mean.powi_scalar(2))
    }
}

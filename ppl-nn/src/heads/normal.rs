//! The location–scale head: Normal, diagonal multivariate normal, LogNormal.

use burn::module::Module;
use burn::tensor::{backend::Backend, Tensor};
use ppl_dist::{DistError, LogNormal, MultivariateNormalDiag, Normal};

use super::{positive, split_last};

/// A location–scale head for a `k`-dimensional latent: the network outputs `2k` values per
/// row; loc = the first k, scale = softplus(the last k) + `floor`.
///
/// # Shapes
/// Network output `[..., 2k]` → parameters `[..., k]`.
///
/// # Errors
/// [`DistError::ShapeMismatch`] when the last dimension is not `2k`.
///
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::Tensor;
/// use ppl_nn::{MlpConfig, NormalHead};
/// let dev = Default::default();
/// let encoder = MlpConfig::new(&[784, 100, 4]).init::<NdArray<f32>>(&dev);
/// let head = NormalHead::new(2).with_floor(0.01); // the digit classifier's Q-model
/// let x = Tensor::<NdArray<f32>, 2>::zeros([8, 784], &dev);
/// let q_z = head.normal(encoder.forward(x)).unwrap(); // ctx.sample("z", q_z) in a Q-model
/// # use ppl_dist::Distribution;
/// assert_eq!(q_z.value_shape(), [8, 2]);
/// ```
#[derive(Module, Debug, Clone)]
pub struct NormalHead {
    #[module(skip)]
    k: usize,
    #[module(skip)]
    floor: f64,
}

impl NormalHead {
    /// A head for a `k`-dimensional latent (scale floor 1e-3).
    pub fn new(k: usize) -> Self {
        NormalHead { k, floor: 1e-3 }
    }

    /// Set the smallest scale (added after the softplus).
    pub fn with_floor(mut self, floor: f64) -> Self {
        self.floor = floor;
        self
    }

    /// The network output width this head needs: `2k`.
    pub fn width(&self) -> usize {
        2 * self.k
    }

    /// `(loc, scale)`, each `[..., k]`.
    ///
    /// # Errors
    /// [`DistError::ShapeMismatch`] when the last dimension is not `2k`.
    pub fn params<B: Backend, const D: usize>(
        &self,
        out: Tensor<B, D>,
    ) -> Result<(Tensor<B, D>, Tensor<B, D>), DistError> {
        let mut parts = split_last(out, self.k, 2, "NormalHead")?;
        let raw = parts.pop().expect("two parts");
        let loc = parts.pop().expect("two parts");
        Ok((loc, positive(raw, self.floor)))
    }

    /// A Normal with independent elements.
    ///
    /// # Errors
    /// As [`NormalHead::params`].
    pub fn normal<B: Backend, const D: usize>(&self, out: Tensor<B, D>) -> Result<Normal<B, D>, DistError> {
        let (loc, scale) = self.params(out)?;
        Ok(Normal::new_unchecked(loc, scale))
    }

    /// A multivariate normal with diagonal covariance (the last dimension is the event).
    ///
    /// # Errors
    /// As [`NormalHead::params`].
    pub fn mvn_diag<B: Backend, const D: usize>(
        &self,
        out: Tensor<B, D>,
    ) -> Result<MultivariateNormalDiag<B, D>, DistError> {
        let (loc, scale) = self.params(out)?;
        Ok(MultivariateNormalDiag::new_unchecked(loc, scale))
    }

    /// A LogNormal (positive latents): the normal's parameters in log space, with loc
    /// clamped to [−20, 20] and scale to at most 5 so that draws `exp(loc + scale·ε)` stay
    /// finite in f32 for any network output (a log-space value beyond ±20 is e^±20 ≈ 5e8).
    ///
    /// # Errors
    /// As [`NormalHead::params`].
    pub fn log_normal<B: Backend, const D: usize>(&self, out: Tensor<B, D>) -> Result<LogNormal<B, D>, DistError> {
        let (loc, scale) = self.params(out)?;
        Ok(LogNormal::new_unchecked(loc.clamp(-20.0, 20.0), scale.clamp_max(5.0)))
    }
}

//! The logits head: Bernoulli and Categorical.

use burn::module::Module;
use burn::tensor::{backend::Backend, Tensor};
use ppl_dist::{Bernoulli, Categorical, DistError};

use super::split_last;

/// A logits head: the network's `k` outputs per row are logits, used as they are (logits are
/// the numerically safe parameterisation: no `ln 0` for any finite output).
///
/// # Shapes
/// Bernoulli: `[..., k]` → k independent binary variables per row. Categorical: `[..., k]` →
/// one of k classes per row (value `[..., 1]`).
///
/// # Errors
/// [`DistError::ShapeMismatch`] when the last dimension is not `k`.
///
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::Tensor;
/// use ppl_nn::{LogitsHead, MlpConfig};
/// let dev = Default::default();
/// let nn2 = MlpConfig::new(&[2, 3]).init::<NdArray<f32>>(&dev);
/// let y = LogitsHead::new(3).categorical(nn2.forward(Tensor::zeros([5, 2], &dev))).unwrap();
/// # use ppl_dist::Distribution;
/// assert_eq!(y.value_shape(), [5, 1]);
/// ```
#[derive(Module, Debug, Clone)]
pub struct LogitsHead {
    #[module(skip)]
    k: usize,
}

impl LogitsHead {
    /// A head for `k` logits per row.
    pub fn new(k: usize) -> Self {
        LogitsHead { k }
    }

    /// The network output width this head needs: `k`.
    pub fn width(&self) -> usize {
        self.k
    }

    /// The logits, checked for width.
    ///
    /// # Errors
    /// [`DistError::ShapeMismatch`] when the last dimension is not `k`.
    pub fn logits<B: Backend, const D: usize>(&self, out: Tensor<B, D>) -> Result<Tensor<B, D>, DistError> {
        Ok(split_last(out, self.k, 1, "LogitsHead")?.remove(0))
    }

    /// k independent Bernoulli variables per row.
    ///
    /// # Errors
    /// As [`LogitsHead::logits`].
    pub fn bernoulli<B: Backend, const D: usize>(&self, out: Tensor<B, D>) -> Result<Bernoulli<B, D>, DistError> {
        Bernoulli::from_logits(self.logits(out)?)
    }

    /// One categorical variable over k classes per row.
    ///
    /// # Errors
    /// As [`LogitsHead::logits`].
    pub fn categorical<B: Backend, const D: usize>(&self, out: Tensor<B, D>) -> Result<Categorical<B, D>, DistError> {
        Categorical::from_logits(self.logits(out)?)
    }
}

//! The positive-concentration head: Beta, Gamma, Dirichlet.

use burn::module::Module;
use burn::tensor::{backend::Backend, Tensor};
use ppl_dist::{Beta, Dirichlet, DistError, Gamma};

use super::{positive, split_last};

/// A head for distributions with positive parameters: every parameter is softplus(output) +
/// `floor` (floor 1e-3 by default), so it stays positive and finite for any finite output.
///
/// # Shapes
/// Beta `[..., 2k]` → (concentration1, concentration0) `[..., k]`; Gamma `[..., 2k]` →
/// (concentration, rate) `[..., k]`; Dirichlet `[..., k]` → concentration `[..., k]` (the last
/// dimension is the simplex).
///
/// # Errors
/// [`DistError::ShapeMismatch`] when the last dimension is not the width above.
///
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::Tensor;
/// use ppl_nn::ConcentrationHead;
/// let dev = Default::default();
/// let out = Tensor::<NdArray<f32>, 2>::zeros([4, 6], &dev);
/// let q = ConcentrationHead::new(3).beta(out).unwrap(); // 3 Beta variables per row
/// # use ppl_dist::Distribution;
/// assert_eq!(q.value_shape(), [4, 3]);
/// ```
#[derive(Module, Debug, Clone)]
pub struct ConcentrationHead {
    #[module(skip)]
    k: usize,
    #[module(skip)]
    floor: f64,
}

impl ConcentrationHead {
    /// A head for `k` variables per row (Dirichlet: a `k`-simplex).
    pub fn new(k: usize) -> Self {
        ConcentrationHead { k, floor: 1e-3 }
    }

    /// Set the smallest parameter value (added after the softplus).
    pub fn with_floor(mut self, floor: f64) -> Self {
        self.floor = floor;
        self
    }

    /// `(a, b)`: the two positive halves of a `[..., 2k]` output.
    fn pair<B: Backend, const D: usize>(
        &self,
        out: Tensor<B, D>,
        dist: &'static str,
    ) -> Result<(Tensor<B, D>, Tensor<B, D>), DistError> {
        let mut parts = split_last(out, self.k, 2, dist)?;
        let b = positive(parts.pop().expect("two parts"), self.floor);
        let a = positive(parts.pop().expect("two parts"), self.floor);
        Ok((a, b))
    }

    /// k Beta variables per row from `[..., 2k]` outputs.
    ///
    /// # Errors
    /// [`DistError::ShapeMismatch`] when the last dimension is not `2k`.
    pub fn beta<B: Backend, const D: usize>(&self, out: Tensor<B, D>) -> Result<Beta<B, D>, DistError> {
        let (a, b) = self.pair(out, "ConcentrationHead (Beta)")?;
        Ok(Beta::new_unchecked(a, b))
    }

    /// k Gamma variables per row from `[..., 2k]` outputs (concentration, rate).
    ///
    /// # Errors
    /// [`DistError::ShapeMismatch`] when the last dimension is not `2k`.
    pub fn gamma<B: Backend, const D: usize>(&self, out: Tensor<B, D>) -> Result<Gamma<B, D>, DistError> {
        let (a, b) = self.pair(out, "ConcentrationHead (Gamma)")?;
        Ok(Gamma::new_unchecked(a, b))
    }

    /// One Dirichlet over the k-simplex per row from `[..., k]` outputs.
    ///
    /// # Errors
    /// [`DistError::ShapeMismatch`] when the last dimension is not `k`.
    pub fn dirichlet<B: Backend, const D: usize>(&self, out: Tensor<B, D>) -> Result<Dirichlet<B, D>, DistError> {
        let c = split_last(out, self.k, 1, "ConcentrationHead (Dirichlet)")?.remove(0);
        Ok(Dirichlet::new_unchecked(positive(c, self.floor)))
    }
}

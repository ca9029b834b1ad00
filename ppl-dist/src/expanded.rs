//! Broadcasting a distribution to a larger batch shape.

use burn::tensor::{backend::Backend, Tensor};

use crate::param::broadcasts_to;
use crate::{Constraint, DistError, Distribution, RngKey};

/// A distribution whose parameters are broadcast to `shape` (Pyro's `.expand`): draws are
/// independent across the new elements. A `[1, k]` prior expanded to `[m, k]` is how a
/// plate of size `m` draws one row per instance.
#[derive(Debug, Clone)]
pub struct Expanded<T, const D: usize> {
    base: T,
    shape: [usize; D],
}

impl<T, const D: usize> Expanded<T, D> {
    /// Expand `base` to `shape`.
    ///
    /// # Errors
    /// [`DistError::ShapeMismatch`] if `base.value_shape()` does not broadcast to `shape`
    /// (each dimension must equal or be 1), or if an event dimension would change.
    pub fn new<B: Backend>(base: T, shape: [usize; D]) -> Result<Self, DistError>
    where
        T: Distribution<B, D>,
    {
        let from = base.value_shape();
        let ev = base.event_dims();
        let event_kept = (D - ev..D).all(|i| from[i] == shape[i]);
        if !broadcasts_to(from, shape) || !event_kept {
            return Err(DistError::ShapeMismatch {
                dist: "Expanded",
                what: "expand target",
                expected: from.to_vec(),
                actual: shape.to_vec(),
                hint: format!(
                    "; only batch dimensions of size 1 can be expanded ({} has {ev} event dimension(s))",
                    base.name()
                ),
            });
        }
        Ok(Expanded { base, shape })
    }

    /// The wrapped distribution.
    pub fn base(&self) -> &T {
        &self.base
    }

    fn lp_shape(&self, ev: usize) -> [usize; D] {
        let mut s = self.shape;
        for d in s.iter_mut().skip(D - ev) {
            *d = 1;
        }
        s
    }
}

impl<B: Backend, const D: usize, T: Distribution<B, D>> Distribution<B, D> for Expanded<T, D> {
    fn name(&self) -> &'static str {
        "Expanded"
    }
    fn value_shape(&self) -> [usize; D] {
        self.shape
    }
    fn event_dims(&self) -> usize {
        self.base.event_dims()
    }
    fn support(&self) -> Constraint {
        self.base.support()
    }
    fn support_bounds(&self) -> Option<(Tensor<B, D>, Tensor<B, D>)> {
        let (low, high) = self.base.support_bounds()?;
        Some((low.expand(self.shape), high.expand(self.shape)))
    }
    fn enumerate_size(&self) -> Option<usize> {
        self.base.enumerate_size()
    }
    fn device(&self) -> B::Device {
        self.base.device()
    }
    fn log_prob(&self, value: Tensor<B, D>) -> Tensor<B, D> {
        let lp = self.base.log_prob(value);
        let target = self.lp_shape(self.base.event_dims());
        if broadcasts_to(lp.dims(), target) {
            lp.expand(target)
        } else {
            lp
        }
    }
    fn sample_expanded(&self, shape: [usize; D], rng: &mut RngKey) -> Tensor<B, D> {
        self.base.sample_expanded(shape, rng)
    }
    fn has_rsample(&self) -> bool {
        self.base.has_rsample()
    }
    fn rsample_expanded(&self, shape: [usize; D], rng: &mut RngKey) -> Result<Tensor<B, D>, DistError> {
        self.base.rsample_expanded(shape, rng)
    }
    fn mean(&self) -> Option<Tensor<B, D>> {
        Some(self.base.mean()?.expand(self.shape))
    }
    fn median(&self) -> Option<Tensor<B, D>> {
        Some(self.base.median()?.expand(self.shape))
    }
    fn variance(&self) -> Option<Tensor<B, D>> {
        Some(self.base.variance()?.expand(self.shape))
    }
    fn entropy(&self) -> Option<Tensor<B, D>> {
        Some(self.base.entropy()?.expand(self.lp_shape(self.base.event_dims())))
    }
}

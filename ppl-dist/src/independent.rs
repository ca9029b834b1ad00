//! Reinterpreting batch dimensions as event dimensions.

use burn::tensor::{backend::Backend, Tensor};

use crate::{Constraint, DistError, Distribution, RngKey};

/// Wraps a distribution and treats its `reinterpreted` rightmost batch dimensions as event
/// dimensions: `log_prob` sums over them too (Pyro's `.to_event(n)`).
///
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::Tensor;
/// use ppl_dist::{Distribution, Independent, Normal};
/// let loc = Tensor::<NdArray<f32>, 2>::zeros([4, 3], &Default::default());
/// let d = Independent::new(Normal::new(loc.clone(), 1.0).unwrap(), 1).unwrap();
/// assert_eq!(d.log_prob(loc).dims(), [4, 1]);
/// ```
#[derive(Debug, Clone)]
pub struct Independent<T> {
    base: T,
    reinterpreted: usize,
}

impl<T> Independent<T> {
    /// Wrap `base`, moving `reinterpreted` batch dimensions into the event.
    ///
    /// # Errors
    /// [`DistError::ShapeMismatch`] if `base` has fewer batch dimensions than that.
    pub fn new<B: Backend, const D: usize>(base: T, reinterpreted: usize) -> Result<Self, DistError>
    where
        T: Distribution<B, D>,
    {
        let batch = base.batch_shape();
        if reinterpreted > batch.len() {
            return Err(DistError::ShapeMismatch {
                dist: "Independent",
                what: "reinterpreted batch dimensions",
                expected: batch,
                actual: vec![reinterpreted],
                hint: format!("; {} has only that many batch dimensions", base.name()),
            });
        }
        Ok(Independent { base, reinterpreted })
    }

    /// The wrapped distribution.
    pub fn base(&self) -> &T {
        &self.base
    }
}

impl<B: Backend, const D: usize, T: Distribution<B, D>> Distribution<B, D> for Independent<T> {
    fn name(&self) -> &'static str {
        "Independent"
    }
    fn value_shape(&self) -> [usize; D] {
        self.base.value_shape()
    }
    fn event_dims(&self) -> usize {
        self.base.event_dims() + self.reinterpreted
    }
    fn support(&self) -> Constraint {
        self.base.support()
    }
    fn support_bounds(&self) -> Option<(Tensor<B, D>, Tensor<B, D>)> {
        self.base.support_bounds()
    }
    fn enumerate_size(&self) -> Option<usize> {
        self.base.enumerate_size()
    }
    fn device(&self) -> B::Device {
        self.base.device()
    }
    fn log_prob(&self, value: Tensor<B, D>) -> Tensor<B, D> {
        let dims: Vec<usize> = (D - self.event_dims()..D).collect();
        self.base.log_prob(value).sum_dims(&dims)
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
        self.base.mean()
    }
    fn median(&self) -> Option<Tensor<B, D>> {
        self.base.median()
    }
    fn variance(&self) -> Option<Tensor<B, D>> {
        self.base.variance()
    }
    fn entropy(&self) -> Option<Tensor<B, D>> {
        let dims: Vec<usize> = (D - self.event_dims()..D).collect();
        Some(self.base.entropy()?.sum_dims(&dims))
    }
}

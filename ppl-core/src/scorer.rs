//! Site scorers: how a [`Ctx`](crate::Ctx) computes a sample site's log-density when
//! something faster than the distribution's own `log_prob` gives the same numbers.

use ppl_dist::kernels::{fused_log_prob, FusedKernels};

use crate::{ErasedDist, Value};

/// The log-density of a value under a site's distribution, or `None` to leave it to the
/// distribution's `log_prob` ([`Ctx::with_scorer`](crate::Ctx::with_scorer)). It must give
/// `log_prob`'s values (shape, numbers and gradient).
pub type SiteScorer<B> = fn(&dyn ErasedDist<B>, &Value<B>) -> Option<Value<B>>;

/// The [`SiteScorer`] of the backend's fused kernels ([`ppl_dist::kernels`]): a Bernoulli
/// from logits scored in one pass (one autodiff node) instead of about ten operations;
/// every other distribution by its own `log_prob`. The numbers are `log_prob`'s bit for bit,
/// except on flex in `f32`, whose kernel rounds once where the composed operations round at
/// each step: within 1 ulp of the exact value, so within 2 of `log_prob`'s. `Svi` sets it on
/// every run of the model and guide.
///
/// ```
/// use burn::backend::Flex;
/// use burn::tensor::Tensor;
/// use ppl_core::{fused_site_scorer, Erased, ErasedDist, Value};
/// use ppl_dist::Bernoulli;
/// let dev = Default::default();
/// let d = Erased::<_, 1>(Bernoulli::from_logits(Tensor::<Flex, 1>::from_floats([0.5, -2.0], &dev)).unwrap());
/// let x = Value::from_tensor(Tensor::<Flex, 1>::from_floats([1.0, 0.0], &dev));
/// let fused = fused_site_scorer::<Flex>(&d, &x).unwrap().to_vec();
/// let composed = d.log_prob(&x).unwrap().to_vec();
/// for (a, b) in fused.iter().zip(&composed) {
///     assert!((a - b).abs() <= f64::from(f32::EPSILON) * b.abs());
/// }
/// ```
pub fn fused_site_scorer<B: FusedKernels>(dist: &dyn ErasedDist<B>, value: &Value<B>) -> Option<Value<B>> {
    let any = dist.inner_any();
    match value.rank() {
        1 => fused_log_prob::<B, 1>(any, &value.tensor()?).map(Value::from_tensor),
        2 => fused_log_prob::<B, 2>(any, &value.tensor()?).map(Value::from_tensor),
        3 => fused_log_prob::<B, 3>(any, &value.tensor()?).map(Value::from_tensor),
        4 => fused_log_prob::<B, 4>(any, &value.tensor()?).map(Value::from_tensor),
        _ => None,
    }
}

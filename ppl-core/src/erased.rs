//! Distributions with their rank erased, so one trace can hold sites of different ranks.

use std::any::Any;

use burn::tensor::backend::Backend;
use ppl_dist::{Constraint, DistError, Distribution, RngKey};

use crate::Value;

/// A distribution of any rank (1–4) behind a trait object: what a trace stores per site.
pub trait ErasedDist<B: Backend>: std::fmt::Debug + Send + Sync {
    /// The distribution's name.
    fn name(&self) -> &'static str;
    /// The rank of its values.
    fn rank(&self) -> usize;
    /// Shape of one draw.
    fn value_shape(&self) -> Vec<usize>;
    /// Trailing event dimensions.
    fn event_dims(&self) -> usize;
    /// The support.
    fn support(&self) -> Constraint;
    /// The bounds of an interval support set by the parameters
    /// ([`Distribution::support_bounds`]), broadcast to the value shape.
    fn support_bounds(&self) -> Option<(Value<B>, Value<B>)>;
    /// Whether `rsample` is pathwise.
    fn has_rsample(&self) -> bool;
    /// How many values a finite support has ([`Distribution::enumerate_size`]).
    fn enumerate_size(&self) -> Option<usize>;
    /// `log_prob` of a value of the same rank (event dims summed, kept as size 1); `None` if
    /// the rank differs.
    fn log_prob(&self, value: &Value<B>) -> Option<Value<B>>;
    /// A draw broadcast to `shape` (same rank), without gradients.
    fn sample(&self, shape: &[usize], rng: &mut RngKey) -> Value<B>;
    /// A pathwise draw broadcast to `shape`.
    ///
    /// # Errors
    /// [`DistError::NotReparameterized`] where there is none.
    fn rsample(&self, shape: &[usize], rng: &mut RngKey) -> Result<Value<B>, DistError>;
    /// Closed-form `KL(self ‖ other)` through `ppl-dist`'s registry.
    ///
    /// # Errors
    /// [`DistError::NoAnalyticKl`] for unregistered pairs or differing ranks.
    fn kl_to(&self, other: &dyn ErasedDist<B>) -> Result<Value<B>, DistError>;
    /// Closed-form entropy, where the distribution has one.
    fn entropy(&self) -> Option<Value<B>>;
    /// The mean, where the distribution has one.
    fn mean(&self) -> Option<Value<B>>;
    /// The median, where the distribution has one in closed form.
    fn median(&self) -> Option<Value<B>>;
    /// The variance, where the distribution has one.
    fn variance(&self) -> Option<Value<B>>;
    /// The concrete distribution (`T` in [`Erased<T, D>`]).
    fn inner_any(&self) -> &dyn Any;
}

/// The rank-erasing wrapper around a [`Distribution<B, D>`].
#[derive(Debug)]
pub struct Erased<T, const D: usize>(pub T);

fn to_array<const D: usize>(shape: &[usize]) -> [usize; D] {
    let mut a = [0; D];
    a.copy_from_slice(shape);
    a
}

impl<B: Backend, const D: usize, T: Distribution<B, D> + 'static> ErasedDist<B> for Erased<T, D> {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn rank(&self) -> usize {
        D
    }
    fn value_shape(&self) -> Vec<usize> {
        self.0.value_shape().to_vec()
    }
    fn event_dims(&self) -> usize {
        self.0.event_dims()
    }
    fn support(&self) -> Constraint {
        self.0.support()
    }
    fn support_bounds(&self) -> Option<(Value<B>, Value<B>)> {
        let (low, high) = self.0.support_bounds()?;
        Some((Value::from_tensor(low), Value::from_tensor(high)))
    }
    fn has_rsample(&self) -> bool {
        self.0.has_rsample()
    }
    fn enumerate_size(&self) -> Option<usize> {
        self.0.enumerate_size()
    }
    fn log_prob(&self, value: &Value<B>) -> Option<Value<B>> {
        Some(Value::from_tensor(self.0.log_prob(value.tensor::<D>()?)))
    }
    fn sample(&self, shape: &[usize], rng: &mut RngKey) -> Value<B> {
        Value::from_tensor(self.0.sample_expanded(to_array(shape), rng))
    }
    fn rsample(&self, shape: &[usize], rng: &mut RngKey) -> Result<Value<B>, DistError> {
        Ok(Value::from_tensor(self.0.rsample_expanded(to_array(shape), rng)?))
    }
    fn kl_to(&self, other: &dyn ErasedDist<B>) -> Result<Value<B>, DistError> {
        let no = || DistError::NoAnalyticKl {
            p: self.0.name(),
            q: other.name(),
        };
        if other.rank() != D {
            return Err(no());
        }
        let kl = ppl_dist::kl::kl_divergence_any::<B, D>(self.0.as_any(), other.inner_any()).ok_or_else(no)?;
        Ok(Value::from_tensor(kl))
    }
    fn entropy(&self) -> Option<Value<B>> {
        self.0.entropy().map(Value::from_tensor)
    }
    fn mean(&self) -> Option<Value<B>> {
        self.0.mean().map(Value::from_tensor)
    }
    fn median(&self) -> Option<Value<B>> {
        self.0.median().map(Value::from_tensor)
    }
    fn variance(&self) -> Option<Value<B>> {
        self.0.variance().map(Value::from_tensor)
    }
    fn inner_any(&self) -> &dyn Any {
        self.0.as_any()
    }
}

//! Site scorers: how a [`Ctx`](crate::Ctx) computes a sample site's log-density and a
//! `param` site's constrained value when something faster than the composed operations
//! gives the same numbers.

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use ppl_dist::kernels::{fused_log_prob, fused_log_prob_with_sum, fused_rsample, DenseKernel, FusedKernels};
use ppl_dist::{Constraint, RngKey};

use crate::{ErasedDist, Value};

/// A sample site's log-density hook: the log-density of a value under an erased
/// distribution, or `None` to leave it to the distribution's `log_prob`. With `with_sum`
/// true (the site sums the values as they are), the hook may also give that sum where a
/// kernel computes it as an operation of its own ([`FusedLogProb::sum`]).
pub type LogProbHook<B> = fn(&dyn ErasedDist<B>, &Value<B>, bool) -> Option<FusedLogProb<B>>;

/// What a [`LogProbHook`] gives: the element-wise log-density (the value's shape), and,
/// where asked for and a kernel computes it as an operation of its own, the sum of all its
/// elements (`[1]`, the same number as `log_prob`'s `sum()`; on an autodiff backend its
/// gradient goes to the distribution's parameters without an element-wise gradient tensor).
/// `None` there: the site sums the values itself.
#[derive(Debug, Clone)]
pub struct FusedLogProb<B: Backend> {
    /// The log-density of each element.
    pub log_prob: Value<B>,
    /// Their sum, where a kernel computed it.
    pub sum: Option<Tensor<B, 1>>,
}

/// A `param` site's constraint hook: the constrained value from the unconstrained one, or
/// `None` to leave it to [`to_constrained`](crate::transform::to_constrained).
pub type ConstrainHook<B> = fn(Constraint, &Value<B>) -> Option<Value<B>>;

/// A latent site's draw hook: a pathwise draw of `shape` from an erased distribution, or
/// `None` (having drawn nothing) to leave it to the distribution's `rsample`.
pub type RsampleHook<B> = fn(&dyn ErasedDist<B>, &[usize], &mut RngKey) -> Option<Value<B>>;

/// How a [`Ctx`](crate::Ctx) scores its sites ([`Ctx::with_scorer`](crate::Ctx::with_scorer)):
/// three hooks, each returning `None` to leave a site to the composed operations, and the
/// dense layer that networks inside the run use ([`run`](crate::run) opens
/// [`ppl_dist::kernels::with_dense_kernel`] with it). Each must give the composed operations'
/// values (shape, numbers and gradient, up to rounding).
#[derive(Debug)]
pub struct SiteScorer<B: Backend> {
    /// The log-density of a value under a sample site's distribution (otherwise the
    /// distribution's `log_prob`).
    pub log_prob: LogProbHook<B>,
    /// A `param` site's value from its unconstrained one, where the constraint's map has a
    /// fused form (otherwise [`to_constrained`](crate::transform::to_constrained)).
    pub constrain: ConstrainHook<B>,
    /// A latent sample site's pathwise draw (otherwise the distribution's `rsample`); the
    /// same draws from the same key.
    pub rsample: RsampleHook<B>,
    /// The dense layer `act(x·W + b)` of networks run inside the model or guide
    /// ([`ppl_dist::kernels::dense`]).
    pub dense: DenseKernel<B>,
}

impl<B: Backend> Clone for SiteScorer<B> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<B: Backend> Copy for SiteScorer<B> {}

impl<B: FusedKernels> SiteScorer<B> {
    /// The backend's fused kernels ([`ppl_dist::kernels`]): densities by
    /// [`fused_site_scorer`], positive parameters by [`fused_constrain`], draws by
    /// [`fused_site_rsample`], dense layers by [`FusedKernels::dense`]. `Svi` sets it on
    /// every run of the model and guide.
    pub const fn fused() -> Self {
        SiteScorer {
            log_prob: fused_site_scorer::<B>,
            constrain: fused_constrain::<B>,
            rsample: fused_site_rsample::<B>,
            dense: <B as FusedKernels>::dense,
        }
    }
}

/// The draw hook of [`SiteScorer::fused`]: a Normal with a tensor scale drawn as one
/// autodiff node ([`FusedKernels::normal_reparameterized`]) instead of two; `None` for every
/// other distribution.
pub fn fused_site_rsample<B: FusedKernels>(
    dist: &dyn ErasedDist<B>,
    shape: &[usize],
    rng: &mut RngKey,
) -> Option<Value<B>> {
    crate::with_rank!(shape.len(), D => {
        fused_rsample::<B, D>(dist.inner_any(), shape.try_into().ok()?, rng).map(Value::from_tensor)
    }, _ => None)
}

/// A positive (or non-negative) parameter's value `softplus(u)` by the backend's fused
/// softplus ([`FusedKernels::softplus`]: one autodiff node instead of six, gradient
/// `σ(u)`); `None` for every other constraint.
pub fn fused_constrain<B: FusedKernels>(constraint: Constraint, unconstrained: &Value<B>) -> Option<Value<B>> {
    if !matches!(constraint, Constraint::Positive | Constraint::NonNegative) {
        return None;
    }
    Some(match unconstrained {
        Value::R1(t) => Value::R1(B::softplus(t.clone())),
        Value::R2(t) => Value::R2(B::softplus(t.clone())),
        Value::R3(t) => Value::R3(B::softplus(t.clone())),
        Value::R4(t) => Value::R4(B::softplus(t.clone())),
    })
}

/// The log-density hook of [`SiteScorer::fused`] ([`ppl_dist::kernels`]): a Bernoulli
/// from logits scored in one pass (one autodiff node) instead of about ten operations, a
/// Normal in one node instead of seven; every other distribution by its own `log_prob`. The numbers are `log_prob`'s bit for bit,
/// except on flex in `f32`, whose kernel rounds once where the composed operations round at
/// each step: within 1 ulp of the exact value, so within 2 of `log_prob`'s; the Normal's
/// gradient is within rounding of the composed one's. With `with_sum`, a Bernoulli from
/// logits also gives the values' sum as a node of its own
/// ([`ppl_dist::kernels::fused_log_prob_with_sum`]).
///
/// ```
/// use burn::backend::Flex;
/// use burn::tensor::Tensor;
/// use ppl_core::{fused_site_scorer, Erased, ErasedDist, Value};
/// use ppl_dist::Bernoulli;
/// let dev = Default::default();
/// let d = Erased::<_, 1>(Bernoulli::from_logits(Tensor::<Flex, 1>::from_floats([0.5, -2.0], &dev)).unwrap());
/// let x = Value::from_tensor(Tensor::<Flex, 1>::from_floats([1.0, 0.0], &dev));
/// let fused = fused_site_scorer::<Flex>(&d, &x, true).unwrap();
/// let composed = d.log_prob(&x).unwrap().to_vec();
/// for (a, b) in fused.log_prob.to_vec().iter().zip(&composed) {
///     assert!((a - b).abs() <= f64::from(f32::EPSILON) * b.abs());
/// }
/// let sum = fused.sum.expect("a Bernoulli's sum").into_scalar();
/// assert_eq!(sum, fused.log_prob.tensor::<1>().unwrap().sum().into_scalar());
/// ```
pub fn fused_site_scorer<B: FusedKernels>(
    dist: &dyn ErasedDist<B>,
    value: &Value<B>,
    with_sum: bool,
) -> Option<FusedLogProb<B>> {
    crate::with_rank!(value.rank(), D => {
        let value = value.tensor::<D>()?;
        let (lp, sum) = if with_sum {
            fused_log_prob_with_sum::<B, D>(dist.inner_any(), &value)?
        } else {
            (fused_log_prob::<B, D>(dist.inner_any(), &value)?, None)
        };
        Some(FusedLogProb { log_prob: Value::from_tensor(lp), sum })
    }, _ => None)
}

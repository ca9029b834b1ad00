//! The error type of `ppl-dist`.

use thiserror::Error;

/// Everything a caller of `ppl-dist` can get wrong, with the names needed to find it.
///
/// Messages name the distribution and the parameter (or shapes) involved, so that a
/// model author can locate the call without a backtrace.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum DistError {
    /// A parameter value outside its domain (σ ≤ 0, p ∉ [0, 1], NaN, …).
    #[error("{dist}: invalid parameter `{param}` = {value}: {reason}")]
    InvalidParameter {
        /// Distribution name, e.g. `"Normal"`.
        dist: &'static str,
        /// Parameter name, e.g. `"scale"`.
        param: &'static str,
        /// The first offending value (as f64).
        value: f64,
        /// What the parameter must satisfy, e.g. `"must be finite and > 0"`.
        reason: &'static str,
    },
    /// Parameters or values whose shapes do not broadcast together.
    #[error("{dist}: shape mismatch for {what}: expected {expected:?}, got {actual:?}{hint}")]
    ShapeMismatch {
        /// Distribution name.
        dist: &'static str,
        /// What was being combined (e.g. `"loc and scale"`, `"sample_n"`).
        what: &'static str,
        /// Expected shape.
        expected: Vec<usize>,
        /// Actual shape.
        actual: Vec<usize>,
        /// A suggestion, starting with `"; "`, or empty.
        hint: String,
    },
    /// `rsample` on a distribution without a pathwise (reparameterized) sampler.
    #[error("{dist} has no reparameterized sampler (rsample); use `sample` with a score-function estimator")]
    NotReparameterized {
        /// Distribution name.
        dist: &'static str,
    },
    /// No closed-form KL divergence is registered for this pair.
    #[error("no analytic KL divergence registered for KL({p} || {q})")]
    NoAnalyticKl {
        /// Name of the first distribution.
        p: &'static str,
        /// Name of the second distribution.
        q: &'static str,
    },
    /// No bijection from unconstrained space onto this support ([`crate::transforms::biject_to`]).
    #[error("no transform onto the support {constraint}: {reason}")]
    NoTransform {
        /// The support, e.g. `"Boolean"`.
        constraint: String,
        /// Why, and what to do instead.
        reason: &'static str,
    },
    /// The selected backend cannot run on this machine (e.g. `cuda` without a driver).
    #[error("backend `{backend}` is not available: {reason}")]
    BackendUnavailable {
        /// Backend name.
        backend: &'static str,
        /// Why it cannot run.
        reason: String,
    },
}

impl DistError {
    /// Shorthand for [`DistError::InvalidParameter`].
    pub fn invalid(dist: &'static str, param: &'static str, value: f64, reason: &'static str) -> Self {
        DistError::InvalidParameter {
            dist,
            param,
            value,
            reason,
        }
    }
}

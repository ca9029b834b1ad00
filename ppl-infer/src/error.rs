//! The error type of `ppl-infer`.

use ppl_core::CoreError;
use thiserror::Error;

/// What can go wrong while fitting or querying.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum InferError {
    /// An error from running the model or the guide (missing data, shapes, …).
    #[error("{0}")]
    Core(#[from] CoreError),
    /// The loss (or a site's log-density) was NaN or ±∞; the parameters were not updated.
    #[error("non-finite {what} at step {step}{}", site.as_ref().map(|s| format!(" (first non-finite site: `{s}`)")).unwrap_or_default())]
    NonFinite {
        /// The step (0-based) that failed.
        step: usize,
        /// What was non-finite (`"loss"`).
        what: &'static str,
        /// The first site whose log-density was non-finite, if one was.
        site: Option<String>,
    },
    /// A distribution built during SVI step `step` had invalid parameters (e.g. a scale that
    /// an update drove to zero or below); the parameters were not updated by that step.
    #[error("at step {step}, site `{site}`: invalid distribution parameters: {source}")]
    InvalidParameter {
        /// The step (0-based) that failed.
        step: usize,
        /// The site whose distribution could not be built.
        site: String,
        /// The distribution's own error (names the distribution and parameter).
        source: Box<ppl_dist::DistError>,
    },
    /// The guide samples a site the model does not have, or the model has a latent the guide
    /// does not cover.
    #[error("site `{site}`: {detail}")]
    UnmatchedSite {
        /// Site name.
        site: String,
        /// What does not match.
        detail: String,
    },
    /// An invalid configuration (batch size 0, no data, …).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A checkpoint could not be written, read, or does not fit the model.
    #[error("checkpoint {path}: {detail}")]
    Checkpoint {
        /// The checkpoint path.
        path: String,
        /// What went wrong.
        detail: String,
    },
}

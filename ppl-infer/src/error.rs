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
    /// The loss (or a site's log-density) was NaN or ±∞, or the update made a parameter
    /// NaN or ±∞; the step's update was not applied.
    #[error(
        "non-finite {what} at step {step}{}{}",
        site.as_ref().map(|s| format!(" (first non-finite site: `{s}`{}{})", row.map(|r| format!(", data row {r}")).unwrap_or_default(), detail.as_ref().map(|d| format!(": {d}")).unwrap_or_default())).unwrap_or_default(),
        restored_to_step.map(|k| format!("; the parameters are those before step {k}'s update (the update that led here was undone)")).unwrap_or_default()
    )]
    NonFinite {
        /// The step (0-based) that failed.
        step: usize,
        /// What was non-finite (`"loss"`, `"parameters after the update"`).
        what: &'static str,
        /// The first site whose log-density was non-finite, if one was.
        site: Option<String>,
        /// The first offending row of that site: the row of the bound data under
        /// [`crate::Svi::fit`] (of the minibatch passed to [`crate::Svi::step`]).
        row: Option<usize>,
        /// That row's value and log-density, when one could be found.
        detail: Option<String>,
        /// When the previous update was undone as well: the step whose update was undone
        /// (the `Svi` is back to the state it had before that step).
        restored_to_step: Option<usize>,
    },
    /// A distribution built during SVI step `step` had invalid parameters (e.g. a scale that
    /// the previous update drove to zero or below). That previous update is undone.
    #[error(
        "at step {step}, site `{site}`: invalid distribution parameters: {source}{}",
        restored_to_step.map(|k| format!("; the parameters are those before step {k}'s update (the update that produced them was undone)")).unwrap_or_default()
    )]
    InvalidParameter {
        /// The step (0-based) that failed.
        step: usize,
        /// The site whose distribution could not be built.
        site: String,
        /// The distribution's own error (names the distribution and parameter).
        source: Box<ppl_dist::DistError>,
        /// The step whose update was undone (the `Svi` is back to its state before it).
        restored_to_step: Option<usize>,
    },
    /// Bound data that neither the model nor the guide reads (usually a typo: the site it
    /// was meant for is then latent).
    #[error(
        "data bound as {names:?} is read by neither the model nor the guide; their sample sites are {sites:?}{}. \
         Fix the name, remove the entry, or set `SviConfig::allow_unused_data`",
        if hint.is_empty() { String::new() } else { format!(" ({hint})") }
    )]
    UnusedData {
        /// The unused names.
        names: Vec<String>,
        /// The sample sites of the model and guide.
        sites: Vec<String>,
        /// Likely intended sites, when a name is close to one.
        hint: String,
    },
    /// More steps were skipped (non-finite or invalid) than `SviConfig::max_skipped_fraction`
    /// allows: the fit cannot be trusted.
    #[error(
        "{skipped} of {steps} steps were skipped (non-finite loss or parameters, or invalid distribution \
         parameters), more than the allowed fraction {max_fraction}; lower the learning rate, or raise \
         `SviConfig::max_skipped_fraction`"
    )]
    TooManySkipped {
        /// Skipped steps in this fit.
        skipped: usize,
        /// Steps run in this fit.
        steps: usize,
        /// The allowed fraction.
        max_fraction: f64,
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
    /// MCMC cannot sample this model or a chain failed: a discrete latent (NUTS moves
    /// continuous ones), no finite starting point (naming the site), or an error inside a chain.
    #[error("MCMC{}: {detail}", chain.map(|c| format!(" chain {c}")).unwrap_or_default())]
    Mcmc {
        /// The chain concerned, if one.
        chain: Option<usize>,
        /// What went wrong, naming the site where one is to blame.
        detail: String,
    },
    /// An exported posterior could not be written or loaded: a missing, truncated or corrupt
    /// file, a manifest from another format or crate version, or a skeleton (model or guide)
    /// whose types or shapes differ from the exported ones. Nothing is half-loaded.
    #[error("export {path}: {file}: {detail}")]
    Export {
        /// The export directory.
        path: String,
        /// The file concerned (`manifest.json`, `guide.bpk`, …).
        file: String,
        /// What went wrong, with the expected and found values where they differ.
        detail: String,
    },
    /// Data-parallel SVI ([`crate::Svi::with_peers`]) failed: a peer did not answer within the
    /// timeout (it stopped, or never joined), the collective refused an operation, or another
    /// peer's step failed (so this one stops too, in step with it).
    #[error("peer {peer} of {peers}, step {step}: {detail}")]
    Peer {
        /// This peer's id.
        peer: usize,
        /// The number of peers.
        peers: usize,
        /// The step (this `Svi`'s count) at which it failed.
        step: usize,
        /// What went wrong.
        detail: String,
    },
}

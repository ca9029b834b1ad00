//! The error type of `ppl-core`.

use ppl_dist::DistError;
use thiserror::Error;

/// What a model author can get wrong, with the site, shapes and plate that locate it.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum CoreError {
    /// A model asked for data that was not bound (`ctx.data(name)`), or a plate has no data
    /// to take its size from.
    #[error("missing data `{site}`: {hint}")]
    MissingData {
        /// The data name (site) that was asked for.
        site: String,
        /// What to do about it.
        hint: String,
    },
    /// Data (or a distribution) whose shape does not match the site.
    #[error("at site `{site}`, invalid shape: expected {expected:?}, actual {actual:?}\n{hint}")]
    ShapeMismatch {
        /// Site name.
        site: String,
        /// The shape the site needs (plate dimensions first).
        expected: Vec<usize>,
        /// The shape it got.
        actual: Vec<usize>,
        /// A list of possible fixes.
        hint: String,
    },
    /// Two sites with the same name in one run.
    #[error("duplicate site `{0}`: every sample, param and deterministic site needs a unique name")]
    DuplicateSite(String),
    /// A plate with size 0 or a subsample larger than its size.
    #[error("plate `{plate}`: invalid size {size} with subsample size {subsample}: {reason}")]
    InvalidPlate {
        /// Plate name.
        plate: String,
        /// Declared size.
        size: usize,
        /// Declared subsample size.
        subsample: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// A distribution built inside the model had invalid parameters (or shapes).
    #[error("at site `{site}`: {source}")]
    Distribution {
        /// Site name.
        site: String,
        /// The distribution's own error (names the distribution and parameter).
        source: Box<DistError>,
    },
    /// A site whose value would have a rank outside 1 to 4 (the ranks a
    /// [`crate::Value`] holds), e.g. an autoguide built from a hand-made spec.
    #[error("at site `{site}`: rank {rank} (shape {shape:?}) is not supported; sites have rank 1 to 4")]
    UnsupportedRank {
        /// Site name.
        site: String,
        /// The rank asked for.
        rank: usize,
        /// The shape asked for.
        shape: Vec<usize>,
    },
    /// A `param` site asked for with another shape or constraint than it was created with
    /// (two parameters sharing a name, or an init whose shape changed).
    #[error(
        "param `{name}` was created with shape {stored_shape:?} ({stored_constraint:?}); this call asks for shape \
         {asked_shape:?} ({asked_constraint:?}): a param's shape and constraint are fixed when it is created — \
         rename one of the two, or keep the first's"
    )]
    ParamMismatch {
        /// Param name.
        name: String,
        /// Shape it was created with.
        stored_shape: Vec<usize>,
        /// Constraint it was created with.
        stored_constraint: ppl_dist::Constraint,
        /// Shape of this call's init.
        asked_shape: Vec<usize>,
        /// Constraint of this call.
        asked_constraint: ppl_dist::Constraint,
    },
    /// The model body panicked (e.g. a shape error inside a network); `site` is the last
    /// site that ran before the panic, `data` the names and shapes of the bound data.
    #[error(
        "the {program} panicked {}, with data {data}: {message}",
        site.as_ref().map_or("before its first site".to_string(), |s| format!("after site `{s}`"))
    )]
    ModelPanicked {
        /// Which program failed (`"model"` or `"guide"`).
        program: &'static str,
        /// The last site recorded before the panic, if any.
        site: Option<String>,
        /// The bound data, as `name [shape]` pairs.
        data: String,
        /// The panic message (burn's own, for a shape error inside a network).
        message: String,
    },
}

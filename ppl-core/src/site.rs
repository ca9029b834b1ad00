//! One recorded site: what a trace knows about a `sample`, `param` or `deterministic` call.

use burn::tensor::{backend::Backend, Tensor};

use crate::{ErasedDist, Value};

/// The kind of a site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SiteKind {
    /// A random variable (`ctx.sample`).
    Sample,
    /// A learnable parameter (`ctx.param`).
    Param,
    /// A deterministic function of other sites (`ctx.deterministic`).
    Deterministic,
    /// A term added to the trace's log-density (`ctx.factor`, Pyro's `factor`): e.g. the
    /// `−KL` of a Bayesian layer's weights.
    Factor,
}

/// A plate a site lives in, as seen by that site.
#[derive(Debug, Clone, PartialEq)]
pub struct PlateInfo {
    /// Plate name (`"data"` for `datamodel`).
    pub name: String,
    /// The dimension the plate occupies (its nesting depth).
    pub dim: usize,
    /// Full size N.
    pub size: usize,
    /// Instances present in this run M (= N unless subsampled).
    pub subsample_size: usize,
}

impl PlateInfo {
    /// Whether this is the `datamodel` plate (the one whose rows are the bound data's rows).
    pub fn is_data_plate(&self) -> bool {
        self.name == crate::DATA_PLATE
    }

    /// Whether this is the plate of vectorized particles ([`crate::Ctx::particle_plate`]).
    pub fn is_particle_plate(&self) -> bool {
        self.name == crate::PARTICLE_PLATE
    }
}

/// A recorded site.
#[derive(Debug, Clone)]
pub struct Site<B: Backend> {
    /// Unique name.
    pub name: String,
    /// Sample, param or deterministic.
    pub kind: SiteKind,
    /// The distribution (sample sites only).
    pub dist: Option<std::sync::Arc<dyn ErasedDist<B>>>,
    /// The value (drawn, replayed, substituted or observed).
    pub value: Value<B>,
    /// Whether the value came from data (or `condition`).
    pub observed: bool,
    /// Enclosing plates, outermost first.
    pub plates: Vec<PlateInfo>,
    /// The factor applied to the log-density: the product of the plates' N/M and any
    /// `scale` handler.
    pub scale: f64,
    /// Element-wise log-density (event dimensions summed, kept as size 1), unscaled and
    /// masked (sample sites only).
    pub log_prob: Option<Value<B>>,
    /// `scale · Σ log_prob`, a `[1]` tensor (sample sites only).
    pub log_prob_sum: Option<Tensor<B, 1>>,
    /// The mask a [`crate::handlers::Mask`] applied to this site's log-density (1 keeps, 0
    /// drops), if any: an estimator that replaces `log_prob` by an analytic term (the
    /// mean-field ELBO's KL) must honour it too.
    pub mask: Option<Value<B>>,
    /// Whether the value is a pathwise (reparameterized) draw.
    pub reparameterized: bool,
    /// An auxiliary guide site (Pyro's `is_auxiliary`): part of the guide's density, with no
    /// counterpart in the model (e.g. the joint latent of a full-rank autoguide).
    pub auxiliary: bool,
}

impl<B: Backend> Site<B> {
    /// Whether the site lies in the data plate (`ctx.datamodel`), at any depth.
    pub fn in_data_plate(&self) -> bool {
        self.plates.iter().any(|p| p.is_data_plate())
    }

    /// Whether this is a latent (unobserved) sample site.
    pub fn is_latent(&self) -> bool {
        self.kind == SiteKind::Sample && !self.observed
    }

    /// The value as a rank-`D` tensor (`None` if the rank differs).
    pub fn tensor<const D: usize>(&self) -> Option<Tensor<B, D>> {
        self.value.tensor::<D>()
    }
}

//! Autoguides: variational families built from the model itself, for models without a
//! hand-written Q-model (NumPyro's `AutoNormal`, `AutoMultivariateNormal`, `AutoDelta`).
//!
//! An autoguide runs the model once ([`discover`]) to find its latent sites, their shapes and
//! supports, and learns per-site parameters in unconstrained space. Latents local to a
//! subsampled plate need an amortized guide (an inference network) instead.

mod amortized;
mod delta;
mod mvn;
mod normal;

pub use amortized::{AutoAmortizedNormal, AutoAmortizedNormalConfig};
pub use delta::AutoDelta;
pub use mvn::{AutoMultivariateNormal, AUTO_LATENT};
pub use normal::AutoNormal;

use burn::tensor::{backend::Backend, Tensor, TensorData};
use ppl_core::{Data, Model};
use ppl_dist::param::float_options;
use ppl_dist::transforms::{transform_to_support, Transform, TransformedDistribution};
use ppl_dist::{Constraint, RngKey};

use crate::InferError;

/// A latent site of the model, as an autoguide sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct LatentSpec {
    /// Site name.
    pub name: String,
    /// Value shape.
    pub shape: Vec<usize>,
    /// The support its guide must respect.
    pub support: Constraint,
    /// Initial constrained value (the prior mean where it is finite, else a prior draw).
    pub init: Vec<f64>,
    /// Whether the site lies in the data plate (`ctx.datamodel`): one value per data row,
    /// what an amortized guide covers.
    pub local: bool,
    /// Whether the site lies in [`ppl_core::Ctx::particle_plate`] (its `shape` then starts
    /// with that plate's dimension, of size 1 as discovered): the guide draws it there too.
    pub particles: bool,
    /// For a support that is an interval set by the distribution's parameters (Uniform,
    /// TruncatedNormal): the per-element `(low, high)` bounds, row-major.
    pub bounds: Option<(Vec<f64>, Vec<f64>)>,
}

impl LatentSpec {
    /// The bijection from unconstrained space onto the site's support
    /// ([`transform_to_support`]: `biject_to`, or the site's own bounds for an interval).
    ///
    /// # Panics
    /// For a support without one (specs from [`discover`] always have one).
    pub fn transform(&self) -> Transform {
        transform_to_support(self.support, self.bounds.clone()).expect("discover admits only supports with a bijection")
    }
}

/// Run `model` once with `data` and list its latent sites.
///
/// Every site without data becomes a latent, so a misspelt observed name would be fitted
/// silently: bound data that the model does not read is an error here.
///
/// # Errors
/// Model errors; [`InferError::UnusedData`] for bound data the model does not read (naming
/// the site it most likely meant); [`InferError::Config`] for a latent in a subsampled plate
/// (use an amortized guide) or a support no autoguide covers (discrete latents among them).
pub fn discover<B: Backend, M: Model<B>>(
    model: &M,
    data: &Data<B>,
    device: &B::Device,
) -> Result<Vec<LatentSpec>, InferError> {
    let trace = crate::data_plan::checked_trace(model, data, RngKey::new(0).fold_in("autoguide"), device)?;
    let mut bounds = crate::data_plan::latent_interval_bounds(model, data, &trace, device)?;
    let mut specs = Vec::new();
    for s in trace.latent_sites() {
        if let Some(p) = s.plates.iter().find(|p| p.subsample_size < p.size) {
            return Err(InferError::Config(format!(
                "autoguide: latent `{}` is local to the subsampled plate `{}`; use an amortized guide (AutoAmortizedNormal for latents in the data plate)",
                s.name, p.name
            )));
        }
        let dist = s.dist.as_ref().expect("sample sites carry their distribution");
        let support = dist.support();
        let covered = matches!(
            support,
            Constraint::Real
                | Constraint::RealVector
                | Constraint::Positive
                | Constraint::NonNegative
                | Constraint::UnitInterval
                | Constraint::Simplex
                | Constraint::LowerCholesky
                | Constraint::CorrCholesky
        ) || (support == Constraint::Interval && bounds.contains_key(&s.name));
        if !covered {
            return Err(InferError::Config(format!(
                "autoguide: latent `{}` has support {support:?}; autoguides cover real, positive, unit-interval, \
                 interval, simplex and Cholesky-factor latents (discrete latents need a hand-written guide)",
                s.name
            )));
        }
        let value = s.value.to_vec();
        let init = match dist.mean().map(|m| m.to_vec()) {
            Some(m) if m.len() == value.len() && m.iter().all(|v| v.is_finite()) => m,
            _ => value,
        };
        specs.push(LatentSpec {
            name: s.name.clone(),
            shape: s.value.dims(),
            support,
            init,
            local: s.in_data_plate(),
            particles: s.plates.first().is_some_and(|p| p.is_particle_plate()),
            bounds: bounds.remove(&s.name),
        });
    }
    Ok(specs)
}

/// A tensor of rank `D` from a spec's host values.
pub(crate) fn host_tensor<B: Backend, const D: usize>(
    values: &[f64],
    shape: &[usize],
    device: &B::Device,
) -> Tensor<B, D> {
    let mut s = [0; D];
    s.copy_from_slice(shape);
    Tensor::from_data(TensorData::new(values.to_vec(), s), float_options::<B>(device))
}

/// Sample site `s` from the normal family that respects its support, with `loc` and `scale`
/// in that family's own parameterization: LogNormal for positive latents, LogitNormal for the
/// unit interval, a Normal carried by [`LatentSpec::transform`] for intervals set by the
/// parameters, the simplex (stick-breaking: `loc` and `scale` of shape `[…, K − 1]`) and the
/// Cholesky factors (`[…, 1, M]` packed triangles), Normal otherwise (what AutoNormal and AutoAmortizedNormal
/// both use).
pub(crate) fn sample_normal_family<B: Backend, const D: usize>(
    ctx: &mut ppl_core::Ctx<B>,
    s: &LatentSpec,
    loc: Tensor<B, D>,
    scale: Tensor<B, D>,
) {
    match s.support {
        Constraint::Positive | Constraint::NonNegative => {
            ctx.sample(&s.name, ppl_dist::LogNormal::new_unchecked(loc, scale));
        }
        Constraint::UnitInterval => {
            ctx.sample(&s.name, ppl_dist::LogitNormal::new_unchecked(loc, scale));
        }
        Constraint::Simplex | Constraint::LowerCholesky | Constraint::CorrCholesky | Constraint::Interval => {
            // loc and scale have the unconstrained shape (the transform's inverse_shape)
            let base = ppl_dist::Normal::new_unchecked(loc, scale);
            ctx.sample(&s.name, TransformedDistribution::new(base, s.transform()));
        }
        _ => {
            ctx.sample(&s.name, ppl_dist::Normal::new_unchecked(loc, scale));
        }
    }
}

/// Stop the guide's run with [`ppl_core::CoreError::UnsupportedRank`] for a spec whose
/// shape has a rank outside 1–4 (specs from [`discover`] never do; hand-made ones may).
pub(crate) fn unsupported_rank<B: Backend>(ctx: &mut ppl_core::Ctx<B>, s: &LatentSpec) -> ! {
    ctx.fail(ppl_core::CoreError::UnsupportedRank {
        site: s.name.clone(),
        rank: s.shape.len(),
        shape: s.shape.clone(),
    })
}

/// The one-line notice an autoguide prints before its first fit.
pub(crate) fn notice(kind: &str, sites: &[LatentSpec]) -> String {
    let names: Vec<&str> = sites.iter().map(|s| s.name.as_str()).collect();
    format!(
        "{kind} fits {} latent site(s) {names:?}; every other sample site is observed (a site missing here \
         and from the data would be fitted as a latent)",
        names.len()
    )
}

//! The Monte-Carlo ELBO with Rao-Blackwellized score-function terms: each non-reparameterized
//! site of the guide is weighted by the costs it can influence, less a baseline of its own.

use std::collections::BTreeMap;

use burn::tensor::{backend::Backend, Tensor};
use ppl_core::{Model, Trace};

use super::particles::for_each_particle;
use super::{
    require_particles, row_log_prob, zero, ElboEstimate, MonteCarloTerm, Objective, ObjectiveInput, ParticleTerm,
};
use crate::InferError;

/// The Monte-Carlo ELBO with lower-variance score-function gradients (the idea of Pyro's
/// `TraceGraph_ELBO`, Schulman et al. 2015, "Gradient estimation using stochastic
/// computation graphs"), using plate membership as the dependency structure:
///
/// * a non-reparameterized guide site **in the data plate** (one value per row, e.g. a
///   mixture assignment) is weighted, row by row, by that row's own cost — the row's model
///   and guide log-density terms, scaled as in the ELBO — plus the global terms of sites
///   that come after the data plate in either program (which may depend on every row). The
///   other rows' terms, and the global terms before the plate, cannot depend on the row's
///   draw; they only add noise, so they are left out;
/// * a non-reparameterized site **outside the data plate** is weighted by the whole ELBO;
/// * each site has its own baseline: a moving average (0.9·b + 0.1·mean cost) of the costs
///   it was weighted by, updated after an evaluation whose ELBO is finite, saved in
///   checkpoints.
///
/// Pathwise gradients flow through reparameterized sites as in [`super::TraceElbo`], and the
/// value is the same ELBO. The score function is the unscaled log-density of the draws.
///
/// The rows of the data plate must be conditionally independent given the global latents, as
/// a plate declares: a row's latent may not feed another row's sites.
///
/// # Errors
/// [`InferError::Config`] for zero particles, or when a data-plate site's log-density does
/// not have the plate's rows first.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TraceGraphElbo {
    particles: usize,
    baselines: BTreeMap<String, f64>,
}

impl TraceGraphElbo {
    /// The estimator over `particles` draws per evaluation, with no baselines yet.
    pub fn new(particles: usize) -> Self {
        TraceGraphElbo {
            particles,
            baselines: BTreeMap::new(),
        }
    }

    /// Draws per evaluation.
    pub fn particles(&self) -> usize {
        self.particles
    }

    /// The same estimator and baselines with another number of draws.
    pub fn with_particles(mut self, particles: usize) -> Self {
        self.particles = particles;
        self
    }

    /// The per-site baselines, by site name (absent before a site's first finite evaluation).
    pub fn baselines(&self) -> &BTreeMap<String, f64> {
        &self.baselines
    }

    /// Set the per-site baselines (checkpoints, undone steps).
    pub fn set_baselines(&mut self, baselines: BTreeMap<String, f64>) {
        self.baselines = baselines;
    }
}

/// A trace's terms as seen by one row: per row, the scaled log-densities of its data-plate
/// sites (`[rows]`), and the scaled global terms of the sites after the first data-plate site
/// (`[1]`). `None` when the trace has no data-plate site.
fn row_costs<B: Backend>(trace: &Trace<B>, rows: usize) -> Result<(Tensor<B, 1>, Tensor<B, 1>), InferError> {
    let device = trace.sites().first().map(|s| s.value.device()).unwrap_or_default();
    let mut per_row: Tensor<B, 1> = Tensor::zeros([rows], ppl_dist::param::float_options::<B>(&device));
    let mut late = zero::<B>(&device);
    let mut after_plate = false;
    for s in trace.sites() {
        let (Some(lp), Some(lp_sum)) = (&s.log_prob, &s.log_prob_sum) else {
            continue;
        };
        if !s.in_data_plate() {
            if after_plate {
                late = late + lp_sum.clone();
            }
            continue;
        }
        after_plate = true;
        per_row = per_row + row_log_prob("Elbo::TraceGraph", s, lp, rows)? * s.scale;
    }
    Ok((per_row, late))
}

/// The rows of the data plate in this particle: those of its first local non-reparameterized
/// guide site.
fn plate_rows<B: Backend>(guide: &Trace<B>) -> Option<usize> {
    guide
        .latent_sites()
        .find(|s| !s.reparameterized && s.in_data_plate())
        .and_then(|s| s.log_prob.as_ref().map(|lp| lp.dims()[0]))
}

impl<B: Backend> Objective<B> for TraceGraphElbo {
    fn estimate<P: Model<B>, Q: Model<B>>(
        &mut self,
        input: ObjectiveInput<'_, B, P, Q>,
    ) -> Result<ElboEstimate<B>, InferError> {
        require_particles(self.particles)?;
        let device = input.device;
        let mut surrogate = zero::<B>(device);
        let mut total = 0.0;
        // Per site: the sum over particles of the mean cost it was weighted by.
        let mut seen: BTreeMap<String, f64> = BTreeMap::new();
        let (params, traces) = for_each_particle(input, self.particles, |guide, model| {
            let elbo_k = MonteCarloTerm.elbo(guide, model, device);
            let value = ppl_dist::param::host_values(&elbo_k)[0];
            let mut s = elbo_k;
            let local_cost = match plate_rows(guide) {
                Some(rows) => {
                    let (m_rows, m_late) = row_costs(model, rows)?;
                    let (g_rows, g_late) = row_costs(guide, rows)?;
                    let cost = (m_rows - g_rows + (m_late - g_late)).detach();
                    let mean = ppl_dist::param::host_values(&cost.clone().mean())[0];
                    Some((rows, cost, mean))
                }
                None => None,
            };
            for site in guide.latent_sites().filter(|s| !s.reparameterized) {
                let Some(lp) = &site.log_prob else { continue };
                let b = self.baselines.get(&site.name).copied().unwrap_or(0.0);
                match &local_cost {
                    Some((rows, cost, mean)) if site.in_data_plate() => {
                        let score = row_log_prob("Elbo::TraceGraph", site, lp, *rows)?;
                        s = s + (score * (cost.clone() - b)).sum();
                        *seen.entry(site.name.clone()).or_default() += mean;
                    }
                    _ => {
                        s = s + lp.sum() * (value - b);
                        *seen.entry(site.name.clone()).or_default() += value;
                    }
                }
            }
            surrogate = surrogate.clone() + s;
            total += value;
            Ok(())
        })?;
        let elbo = total / self.particles as f64;
        if elbo.is_finite() {
            for (name, sum) in seen {
                let mean = sum / self.particles as f64;
                if mean.is_finite() {
                    let b = self.baselines.get(&name).map_or(mean, |b| 0.9 * b + 0.1 * mean);
                    self.baselines.insert(name, b);
                }
            }
        }
        Ok(ElboEstimate {
            surrogate_loss: surrogate.neg() / self.particles as f64,
            elbo,
            traces,
            params,
        })
    }
}

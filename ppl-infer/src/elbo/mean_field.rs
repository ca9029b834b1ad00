//! The ELBO with analytic KL terms (Pyro's `TraceMeanField_ELBO`).

use burn::tensor::backend::Backend;
use ppl_core::Model;

use super::particles::particle_average;
use super::{zero, ElboEstimate, Objective, ObjectiveInput};
use crate::InferError;

/// As [`super::TraceElbo`], but each latent site whose (guide, model) pair has a closed-form
/// KL in `ppl-dist`'s registry contributes `−scale · Σ KL(q ‖ p)` instead of its Monte-Carlo
/// term `ln p − ln q` (lower variance, same expectation). A site under a
/// [`ppl_core::handlers::Mask`] in the model or the guide keeps its Monte-Carlo term: the
/// masks already apply there on both sides, and a KL cannot tell which elements each side
/// dropped.
#[derive(Debug, Clone, PartialEq)]
pub struct MeanFieldElbo {
    particles: usize,
    baseline: Option<f64>,
}

impl MeanFieldElbo {
    /// The estimator over `particles` draws per evaluation (0 is an error at evaluation).
    pub fn new(particles: usize) -> Self {
        MeanFieldElbo {
            particles,
            baseline: None,
        }
    }

    /// Draws per evaluation.
    pub fn particles(&self) -> usize {
        self.particles
    }

    /// The same estimator and baseline with another number of draws.
    pub fn with_particles(mut self, particles: usize) -> Self {
        self.particles = particles;
        self
    }

    /// The score-function baseline of the sites without a closed-form KL.
    pub fn baseline(&self) -> Option<f64> {
        self.baseline
    }

    /// Set the score-function baseline (checkpoints).
    pub fn set_baseline(&mut self, baseline: Option<f64>) {
        self.baseline = baseline;
    }
}

impl<B: Backend> Objective<B> for MeanFieldElbo {
    fn estimate<P: Model<B>, Q: Model<B>>(
        &mut self,
        input: ObjectiveInput<'_, B, P, Q>,
    ) -> Result<ElboEstimate<B>, InferError> {
        let device = input.device;
        particle_average(input, self.particles, &mut self.baseline, |guide, model| {
            let mut acc = zero::<B>(device);
            for m in model.sites() {
                let Some(lp) = &m.log_prob_sum else { continue };
                if m.observed {
                    acc = acc + lp.clone();
                    continue;
                }
                let g = guide.site(&m.name).expect("matched by run_particle");
                let kl = match (&g.dist, &m.dist) {
                    (Some(gd), Some(md)) if m.mask.is_none() && g.mask.is_none() => gd.kl_to(md.as_ref()).ok(),
                    _ => None,
                };
                acc = match kl {
                    Some(kl) => acc - kl.sum() * m.scale,
                    None => acc + lp.clone() - g.log_prob_sum.clone().expect("sample site"),
                };
            }
            acc
        })
    }
}

//! The Monte-Carlo ELBO.

use burn::tensor::backend::Backend;
use ppl_core::Model;

use super::particles::particle_average;
use super::{zero, ElboEstimate, Objective, ObjectiveInput};
use crate::InferError;

/// The Monte-Carlo ELBO `E_q[ln p(x, z) − ln q(z)]` averaged over `particles` draws (Pyro's
/// `Trace_ELBO`): pathwise gradients through reparameterized sites, score-function
/// (REINFORCE) gradients for the others, with a moving-average baseline (0.9·b + 0.1·ELBO)
/// that this estimator owns.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceElbo {
    particles: usize,
    baseline: Option<f64>,
}

impl TraceElbo {
    /// The ELBO over `particles` draws per evaluation (0 is an error at evaluation).
    pub fn new(particles: usize) -> Self {
        TraceElbo {
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

    /// The score-function baseline (`None` before the first finite evaluation).
    pub fn baseline(&self) -> Option<f64> {
        self.baseline
    }

    /// Set the score-function baseline (checkpoints).
    pub fn set_baseline(&mut self, baseline: Option<f64>) {
        self.baseline = baseline;
    }
}

impl<B: Backend> Objective<B> for TraceElbo {
    fn estimate<P: Model<B>, Q: Model<B>>(
        &mut self,
        input: ObjectiveInput<'_, B, P, Q>,
    ) -> Result<ElboEstimate<B>, InferError> {
        let device = input.device;
        particle_average(input, self.particles, &mut self.baseline, |guide, model| {
            let zero = zero::<B>(device);
            model.log_joint().unwrap_or(zero.clone()) - guide.log_joint().unwrap_or(zero)
        })
    }
}

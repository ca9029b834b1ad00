//! The Monte-Carlo ELBO.

use burn::tensor::{backend::Backend, Tensor};
use ppl_core::Trace;

use super::particles::{ParticleElbo, ParticleTerm};
use super::zero;

/// The Monte-Carlo ELBO `E_q[ln p(x, z) − ln q(z)]` averaged over particles (Pyro's
/// `Trace_ELBO`): pathwise gradients through reparameterized sites, score-function
/// (REINFORCE) gradients for the others, with the moving-average baseline of
/// [`ParticleElbo`]. `TraceElbo::new(particles)`.
pub type TraceElbo = ParticleElbo<MonteCarloTerm>;

/// The per-particle term of [`TraceElbo`]: `ln p(x, z) − ln q(z)` summed over all sites.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MonteCarloTerm;

impl ParticleTerm for MonteCarloTerm {
    fn elbo<B: Backend>(&self, guide: &Trace<B>, model: &Trace<B>, device: &B::Device) -> Tensor<B, 1> {
        model.log_joint().unwrap_or_else(|| zero(device)) - guide.log_joint().unwrap_or_else(|| zero(device))
    }
}

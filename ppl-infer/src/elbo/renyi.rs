//! The Rényi-α bound (IWAE at α = 0).

use burn::tensor::{backend::Backend, Tensor};
use ppl_core::Model;

use super::particles::for_each_particle;
use super::{zero, ElboEstimate, Objective, ObjectiveInput};
use crate::InferError;

/// The Rényi-α bound `1/(1−α) · ln mean_k exp((1−α) w_k)` over `particles` importance
/// weights `w_k = ln p(x, z_k) − ln q(z_k)` (Li & Turner 2016; α = 0 is the IWAE bound,
/// α → 1 the ELBO). Pathwise gradients only: a guide with a non-reparameterized site is an
/// error.
#[derive(Debug, Clone, PartialEq)]
pub struct RenyiElbo {
    alpha: f64,
    particles: usize,
}

impl RenyiElbo {
    /// The bound of order `alpha` over `particles` importance samples (α = 1 or zero
    /// particles are errors at evaluation).
    pub fn new(alpha: f64, particles: usize) -> Self {
        RenyiElbo { alpha, particles }
    }

    /// α.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    /// Importance samples per evaluation.
    pub fn particles(&self) -> usize {
        self.particles
    }
}

impl<B: Backend> Objective<B> for RenyiElbo {
    fn estimate<P: Model<B>, Q: Model<B>>(
        &mut self,
        input: ObjectiveInput<'_, B, P, Q>,
    ) -> Result<ElboEstimate<B>, InferError> {
        let (alpha, particles) = (self.alpha, self.particles);
        if (alpha - 1.0).abs() < 1e-12 || particles == 0 {
            return Err(InferError::Config(
                "the Rényi bound needs α ≠ 1 and at least one particle".into(),
            ));
        }
        let device = input.device;
        let mut weights = Vec::with_capacity(particles);
        let (params, traces) = for_each_particle(input, particles, |guide, model| {
            if let Some(s) = guide.latent_sites().find(|s| !s.reparameterized) {
                return Err(InferError::Config(format!(
                    "the Rényi bound needs reparameterized guide sites; `{}` is not (use Elbo::Trace)",
                    s.name
                )));
            }
            weights.push(
                model.log_joint().unwrap_or_else(|| zero(device)) - guide.log_joint().unwrap_or_else(|| zero(device)),
            );
            Ok(())
        })?;
        // (1/(1−α)) · (logsumexp((1−α) w) − ln K)
        let w = Tensor::cat(weights, 0) * (1.0 - alpha);
        let bound = (ppl_dist::special::log_sum_exp(w, 0) - (particles as f64).ln()) / (1.0 - alpha);
        let elbo = ppl_dist::param::host_values(&bound)[0];
        Ok(ElboEstimate {
            surrogate_loss: bound.neg(),
            elbo,
            traces,
            params,
        })
    }
}

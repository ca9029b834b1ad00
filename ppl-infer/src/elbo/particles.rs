//! The particle loop shared by every estimator ([`for_each_particle`]), and
//! [`ParticleElbo`]: an ELBO averaged over particles, whose per-particle term ([`ParticleTerm`])
//! is what tells [`super::TraceElbo`] and [`super::MeanFieldElbo`] apart.

use burn::tensor::{backend::Backend, Tensor};
use ppl_core::{Model, Trace};

use super::{require_particles, run_particle, zero, ElboEstimate, Objective, ObjectiveInput, Particle};
use crate::InferError;

/// The guide and model traces of one particle.
pub(super) type Traces<B> = (Trace<B>, Trace<B>);

/// Run guide and model `particles` times (particle `k` with the key folded with `k`), calling
/// `visit(guide, model)` after each; returns the parameter store after the last run and the
/// last particle's traces.
pub(super) fn for_each_particle<B: Backend, P: Model<B>, Q: Model<B>>(
    input: ObjectiveInput<'_, B, P, Q>,
    particles: usize,
    mut visit: impl FnMut(&Trace<B>, &Trace<B>) -> Result<(), InferError>,
) -> Result<(ppl_core::ParamStore<B>, Traces<B>), InferError> {
    let ObjectiveInput {
        model: p,
        guide: q,
        batch,
        mut params,
        key,
        device,
    } = input;
    let mut last = None;
    for k in 0..particles {
        let Particle {
            guide,
            model,
            params: ps,
        } = run_particle(p, q, &batch, params, &key.fold_in_u64(k as u64), device)?;
        params = ps;
        visit(&guide, &model)?;
        last = Some((guide, model));
    }
    let last = last.ok_or_else(|| InferError::Config("the objective needs at least one particle".into()))?;
    Ok((params, last))
}

/// What one particle contributes to a [`ParticleElbo`]: a `[1]` tensor whose value is that
/// particle's ELBO and whose pathwise gradient is the estimator's (score-function terms are
/// added by [`ParticleElbo`]).
pub trait ParticleTerm: std::fmt::Debug + Clone + PartialEq + Default {
    /// The ELBO term of one particle from its guide and model traces.
    fn elbo<B: Backend>(&self, guide: &Trace<B>, model: &Trace<B>, device: &B::Device) -> Tensor<B, 1>;
}

/// An ELBO averaged over `particles` runs of guide and model, with the per-particle term `T`
/// and a moving-average score-function baseline (0.9·b + 0.1·ELBO, updated when an
/// evaluation's ELBO is finite) for the guide's non-reparameterized sites. The state is its
/// own: the number of particles and the baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct ParticleElbo<T: ParticleTerm> {
    particles: usize,
    baseline: Option<f64>,
    term: T,
}

impl<T: ParticleTerm> ParticleElbo<T> {
    /// The estimator over `particles` draws per evaluation (0 is an error at evaluation).
    pub fn new(particles: usize) -> Self {
        ParticleElbo {
            particles,
            baseline: None,
            term: T::default(),
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

/// The score function: `Σ` of the log-densities of the guide's non-reparameterized draws,
/// **unscaled**. It is the log-density of the values actually drawn — a minibatch's M rows,
/// not the N/M-scaled stand-in for all N rows that the ELBO's terms are — so a plate's N/M
/// scale must not enter it (Pyro's `ScoreParts` leaves it unscaled too). Scaled, a
/// minibatched discrete latent's gradient came out N/M times too large. Particles drawn in
/// one pass ([`ppl_core::Ctx::particle_plate`]) count 1/K each, as K averaged runs do.
fn score_terms<B: Backend>(guide: &Trace<B>, device: &B::Device) -> Option<Tensor<B, 1>> {
    let mut any = false;
    let mut acc = zero::<B>(device);
    for s in guide.latent_sites().filter(|s| !s.reparameterized) {
        if let Some(lp) = &s.log_prob {
            // K particles drawn in one pass: each particle's score counts 1/K, as in a loop
            // of K runs averaged (the rows of a data plate are one particle's joint draw).
            acc = match s
                .plates
                .first()
                .filter(|p| p.is_particle_plate() && p.subsample_size > 1)
            {
                Some(p) => acc + lp.sum() / p.subsample_size as f64,
                None => acc + lp.sum(),
            };
            any = true;
        }
    }
    any.then_some(acc)
}

impl<B: Backend, T: ParticleTerm> Objective<B> for ParticleElbo<T> {
    fn estimate<P: Model<B>, Q: Model<B>>(
        &mut self,
        input: ObjectiveInput<'_, B, P, Q>,
    ) -> Result<ElboEstimate<B>, InferError> {
        require_particles(self.particles)?;
        let device = input.device;
        let baseline = self.baseline.unwrap_or(0.0);
        let mut surrogate: Option<Tensor<B, 1>> = None;
        let mut total = 0.0;
        let (params, traces) = for_each_particle(input, self.particles, |guide, model| {
            let elbo_k = self.term.elbo(guide, model, device);
            let value = ppl_dist::param::host_values(&elbo_k)[0];
            let mut s = elbo_k;
            if let Some(log_q) = score_terms(guide, device) {
                // REINFORCE: ∇ E_q[f] = E_q[f ∇ ln q] (+ pathwise parts), with a baseline b
                // that does not depend on this draw (a moving average of earlier ELBOs; 0
                // before any): surrogate = elbo + ln q · stop_grad(elbo − b).
                s = s + log_q * (value - baseline);
            }
            surrogate = Some(match surrogate.take() {
                Some(acc) => acc + s,
                None => s,
            });
            total += value;
            Ok(())
        })?;
        let elbo = total / self.particles as f64;
        if elbo.is_finite() {
            self.baseline = Some(match self.baseline {
                Some(b) => 0.9 * b + 0.1 * elbo,
                None => elbo,
            });
        }
        Ok(ElboEstimate {
            // −Σ/n in one operation: (−x)/n and x/(−n) round alike.
            surrogate_loss: surrogate.expect("for_each_particle ran at least one particle") / -(self.particles as f64),
            elbo,
            traces,
            params,
        })
    }
}

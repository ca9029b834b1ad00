//! The particle loop shared by the Monte-Carlo ELBOs: run guide and model `particles` times,
//! average a per-particle ELBO, and add the score-function terms of non-reparameterized sites.

use burn::tensor::{backend::Backend, Tensor};
use ppl_core::{Model, Trace};

use super::{run_particle, zero, ElboEstimate, ObjectiveInput, Particle};
use crate::InferError;

/// `Σ` of the scaled log-densities of the guide's non-reparameterized sample sites.
fn score_terms<B: Backend>(guide: &Trace<B>, device: &B::Device) -> Option<Tensor<B, 1>> {
    let mut any = false;
    let mut acc = zero::<B>(device);
    for s in guide.latent_sites().filter(|s| !s.reparameterized) {
        if let Some(lp) = &s.log_prob_sum {
            acc = acc + lp.clone();
            any = true;
        }
    }
    any.then_some(acc)
}

/// Average `per_particle(guide, model)` over `particles` runs; score-function terms use the
/// moving-average `baseline`, which is updated with this evaluation's ELBO when it is finite.
pub(super) fn particle_average<B: Backend, P: Model<B>, Q: Model<B>>(
    input: ObjectiveInput<'_, B, P, Q>,
    particles: usize,
    baseline: &mut Option<f64>,
    per_particle: impl Fn(&Trace<B>, &Trace<B>) -> Tensor<B, 1>,
) -> Result<ElboEstimate<B>, InferError> {
    if particles == 0 {
        return Err(InferError::Config("the ELBO needs at least one particle".into()));
    }
    let ObjectiveInput {
        model: p,
        guide: q,
        batch,
        mut params,
        key,
        device,
    } = input;
    let mut surrogate = zero::<B>(device);
    let mut total = 0.0;
    let mut last = None;
    for k in 0..particles {
        let Particle {
            guide,
            model,
            params: ps,
        } = run_particle(p, q, &batch, params, &key.fold_in_u64(k as u64), device)?;
        params = ps;
        let elbo_k = per_particle(&guide, &model);
        let value = ppl_dist::param::host_values(&elbo_k)[0];
        let mut s = elbo_k;
        if let Some(log_q) = score_terms(&guide, device) {
            // REINFORCE: ∇ E_q[f] = E_q[f ∇ ln q] (+ pathwise parts), with a baseline b that
            // does not depend on this draw (a moving average of earlier ELBOs; 0 before any):
            // surrogate = elbo + ln q · stop_grad(elbo − b).
            let b = baseline.unwrap_or(0.0);
            s = s + log_q * (value - b);
        }
        surrogate = surrogate + s;
        total += value;
        last = Some((guide, model));
    }
    let elbo = total / particles as f64;
    if elbo.is_finite() {
        *baseline = Some(match *baseline {
            Some(b) => 0.9 * b + 0.1 * elbo,
            None => elbo,
        });
    }
    Ok(ElboEstimate {
        surrogate_loss: surrogate.neg() / particles as f64,
        elbo,
        traces: last.expect("at least one particle"),
        params,
    })
}

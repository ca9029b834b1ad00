use burn::tensor::{backend::Backend, Tensor};
use ppl_core::{Model, ParamStore, Trace};
use ppl_dist::RngKey;

use super::{run_particle, zero, Batch, ElboEstimate};
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

/// Shared particle loop: `elbo_k` from `per_particle`, plus score-function terms.
#[allow(clippy::too_many_arguments)]
fn particle_average<B: Backend, P: Model<B>, Q: Model<B>>(
    p: &P,
    q: &Q,
    batch: &Batch<'_, B>,
    params: ParamStore<B>,
    key: &RngKey,
    particles: usize,
    baseline: &mut Option<f64>,
    device: &B::Device,
    per_particle: impl Fn(&Trace<B>, &Trace<B>) -> Tensor<B, 1>,
) -> Result<ElboEstimate<B>, InferError> {
    if particles == 0 {
        return Err(InferError::Config("the ELBO needs at least one particle".into()));
    }
    let mut params = params;
    let mut surrogate = zero::<B>(device);
    let mut total = 0.0;
    let mut last = None;
    for k in 0..particles {
        let super::Particle {
            guide,
            model,
            params: ps,
        } = run_particle(p, q, batch, params, &key.fold_in_u64(k as u64), device)?;
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

/// The Monte-Carlo ELBO (see [`crate::Elbo::Trace`]).
///
/// # Errors
/// Errors of the model or guide runs, and [`InferError::UnmatchedSite`].
#[allow(clippy::too_many_arguments)]
pub fn trace_elbo<B: Backend, P: Model<B>, Q: Model<B>>(
    p: &P,
    q: &Q,
    batch: &Batch<'_, B>,
    params: ParamStore<B>,
    key: &RngKey,
    particles: usize,
    baseline: &mut Option<f64>,
    device: &B::Device,
) -> Result<ElboEstimate<B>, InferError> {
    particle_average(p, q, batch, params, key, particles, baseline, device, |guide, model| {
        let zero = zero::<B>(device);
        model.log_joint().unwrap_or(zero.clone()) - guide.log_joint().unwrap_or(zero)
    })
}

/// The ELBO with analytic KL terms where the registry has them (see
/// [`crate::Elbo::MeanField`]).
///
/// # Errors
/// As [`trace_elbo`].
#[allow(clippy::too_many_arguments)]
pub fn mean_field_elbo<B: Backend, P: Model<B>, Q: Model<B>>(
    p: &P,
    q: &Q,
    batch: &Batch<'_, B>,
    params: ParamStore<B>,
    key: &RngKey,
    particles: usize,
    baseline: &mut Option<f64>,
    device: &B::Device,
) -> Result<ElboEstimate<B>, InferError> {
    particle_average(p, q, batch, params, key, particles, baseline, device, |guide, model| {
        let mut acc = zero::<B>(device);
        for m in model.sites() {
            let Some(lp) = &m.log_prob_sum else { continue };
            if m.observed {
                acc = acc + lp.clone();
                continue;
            }
            let g = guide.site(&m.name).expect("matched by run_particle");
            // A masked site keeps its Monte-Carlo term: the masks already apply to both
            // log-densities there, and a KL cannot tell which elements each side dropped.
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

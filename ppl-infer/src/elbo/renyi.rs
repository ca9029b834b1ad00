use burn::tensor::{backend::Backend, Tensor};
use ppl_core::{Model, ParamStore};
use ppl_dist::RngKey;

use super::{run_particle, zero, Batch, ElboEstimate};
use crate::InferError;

/// The Rényi-α bound over `particles` importance weights (see [`crate::Elbo::Renyi`]).
///
/// # Errors
/// As the ELBO runs, and [`InferError::Config`] for α = 1 or guides with
/// non-reparameterized sites.
#[allow(clippy::too_many_arguments)]
pub fn renyi_bound<B: Backend, P: Model<B>, Q: Model<B>>(
    p: &P,
    q: &Q,
    batch: &Batch<'_, B>,
    params: ParamStore<B>,
    key: &RngKey,
    alpha: f64,
    particles: usize,
    device: &B::Device,
) -> Result<ElboEstimate<B>, InferError> {
    if (alpha - 1.0).abs() < 1e-12 || particles == 0 {
        return Err(InferError::Config(
            "the Rényi bound needs α ≠ 1 and at least one particle".into(),
        ));
    }
    let mut params = params;
    let mut weights = Vec::with_capacity(particles);
    let mut last = None;
    for k in 0..particles {
        let super::Particle {
            guide,
            model,
            params: ps,
        } = run_particle(p, q, batch, params, &key.fold_in_u64(k as u64), device)?;
        params = ps;
        if let Some(s) = guide.latent_sites().find(|s| !s.reparameterized) {
            return Err(InferError::Config(format!(
                "the Rényi bound needs reparameterized guide sites; `{}` is not (use Elbo::Trace)",
                s.name
            )));
        }
        weights.push(
            model.log_joint().unwrap_or_else(|| zero(device)) - guide.log_joint().unwrap_or_else(|| zero(device)),
        );
        last = Some((guide, model));
    }
    // (1/(1−α)) · (logsumexp((1−α) w) − ln K)
    let w = Tensor::cat(weights, 0) * (1.0 - alpha);
    let bound = (ppl_dist::special::log_sum_exp(w, 0) - (particles as f64).ln()) / (1.0 - alpha);
    let elbo = ppl_dist::param::host_values(&bound)[0];
    Ok(ElboEstimate {
        surrogate_loss: bound.neg(),
        elbo,
        traces: last.expect("particles"),
        params,
    })
}

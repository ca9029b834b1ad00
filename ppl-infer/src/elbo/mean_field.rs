//! The ELBO with analytic KL terms (Pyro's `TraceMeanField_ELBO`).

use burn::tensor::{backend::Backend, Tensor};
use ppl_core::Trace;

use super::particles::{ParticleElbo, ParticleTerm};
use super::zero;

/// As [`super::TraceElbo`], but each latent site whose (guide, model) pair has a closed-form
/// KL in `ppl-dist`'s registry contributes `−scale · Σ KL(q ‖ p)` instead of its Monte-Carlo
/// term `ln p − ln q` (lower variance, same expectation). A site under a
/// [`ppl_core::handlers::Mask`] in the model or the guide keeps its Monte-Carlo term: the
/// masks already apply there on both sides, and a KL cannot tell which elements each side
/// dropped. `MeanFieldElbo::new(particles)`.
pub type MeanFieldElbo = ParticleElbo<AnalyticKlTerm>;

/// The per-particle term of [`MeanFieldElbo`]: observed log-likelihoods, minus the analytic
/// KL of each latent site that has one, plus `ln p − ln q` for the others, minus `ln q` of
/// the guide's terms that pair with no model site (auxiliary sites, guide factors).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AnalyticKlTerm;

impl ParticleTerm for AnalyticKlTerm {
    fn elbo<B: Backend>(&self, guide: &Trace<B>, model: &Trace<B>, device: &B::Device) -> Tensor<B, 1> {
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
        // Guide terms with no model site to pair with — an auxiliary joint site
        // (AutoMultivariateNormal's), a guide `factor` — keep their Monte-Carlo `−ln q`:
        // leaving them out would drop the guide's entropy.
        for g in guide.sites() {
            if let Some(lp) = &g.log_prob_sum {
                if model.site(&g.name).is_none() {
                    acc = acc - lp.clone();
                }
            }
        }
        acc
    }
}

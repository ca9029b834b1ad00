//! From a fit to its [`Posterior`]: [`Svi::to_posterior`] and the query shortcuts on `Svi`.

use burn::module::Module;
use burn::tensor::Tensor;
use ppl_core::Data;
use ppl_dist::kernels::TrainingBackend;
use ppl_dist::RngKey;

use crate::elbo::{Batch, ObjectiveInput};

use crate::svi::release_autodiff_graphs;
use crate::{InferError, Posterior, Query, Svi, SviGuide, SviModel};

impl<B: TrainingBackend, P: SviModel<B>, Q: SviGuide<B>> Svi<B, P, Q> {
    /// The fitted posterior as a value of its own: the current model, guide and `param`
    /// store with gradient tracking off (tensors are shared, not copied), the seed, the
    /// query chunk size and the guide's latent names. Later steps of this `Svi` do not change
    /// it, and it outlives the `Svi`.
    pub fn to_posterior(&self) -> Posterior<B, P, Q> {
        let m = Module::no_grad(self.modules_ref().clone());
        Posterior::new(m.p, m.q, m.params, self.config().seed, self.device())
            .with_chunk(self.chunk())
            .with_guide_latents(self.guide_latents().to_vec())
            .with_release(release_autodiff_graphs::<B>)
    }

    /// [`Posterior::posterior`] of the current fit.
    ///
    /// # Errors
    /// As [`Posterior::posterior`].
    pub fn posterior(&self, targets: &[&str], data: &Data<B>) -> Result<Query<B>, InferError> {
        self.to_posterior().posterior(targets, data)
    }

    /// [`Posterior::posterior_predictive`] of the current fit.
    ///
    /// # Errors
    /// As [`Posterior::posterior_predictive`].
    pub fn posterior_predictive(&self, targets: &[&str], data: &Data<B>) -> Result<Query<B>, InferError> {
        self.to_posterior().posterior_predictive(targets, data)
    }

    /// [`Posterior::posterior_predictive_samples`] of the current fit.
    ///
    /// # Errors
    /// As [`Posterior::posterior_predictive`].
    pub fn posterior_predictive_samples(
        &self,
        targets: &[&str],
        data: &Data<B>,
        num_samples: usize,
    ) -> Result<Vec<Query<B>>, InferError> {
        self.to_posterior()
            .posterior_predictive_samples(targets, data, num_samples)
    }

    /// [`Posterior::prior`] of the current model.
    ///
    /// # Errors
    /// As [`Posterior::prior`].
    pub fn prior(&self, targets: &[&str], data: &Data<B>, instances: usize) -> Result<Query<B>, InferError> {
        self.to_posterior().prior(targets, data, instances)
    }

    /// The posterior over the model's enumerated discrete site for each row of `data`
    /// (Pyro's `infer_discrete`, as probabilities): `p(c = k | x, z) ∝ p(x, c = k, z)`, the
    /// other latents z drawn once from the guide with a key fixed by the seed. Returns the
    /// site's name and a `[rows, K]` tensor (rows sum to 1), computed in chunks of
    /// `query_chunk` rows without gradients. See [`crate::elbo::TraceEnumElbo`] for what can
    /// be enumerated.
    ///
    /// # Errors
    /// [`InferError::Config`] when the model has no discrete per-row latent to enumerate, or
    /// one that cannot be; data-plan, model or guide errors.
    pub fn enumerated_posterior(&self, data: &Data<B>) -> Result<(String, Tensor<B, 2>), InferError> {
        let key = RngKey::new(self.config().seed).fold_in("enumerated posterior");
        self.with_frozen(|m| {
            let data = self.plan_data(m, data)?;
            let n = data.rows()?.unwrap_or(1);
            let mut name = String::new();
            let mut parts = Vec::new();
            for start in (0..n).step_by(self.chunk()) {
                let rows = self.chunk().min(n - start);
                let part = data.narrow_rows(start, rows);
                // The other latents are one draw for all rows (the same key in every chunk);
                // each chunk's local ones come from its own stream.
                let input = ObjectiveInput::new(
                    &m.p,
                    &m.q,
                    Batch {
                        local_stream: start as u64,
                        ..Batch::new(&part, n).with_scorer(Self::SCORER)
                    },
                    &key,
                    self.device(),
                )
                .with_params(m.params.clone());
                let (site, probs) = crate::elbo::enumerated_posterior(input)?;
                name = site;
                parts.push(probs.detach());
            }
            Ok((name, Tensor::cat(parts, 0)))
        })
    }
}

//! From a fit to its [`Posterior`]: [`Svi::to_posterior`] and the query shortcuts on `Svi`.

use burn::module::Module;
use burn::tensor::backend::AutodiffBackend;
use ppl_core::Data;

use crate::svi::release_autodiff_graphs;
use crate::{InferError, Posterior, Query, Svi, SviGuide, SviModel};

impl<B: AutodiffBackend, P: SviModel<B>, Q: SviGuide<B>> Svi<B, P, Q> {
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
}

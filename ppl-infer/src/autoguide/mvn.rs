use burn::module::Module;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use ppl_core::{Ctx, Data, Model};
use ppl_dist::special::{inverse_softplus, softplus};
use ppl_dist::{Constraint, Deterministic, MultivariateNormal};

use super::{discover, host_tensor, unsupported_rank, LatentSpec};
use crate::{InferError, Locality, VariationalFamily};

/// Full-rank autoguide over the real-valued latents: one multivariate normal over all their
/// elements, concatenated (`_auto_latent.loc` `[1, d]`, and `_auto_latent.scale_tril`, whose
/// diagonal is kept positive by softplus), so posterior correlations between latents are
/// learned. Each model latent takes its slice of the joint draw as a point mass.
#[derive(Module, Debug, Clone)]
pub struct AutoMultivariateNormal {
    #[module(skip)]
    sites: Vec<LatentSpec>,
    #[module(skip)]
    init_scale: f64,
}

/// The joint latent's site name.
pub const AUTO_LATENT: &str = "_auto_latent";

impl AutoMultivariateNormal {
    /// The names of the latent sites it fits, in the model's order (everything else the
    /// model samples is observed).
    pub fn latents(&self) -> Vec<&str> {
        self.sites.iter().map(|s| s.name.as_str()).collect()
    }

    /// Build the guide for `model`'s latents (one model run with `data`).
    ///
    /// # Errors
    /// As [`discover`], and [`InferError::Config`] for a latent that is not real-valued
    /// (use [`super::AutoNormal`], which handles constrained supports).
    pub fn new<B: Backend, M: Model<B>>(model: &M, data: &Data<B>, device: &B::Device) -> Result<Self, InferError> {
        let sites = discover(model, data, device)?;
        if let Some(s) = sites
            .iter()
            .find(|s| !matches!(s.support, Constraint::Real | Constraint::RealVector))
        {
            return Err(InferError::Config(format!(
                "AutoMultivariateNormal covers real-valued latents; `{}` has support {:?} (use AutoNormal)",
                s.name, s.support
            )));
        }
        Ok(AutoMultivariateNormal { sites, init_scale: 0.1 })
    }

    /// Total number of latent elements d.
    pub fn dim(&self) -> usize {
        self.sites.iter().map(|s| s.shape.iter().product::<usize>()).sum()
    }

    fn site<B: Backend, const D: usize>(&self, ctx: &mut Ctx<B>, s: &LatentSpec, flat: Tensor<B, 2>) {
        let mut shape = [0; D];
        shape.copy_from_slice(&s.shape);
        ctx.sample(&s.name, Deterministic::new(flat.reshape(shape)));
    }
}

impl<B: Backend> Model<B> for AutoMultivariateNormal {
    fn notice(&self) -> Option<String> {
        Some(super::notice("AutoMultivariateNormal", &self.sites))
    }

    fn model(&self, ctx: &mut Ctx<B>) {
        let d = self.dim();
        let init: Vec<f64> = self.sites.iter().flat_map(|s| s.init.iter().copied()).collect();
        let loc = ctx.param(
            &format!("{AUTO_LATENT}.loc"),
            host_tensor::<B, 2>(&init, &[1, d], ctx.device()),
            Constraint::Real,
        );
        // Unconstrained d×d: strict lower triangle as is, diagonal through softplus.
        let raw_init = Tensor::<B, 2>::eye(d, ctx.device()).cast(ppl_dist::param::float_dtype::<B>())
            * inverse_softplus(ctx.full([1, 1], self.init_scale));
        let raw = ctx.param(&format!("{AUTO_LATENT}.scale_tril"), raw_init, Constraint::Real);
        let eye = Tensor::<B, 2>::eye(d, ctx.device()).cast(ppl_dist::param::float_dtype::<B>());
        let diag = softplus(raw.clone()) * eye.clone();
        let tril = raw.tril(-1) + diag;
        let joint = ctx.sample_auxiliary(
            AUTO_LATENT,
            MultivariateNormal::new_unchecked(loc, tril.reshape([1, d, d])),
        );
        let mut offset = 0;
        for s in &self.sites {
            let n: usize = s.shape.iter().product();
            let flat = joint.clone().narrow(1, offset, n);
            offset += n;
            ppl_core::with_rank!(s.shape.len(), D => self.site::<B, D>(ctx, s, flat.clone()), _ => unsupported_rank(ctx, s));
        }
    }
}

/// An autoguide knows its latents from the model run that built it; its parameters are
/// shared by all rows, so it is global.
impl<B: Backend> VariationalFamily<B> for AutoMultivariateNormal {
    fn latent_sites(&self) -> Option<Vec<String>> {
        Some(self.sites.iter().map(|s| s.name.clone()).collect())
    }

    fn locality(&self) -> Locality {
        Locality::Global
    }
}

use burn::module::Module;
use burn::tensor::backend::Backend;
use ppl_core::transform::{to_constrained, to_unconstrained};
use ppl_core::{Ctx, Data, Model};
use ppl_dist::{Constraint, Deterministic};

use super::{discover, host_tensor, unsupported_rank, LatentSpec};
use crate::{InferError, Locality, VariationalFamily};

/// MAP autoguide: a point mass at a learnable value per latent (`{site}.value`, stored
/// unconstrained): maximising the ELBO maximises `ln p(x, z)`.
#[derive(Module, Debug, Clone)]
pub struct AutoDelta {
    #[module(skip)]
    sites: Vec<LatentSpec>,
}

impl AutoDelta {
    /// The names of the latent sites it fits, in the model's order (everything else the
    /// model samples is observed).
    pub fn latents(&self) -> Vec<&str> {
        self.sites.iter().map(|s| s.name.as_str()).collect()
    }

    /// Build the guide for `model`'s latents (one model run with `data`).
    ///
    /// # Errors
    /// As [`discover`].
    pub fn new<B: Backend, M: Model<B>>(model: &M, data: &Data<B>, device: &B::Device) -> Result<Self, InferError> {
        Ok(AutoDelta {
            sites: discover(model, data, device)?,
        })
    }

    fn site<B: Backend, const D: usize>(&self, ctx: &mut Ctx<B>, s: &LatentSpec) {
        let init = host_tensor::<B, D>(&s.init, &s.shape, ctx.device());
        if s.support == Constraint::Interval {
            // the point lives in the unconstrained space of the site's own bounds
            let t = s.transform();
            let u = ctx.param(&format!("{}.value", s.name), t.inverse(init), Constraint::Real);
            ctx.sample(&s.name, Deterministic::new(t.forward(u)));
            return;
        }
        let u = ctx.param(
            &format!("{}.value", s.name),
            to_unconstrained(s.support, init),
            Constraint::Real,
        );
        ctx.sample(&s.name, Deterministic::new(to_constrained(s.support, u)));
    }
}

impl<B: Backend> Model<B> for AutoDelta {
    fn notice(&self) -> Option<String> {
        Some(super::notice("AutoDelta", &self.sites))
    }

    fn model(&self, ctx: &mut Ctx<B>) {
        for s in &self.sites {
            ppl_core::with_rank!(s.shape.len(), D => self.site::<B, D>(ctx, s), _ => unsupported_rank(ctx, s));
        }
    }
}

/// An autoguide knows its latents from the model run that built it; its parameters are
/// shared by all rows, so it is global.
impl<B: Backend> VariationalFamily<B> for AutoDelta {
    fn latent_sites(&self) -> Option<Vec<String>> {
        Some(self.sites.iter().map(|s| s.name.clone()).collect())
    }

    fn locality(&self) -> Locality {
        Locality::Global
    }
}

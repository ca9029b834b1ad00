use burn::module::Module;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use ppl_core::{Ctx, Data, Model};
use ppl_dist::special::{inverse_softplus, softplus};
use ppl_dist::transforms::{transform_to_support, Transform};
use ppl_dist::{Constraint, Deterministic, MultivariateNormal};

use super::{discover, host_tensor, unsupported_rank, LatentSpec};
use crate::{InferError, Locality, VariationalFamily};

/// Full-rank autoguide: one multivariate normal over all latent elements in unconstrained
/// space, concatenated (`_auto_latent.loc` `[1, d]`, and `_auto_latent.scale_tril`, whose
/// diagonal is kept positive by softplus), so posterior correlations between latents are
/// learned. Each model latent takes its slice of the joint draw, mapped onto its support by
/// [`LatentSpec::transform`] (exp for positive latents, the sigmoid for the unit
/// interval), as a point mass; for a constrained latent the guide adds the factor
/// `_auto_latent.<site>.log_abs_det_jacobian` = `−ln |det J|`, so that its density is that of
/// the transformed normal.
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
    /// As [`discover`] (which accepts real, positive and unit-interval latents).
    pub fn new<B: Backend, M: Model<B>>(model: &M, data: &Data<B>, device: &B::Device) -> Result<Self, InferError> {
        let sites = discover(model, data, device)?;
        for s in &sites {
            transform_to_support(s.support, s.bounds.clone())
                .map_err(|e| InferError::Config(format!("AutoMultivariateNormal: latent `{}`: {e}", s.name)))?;
        }
        Ok(AutoMultivariateNormal { sites, init_scale: 0.1 })
    }

    /// Total number of latent elements d.
    pub fn dim(&self) -> usize {
        self.sites.iter().map(free_len).sum()
    }

    fn site<B: Backend, const D: usize>(&self, ctx: &mut Ctx<B>, s: &LatentSpec, flat: Tensor<B, 2>) {
        let transform = s.transform();
        let mut shape = [0; D];
        shape.copy_from_slice(&transform.inverse_shape(&s.shape));
        let x = flat.reshape(shape);
        match transform {
            Transform::Identity => {
                ctx.sample(&s.name, Deterministic::new(x));
            }
            t => {
                let (y, ladj) = t.forward_with_log_abs_det_jacobian(x);
                ctx.sample(&s.name, Deterministic::new(y));
                ctx.factor(&format!("{AUTO_LATENT}.{}.log_abs_det_jacobian", s.name), ladj.neg());
            }
        }
    }

    /// The unconstrained starting point: each site's initial value mapped back from its
    /// support.
    fn unconstrained_init<B: Backend>(&self, device: &B::Device) -> Tensor<B, 2> {
        let parts: Vec<Tensor<B, 2>> = self
            .sites
            .iter()
            .map(|s| {
                let t = s.transform();
                let free = t.inverse(host_tensor::<B, 4>(&s.init, &pad4(&s.shape), device));
                free.reshape([1, free_len(s)])
            })
            .collect();
        Tensor::cat(parts, 1)
    }
}

impl<B: Backend> Model<B> for AutoMultivariateNormal {
    fn notice(&self) -> Option<String> {
        Some(super::notice("AutoMultivariateNormal", &self.sites))
    }

    fn model(&self, ctx: &mut Ctx<B>) {
        let d = self.dim();
        let loc = ctx.param(
            &format!("{AUTO_LATENT}.loc"),
            self.unconstrained_init::<B>(ctx.device()),
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
            let n = free_len(s);
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

/// How many unconstrained coordinates site `s` takes (a simplex of K: K − 1 per row).
fn free_len(s: &LatentSpec) -> usize {
    let t = s.transform();
    t.inverse_shape(&s.shape).iter().product()
}

/// `shape` with leading 1s up to rank 4 (the transforms act on the last dimension only).
fn pad4(shape: &[usize]) -> [usize; 4] {
    let mut out = [1; 4];
    out[4 - shape.len()..].copy_from_slice(shape);
    out
}

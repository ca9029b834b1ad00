use burn::module::Module;
use burn::tensor::backend::Backend;
use ppl_core::transform::to_unconstrained;
use ppl_core::{Ctx, Data, Model};
use ppl_dist::Constraint;

use super::{discover, host_tensor, sample_normal_family, unsupported_rank, LatentSpec};
use crate::{InferError, Locality, VariationalFamily};

/// Mean-field autoguide: one independent normal per latent element, in unconstrained space
/// (Normal for real latents, LogNormal for positive ones, LogitNormal for the unit interval, a
/// stick-broken Normal of `K − 1` coordinates for a simplex of `K`),
/// with learnable `{site}.loc` and softplus-positive `{site}.scale` (initial scale 0.1, as in
/// NumPyro).
#[derive(Module, Debug, Clone)]
pub struct AutoNormal {
    #[module(skip)]
    sites: Vec<LatentSpec>,
    #[module(skip)]
    init_scale: f64,
}

impl AutoNormal {
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
        Ok(AutoNormal {
            sites: discover(model, data, device)?,
            init_scale: 0.1,
        })
    }

    /// The guide for exactly these latent sites (the global part of an amortized guide).
    pub(crate) fn from_sites(sites: Vec<LatentSpec>) -> Self {
        AutoNormal { sites, init_scale: 0.1 }
    }

    /// The latent sites it covers.
    pub fn sites(&self) -> &[LatentSpec] {
        &self.sites
    }

    /// Use a different initial scale.
    pub fn with_init_scale(mut self, scale: f64) -> Self {
        self.init_scale = scale;
        self
    }

    fn site<B: Backend, const D: usize>(&self, ctx: &mut Ctx<B>, s: &LatentSpec) {
        let init = host_tensor::<B, D>(&s.init, &s.shape, ctx.device());
        // `loc` lives in the space of each site's own family: ln x for the LogNormal of a
        // positive latent (its median is exp(loc), so the guide starts at `init`), logit x for
        // the LogitNormal, the stick-breaking preimage (one coordinate fewer) for the simplex,
        // x itself otherwise.
        let loc_init = match s.support {
            Constraint::Positive | Constraint::NonNegative => init.clone().log(),
            Constraint::Simplex | Constraint::LowerCholesky | Constraint::CorrCholesky | Constraint::Interval => {
                s.transform().inverse(init.clone())
            }
            _ => to_unconstrained(s.support, init.clone()),
        };
        let loc = ctx.param(&format!("{}.loc", s.name), loc_init.clone(), Constraint::Real);
        let scale = ctx.param(
            &format!("{}.scale", s.name),
            loc_init.ones_like() * self.init_scale,
            Constraint::Positive,
        );
        sample_normal_family(ctx, s, loc, scale);
    }
}

impl<B: Backend> Model<B> for AutoNormal {
    fn notice(&self) -> Option<String> {
        Some(super::notice("AutoNormal", &self.sites))
    }

    fn model(&self, ctx: &mut Ctx<B>) {
        let site = |ctx: &mut Ctx<B>, s: &LatentSpec| {
            ppl_core::with_rank!(s.shape.len(), D => self.site::<B, D>(ctx, s), _ => unsupported_rank(ctx, s));
        };
        // The model's sites inside its particle plate are drawn inside the guide's: one
        // parameter set, K draws.
        if self.sites.iter().any(|s| s.particles) {
            ctx.particle_plate(|ctx| self.sites.iter().filter(|s| s.particles).for_each(|s| site(ctx, s)));
        }
        self.sites.iter().filter(|s| !s.particles).for_each(|s| site(ctx, s));
    }
}

/// An autoguide knows its latents from the model run that built it; its parameters are
/// shared by all rows, so it is global — drawn through the particle plate when the model
/// draws its latents there.
impl<B: Backend> VariationalFamily<B> for AutoNormal {
    fn latent_sites(&self) -> Option<Vec<String>> {
        Some(self.sites.iter().map(|s| s.name.clone()).collect())
    }

    fn locality(&self) -> Locality {
        if self.sites.iter().any(|s| s.particles) {
            Locality::ParticlePlate
        } else {
            Locality::Global
        }
    }
}

#[cfg(test)]
mod tests {
    use burn::backend::NdArray;
    use ppl_core::{run, CoreError, Ctx, Data};
    use ppl_dist::{Constraint, RngKey};

    use super::{AutoNormal, LatentSpec};

    /// Specs come from a model's trace (ranks 1–4); one made by hand with rank 5 stops the
    /// guide's run with a typed error instead of a panic.
    #[test]
    fn a_spec_of_unsupported_rank_is_a_typed_error() {
        type B = NdArray<f64>;
        let guide = AutoNormal {
            sites: vec![LatentSpec {
                name: "z".into(),
                shape: vec![1; 5],
                support: Constraint::Real,
                init: vec![0.0],
                local: false,
                particles: false,
                bounds: None,
            }],
            init_scale: 0.1,
        };
        let device = Default::default();
        let ctx = Ctx::<B>::new(Data::new(), RngKey::new(0), &device);
        let err = run(&guide, ctx).expect_err("rank 5 is not supported");
        assert!(
            matches!(&err, CoreError::UnsupportedRank { site, rank: 5, .. } if site == "z"),
            "{err:?}"
        );
        assert!(err.to_string().contains("rank 5"), "{err}");
    }
}

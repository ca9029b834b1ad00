//! [`DrawsGuide`]: MCMC draws as a guide, so that the [`crate::Posterior`] queries SVI results
//! answer (posterior predictive, samples, medians of targets) run on NUTS results too.

use std::sync::Arc;

use burn::tensor::{backend::Backend, Tensor, TensorData};
use ppl_core::{Ctx, Model};
use ppl_dist::param::float_options;
use ppl_dist::Deterministic;

use crate::{Locality, VariationalFamily};

/// One site's pooled draws, host-side.
#[derive(Debug)]
struct SiteDraws {
    name: String,
    shape: Vec<usize>,
    values: Vec<f64>,
}

/// A guide that, at each run, picks one of the pooled MCMC draws (uniformly, from the run's
/// key: the same key picks the same draw) and gives every latent site that draw's value as a
/// point mass. Made by [`super::McmcSamples::guide`]; use it with [`crate::Posterior::new`]
/// and an empty `ParamStore`, or through [`super::McmcSamples::to_posterior`].
#[derive(Debug, Clone)]
pub struct DrawsGuide<B: Backend> {
    sites: Arc<Vec<SiteDraws>>,
    total: usize,
    _backend: std::marker::PhantomData<fn() -> B>,
}

impl<B: Backend> DrawsGuide<B> {
    /// `(name, shape, values)` per site, every site with `total` draws.
    pub(crate) fn new(sites: Vec<(String, Vec<usize>, Vec<f64>)>, total: usize) -> Self {
        let sites = sites
            .into_iter()
            .map(|(name, shape, values)| SiteDraws { name, shape, values })
            .collect();
        DrawsGuide {
            sites: Arc::new(sites),
            total,
            _backend: std::marker::PhantomData,
        }
    }

    /// How many draws it picks from.
    pub fn len(&self) -> usize {
        self.total
    }

    /// Whether it has no draws.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    fn emit<const D: usize>(&self, ctx: &mut Ctx<B>, site: &SiteDraws, index: usize) {
        let len: usize = site.shape.iter().product();
        let mut shape = [0; D];
        shape.copy_from_slice(&site.shape);
        let values = site.values[index * len..(index + 1) * len].to_vec();
        let t = Tensor::<B, D>::from_data(TensorData::new(values, shape), float_options::<B>(ctx.device()));
        ctx.sample(&site.name, Deterministic::new(t));
    }
}

impl<B: Backend> Model<B> for DrawsGuide<B> {
    fn model(&self, ctx: &mut Ctx<B>) {
        let index = ctx.rng("mcmc-draw").index(self.total.max(1));
        for site in self.sites.iter() {
            match site.shape.len() {
                1 => self.emit::<1>(ctx, site, index),
                2 => self.emit::<2>(ctx, site, index),
                3 => self.emit::<3>(ctx, site, index),
                _ => self.emit::<4>(ctx, site, index),
            }
        }
    }
}

/// The draws are global values (one per site, not per row).
impl<B: Backend> VariationalFamily<B> for DrawsGuide<B> {
    fn latent_sites(&self) -> Option<Vec<String>> {
        Some(self.sites.iter().map(|s| s.name.clone()).collect())
    }

    fn locality(&self) -> Locality {
        Locality::Global
    }
}

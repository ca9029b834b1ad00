//! [`McmcSamples`]: the draws of every latent site, per chain, with each chain's sampler
//! statistics and the convergence summary.

use std::collections::BTreeMap;
use std::fmt;

use burn::tensor::{backend::Backend, Tensor, TensorData};
use ppl_core::Value;
use ppl_dist::param::float_options;

use ppl_core::{Model, ParamStore};

use super::diagnostics::{ess_bulk, ess_tail, quantile, split_rhat};
use super::guide::DrawsGuide;
use crate::{Posterior, Samples};

/// What one chain's sampler reported after warm-up.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ChainStats {
    /// Divergent transitions among the kept draws.
    pub divergences: usize,
    /// Divergent transitions during warm-up (expected while the step size adapts).
    pub warmup_divergences: usize,
    /// The adapted leapfrog step size.
    pub step_size: f64,
    /// Mean tree depth of the kept draws (`⌈log₂(leapfrog steps + 1)⌉`).
    pub mean_tree_depth: f64,
    /// Deepest tree among the kept draws.
    pub max_tree_depth: u64,
    /// Draws that hit the maximal tree depth (a sign the step size is too small or the
    /// posterior badly scaled).
    pub hit_max_tree_depth: usize,
    /// Gradient evaluations, warm-up included.
    pub gradient_evaluations: u64,
}

/// The draws of one site: `[chain, draw, …shape]`, row-major.
#[derive(Debug, Clone)]
struct SiteDraws {
    shape: Vec<usize>,
    values: Vec<f64>,
}

/// Posterior draws from MCMC: every latent site's values as `[chain, draw, …]`, each chain's
/// statistics, and the seed that produced them. [`McmcSamples::summary`] gives the convergence
/// table (R-hat, bulk and tail ESS); [`McmcSamples::samples`] the draws pooled over chains as
/// [`Samples`], the type SVI's posterior queries return.
#[derive(Debug, Clone)]
pub struct McmcSamples<B: Backend> {
    sites: BTreeMap<String, SiteDraws>,
    order: Vec<String>,
    chains: usize,
    draws: usize,
    stats: Vec<ChainStats>,
    seed: u64,
    device: B::Device,
}

impl<B: Backend> McmcSamples<B> {
    /// Gather per-chain flat constrained draws (`per_chain[c][d]` is every site's values
    /// concatenated in `order`).
    pub(crate) fn new(
        order: Vec<(String, Vec<usize>)>,
        per_chain: Vec<Vec<Vec<f64>>>,
        stats: Vec<ChainStats>,
        seed: u64,
        device: &B::Device,
    ) -> Self {
        let chains = per_chain.len();
        let draws = per_chain.first().map_or(0, Vec::len);
        let mut sites = BTreeMap::new();
        let mut offset = 0;
        for (name, shape) in &order {
            let len: usize = shape.iter().product();
            let mut values = Vec::with_capacity(chains * draws * len);
            for chain in &per_chain {
                for draw in chain {
                    values.extend_from_slice(&draw[offset..offset + len]);
                }
            }
            offset += len;
            sites.insert(
                name.clone(),
                SiteDraws {
                    shape: shape.clone(),
                    values,
                },
            );
        }
        McmcSamples {
            sites,
            order: order.into_iter().map(|(n, _)| n).collect(),
            chains,
            draws,
            stats,
            seed,
            device: device.clone(),
        }
    }

    /// The number of chains.
    pub fn num_chains(&self) -> usize {
        self.chains
    }

    /// The number of kept draws per chain.
    pub fn num_draws(&self) -> usize {
        self.draws
    }

    /// The seed the chains were started from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The latent sites, in model order.
    pub fn sites(&self) -> &[String] {
        &self.order
    }

    /// Each chain's sampler statistics.
    pub fn chain_stats(&self) -> &[ChainStats] {
        &self.stats
    }

    /// Divergent transitions after warm-up, over all chains.
    pub fn divergences(&self) -> usize {
        self.stats.iter().map(|s| s.divergences).sum()
    }

    /// The value shape of site `name`.
    pub fn dims(&self, name: &str) -> Option<&[usize]> {
        self.sites.get(name).map(|s| s.shape.as_slice())
    }

    /// Host values of site `name`, `[chain, draw, …shape]` row-major.
    pub fn values(&self, name: &str) -> Option<&[f64]> {
        self.sites.get(name).map(|s| s.values.as_slice())
    }

    /// The draws of `name` as a tensor `[chain, draw, …shape]` (so `D` is the site's rank plus
    /// two; `None` for another `D` or an unknown name).
    pub fn get<const D: usize>(&self, name: &str) -> Option<Tensor<B, D>> {
        let s = self.sites.get(name)?;
        if s.shape.len() + 2 != D {
            return None;
        }
        let mut shape = [0; D];
        shape[0] = self.chains;
        shape[1] = self.draws;
        shape[2..].copy_from_slice(&s.shape);
        Some(Tensor::from_data(
            TensorData::new(s.values.clone(), shape),
            float_options::<B>(&self.device),
        ))
    }

    /// The chains of element `index` (row-major within the site) of site `name`:
    /// `chains[c][d]`.
    pub fn element_chains(&self, name: &str, index: usize) -> Option<Vec<Vec<f64>>> {
        let s = self.sites.get(name)?;
        let len: usize = s.shape.iter().product();
        if index >= len {
            return None;
        }
        Some(
            (0..self.chains)
                .map(|c| {
                    (0..self.draws)
                        .map(|d| s.values[(c * self.draws + d) * len + index])
                        .collect()
                })
                .collect(),
        )
    }

    /// The draws pooled over chains (chain after chain) as [`Samples`]: the means, standard
    /// deviations and quantiles SVI's posterior samples give.
    pub fn samples(&self) -> Samples<B> {
        let mut out = BTreeMap::new();
        for (name, s) in &self.sites {
            let len: usize = s.shape.iter().product();
            let values: Vec<Value<B>> = s
                .values
                .chunks(len.max(1))
                .map(|v| {
                    let t: Tensor<B, 1> =
                        Tensor::from_data(TensorData::new(v.to_vec(), [v.len()]), float_options::<B>(&self.device));
                    match s.shape.len() {
                        1 => Value::from_tensor(t.reshape([s.shape[0]])),
                        2 => Value::from_tensor(t.reshape([s.shape[0], s.shape[1]])),
                        3 => Value::from_tensor(t.reshape([s.shape[0], s.shape[1], s.shape[2]])),
                        _ => Value::from_tensor(t.reshape([s.shape[0], s.shape[1], s.shape[2], s.shape[3]])),
                    }
                })
                .collect();
            out.insert(name.clone(), values);
        }
        Samples::new(out, self.chains * self.draws)
    }

    /// The draws as a guide ([`DrawsGuide`]): each run of it picks one draw.
    pub fn guide(&self) -> DrawsGuide<B> {
        let sites = self
            .order
            .iter()
            .map(|n| {
                let s = &self.sites[n];
                (n.clone(), s.shape.clone(), s.values.clone())
            })
            .collect();
        DrawsGuide::new(sites, self.chains * self.draws)
    }

    /// A [`Posterior`] of `model` whose latents come from these draws: its
    /// `posterior_predictive_samples`, `sample` and the other queries work as after SVI (each
    /// query draw picks one MCMC draw at random, reproducibly from the seed).
    pub fn to_posterior<M: Model<B>>(&self, model: M) -> Posterior<B, M, DrawsGuide<B>> {
        Posterior::new(model, self.guide(), ParamStore::new(), self.seed, &self.device)
            .with_guide_latents(self.order.clone())
    }

    /// Everything as JSON: the seed, the number of chains and draws, each site's shape and
    /// values (`[chain, draw, …shape]`, row-major), each chain's statistics and the
    /// convergence summary — the draws and their diagnostics in one file.
    pub fn to_json(&self) -> serde_json::Value {
        let sites: serde_json::Map<String, serde_json::Value> = self
            .order
            .iter()
            .map(|n| {
                let s = &self.sites[n];
                (n.clone(), serde_json::json!({ "shape": s.shape, "values": s.values }))
            })
            .collect();
        serde_json::json!({
            "sampler": "NUTS (nuts-rs)",
            "seed": self.seed,
            "chains": self.chains,
            "draws": self.draws,
            "sites": sites,
            "chain_stats": self.stats,
            "summary": self.summary().rows,
        })
    }

    /// Write [`McmcSamples::to_json`] to `path`.
    ///
    /// # Errors
    /// The file cannot be written (the message names it).
    pub fn write_json(&self, path: &std::path::Path) -> Result<(), String> {
        let text = serde_json::to_string(&self.to_json()).map_err(|e| format!("{}: {e}", path.display()))?;
        std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The convergence table: one row per scalar element of every site.
    pub fn summary(&self) -> McmcSummary {
        let mut rows = Vec::new();
        for name in &self.order {
            let s = &self.sites[name];
            let len: usize = s.shape.iter().product();
            for i in 0..len {
                let chains = self.element_chains(name, i).expect("index in range");
                let pooled = chains.concat();
                let n = pooled.len() as f64;
                let mean = pooled.iter().sum::<f64>() / n;
                let sd = (pooled.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
                let label = if len == 1 {
                    name.clone()
                } else {
                    format!("{name}[{}]", unravel(i, &s.shape))
                };
                rows.push(SummaryRow {
                    name: label,
                    mean,
                    sd,
                    median: quantile(&pooled, 0.5),
                    q05: quantile(&pooled, 0.05),
                    q95: quantile(&pooled, 0.95),
                    ess_bulk: ess_bulk(&chains),
                    ess_tail: ess_tail(&chains),
                    r_hat: split_rhat(&chains),
                });
            }
        }
        McmcSummary {
            rows,
            divergences: self.divergences(),
            chains: self.chains,
            draws: self.draws,
        }
    }
}

/// `3` in shape `[2, 2]` → `"1, 1"`.
fn unravel(mut i: usize, shape: &[usize]) -> String {
    let mut idx = vec![0; shape.len()];
    for (k, d) in shape.iter().enumerate().rev() {
        idx[k] = i % d;
        i /= d;
    }
    idx.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

/// One scalar's line of [`McmcSummary`].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SummaryRow {
    /// `site` or `site[i, j]`.
    pub name: String,
    /// Posterior mean.
    pub mean: f64,
    /// Posterior standard deviation.
    pub sd: f64,
    /// Posterior median.
    pub median: f64,
    /// 5 % quantile.
    pub q05: f64,
    /// 95 % quantile.
    pub q95: f64,
    /// Bulk effective sample size.
    pub ess_bulk: f64,
    /// Tail effective sample size.
    pub ess_tail: f64,
    /// Rank-normalized split R-hat.
    pub r_hat: f64,
}

impl SummaryRow {
    /// The Monte-Carlo standard error of the mean, `sd / √ESS_bulk`.
    pub fn mcse_mean(&self) -> f64 {
        self.sd / self.ess_bulk.sqrt()
    }
}

/// The convergence table of [`McmcSamples::summary`] (NumPyro's `print_summary`), printed with
/// `{}`.
#[derive(Debug, Clone, PartialEq)]
pub struct McmcSummary {
    /// One row per scalar.
    pub rows: Vec<SummaryRow>,
    /// Divergent transitions after warm-up, all chains.
    pub divergences: usize,
    /// Chains.
    pub chains: usize,
    /// Kept draws per chain.
    pub draws: usize,
}

impl McmcSummary {
    /// The row named `name` (`"mu"`, `"theta[3]"`).
    pub fn row(&self, name: &str) -> Option<&SummaryRow> {
        self.rows.iter().find(|r| r.name == name)
    }

    /// The largest R-hat over all rows.
    pub fn max_r_hat(&self) -> f64 {
        self.rows.iter().map(|r| r.r_hat).fold(f64::NEG_INFINITY, f64::max)
    }

    /// The smallest bulk ESS over all rows.
    pub fn min_ess_bulk(&self) -> f64 {
        self.rows.iter().map(|r| r.ess_bulk).fold(f64::INFINITY, f64::min)
    }
}

impl fmt::Display for McmcSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self.rows.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
        writeln!(
            f,
            "{:>width$} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7}",
            "", "mean", "std", "median", "5.0%", "95.0%", "ess_bulk", "ess_tail", "r_hat"
        )?;
        for r in &self.rows {
            writeln!(
                f,
                "{:>width$} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>9.1} {:>9.1} {:>7.3}",
                r.name, r.mean, r.sd, r.median, r.q05, r.q95, r.ess_bulk, r.ess_tail, r.r_hat
            )?;
        }
        write!(
            f,
            "\n{} chains × {} draws; number of divergences: {}",
            self.chains, self.draws, self.divergences
        )
    }
}

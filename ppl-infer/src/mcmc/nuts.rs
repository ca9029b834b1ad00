//! [`Nuts`]: the No-U-Turn sampler of nuts-rs (the sampler behind nutpie) on a model's
//! latents in unconstrained space.

use std::time::Instant;

use burn::tensor::backend::AutodiffBackend;
use nuts_rs::rand::SeedableRng;
use nuts_rs::{Chain, CpuMath, DiagNutsSettings, Settings};
use ppl_core::{Data, Model};
use ppl_dist::RngKey;

use super::draws::{ChainStats, McmcSamples};
use super::layout::{constrained_values, dimension, latent_layout, LatentSlot};
use super::potential::LogDensity;
use crate::InferError;

/// How [`Nuts`] runs its chains (NumPyro's `chain_method`). The draws are the same either
/// way: each chain has its own seed and its own model runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChainMethod {
    /// One chain after the other on the calling thread (the default). With burn 0.21 this is
    /// the faster way on any backend: burn-autodiff keeps one process-wide registry of
    /// autodiff graphs, locked by every tracked operation and walked by every backward pass,
    /// so chains on threads wait on each other. Measured on 2 cores (eight schools, 4 × 2 000
    /// iterations, flex, release): 10.75 s one after the other against 16.9 s on 4 threads
    /// (benches/README.md).
    #[default]
    Sequential,
    /// Every chain on a thread of its own, all at once.
    Parallel,
}

/// Settings of [`Nuts`] (defaults as NumPyro's and Stan's: 1 000 warm-up and 1 000 kept
/// draws, 4 chains, target acceptance 0.8, tree depth ≤ 10; chains one after the other, as
/// NumPyro on a single device).
#[derive(Debug, Clone, PartialEq)]
pub struct NutsConfig {
    /// Warm-up (tuning) iterations per chain: step size and diagonal mass matrix adapt.
    pub num_warmup: u64,
    /// Kept draws per chain.
    pub num_samples: u64,
    /// Chains.
    pub num_chains: usize,
    /// One chain after the other, or all at once on threads.
    pub chain_method: ChainMethod,
    /// Seeds the starting points and every chain's sampler: the same seed gives the same
    /// draws on the same backend.
    pub seed: u64,
    /// The target mean acceptance probability of the step-size adaptation.
    pub target_accept: f64,
    /// The tree depth limit (at most `2^depth − 1` leapfrog steps per draw).
    pub max_tree_depth: u64,
    /// Starting points are drawn uniformly in `(−r, r)` in unconstrained space (Stan's
    /// `init_radius`, 2).
    pub init_radius: f64,
    /// Show a progress bar on stderr.
    pub progress: bool,
}

impl Default for NutsConfig {
    fn default() -> Self {
        NutsConfig {
            num_warmup: 1000,
            num_samples: 1000,
            num_chains: 4,
            chain_method: ChainMethod::Sequential,
            seed: 0,
            target_accept: 0.8,
            max_tree_depth: 10,
            init_radius: 2.0,
            progress: true,
        }
    }
}

impl NutsConfig {
    /// With `num_warmup` warm-up iterations per chain.
    pub fn with_num_warmup(mut self, n: u64) -> Self {
        self.num_warmup = n;
        self
    }
    /// With `n` kept draws per chain.
    pub fn with_num_samples(mut self, n: u64) -> Self {
        self.num_samples = n;
        self
    }
    /// With `n` chains.
    pub fn with_num_chains(mut self, n: usize) -> Self {
        self.num_chains = n;
        self
    }
    /// With chains run this way.
    pub fn with_chain_method(mut self, method: ChainMethod) -> Self {
        self.chain_method = method;
        self
    }
    /// With this seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// With this target acceptance probability (raise it, e.g. to 0.95, against divergences).
    pub fn with_target_accept(mut self, p: f64) -> Self {
        self.target_accept = p;
        self
    }
    /// With this tree depth limit.
    pub fn with_max_tree_depth(mut self, depth: u64) -> Self {
        self.max_tree_depth = depth;
        self
    }
    /// With or without the progress bar.
    pub fn with_progress(mut self, on: bool) -> Self {
        self.progress = on;
        self
    }

    fn validate(&self) -> Result<(), InferError> {
        let bad = |what: &str| Err(InferError::Config(format!("NutsConfig: {what}")));
        if self.num_chains == 0 {
            return bad("num_chains must be at least 1");
        }
        if self.num_samples < 4 {
            return bad("num_samples must be at least 4 (the diagnostics split each chain in two)");
        }
        if !(self.target_accept > 0.0 && self.target_accept < 1.0) {
            return bad("target_accept must lie in (0, 1)");
        }
        if self.max_tree_depth == 0 || self.max_tree_depth > 30 {
            return bad("max_tree_depth must lie in 1..=30");
        }
        if !(self.init_radius.is_finite() && self.init_radius >= 0.0) {
            return bad("init_radius must be finite and ≥ 0");
        }
        Ok(())
    }
}

/// The No-U-Turn sampler on a model's latents.
///
/// Every latent site is mapped to unconstrained space with
/// [`ppl_dist::transforms::biject_to`] of its support (exp for positive values, sigmoid for
/// the unit interval, stick-breaking for the simplex); the sampler sees
/// `ln p(data, latents) + Σ ln |det J|` and its gradient, computed by burn's autodiff on the
/// model's own backend. Sampling and adaptation (step size by dual averaging, a diagonal mass
/// matrix) are nuts-rs's. Chains run one after the other or on threads
/// ([`ChainMethod`]), each seeded from [`NutsConfig::seed`] and its index, so a run is
/// reproducible on a given backend and the same either way.
///
/// ```no_run
/// # use burn::backend::{Autodiff, NdArray};
/// # use ppl_core::{Ctx, Data, Model};
/// # use ppl_dist::Normal;
/// # use ppl_infer::mcmc::{Nuts, NutsConfig};
/// # type B = Autodiff<NdArray<f64>>;
/// struct Coin;
/// impl Model<B> for Coin {
///     fn model(&self, ctx: &mut Ctx<B>) {
///         let mu = ctx.sample("mu", Normal::new(ctx.full([1], 0.0), 1.0));
///         ctx.datamodel(|ctx| {
///             ctx.sample("y", Normal::new(mu.clone(), 1.0));
///         });
///     }
/// }
/// let data = Data::new().with("y", burn::tensor::Tensor::<B, 1>::from_floats([0.4, 1.1, 0.7], &Default::default()));
/// let draws = Nuts::new(NutsConfig::default().with_seed(1)).run(&Coin, &data, &Default::default()).unwrap();
/// println!("{}", draws.summary());
/// ```
#[derive(Debug, Clone)]
pub struct Nuts {
    config: NutsConfig,
}

impl Nuts {
    /// A sampler with these settings.
    pub fn new(config: NutsConfig) -> Self {
        Nuts { config }
    }

    /// The settings.
    pub fn config(&self) -> &NutsConfig {
        &self.config
    }

    /// Sample the latents of `model` given `data` (every data entry observed, none
    /// minibatched).
    ///
    /// # Errors
    /// [`InferError::Config`] for invalid settings; [`InferError::Mcmc`] for a discrete latent
    /// (naming it), a latent with a support that has no bijection from real space, no finite
    /// starting point after 100 tries (naming the site to blame), or a model that fails
    /// inside a chain; model errors and unused data as [`crate::Svi`] reports them.
    pub fn run<B, M>(&self, model: &M, data: &Data<B>, device: &B::Device) -> Result<McmcSamples<B>, InferError>
    where
        B: AutodiffBackend,
        M: Model<B> + Sync,
    {
        self.config.validate()?;
        let slots = latent_layout(model, data, device)?;
        let cfg = &self.config;
        let total = cfg.num_chains as u64 * (cfg.num_warmup + cfg.num_samples);
        let bar = crate::progress::bar(total, cfg.progress);
        let started = Instant::now();
        let results: Vec<Result<ChainRun, InferError>> = match cfg.chain_method {
            ChainMethod::Sequential => (0..cfg.num_chains)
                .map(|chain| run_chain(cfg, chain, model, data.clone(), slots.clone(), device, &bar))
                .collect(),
            ChainMethod::Parallel => std::thread::scope(|scope| {
                let handles: Vec<_> = (0..cfg.num_chains)
                    .map(|chain| {
                        let (slots, bar) = (slots.clone(), bar.clone());
                        let data = data.clone();
                        scope.spawn(move || run_chain(cfg, chain, model, data, slots, device, &bar))
                    })
                    .collect();
                handles
                    .into_iter()
                    .enumerate()
                    .map(|(chain, h)| {
                        h.join().unwrap_or_else(|_| {
                            Err(InferError::Mcmc {
                                chain: Some(chain),
                                detail: "the chain's thread panicked".into(),
                            })
                        })
                    })
                    .collect()
            }),
        };
        let mut per_chain = Vec::with_capacity(cfg.num_chains);
        let mut stats = Vec::with_capacity(cfg.num_chains);
        for r in results {
            let (draws, s) = r?;
            per_chain.push(draws);
            stats.push(s);
        }
        let divergences: usize = stats.iter().map(|s| s.divergences).sum();
        bar.finish_with_message(format!(
            "{} chains × {} draws in {:.1} s · {divergences} divergences",
            cfg.num_chains,
            cfg.num_samples,
            started.elapsed().as_secs_f64()
        ));
        let order = slots.iter().map(|s| (s.name.clone(), s.shape.clone())).collect();
        Ok(McmcSamples::new(order, per_chain, stats, cfg.seed, device))
    }
}

/// One chain's kept draws (constrained, flat) and its statistics.
type ChainRun = (Vec<Vec<f64>>, ChainStats);

/// A starting point in `(−r, r)ⁿ` with a finite log-density and gradient (100 tries).
fn initial_point<B: AutodiffBackend, M: Model<B>>(
    cfg: &NutsConfig,
    chain: usize,
    density: &LogDensity<'_, B, M>,
    dim: usize,
) -> Result<Vec<f64>, InferError> {
    let mut key = RngKey::new(cfg.seed).fold_in("nuts-init").fold_in_u64(chain as u64);
    let mut gradient = vec![0.0; dim];
    let mut last = Vec::new();
    for _ in 0..100 {
        let point: Vec<f64> = key
            .uniform(dim)
            .into_iter()
            .map(|u| (2.0 * u - 1.0) * cfg.init_radius)
            .collect();
        match density.value_and_gradient(&point, &mut gradient) {
            Ok(_) => return Ok(point),
            Err(super::potential::LogDensityError::Model(e)) => {
                return Err(InferError::Mcmc {
                    chain: Some(chain),
                    detail: e,
                })
            }
            Err(_) => last = point,
        }
    }
    Err(InferError::Mcmc {
        chain: Some(chain),
        detail: format!(
            "no starting point with a finite log-density in 100 tries within ±{} in unconstrained space; at the last one, {}",
            cfg.init_radius,
            density.blame(&last)
        ),
    })
}

fn run_chain<B: AutodiffBackend, M: Model<B>>(
    cfg: &NutsConfig,
    chain: usize,
    model: &M,
    data: Data<B>,
    slots: Vec<LatentSlot>,
    device: &B::Device,
    bar: &indicatif::ProgressBar,
) -> Result<ChainRun, InferError> {
    let fail = |e: anyhow::Error| InferError::Mcmc {
        chain: Some(chain),
        detail: format!("{e:#}"),
    };
    let dim = dimension(&slots);
    let density = LogDensity::new(model, data, slots.clone(), device);
    let init = initial_point(cfg, chain, &density, dim)?;
    let mut settings = DiagNutsSettings {
        num_tune: cfg.num_warmup,
        num_draws: cfg.num_samples,
        num_chains: cfg.num_chains,
        maxdepth: cfg.max_tree_depth,
        seed: cfg.seed,
        ..Default::default()
    };
    settings.adapt_options.step_size_settings.target_accept = cfg.target_accept;
    let mut rng =
        rand_chacha::ChaCha8Rng::seed_from_u64(RngKey::new(cfg.seed).fold_in("nuts").fold_in_u64(chain as u64).seed());
    let mut sampler = settings
        .new_chain(chain as u64, CpuMath::new(density), &mut rng)
        .map_err(fail)?;
    sampler.set_position(&init).map_err(fail)?;
    let mut draws = Vec::with_capacity(cfg.num_samples as usize);
    let mut stats = ChainStats {
        divergences: 0,
        warmup_divergences: 0,
        step_size: f64::NAN,
        mean_tree_depth: 0.0,
        max_tree_depth: 0,
        hit_max_tree_depth: 0,
        gradient_evaluations: 0,
    };
    let mut depth_sum = 0u64;
    for _ in 0..cfg.num_warmup + cfg.num_samples {
        let (position, progress) = sampler.draw().map_err(fail)?;
        stats.gradient_evaluations += progress.num_gradients;
        if progress.tuning {
            stats.warmup_divergences += usize::from(progress.diverging);
        } else {
            stats.divergences += usize::from(progress.diverging);
            let depth = u64::from(64 - progress.num_steps.leading_zeros());
            depth_sum += depth;
            stats.max_tree_depth = stats.max_tree_depth.max(depth);
            stats.hit_max_tree_depth += usize::from(depth >= cfg.max_tree_depth);
            stats.step_size = progress.step_size;
            draws.push(constrained_values::<B>(&slots, &position, device));
        }
        bar.inc(1);
    }
    stats.mean_tree_depth = depth_sum as f64 / cfg.num_samples as f64;
    Ok((draws, stats))
}

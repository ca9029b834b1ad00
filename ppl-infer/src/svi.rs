//! Stochastic variational inference.

use std::time::Instant;

use burn::module::{AutodiffModule, Module, ModuleDisplay};
use burn::optim::GradientsParams;
use burn::tensor::backend::{AutodiffBackend, Backend};
use ppl_core::{CoreError, Data, Model, ParamStore, DATA_PLATE};
use ppl_dist::RngKey;

use crate::elbo::{first_non_finite_site, mean_field_elbo, renyi_bound, trace_elbo, Batch, ElboEstimate};
use crate::optim::AnyOptimizer;
use crate::{Elbo, InferError, LrSchedule, OptimizerKind};

/// What to do when a step's loss is NaN or ±∞. Either way the parameters are not updated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NonFinitePolicy {
    /// Stop with [`InferError::NonFinite`] naming the step and the first non-finite site.
    #[default]
    Error,
    /// Skip the update, count the step, and go on (NumPyro's `stable_update`).
    Skip,
}

/// Settings of [`Svi`]; `..Default::default()` fills the rest.
#[derive(Debug, Clone)]
pub struct SviConfig {
    /// Passes over the data in [`Svi::fit`].
    pub epochs: usize,
    /// Minibatch size M (the `datamodel` plate is scaled by N/M).
    pub batch_size: usize,
    /// Shuffle rows each epoch (with the seed).
    pub shuffle: bool,
    /// Drop the last, smaller minibatch of an epoch.
    pub drop_last: bool,
    /// Seed of every random choice (draws, shuffles): same seed, same run.
    pub seed: u64,
    /// Base learning rate.
    pub lr: f64,
    /// The optimizer.
    pub optimizer: OptimizerKind,
    /// The learning-rate schedule.
    pub schedule: LrSchedule,
    /// Clip the gradient norm (per parameter tensor) to this value.
    pub clip_norm: Option<f64>,
    /// The objective.
    pub elbo: Elbo,
    /// What a non-finite loss does.
    pub non_finite: NonFinitePolicy,
    /// Show a progress bar on a terminal (never drawn when stderr is not a terminal).
    pub progress: bool,
    /// Stop [`Svi::fit`] after this many steps in total (smoke runs).
    pub max_steps: Option<usize>,
    /// Rows per chunk when querying posteriors (bounds memory for any number of rows).
    pub query_chunk: usize,
    /// Evaluate the particles of [`Elbo::Trace`]/[`Elbo::MeanField`] in one batched pass
    /// (K copies of the minibatch along the data plate, each scaled by 1/K) instead of a loop
    /// of K runs. Exact when every latent is local to the data plate (amortized models,
    /// VAEs); a model with a global latent is an [`InferError::Config`] error.
    pub vectorize_particles: bool,
}

impl Default for SviConfig {
    fn default() -> Self {
        SviConfig {
            epochs: 1,
            batch_size: 128,
            shuffle: true,
            drop_last: false,
            seed: 0,
            lr: 1e-3,
            optimizer: OptimizerKind::Adam,
            schedule: LrSchedule::Constant,
            clip_norm: None,
            elbo: Elbo::default(),
            non_finite: NonFinitePolicy::Error,
            progress: true,
            max_steps: None,
            query_chunk: 4096,
            vectorize_particles: false,
        }
    }
}

/// The trainable state: the P-model, the Q-model and the `param` store, as one burn module.
#[derive(Module, Debug)]
pub struct SviModules<B: Backend, P, Q> {
    /// The P-model.
    pub p: P,
    /// The Q-model (guide).
    pub q: Q,
    /// Parameters created by `ctx.param` sites.
    pub params: ParamStore<B>,
}

/// What [`Svi::fit`] reports.
#[derive(Debug, Clone)]
pub struct FitReport {
    /// Steps run in this call.
    pub steps: usize,
    /// Mean loss (−ELBO) of each epoch.
    pub epoch_losses: Vec<f64>,
    /// Steps whose non-finite loss was skipped.
    pub skipped: usize,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Steps per second.
    pub steps_per_second: f64,
}

/// Fit a P-model with a Q-model by stochastic variational inference (Pyro's `SVI`,
/// InferPy's `p.fit(data, SVI)`).
///
/// ```
/// use burn::backend::{Autodiff, NdArray};
/// use burn::tensor::Tensor;
/// use ppl_core::{Ctx, Data};
/// use ppl_dist::{Constraint, Normal};
/// use ppl_infer::{Svi, SviConfig};
///
/// type B = Autodiff<NdArray<f64>>;
/// let dev = Default::default();
/// // z ~ N(0, 1), x_i ~ N(z, 1); guide N(loc, softplus scale).
/// let p = |ctx: &mut Ctx<B>| {
///     let z = ctx.sample("z", Normal::new(ctx.zeros([1]), 1.0));
///     ctx.datamodel(|ctx| { ctx.sample("x", Normal::new(z, 1.0)); });
/// };
/// let q = |ctx: &mut Ctx<B>| {
///     let loc = ctx.param("loc", ctx.zeros([1]), Constraint::Real);
///     let scale = ctx.param("scale", ctx.ones([1]), Constraint::Positive);
///     ctx.sample("z", Normal::new(loc, scale));
/// };
/// let x = Tensor::<B, 1>::from_floats([1.0, 2.0, 3.0], &dev);
/// let mut svi = Svi::from_fns(p, q, SviConfig { epochs: 300, batch_size: 3, lr: 0.05, progress: false, ..Default::default() }, &dev);
/// svi.fit(&Data::new().with("x", x)).unwrap();
/// let loc = svi.param("loc").unwrap().to_vec()[0];
/// assert!((loc - 1.5).abs() < 0.2);                       // exact posterior mean 6/4
/// ```
pub struct Svi<B, P, Q>
where
    B: AutodiffBackend,
    P: AutodiffModule<B> + ModuleDisplay,
    Q: AutodiffModule<B> + ModuleDisplay,
    P::InnerModule: ModuleDisplay,
    Q::InnerModule: ModuleDisplay,
{
    modules: Option<SviModules<B, P, Q>>,
    optim: AnyOptimizer<SviModules<B, P, Q>, B>,
    config: SviConfig,
    key: RngKey,
    device: B::Device,
    step: usize,
    losses: Vec<f64>,
    baseline: Option<f64>,
    skipped: usize,
}

impl<B, P, Q> Svi<B, P, Q>
where
    B: AutodiffBackend,
    P: AutodiffModule<B> + Model<B> + ModuleDisplay,
    Q: AutodiffModule<B> + Model<B> + ModuleDisplay,
    P::InnerModule: ModuleDisplay,
    Q::InnerModule: ModuleDisplay,
{
    /// Set up SVI for model `p` and guide `q` (both burn modules).
    pub fn new(p: P, q: Q, config: SviConfig, device: &B::Device) -> Self {
        let optim = AnyOptimizer::new(config.optimizer, config.clip_norm);
        Svi {
            modules: Some(SviModules {
                p,
                q,
                params: ParamStore::new(),
            }),
            optim,
            key: RngKey::new(config.seed),
            config,
            device: device.clone(),
            step: 0,
            losses: Vec::new(),
            baseline: None,
            skipped: 0,
        }
    }

    fn modules(&self) -> &SviModules<B, P, Q> {
        self.modules.as_ref().expect("modules are present between steps")
    }

    /// The P-model.
    pub fn model(&self) -> &P {
        &self.modules().p
    }

    /// The Q-model.
    pub fn guide(&self) -> &Q {
        &self.modules().q
    }

    /// The `param` store.
    pub fn params(&self) -> &ParamStore<B> {
        &self.modules().params
    }

    /// The constrained value of a `param` site.
    pub fn param(&self, name: &str) -> Option<ppl_core::Value<B>> {
        self.params().get(name)
    }

    /// The loss (−ELBO) of every step so far.
    pub fn losses(&self) -> &[f64] {
        &self.losses
    }

    /// Steps taken so far.
    pub fn steps(&self) -> usize {
        self.step
    }

    /// The configuration.
    pub fn config(&self) -> &SviConfig {
        &self.config
    }

    /// Evaluate the objective on `data` (a batch of a data set of `full_size` rows) with a
    /// given key, without updating anything.
    ///
    /// # Errors
    /// Model or guide errors.
    pub fn evaluate(&mut self, data: &Data<B>, full_size: usize, key: &RngKey) -> Result<ElboEstimate<B>, InferError> {
        let m = self.modules.take().expect("modules present");
        let out = self.objective(&m, data, full_size, key);
        self.modules = Some(m);
        out
    }

    fn objective(
        &mut self,
        m: &SviModules<B, P, Q>,
        data: &Data<B>,
        full_size: usize,
        key: &RngKey,
    ) -> Result<ElboEstimate<B>, InferError> {
        // Vectorized particles: K copies of the minibatch in one pass, each row's terms scaled
        // by N/(K·M), i.e. the average of K particles (valid when every latent is local).
        let tiled;
        let (data, elbo, replicas) = match (&self.config.elbo, self.config.vectorize_particles) {
            (Elbo::Trace { particles: k } | Elbo::MeanField { particles: k }, true) if *k > 1 => {
                let rows = data.rows()?.unwrap_or(1);
                let idx: Vec<usize> = (0..*k).flat_map(|_| 0..rows).collect();
                tiled = data.select_rows(&idx);
                let single = match self.config.elbo {
                    Elbo::Trace { .. } => Elbo::Trace { particles: 1 },
                    _ => Elbo::MeanField { particles: 1 },
                };
                (&tiled, single, *k)
            }
            (Elbo::Renyi { .. }, true) => {
                return Err(InferError::Config(
                    "vectorize_particles applies to Elbo::Trace and Elbo::MeanField, not to the Rényi bound".into(),
                ))
            }
            (elbo, _) => (data, elbo.clone(), 1),
        };
        let batch = Batch {
            data,
            full_size,
            replicas,
        };
        let params = m.params.clone();
        let est = match elbo {
            Elbo::Trace { particles } => trace_elbo(
                &m.p,
                &m.q,
                &batch,
                params,
                key,
                particles,
                &mut self.baseline,
                &self.device,
            ),
            Elbo::MeanField { particles } => mean_field_elbo(
                &m.p,
                &m.q,
                &batch,
                params,
                key,
                particles,
                &mut self.baseline,
                &self.device,
            ),
            Elbo::Renyi { alpha, particles } => {
                renyi_bound(&m.p, &m.q, &batch, params, key, alpha, particles, &self.device)
            }
        }?;
        if self.config.vectorize_particles {
            if let Some(s) = est
                .traces
                .0
                .latent_sites()
                .find(|s| !s.plates.iter().any(|p| p.name == DATA_PLATE))
            {
                return Err(InferError::Config(format!(
                    "vectorize_particles needs every latent inside the data plate (copies of the minibatch \
                     share anything global); site `{}` is global: use the particle loop (vectorize_particles: false)",
                    s.name
                )));
            }
        }
        Ok(est)
    }

    /// One SVI step on a minibatch `batch` of a data set of `full_size` rows: evaluate the
    /// objective, back-propagate, update. Returns the loss (−ELBO).
    ///
    /// # Errors
    /// Model or guide errors; [`InferError::InvalidParameter`] (with the step) when a
    /// distribution's parameters are invalid; [`InferError::NonFinite`] under
    /// [`NonFinitePolicy::Error`].
    /// On any error the parameters are left untouched.
    pub fn step(&mut self, batch: &Data<B>, full_size: usize) -> Result<f64, InferError> {
        let key = self.key.fold_in_u64(self.step as u64);
        let mut m = self.modules.take().expect("modules present");
        let est = match self.objective(&m, batch, full_size, &key) {
            Ok(e) => e,
            Err(InferError::Core(CoreError::Distribution { site, source })) => {
                self.modules = Some(m);
                return Err(InferError::InvalidParameter {
                    step: self.step,
                    site,
                    source,
                });
            }
            Err(e) => {
                self.modules = Some(m);
                return Err(e);
            }
        };
        let loss = -est.elbo;
        if !loss.is_finite() {
            let site = first_non_finite_site(&est.traces.0, &est.traces.1);
            self.modules = Some(m);
            return match self.config.non_finite {
                NonFinitePolicy::Error => Err(InferError::NonFinite {
                    step: self.step,
                    what: "loss",
                    site,
                }),
                NonFinitePolicy::Skip => {
                    self.skipped += 1;
                    self.step += 1;
                    self.losses.push(loss);
                    Ok(loss)
                }
            };
        }
        m.params = est.params;
        let grads = GradientsParams::from_grads(est.surrogate_loss.backward(), &m);
        let lr = self.config.schedule.at(self.config.lr, self.step);
        self.modules = Some(self.optim.step(lr, m, grads));
        self.step += 1;
        self.losses.push(loss);
        Ok(loss)
    }

    /// Fit on `data` for the configured epochs: shuffled minibatches of `batch_size` rows,
    /// each scaled to the full data set. Shows a progress bar with the loss and steps/s.
    ///
    /// # Errors
    /// [`InferError::Config`] for empty data or a zero batch size; step errors.
    pub fn fit(&mut self, data: &Data<B>) -> Result<FitReport, InferError> {
        let n = data
            .rows()?
            .ok_or_else(|| InferError::Config("fit needs data: the Data map is empty".into()))?;
        let m = self.config.batch_size.min(n);
        if m == 0 || n == 0 {
            return Err(InferError::Config(format!(
                "batch size {} with {n} rows",
                self.config.batch_size
            )));
        }
        let per_epoch = if self.config.drop_last { n / m } else { n.div_ceil(m) };
        let total = per_epoch * self.config.epochs;
        let total = self.config.max_steps.map_or(total, |s| s.min(total));
        let bar = crate::progress::bar(total as u64, self.config.progress);
        let start = Instant::now();
        let (mut steps, skipped0) = (0, self.skipped);
        let mut epoch_losses = Vec::new();
        for epoch in 0..self.config.epochs {
            if steps >= total {
                break;
            }
            let mut order: Vec<usize> = (0..n).collect();
            if self.config.shuffle {
                let mut key = self.key.fold_in(&format!("epoch:{epoch}"));
                for i in (1..n).rev() {
                    order.swap(i, key.index(i + 1));
                }
            }
            let mut sum = 0.0;
            let mut count = 0;
            for b in 0..per_epoch {
                if steps >= total {
                    break; // `max_steps` reached: record this partial epoch, then stop
                }
                let rows = &order[b * m..((b + 1) * m).min(n)];
                let batch = if rows.len() == n && !self.config.shuffle {
                    data.clone()
                } else {
                    data.select_rows(rows)
                };
                let loss = self.step(&batch, n)?;
                if loss.is_finite() {
                    sum += loss;
                    count += 1;
                }
                steps += 1;
                bar.set_position(steps as u64);
                bar.set_message(format!("epoch {} loss {:.3}", epoch + 1, loss));
            }
            epoch_losses.push(if count > 0 { sum / count as f64 } else { f64::NAN });
        }
        bar.finish_and_clear();
        let seconds = start.elapsed().as_secs_f64();
        Ok(FitReport {
            steps,
            epoch_losses,
            skipped: self.skipped - skipped0,
            seconds,
            steps_per_second: steps as f64 / seconds.max(1e-9),
        })
    }

    pub(crate) fn modules_ref(&self) -> &SviModules<B, P, Q> {
        self.modules()
    }

    pub(crate) fn take_modules(&mut self) -> SviModules<B, P, Q> {
        self.modules.take().expect("modules present")
    }

    pub(crate) fn put_modules(&mut self, m: SviModules<B, P, Q>) {
        self.modules = Some(m);
    }

    pub(crate) fn optimizer(&self) -> &AnyOptimizer<SviModules<B, P, Q>, B> {
        &self.optim
    }

    pub(crate) fn baseline(&self) -> Option<f64> {
        self.baseline
    }

    pub(crate) fn restore(
        &mut self,
        modules: SviModules<B, P, Q>,
        optim: AnyOptimizer<SviModules<B, P, Q>, B>,
        step: usize,
        losses: Vec<f64>,
        baseline: Option<f64>,
    ) {
        self.modules = Some(modules);
        self.optim = optim;
        self.step = step;
        self.losses = losses;
        self.baseline = baseline;
    }

    /// Rows per query chunk.
    pub(crate) fn chunk(&self) -> usize {
        self.config.query_chunk.max(1)
    }

    /// The device.
    pub fn device(&self) -> &B::Device {
        &self.device
    }

    /// The seed key.
    pub(crate) fn key(&self) -> &RngKey {
        &self.key
    }
}

/// Closure models are not modules; this wrapper makes a closure usable with [`Svi`] (it has
/// no network parameters of its own; `ctx.param` sites still learn).
#[derive(Module, Debug, Clone)]
pub struct FnModel<F: Clone + Send + Sync + std::fmt::Debug + 'static> {
    #[module(skip)]
    f: F,
}

/// Wrap a closure model as a (parameter-free) module, for [`Svi::new`] with an autoguide.
pub fn model_fn<F: Clone + Send + Sync + 'static>(f: F) -> FnModel<ModelFn<F>> {
    FnModel { f: ModelFn(f) }
}

/// A closure wrapped as a module-less model.
#[derive(Clone)]
pub struct ModelFn<F>(pub F);

impl<F> std::fmt::Debug for ModelFn<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ModelFn")
    }
}

impl<B: Backend, F: Fn(&mut ppl_core::Ctx<B>)> Model<B> for FnModel<ModelFn<F>>
where
    ModelFn<F>: Clone + Send + Sync + std::fmt::Debug + 'static,
{
    fn model(&self, ctx: &mut ppl_core::Ctx<B>) {
        (self.f.0)(ctx)
    }
}

impl<B, FP, FQ> Svi<B, FnModel<ModelFn<FP>>, FnModel<ModelFn<FQ>>>
where
    B: AutodiffBackend,
    FP: Fn(&mut ppl_core::Ctx<B>) + Clone + Send + Sync + 'static,
    FQ: Fn(&mut ppl_core::Ctx<B>) + Clone + Send + Sync + 'static,
{
    /// SVI for a model and guide written as closures (all their parameters are `param` sites).
    pub fn from_fns(p: FP, q: FQ, config: SviConfig, device: &B::Device) -> Self {
        Svi::new(FnModel { f: ModelFn(p) }, FnModel { f: ModelFn(q) }, config, device)
    }
}

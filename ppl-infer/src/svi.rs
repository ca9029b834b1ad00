//! Stochastic variational inference.

use std::time::{Duration, Instant};

use burn::module::{AutodiffModule, Module};
use burn::optim::GradientsParams;
use burn::tensor::backend::{AutodiffBackend, Backend};
use ppl_core::{CoreError, Data, Model, ParamStore};
use ppl_dist::kernels::{FusedKernels, TrainingBackend};
use ppl_dist::sampling::{with_sampling, Sampling};
use ppl_dist::validation::with_parameter_checks;
use ppl_dist::RngKey;

use crate::compute_pool::with_pool_awake;
use crate::data_plan;
use crate::early_stopping::EarlyStopper;
use crate::elbo::{
    first_non_finite_site, run_unmatched, AnyObjective, Batch, ElboEstimate, Objective, ObjectiveInput, ObjectiveState,
    TraceElbo, TraceEnumElbo,
};
use crate::fit_control::{EpochInfo, FitControl, Flow, StepInfo, StopReason};
use crate::optim::AnyOptimizer;
use crate::EarlyStopping;
use crate::{Elbo, InferError, LrSchedule, OptimizerKind, PoolWait};
use crate::{Locality, SviGuide, SviModel, VariationalFamily};

#[cfg(feature = "collective")]
mod data_parallel;
mod shares;

/// What to do with a bad step: a NaN or ±∞ loss, an update that makes a parameter NaN or
/// ±∞ (a non-finite gradient), or distribution parameters made invalid by the previous
/// update (a scale driven to 0). All three are treated alike: the update that led there is
/// undone, so the parameters are always those of the last good step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NonFinitePolicy {
    /// Stop with [`InferError::NonFinite`] or [`InferError::InvalidParameter`] naming the step
    /// and the site; the `Svi` is left at its last good state.
    #[default]
    Error,
    /// Undo the update, count the step as skipped, and go on (NumPyro's `stable_update`);
    /// [`Svi::fit`] fails with [`InferError::TooManySkipped`] when more than
    /// [`SviConfig::max_skipped_fraction`] of its steps were skipped.
    Skip,
}

/// Whether a step can undo the update before it (see [`NonFinitePolicy`]).
///
/// An update that keeps the state before it cannot write over it: it writes new buffers.
/// [`Undo::LastUpdate`] therefore keeps a copy only every few steps and replays from it (see
/// there), so most updates own their buffers, and the fused Adam ([`OptimizerKind::Adam`] on
/// flex and LibTorch) updates parameters and moments in place, as under [`Undo::Off`]: the
/// same numbers, bit for bit. Where it cannot replay it keeps the state before every update
/// (each update then writes new buffers: on 2 cores with the system allocator a VAE step 4–11 %
/// slower, a digit classifier's 8–16 %; `benches/README.md`, 2026-12-05).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Undo {
    /// A bad step undoes the update that led to it, so the `Svi` is always at its last good
    /// state (the default).
    ///
    /// How: under [`NonFinitePolicy::Error`] with [`Sampling::Host`] and no peers, the state
    /// before every eighth update (an anchor) is kept with the minibatches of the steps since;
    /// undoing the last update puts the anchor back and runs those steps again — the same
    /// numbers, since the seed fixes every draw and every kernel on a backend, and each
    /// replayed loss is checked against the recorded one (an undo costs up to seven steps;
    /// the minibatches are held, up to eight). A model that draws from anything but its
    /// context (its own random generator, a counter) cannot be replayed: such an undo goes
    /// back to the anchor instead, the last state known good, and the error's
    /// `restored_to_step` says which. Otherwise (the `Skip` policy, device sampling, peers) the
    /// state before every update is kept.
    #[default]
    LastUpdate,
    /// Keep nothing, and update in place where the optimizer can. The gradients are checked
    /// before an update, so a non-finite gradient is still never applied (the step fails or
    /// is skipped with the parameters as they were). What cannot be undone: an update that
    /// makes the *next* loss non-finite or a distribution's parameters invalid (the error
    /// says so, with `restored_to_step: None`, and the `Svi` keeps the parameters that
    /// gave it: load a checkpoint to go back), and an update that overflows from finite
    /// gradients (an [`InferError::NonFinite`] whatever the policy). A panic inside the
    /// optimizer leaves the `Svi` unusable.
    Off,
}

/// When [`Svi::step`] checks the parameters that the model and the guide hand to
/// distribution constructors (σ > 0, probabilities in [0, 1], no NaN …; see
/// [`ppl_dist::validation`]).
///
/// The checks cost a device reduction and a read-back per parameter tensor: checking on every
/// step made a step 11 % slower on the digit classifier, 4 % on the VAE and 21 % on a small
/// logistic regression (flex, `benches/README.md`), hence the default.
/// Whatever the setting, a step whose loss is not finite is evaluated again with the checks
/// on before it is reported, so an invalid parameter is still named as
/// [`InferError::InvalidParameter`] (site, parameter, value, step); only the extra pass is
/// saved. Evaluations, ELBO estimates and queries always check.
///
/// The limit of skipping them: a parameter that becomes invalid mid-fit *without* making the
/// loss non-finite goes unreported. Most do make it non-finite (σ ≤ 0 and p ∉ [0, 1] take a
/// log of a negative number), but e.g. a Gamma or Beta concentration driven below 0 by an
/// unconstrained parameter can keep a finite, meaningless log-density. Give such parameters a
/// constraint (`Constraint::Positive` in `ctx.param`, as the autoguides do) or use
/// [`Validation::Always`] while developing a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Validation {
    /// Check on the first step of this `Svi` (and the first after a checkpoint is loaded),
    /// and to name the cause of a failed step. The default: the shapes, supports and
    /// initial values are checked once, and an update that breaks a parameter makes the
    /// loss non-finite, which triggers the checked re-run.
    #[default]
    FirstStep,
    /// Check on every step (the behaviour before this setting existed).
    Always,
    /// Only to name the cause of a failed step.
    Never,
}

/// Settings of [`Svi`]; `..Default::default()` fills the rest.
#[derive(Debug, Clone)]
pub struct SviConfig {
    /// Passes over the data in [`Svi::fit`].
    pub epochs: usize,
    /// Minibatch size M (the `datamodel` plate is scaled by N/M).
    pub batch_size: usize,
    /// Shuffle the rows of the `datamodel` plate each epoch (with the seed). Only data read
    /// inside the `datamodel` plate are shuffled and minibatched; everything else is passed
    /// whole (see [`Svi::fit`]).
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
    /// Whether a bad step can undo the update before it ([`Undo::LastUpdate`], the default:
    /// by replaying from a copy kept every eighth step) or not ([`Undo::Off`]).
    pub undo: Undo,
    /// Show a progress bar on a terminal (never drawn when stderr is not a terminal).
    pub progress: bool,
    /// Stop [`Svi::fit`] after this many steps in total (smoke runs).
    pub max_steps: Option<usize>,
    /// Rows per chunk when querying posteriors (bounds memory for any number of rows).
    pub query_chunk: usize,
    /// Evaluate the particles of [`Elbo::Trace`]/[`Elbo::MeanField`] in one batched pass
    /// (K copies of the minibatch along the data plate, each scaled by 1/K) instead of a loop
    /// of K runs. Exact when every latent is local to the data plate (amortized models,
    /// VAEs); a model with a global latent is an [`InferError::Config`] error. A guide that
    /// declares [`Locality::Local`] is vectorized without asking; one that declares
    /// [`Locality::Global`] makes `true` an error before the first step. A guide that
    /// declares [`Locality::ParticlePlate`] (AutoNormal of a model written inside
    /// [`ppl_core::Ctx::particle_plate`]) has its [`Elbo::Trace`] particles drawn in one pass
    /// of that plate without asking; `true` with another objective is an error.
    pub vectorize_particles: bool,
    /// Accept bound data that neither the model nor the guide reads (by default an
    /// [`InferError::UnusedData`] error: such an entry is usually a misspelt site name).
    pub allow_unused_data: bool,
    /// The largest fraction of a fit's steps that [`NonFinitePolicy::Skip`] may skip before
    /// [`Svi::fit`] returns [`InferError::TooManySkipped`].
    pub max_skipped_fraction: f64,
    /// When steps check distribution parameters ([`Validation::FirstStep`] by default).
    pub validation: Validation,
    /// Where the steps' samplers draw their noise: [`Sampling::Host`] (the default: drawn
    /// from the seed on the host and uploaded, the same numbers bit for bit on every
    /// backend) or [`Sampling::Device`] (burn's device RNG, seeded from the same keys; no
    /// uploads, for GPU runs; statistically, not bitwise, the same, and fixed by the seed on
    /// a given backend; see
    /// [`ppl_dist::sampling`] for which samplers it covers).
    pub sampling: Sampling,
    /// Evaluate each minibatch as this many shares of its rows at once, on rayon's thread
    /// pool, and sum their gradients (each weighted by its share of the rows) before one
    /// update: the data-parallel step of [`Svi::with_peers`] inside one `Svi`, with one
    /// optimizer and no exchanges. The gradient estimates the same ELBO's, without bias;
    /// each share draws its rows' local latents from its own stream
    /// ([`ppl_core::Ctx::with_local_stream`]) and the global ones alike, so the draws — and
    /// the numbers — differ from `1`'s, and a seed fixes them for a given value. It pays on
    /// several cores when a step is a few large products that one thread computes best
    /// (measured in `benches/README.md`); `1` (the default) evaluates the minibatch whole.
    /// An `Svi`'s first step, a step that creates new `param` sites and minibatches of fewer
    /// rows than shares are evaluated whole; [`Elbo::Renyi`] (not a sum over rows) is
    /// refused.
    pub batch_shares: usize,
    /// How rayon's other threads wait for a step's parallel kernels when the step runs on
    /// the pool ([`crate::on_compute_pool`]) on flex or NdArray: spinning through long steps
    /// ([`PoolWait::Auto`], the default), every step, or rayon's own sleep. The same numbers
    /// either way; see [`PoolWait`] for what it costs and saves.
    pub pool_wait: PoolWait,
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
            undo: Undo::LastUpdate,
            progress: true,
            max_steps: None,
            query_chunk: 4096,
            vectorize_particles: false,
            allow_unused_data: false,
            max_skipped_fraction: 0.25,
            validation: Validation::FirstStep,
            sampling: Sampling::Host,
            batch_shares: 1,
            pool_wait: PoolWait::Auto,
        }
    }
}

/// How [`Svi`] evaluates an objective's particles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ParticleLayout {
    /// One run of the model and guide per particle.
    Loop,
    /// K stacked copies of the minibatch in one run (every latent local).
    Tiled,
    /// K instances of [`ppl_core::Ctx::particle_plate`] in one run.
    Plate,
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
    /// Held-out loss evaluations (see [`FitControl::validate_on`]): the step count after
    /// which each was taken, and the −ELBO per data point of the validation set.
    pub validation: Vec<(usize, f64)>,
    /// The evaluation with the lowest held-out loss: its step count and loss.
    pub best: Option<(usize, f64)>,
    /// Why the fit stopped before its budget, if it did.
    pub stopped: Option<StopReason>,
    /// The step count whose state was put back at the end ([`EarlyStopping::restore_best`]),
    /// if any was.
    pub restored_to_step: Option<usize>,
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
pub struct Svi<B: TrainingBackend, P: SviModel<B>, Q: SviGuide<B>> {
    /// `None` only while [`Undo::Off`]'s in-place update runs (or after it panicked).
    modules: Option<SviModules<B, P, Q>>,
    optim: AnyOptimizer<SviModules<B, P, Q>, B>,
    config: SviConfig,
    key: RngKey,
    device: B::Device,
    step: usize,
    losses: Vec<f64>,
    /// The estimator and its state (the score-function baselines).
    objective: AnyObjective,
    skipped: usize,
    /// The state before the last applied update (modules, optimizer, baseline), kept so
    /// that an update found bad at the next step can be undone.
    previous: Option<Previous<B, P, Q>>,
    /// [`Undo::LastUpdate`] by replay (see [`Replay`]), where it applies instead of
    /// `previous`.
    replay: Option<Replay<B, P, Q>>,
    /// Whether the steps running now are a replay (they update in place and log nothing),
    /// and whether the one running now is to be evaluated whole.
    replaying: bool,
    replay_whole: bool,
    /// Whether the guide's notice (e.g. an autoguide's latents) was shown.
    notice_shown: bool,
    /// How long the last step took (what [`PoolWait::Auto`] decides by).
    last_step_time: Option<Duration>,
    /// The guide's latent sites, learnt at the first successful step (`None` before).
    guide_latents: Option<Vec<String>>,
    /// Whether a step with parameter checks on has succeeded (since creation or the last
    /// checkpoint load); [`Validation::FirstStep`] checks until it has.
    validated: bool,
    /// This `Svi`'s place among the peers of a data-parallel fit ([`Svi::with_peers`]).
    #[cfg(feature = "collective")]
    peers: Option<data_parallel::PeerState<B>>,
}

type Previous<B, P, Q> = (
    SviModules<B, P, Q>,
    AnyOptimizer<SviModules<B, P, Q>, B>,
    ObjectiveState,
);

/// Steps per window of [`Replay`]: one update in this many writes new buffers.
const REPLAY_WINDOW: usize = 8;

/// [`Undo::LastUpdate`] without a copy kept at every step: the state before an anchor step's
/// update, and the steps committed since (minibatch, data-set size, loss). Undoing the last
/// update puts the anchor back and runs the window's other steps again: the same numbers,
/// since a seed fixes every draw and every kernel on a backend (with host sampling), and each
/// replayed loss is compared with the recorded one. The updates after the anchor's own then
/// own their buffers (nothing else holds them) and update in place where the optimizer can,
/// as under [`Undo::Off`]. Taken under [`NonFinitePolicy::Error`] with host sampling and no
/// peers; otherwise `previous` keeps the state before every update.
struct Replay<B: TrainingBackend, P: SviModel<B>, Q: SviGuide<B>> {
    /// The state before the anchor step's update.
    anchor: Previous<B, P, Q>,
    /// The step counter and the validation flag before it.
    step: usize,
    validated: bool,
    /// The committed steps from the anchor on: minibatch, data-set size, loss, and whether
    /// it was evaluated whole (not in shares: a step that created `param` sites, or the
    /// first, runs whole, and its replay must too, though the sites exist by then).
    steps: Vec<(Data<B>, usize, f64, bool)>,
}

/// A state [`Svi::fit_with`] may put back: modules, optimizer, step count, baselines (the
/// loss history is cut back to the step count).
type Snapshot<B, P, Q> = (
    SviModules<B, P, Q>,
    AnyOptimizer<SviModules<B, P, Q>, B>,
    usize,
    ObjectiveState,
);

/// The best held-out evaluation of a fit: step count, loss, and the state then (kept when it
/// is to be put back).
type Best<B, P, Q> = (usize, f64, Option<Snapshot<B, P, Q>>);

/// A step's objective evaluated (the first half of [`Svi::step`]): the estimate, the
/// objective with its state after it, and whether parameters were checked.
struct EvaluatedStep<B: Backend> {
    est: ElboEstimate<B>,
    objective: AnyObjective,
    checks: bool,
}

/// Why a step's evaluation failed.
enum StepFailure {
    /// A distribution's parameters are invalid (made so by the previous update).
    InvalidParameter {
        site: String,
        source: Box<ppl_dist::DistError>,
    },
    /// The loss is not finite: the first site to blame, its row, what is wrong with it.
    NonFiniteLoss {
        site: Option<String>,
        row: Option<usize>,
        detail: Option<String>,
    },
    /// Any other error (returned as it is).
    Other(InferError),
}

/// An ELBO estimate from many draws ([`Svi::estimate_elbo`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ElboSummary {
    /// The mean of the draws' ELBOs.
    pub mean: f64,
    /// Its Monte-Carlo standard error (sample standard deviation / √draws).
    pub std_err: f64,
    /// Number of draws.
    pub draws: usize,
}

impl<B: TrainingBackend, P: SviModel<B>, Q: SviGuide<B>> Svi<B, P, Q> {
    /// How every run of the model and guide scores its sample sites and maps its positive
    /// parameters: the backend's fused kernels ([`ppl_core::SiteScorer::fused`]) where they
    /// have one (the same numbers as the composed operations, up to rounding).
    pub(crate) const SCORER: Option<ppl_core::SiteScorer<B>> = Some(ppl_core::SiteScorer::fused());

    /// Set up SVI for model `p` and guide `q` (both burn modules).
    pub fn new(p: P, q: Q, config: SviConfig, device: &B::Device) -> Self {
        let optim = AnyOptimizer::new(config.optimizer, config.clip_norm);
        let objective = config.elbo.objective();
        let guide_latents = q.latent_sites();
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
            objective,
            skipped: 0,
            previous: None,
            replay: None,
            replaying: false,
            replay_whole: false,
            notice_shown: false,
            last_step_time: None,
            guide_latents,
            validated: false,
            #[cfg(feature = "collective")]
            peers: None,
        }
    }

    fn modules(&self) -> &SviModules<B, P, Q> {
        self.modules.as_ref().expect(MODULES_TAKEN)
    }

    fn modules_mut(&mut self) -> &mut SviModules<B, P, Q> {
        self.modules.as_mut().expect(MODULES_TAKEN)
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
    /// given key, without updating anything (no parameter, optimizer or baseline state
    /// changes; gradients off, and the autodiff graph burn still registers is freed before
    /// returning, so later steps do not slow down).
    ///
    /// # Errors
    /// Model or guide errors.
    pub fn evaluate(&self, data: &Data<B>, full_size: usize, key: &RngKey) -> Result<ElboEstimate<B>, InferError> {
        self.evaluate_stream(data, full_size, key, 0)
    }

    /// [`Svi::evaluate`] with the data plate's sites drawing from local stream `stream` (a
    /// chunk's first row, [`ppl_core::Ctx::with_local_stream`]).
    fn evaluate_stream(
        &self,
        data: &Data<B>,
        full_size: usize,
        key: &RngKey,
        stream: u64,
    ) -> Result<ElboEstimate<B>, InferError> {
        let mut objective = self.objective.clone();
        self.with_frozen(|m| self.run_objective(m, &mut objective, data, full_size, key, stream))
    }

    /// The ELBO `E_q[ln p(x, z) − ln q(z)]` on `data` (all of it, one batch) estimated from
    /// `draws` independent draws of the guide, in one call and without gradients: the
    /// number to compare fits by. Each draw is reproducible (its key is folded from the
    /// draw's index). Under [`Elbo::TraceEnum`] the enumerated site is summed out in every
    /// draw.
    ///
    /// # Errors
    /// [`InferError::Config`] for zero draws; model or guide errors.
    pub fn estimate_elbo(&self, data: &Data<B>, draws: usize) -> Result<ElboSummary, InferError> {
        if draws == 0 {
            return Err(InferError::Config("estimate_elbo needs at least one draw".into()));
        }
        let values = self.with_frozen(|m| {
            let data = self.plan_data(m, data)?;
            let n = data.rows()?.unwrap_or(1);
            let key = self.key.fold_in("estimate_elbo");
            let mut values = Vec::with_capacity(draws);
            for d in 0..draws {
                let draw_key = key.fold_in_u64(d as u64);
                let input = ObjectiveInput::new(
                    &m.p,
                    &m.q,
                    Batch::new(&data, n).with_scorer(Self::SCORER),
                    &draw_key,
                    &self.device,
                )
                .with_params(m.params.clone());
                // The Monte-Carlo ELBO; a model whose discrete site is summed out needs the
                // enumerating estimator (its guide may lack the site).
                let est = match &self.objective {
                    AnyObjective::TraceEnum(_) => TraceEnumElbo::new(1).estimate(input)?,
                    _ => TraceElbo::new(1).estimate(input)?,
                };
                values.push(est.elbo);
                drop(est);
                release_autodiff_graphs::<B>(&self.device);
            }
            Ok::<_, InferError>(values)
        })?;
        let mean = values.iter().sum::<f64>() / draws as f64;
        let var = if draws > 1 {
            values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (draws - 1) as f64
        } else {
            0.0
        };
        Ok(ElboSummary {
            mean,
            std_err: (var / draws as f64).sqrt(),
            draws,
        })
    }

    /// Run a pass that never back-propagates on the modules with gradient tracking off, then
    /// free the autodiff graph it registered ([`release_autodiff_graphs`]), whatever `f`
    /// returned.
    pub(crate) fn with_frozen<R>(&self, f: impl FnOnce(&SviModules<B, P, Q>) -> R) -> R {
        let m = Module::no_grad(self.modules().clone());
        let out = f(&m);
        drop(m);
        release_autodiff_graphs::<B>(&self.device);
        out
    }

    /// `data` with the entries the programs read outside the `datamodel` plate marked whole
    /// (see [`crate::data_plan`]), found by one run of the guide and the model without
    /// gradients on a slice of the rows (on all of them if the slice does not fit).
    pub(crate) fn plan_data(&self, m: &SviModules<B, P, Q>, data: &Data<B>) -> Result<Data<B>, InferError> {
        let n = data.rows()?;
        let key = self.key.fold_in("data plan");
        let probe = |d: &Data<B>| -> Result<Data<B>, InferError> {
            let rows = d.rows()?.unwrap_or(1);
            let batch = Batch::new(d, n.unwrap_or(rows).max(rows)).with_scorer(Self::SCORER);
            let particle = run_unmatched(&m.p, &m.q, &batch, m.params.clone(), &key, &self.device)?;
            let traces = [&particle.guide, &particle.model];
            data_plan::plan(
                data,
                &data_plan::merged_reads(&traces),
                data_plan::sample_sites(&traces),
                self.config.allow_unused_data,
            )
        };
        let slice = self.config.batch_size.clamp(1, 64);
        let out = match n {
            Some(n) if n > slice => probe(&data.narrow_rows(0, slice)).or_else(|_| probe(data)),
            _ => probe(data),
        };
        release_autodiff_graphs::<B>(&self.device);
        out
    }

    /// How the particles run: one after another, vectorized as copies of the minibatch
    /// (asked for in the config, or chosen up front for a guide that declares itself local),
    /// or vectorized through the particle plate (a guide that declares
    /// [`Locality::ParticlePlate`], with [`Elbo::Trace`]); see
    /// [`VariationalFamily::locality`].
    ///
    /// # Errors
    /// [`InferError::Config`] when vectorization is asked for with the Rényi bound or
    /// `TraceEnum`, with a guide that declares a global latent, or through the particle plate
    /// with an objective other than [`Elbo::Trace`].
    fn particle_layout(&self, objective: &AnyObjective) -> Result<ParticleLayout, InferError> {
        let renyi = matches!(objective, AnyObjective::Renyi(_) | AnyObjective::TraceEnum(_));
        let trace = matches!(objective, AnyObjective::Trace(_));
        match (self.config.vectorize_particles, self.modules().q.locality()) {
            (true, _) if renyi => Err(InferError::Config(
                "vectorize_particles applies to Elbo::Trace, Elbo::MeanField and Elbo::TraceGraph, not to the \
                 Rényi bound or Elbo::TraceEnum"
                    .into(),
            )),
            (true, Locality::Global) => Err(InferError::Config(
                "vectorize_particles needs every latent inside the data plate, and the guide declares a global \
                 latent (Locality::Global, as every autoguide does): use the particle loop (vectorize_particles: \
                 false), or write the model's global latents inside `ctx.particle_plate` (AutoNormal then \
                 draws every particle in one pass)"
                    .into(),
            )),
            (true, Locality::ParticlePlate) if !trace => Err(InferError::Config(
                "vectorize_particles through the particle plate applies to Elbo::Trace (the analytic KL of \
                 Elbo::MeanField and the per-site baselines of Elbo::TraceGraph treat the plate's particles as \
                 one draw): set vectorize_particles: false to run the particles one after another"
                    .into(),
            )),
            (_, Locality::ParticlePlate) if trace => Ok(ParticleLayout::Plate),
            (true, _) => Ok(ParticleLayout::Tiled),
            (false, Locality::Local) if !renyi => Ok(ParticleLayout::Tiled),
            (false, _) => Ok(ParticleLayout::Loop),
        }
    }

    /// Evaluate `objective` (a copy of `self.objective`, whose state it updates) on `data`,
    /// its data-plate sites drawing from local stream `stream` (0 for a whole minibatch; a
    /// share's first row, see [`ppl_core::Ctx::with_local_stream`]).
    fn run_objective(
        &self,
        m: &SviModules<B, P, Q>,
        objective: &mut AnyObjective,
        data: &Data<B>,
        full_size: usize,
        key: &RngKey,
        stream: u64,
    ) -> Result<ElboEstimate<B>, InferError> {
        let input = |data, replicas, particles| {
            ObjectiveInput::new(
                &m.p,
                &m.q,
                Batch {
                    data,
                    full_size,
                    replicas,
                    particles,
                    scorer: Self::SCORER,
                    local_stream: stream,
                },
                key,
                &self.device,
            )
            .with_params(m.params.clone())
        };
        let layout = self.particle_layout(objective)?;
        let k = objective.particles();
        let est = match layout {
            ParticleLayout::Tiled if k > 1 => {
                // Vectorized particles: K copies of the minibatch in one pass, each row's terms
                // scaled by N/(K·M), i.e. the average of K particles (valid when every latent is
                // local), evaluated by the same estimator with one particle.
                let mut single = objective.with_particles(1);
                let rows = data.rows()?.unwrap_or(1);
                let idx: Vec<usize> = (0..k).flat_map(|_| 0..rows).collect();
                let tiled = data.select_rows(&idx);
                let est = single.estimate(input(&tiled, k, 1))?;
                objective.set_state(single.state());
                est
            }
            ParticleLayout::Plate if k > 1 => {
                // K particles along the particle plate's dimension, each site scaled by 1/K
                // there: one pass is the average of K particles.
                let mut single = objective.with_particles(1);
                let est = single.estimate(input(data, 1, k))?;
                objective.set_state(single.state());
                est
            }
            _ => objective.estimate(input(data, 1, 1))?,
        };
        let vectorize = layout == ParticleLayout::Tiled;
        if !self.config.allow_unused_data {
            let traces = [&est.traces.0, &est.traces.1];
            let unused = data_plan::unused(data, &data_plan::merged_reads(&traces));
            if !unused.is_empty() {
                return Err(data_plan::unused_error(unused, data_plan::sample_sites(&traces)));
            }
        }
        if vectorize {
            if let Some(s) = est.traces.0.latent_sites().find(|s| !s.in_data_plate()) {
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
    /// objective, back-propagate, update. Returns the loss (−ELBO), NaN for a skipped step.
    ///
    /// A bad step — a non-finite loss, an update that makes a parameter non-finite (a
    /// non-finite gradient), or distribution parameters made invalid by the previous update
    /// — never leaves bad parameters behind: the update that led to it is undone. Under
    /// [`NonFinitePolicy::Error`] the step returns the error and the `Svi` is at its last
    /// good state (when the previous update is undone, the step counter and loss history go
    /// back one step with it, so the state equals the one an uninterrupted run had then);
    /// under [`NonFinitePolicy::Skip`] the step is counted as skipped and the run goes on.
    ///
    /// # Errors
    /// Model or guide errors; [`InferError::InvalidParameter`] (with the step) when a
    /// distribution's parameters are invalid; [`InferError::NonFinite`] under
    /// [`NonFinitePolicy::Error`]; [`InferError::UnusedData`] for bound data nothing reads.
    pub fn step(&mut self, batch: &Data<B>, full_size: usize) -> Result<f64, InferError> {
        let start = Instant::now();
        let result = if self.pool_awake() {
            with_pool_awake(|| self.take_step(batch, full_size))
        } else {
            self.take_step(batch, full_size)
        };
        self.last_step_time = Some(start.elapsed());
        result
    }

    /// Whether this step keeps rayon's pool awake ([`SviConfig::pool_wait`]): on a backend
    /// whose kernels run on that pool, without peers, and not for a replayed step (the step
    /// that replays keeps it awake already).
    fn pool_awake(&self) -> bool {
        #[cfg(feature = "collective")]
        if self.peers.is_some() {
            return false;
        }
        if self.replaying || !B::kernels_on_rayon_pool() {
            return false;
        }
        match self.config.pool_wait {
            PoolWait::Auto => self.last_step_time.is_some_and(|t| t >= PoolWait::AUTO_MIN_STEP),
            PoolWait::Spin => true,
            PoolWait::Sleep => false,
        }
    }

    /// [`Svi::step`] itself (on the calling thread, with the pool awake or not).
    fn take_step(&mut self, batch: &Data<B>, full_size: usize) -> Result<f64, InferError> {
        #[cfg(feature = "collective")]
        if self.peers.is_some() {
            return self.step_data_parallel(batch, full_size);
        }
        if self.config.batch_shares > 1 && !(self.replaying && self.replay_whole) {
            if let Some(result) = self.step_in_shares(batch, full_size) {
                return result;
            }
        }
        let mut evaluated = match self.evaluate_step(self.modules(), batch, full_size, 0) {
            Ok(e) => e,
            Err(failure) => return self.fail_step(failure),
        };
        let loss = -evaluated.est.elbo;
        let (m, grads) = self.gradients(&mut evaluated.est, None);
        self.commit_step(evaluated, m, grads, loss, (batch, full_size, true))
    }

    /// The first half of a step: evaluate the objective on `batch` (with the parameter
    /// checks the [`Validation`] setting asks for; data-plate sites drawing from local
    /// stream `stream`), and find what makes it fail.
    fn evaluate_step(
        &self,
        m: &SviModules<B, P, Q>,
        batch: &Data<B>,
        full_size: usize,
        stream: u64,
    ) -> Result<EvaluatedStep<B>, StepFailure> {
        let key = self.key.fold_in_u64(self.step as u64);
        let mut objective = self.objective.clone();
        let checks = match self.config.validation {
            Validation::Always => true,
            Validation::FirstStep => !self.validated,
            Validation::Never => false,
        };
        let mut result = with_sampling(self.config.sampling, || {
            with_parameter_checks(checks, || {
                self.run_objective(m, &mut objective, batch, full_size, &key, stream)
            })
        });
        if !checks && !matches!(&result, Ok(e) if e.elbo.is_finite()) {
            // Something failed without the checks: evaluate again with them, so an invalid
            // parameter is named (the same key gives the same draws, in either sampling mode).
            objective = self.objective.clone();
            result = with_sampling(self.config.sampling, || {
                self.run_objective(m, &mut objective, batch, full_size, &key, stream)
            });
        }
        let est = match result {
            Ok(e) => e,
            // Invalid parameters come from the previous update.
            Err(InferError::Core(CoreError::Distribution { site, source })) => {
                return Err(StepFailure::InvalidParameter { site, source })
            }
            Err(e @ InferError::UnmatchedSite { .. }) => {
                // A latent the guide lacks is often observed data under a misspelt name:
                // report the unused entry, which is the cause, rather than the latent.
                return Err(StepFailure::Other(match self.plan_data(self.modules(), batch) {
                    Err(unused @ InferError::UnusedData { .. }) => unused,
                    _ => e,
                }));
            }
            Err(e) => return Err(StepFailure::Other(e)),
        };
        if !est.elbo.is_finite() {
            let (site, row, detail) = first_non_finite_site(&est.traces.0, &est.traces.1);
            return Err(StepFailure::NonFiniteLoss { site, row, detail });
        }
        Ok(EvaluatedStep { est, objective, checks })
    }

    /// Finish a failed step: a bad step (invalid parameters, a non-finite loss) undoes the
    /// previous update, which may have caused it, and goes by the [`NonFinitePolicy`];
    /// other errors are returned as they are.
    fn fail_step(&mut self, failure: StepFailure) -> Result<f64, InferError> {
        let failing = self.step;
        match failure {
            StepFailure::InvalidParameter { site, source } => {
                let restored = self.undo_previous();
                self.bad_step(InferError::InvalidParameter {
                    step: failing,
                    site,
                    source,
                    restored_to_step: restored,
                })
            }
            StepFailure::NonFiniteLoss { site, row, detail } => {
                // The previous update may have produced the parameters that overflow: undo it.
                let restored = self.undo_previous();
                self.bad_step(InferError::NonFinite {
                    step: failing,
                    what: match self.config.undo {
                        Undo::LastUpdate => "loss",
                        Undo::Off => "loss (the update before it was not undone: SviConfig::undo is Off)",
                    },
                    site,
                    row,
                    detail,
                    restored_to_step: restored,
                })
            }
            StepFailure::Other(e) => Err(e),
        }
    }

    /// The gradients of an evaluated step's surrogate loss (times `weight`, when given) with
    /// respect to the modules, and the modules they belong to (with the step's new `param`
    /// sites).
    fn gradients(&self, est: &mut ElboEstimate<B>, weight: Option<f64>) -> (SviModules<B, P, Q>, GradientsParams) {
        // The update is computed on copies (tensors are shared, not copied) and committed only
        // once it succeeded: a panic inside backward or the optimizer leaves `self` as it was.
        let mut m = self.modules().clone();
        m.params = std::mem::take(&mut est.params);
        let grads = match weight {
            Some(w) => (est.surrogate_loss.clone() * w).backward(),
            None => est.surrogate_loss.backward(),
        };
        let grads = GradientsParams::from_grads(grads, &m);
        (m, grads)
    }

    /// The second half of a step: update the modules `m` by `grads` and commit the new state,
    /// unless the update made a parameter non-finite.
    fn commit_step(
        &mut self,
        evaluated: EvaluatedStep<B>,
        m: SviModules<B, P, Q>,
        grads: GradientsParams,
        loss: f64,
        (batch, full_size, whole): (&Data<B>, usize, bool),
    ) -> Result<f64, InferError> {
        let EvaluatedStep { est, objective, checks } = evaluated;
        let lr = self.config.schedule.at(self.config.lr, self.step);
        if self.guide_latents.is_none() {
            self.guide_latents = Some(est.traces.0.latent_sites().map(|s| s.name.clone()).collect());
        }
        // The traces may hold `param` values: dropped, so the update can own the buffers.
        drop(est);
        // In place: under `Undo::Off`, and for a replayed step or one inside a replay window.
        let in_place = match self.config.undo {
            Undo::Off => true,
            Undo::LastUpdate => {
                self.replaying
                    || (self.replays() && self.replay.as_ref().is_some_and(|r| r.steps.len() < REPLAY_WINDOW))
            }
        };
        let updated = if in_place {
            // The gradients checked first: a non-finite one is never applied.
            if !gradients_finite(&m, &grads) {
                return self.bad_step(non_finite_update(self.step, NON_FINITE_GRADIENT));
            }
            // Nothing else holds the parameters or the optimizer's state now: the update may
            // write over them.
            self.previous = None;
            self.modules = None;
            let (updated, finite) = self.optim.step_checked(lr, m, grads);
            if !finite.unwrap_or_else(|| all_finite(&updated)) {
                self.modules = Some(updated);
                return self.overflowed_in_place();
            }
            updated
        } else {
            let before = m.clone();
            let mut optim = self.optim.clone();
            let (updated, finite) = optim.step_checked(lr, m, grads);
            if !finite.unwrap_or_else(|| all_finite(&updated)) {
                // A non-finite gradient (or an overflowing update): not applied.
                self.modules = Some(before);
                return self.bad_step(non_finite_update(self.step, NON_FINITE_GRADIENT));
            }
            let before_optim = std::mem::replace(&mut self.optim, optim);
            let previous = (before, before_optim, self.objective.state());
            if self.replays() {
                // A new anchor: this update wrote new buffers (the anchor holds the old
                // ones); the next ones in the window update in place.
                self.previous = None;
                self.replay = Some(Replay {
                    anchor: previous,
                    step: self.step,
                    validated: self.validated,
                    steps: Vec::with_capacity(REPLAY_WINDOW),
                });
            } else {
                self.previous = Some(previous);
            }
            updated
        };
        self.modules = Some(updated);
        self.validated |= checks;
        self.objective = objective;
        self.step += 1;
        self.losses.push(loss);
        if !self.replaying {
            if let Some(r) = self.replay.as_mut() {
                r.steps.push((batch.clone(), full_size, loss, whole));
            }
        }
        Ok(loss)
    }

    /// An update written in place that overflowed from finite gradients (the `Svi` holds
    /// it): under [`Undo::Off`] an error, not undone; inside a replay window the state before
    /// it comes back by replaying the window (which stays open), and the error says where a
    /// replay that could not reproduce the window left it; a replayed step only reports it.
    fn overflowed_in_place(&mut self) -> Result<f64, InferError> {
        let step = self.step;
        if self.config.undo == Undo::Off {
            return Err(non_finite_update(
                step,
                "parameters after the update (an update that overflowed from finite gradients; not undone: \
                 SviConfig::undo is Off)",
            ));
        }
        let mut error = non_finite_update(step, NON_FINITE_GRADIENT);
        if self.replaying {
            return Err(error);
        }
        let count = self.replay.as_ref().map_or(0, |r| r.steps.len());
        if let (Err(anchor), InferError::NonFinite { restored_to_step, .. }) =
            (self.replay_window(count, true), &mut error)
        {
            *restored_to_step = Some(anchor);
        }
        self.bad_step(error)
    }

    /// Whether [`Undo::LastUpdate`] takes [`Replay`] here: host sampling, the `Error`
    /// policy, no peers, not inside a replay.
    fn replays(&self) -> bool {
        #[cfg(feature = "collective")]
        if self.peers.is_some() {
            return false;
        }
        self.config.undo == Undo::LastUpdate
            && self.config.non_finite == NonFinitePolicy::Error
            && self.config.sampling == Sampling::Host
            && !self.replaying
    }

    /// Put the [`Replay`] anchor back and run the first `count` steps of its window again:
    /// the state after them, as it was (step counter and loss history included). With
    /// `keep`, the window stays open with those `count` steps (later updates can still be
    /// undone); without, it is closed. Returns `Ok` when the replay reproduced every recorded
    /// loss, else (a model that draws from something other than its context's keys, say)
    /// `Err(step)`: the state is the anchor's, the last known good one, from before step
    /// `step`'s update, and the window is closed.
    fn replay_window(&mut self, count: usize, keep: bool) -> Result<(), usize> {
        let Some(Replay {
            anchor,
            step,
            validated,
            mut steps,
        }) = self.replay.take()
        else {
            return Err(self.step);
        };
        let (modules, optim, objective) = &anchor;
        let put_back = |svi: &mut Self| {
            svi.losses.truncate(step);
            svi.previous = None;
            svi.modules = Some(modules.clone());
            svi.optim = optim.clone();
            svi.objective.set_state(objective.clone());
            svi.step = step;
            svi.validated = validated;
        };
        put_back(self);
        self.replaying = true;
        let mut same = true;
        for (batch, full_size, loss, whole) in steps.iter().take(count) {
            self.replay_whole = *whole;
            if !matches!(self.step(batch, *full_size), Ok(l) if l.to_bits() == loss.to_bits()) {
                same = false;
                break;
            }
        }
        self.replaying = false;
        if !same {
            put_back(self);
            return Err(step);
        }
        if keep {
            steps.truncate(count);
            self.replay = Some(Replay {
                anchor,
                step,
                validated,
                steps,
            });
        }
        Ok(())
    }

    /// Undo the last applied update (modules, optimizer, baseline); returns its step.
    /// Under `Error` the step counter and loss history go back with it.
    fn undo_previous(&mut self) -> Option<usize> {
        if self.previous.is_none() {
            // Undo by replay: the window's steps but the last, from its anchor; the window
            // closes, as `previous` is taken.
            let count = self.replay.as_ref().filter(|r| !r.steps.is_empty())?.steps.len();
            let undone = self.step.checked_sub(1)?;
            // Not reproduced: back at the anchor, before its step's update.
            return Some(
                self.replay_window(count - 1, false)
                    .map_or_else(|anchor| anchor, |()| undone),
            );
        }
        let (m, o, b) = self.previous.take()?;
        self.modules = Some(m);
        self.optim = o;
        self.objective.set_state(b);
        let undone = self.step.checked_sub(1)?;
        if self.config.non_finite == NonFinitePolicy::Error {
            self.step = undone;
            self.losses.truncate(undone);
        }
        Some(undone)
    }

    /// Finish a bad step by the policy: return the error, or count it and go on.
    fn bad_step(&mut self, error: InferError) -> Result<f64, InferError> {
        match self.config.non_finite {
            NonFinitePolicy::Error => Err(error),
            NonFinitePolicy::Skip => {
                self.skipped += 1;
                self.step += 1;
                self.losses.push(f64::NAN);
                Ok(f64::NAN)
            }
        }
    }

    /// Fit on `data` for the configured epochs: shuffled minibatches of `batch_size` rows of
    /// the `datamodel` plate, each scaled to the full data set. Shows a progress bar with
    /// the loss per data point and the rate. The same as [`Svi::fit_with`] with
    /// [`FitControl::new`].
    ///
    /// # What is shuffled and minibatched
    /// Only the data read inside the `datamodel` plate. Before the first step the guide and
    /// the model run once without gradients to find where each entry is read; entries read
    /// outside the `datamodel` plate (in a named plate, at top level) and entries bound with
    /// [`Data::with_whole`] are passed whole, in their order, at every step. A model without
    /// `datamodel` rows is fitted on all the data at every step (one step per epoch).
    ///
    /// # Errors
    /// [`InferError::Config`] for a zero batch size or an entry read both inside and outside
    /// the `datamodel` plate; [`InferError::UnusedData`] for bound data nothing reads;
    /// [`InferError::TooManySkipped`]; step errors.
    pub fn fit(&mut self, data: &Data<B>) -> Result<FitReport, InferError> {
        self.fit_with(data, FitControl::new())
    }

    /// [`Svi::fit`] with training control: a held-out loss evaluated every k steps, early
    /// stopping on it that keeps the best parameters, and callbacks per step and per epoch
    /// ([`FitControl`]). The held-out evaluations, the best one and why the fit stopped are
    /// in the [`FitReport`].
    ///
    /// ```
    /// use burn::backend::{Autodiff, NdArray};
    /// use burn::tensor::Tensor;
    /// use ppl_core::{Ctx, Data};
    /// use ppl_dist::{Constraint, Normal};
    /// use ppl_infer::{EarlyStopping, FitControl, Svi, SviConfig};
    ///
    /// type B = Autodiff<NdArray<f64>>;
    /// let dev = Default::default();
    /// let p = |ctx: &mut Ctx<B>| {
    ///     let z = ctx.sample("z", Normal::new(ctx.zeros([1]), 1.0));
    ///     ctx.datamodel(|ctx| { ctx.sample("x", Normal::new(z, 1.0)); });
    /// };
    /// let q = |ctx: &mut Ctx<B>| {
    ///     let loc = ctx.param("loc", ctx.zeros([1]), Constraint::Real);
    ///     let scale = ctx.param("scale", ctx.ones([1]), Constraint::Positive);
    ///     ctx.sample("z", Normal::new(loc, scale));
    /// };
    /// let xs = |v: [f64; 4]| Data::new().with("x", Tensor::<B, 1>::from_floats(v, &dev));
    /// let (train, held_out) = (xs([1.0, 2.0, 3.0, 2.0]), xs([1.5, 2.5, 2.0, 1.0]));
    /// let config = SviConfig { epochs: 2000, batch_size: 4, lr: 0.05, progress: false, ..Default::default() };
    /// let mut svi = Svi::from_fns(p, q, config, &dev);
    /// let control = FitControl::new().validate_on(&held_out, 10).early_stopping(EarlyStopping::default());
    /// let report = svi.fit_with(&train, control).unwrap();
    /// assert!(report.steps < 2000);                           // stopped early
    /// let (best_step, best_loss) = report.best.unwrap();
    /// assert_eq!(svi.steps(), best_step);                     // the best state is back
    /// assert_eq!(svi.held_out_loss(&held_out).unwrap(), best_loss);
    /// ```
    ///
    /// # Errors
    /// As [`Svi::fit`]; [`InferError::Config`] for a bad [`FitControl`] (early stopping
    /// without a validation set, validation every 0 steps, a bad [`EarlyStopping`]); errors
    /// of the held-out evaluation.
    pub fn fit_with(&mut self, data: &Data<B>, mut control: FitControl<'_, B>) -> Result<FitReport, InferError> {
        control.validate()?;
        if self.config.batch_size == 0 {
            return Err(InferError::Config(
                "batch size 0: a minibatch needs at least one row".into(),
            ));
        }
        let data = self.plan_data(self.modules(), data)?;
        if !self.notice_shown {
            self.notice_shown = true;
            if self.config.progress {
                if let Some(notice) = self.guide().notice() {
                    eprintln!("{notice}");
                }
            }
        }
        // `None`: nothing is rows of the data plate; every step sees all the data.
        let n = data.rows()?;
        let (n_rows, m) = match n {
            Some(0) => return Err(InferError::Config("the data have 0 rows".into())),
            Some(n) => (n, self.config.batch_size.min(n)),
            None => (1, 1),
        };
        let per_epoch = if self.config.drop_last {
            n_rows / m
        } else {
            n_rows.div_ceil(m)
        };
        let total = per_epoch * self.config.epochs;
        let total = self.config.max_steps.map_or(total, |s| s.min(total));
        let held_out = match control.validation {
            Some((v, every)) => Some((self.plan_data(self.modules(), v)?, every)),
            None => None,
        };
        let mut stopper = control.early_stopping.map(EarlyStopper::new);
        let restore_best = control.early_stopping.is_some_and(|r: EarlyStopping| r.restore_best);
        let mut validation = Vec::new();
        let mut best: Option<Best<B, P, Q>> = None;
        let mut stopped = None;
        let per_point = |loss: f64| loss / n_rows as f64;
        let bar = crate::progress::bar(total as u64, self.config.progress);
        let start = Instant::now();
        let (mut steps, skipped0) = (0, self.skipped);
        let mut epoch_losses = Vec::new();
        'epochs: for epoch in 0..self.config.epochs {
            if steps >= total {
                break;
            }
            let order = ppl_core::epoch_order(self.config.seed, n_rows, epoch, self.config.shuffle && n.is_some());
            let mut sum = 0.0;
            let mut count = 0;
            for b in 0..per_epoch {
                if steps >= total {
                    break; // `max_steps` reached: record this partial epoch, then stop
                }
                let rows = &order[b * m..((b + 1) * m).min(n_rows)];
                let batch = if n.is_none() || (rows.len() == n_rows && !self.config.shuffle) {
                    data.clone()
                } else {
                    data.select_rows(rows)
                };
                let loss = match self.step(&batch, n_rows) {
                    Ok(l) => l,
                    // Name the row of the bound data, not of the minibatch.
                    Err(InferError::NonFinite {
                        step,
                        what,
                        site,
                        row: Some(r),
                        detail,
                        restored_to_step,
                    }) if n.is_some() => {
                        return Err(InferError::NonFinite {
                            step,
                            what,
                            site,
                            row: Some(rows[r % rows.len()]),
                            detail,
                            restored_to_step,
                        })
                    }
                    Err(e) => return Err(e),
                };
                if loss.is_finite() {
                    sum += loss;
                    count += 1;
                }
                steps += 1;
                let mut held_out_loss = None;
                if let Some((v, every)) = &held_out {
                    if steps % every == 0 {
                        let value = self.held_out_loss_planned(v)?;
                        held_out_loss = Some(value);
                        validation.push((self.step, value));
                        if value.is_finite() && best.as_ref().is_none_or(|b| value < b.1) {
                            let snapshot = restore_best.then(|| self.snapshot());
                            best = Some((self.step, value, snapshot));
                        }
                        if stopper.as_mut().is_some_and(|s| s.observe(value)) {
                            stopped = Some(StopReason::EarlyStopping);
                        }
                    }
                }
                bar.set_position(steps as u64);
                bar.set_message(crate::progress::message(
                    epoch,
                    per_point(loss),
                    validation.last().map(|v| v.1),
                    steps as f64 / start.elapsed().as_secs_f64().max(1e-9),
                ));
                if let Some(hook) = control.on_step.as_mut() {
                    let info = StepInfo {
                        step: self.step,
                        epoch,
                        loss,
                        loss_per_datapoint: per_point(loss),
                        validation: held_out_loss,
                    };
                    if hook(&info) == Flow::Stop {
                        stopped = stopped.or(Some(StopReason::Callback));
                    }
                }
                if stopped.is_some() {
                    epoch_losses.push(if count > 0 { sum / count as f64 } else { f64::NAN });
                    break 'epochs;
                }
            }
            let mean_loss = if count > 0 { sum / count as f64 } else { f64::NAN };
            epoch_losses.push(mean_loss);
            if let Some(hook) = control.on_epoch.as_mut() {
                let info = EpochInfo {
                    epoch,
                    step: self.step,
                    mean_loss,
                    mean_loss_per_datapoint: per_point(mean_loss),
                    validation: validation.last().map(|v| v.1),
                };
                if hook(&info) == Flow::Stop {
                    stopped = Some(StopReason::Callback);
                    break;
                }
            }
        }
        bar.finish_and_clear();
        let skipped = self.skipped - skipped0;
        if skipped > 0 && skipped as f64 > self.config.max_skipped_fraction * steps as f64 {
            return Err(InferError::TooManySkipped {
                skipped,
                steps,
                max_fraction: self.config.max_skipped_fraction,
            });
        }
        let mut restored_to_step = None;
        let best = best.map(|(step, value, snapshot)| {
            if let Some(snapshot) = snapshot {
                if snapshot.2 != self.step {
                    restored_to_step = Some(snapshot.2);
                    self.put_back(snapshot);
                }
            }
            (step, value)
        });
        let seconds = start.elapsed().as_secs_f64();
        Ok(FitReport {
            steps,
            epoch_losses,
            skipped,
            seconds,
            steps_per_second: steps as f64 / seconds.max(1e-9),
            validation,
            best,
            stopped,
            restored_to_step,
        })
    }

    /// The current state, for [`Svi::put_back`].
    fn snapshot(&self) -> Snapshot<B, P, Q> {
        (
            self.modules().clone(),
            self.optim.clone(),
            self.step,
            self.objective.state(),
        )
    }

    /// Go back to a [`Svi::snapshot`]: parameters, optimizer, step count, baseline, and the
    /// loss history cut back to that step.
    fn put_back(&mut self, (modules, optim, step, baseline): Snapshot<B, P, Q>) {
        let mut losses = std::mem::take(&mut self.losses);
        losses.truncate(step);
        self.restore(modules, optim, step, losses, baseline);
    }

    /// The held-out loss on `data`: the −ELBO per data point of `data`, its `datamodel` rows
    /// taken as the whole data set (global latents' terms counted once), from one draw of
    /// the guide with a key fixed by the seed, so that two calls differ only by the
    /// parameters. Evaluated without gradients in chunks of `query_chunk` rows (each chunk's
    /// estimate weighted by its share of the rows). What [`FitControl::validate_on`]
    /// evaluates.
    ///
    /// # Errors
    /// [`InferError::UnusedData`] and other data-plan errors; model or guide errors.
    pub fn held_out_loss(&self, data: &Data<B>) -> Result<f64, InferError> {
        let planned = self.plan_data(self.modules(), data)?;
        self.held_out_loss_planned(&planned)
    }

    /// [`Svi::held_out_loss`] on data already planned by [`Svi::plan_data`].
    fn held_out_loss_planned(&self, data: &Data<B>) -> Result<f64, InferError> {
        let key = self.key.fold_in("held-out loss");
        let Some(n) = data.rows()? else {
            return Ok(-self.evaluate(data, 1, &key)?.elbo);
        };
        if n == 0 {
            return Err(InferError::Config("the held-out data have 0 rows".into()));
        }
        let chunk = self.chunk();
        let mut elbo = 0.0;
        for start in (0..n).step_by(chunk) {
            let rows = chunk.min(n - start);
            let part = if rows == n {
                data.clone()
            } else {
                data.narrow_rows(start, rows)
            };
            // One key for every chunk (one draw of the global latents, as in a single pass),
            // each chunk's rows from their own stream.
            let est = self.evaluate_stream(&part, n, &key, start as u64)?;
            elbo += est.elbo * rows as f64 / n as f64;
        }
        Ok(-elbo / n as f64)
    }

    /// The guide's latent sites (declared by the guide, or read off the first step; empty
    /// before then).
    pub(crate) fn guide_latents(&self) -> &[String] {
        self.guide_latents.as_deref().unwrap_or_default()
    }

    pub(crate) fn modules_ref(&self) -> &SviModules<B, P, Q> {
        self.modules()
    }

    pub(crate) fn optimizer(&self) -> &AnyOptimizer<SviModules<B, P, Q>, B> {
        &self.optim
    }

    pub(crate) fn objective_state(&self) -> ObjectiveState {
        self.objective.state()
    }

    pub(crate) fn restore(
        &mut self,
        modules: SviModules<B, P, Q>,
        optim: AnyOptimizer<SviModules<B, P, Q>, B>,
        step: usize,
        losses: Vec<f64>,
        objective: ObjectiveState,
    ) {
        self.previous = None;
        self.replay = None;
        self.validated = false;
        self.modules = Some(modules);
        self.optim = optim;
        self.step = step;
        self.losses = losses;
        self.objective.set_state(objective);
    }

    /// Rows per query chunk.
    pub(crate) fn chunk(&self) -> usize {
        self.config.query_chunk.max(1)
    }

    /// The device.
    pub fn device(&self) -> &B::Device {
        &self.device
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

/// A closure guide declares nothing: its latents are read off the first step.
impl<B: Backend, F: Fn(&mut ppl_core::Ctx<B>)> VariationalFamily<B> for FnModel<ModelFn<F>> where
    ModelFn<F>: Clone + Send + Sync + std::fmt::Debug + 'static
{
}

impl<B, FP, FQ> Svi<B, FnModel<ModelFn<FP>>, FnModel<ModelFn<FQ>>>
where
    B: TrainingBackend,
    FP: Fn(&mut ppl_core::Ctx<B>) + Clone + Send + Sync + 'static,
    FQ: Fn(&mut ppl_core::Ctx<B>) + Clone + Send + Sync + 'static,
{
    /// SVI for a model and guide written as closures (all their parameters are `param` sites).
    pub fn from_fns(p: FP, q: FQ, config: SviConfig, device: &B::Device) -> Self {
        Svi::new(FnModel { f: ModelFn(p) }, FnModel { f: ModelFn(q) }, config, device)
    }
}

/// What [`Svi::modules`] says when the modules are missing (an in-place update panicked).
const MODULES_TAKEN: &str =
    "Svi's parameters are missing: an in-place update (Undo::Off) panicked and left nothing to go back to";

/// The error of an update at step `step` that found or made a parameter non-finite: `what`
/// says which ([`NON_FINITE_GRADIENT`] unless an update overflowed).
fn non_finite_update(step: usize, what: &'static str) -> InferError {
    InferError::NonFinite {
        step,
        what,
        site: None,
        row: None,
        detail: None,
        restored_to_step: None,
    }
}

/// [`non_finite_update`]'s `what` for a non-finite gradient (not applied).
const NON_FINITE_GRADIENT: &str = "parameters after the update (a non-finite gradient)";

/// Whether every float parameter of `m` is finite (see [`finite_tensors`]).
fn all_finite<B: TrainingBackend, M: AutodiffModule<B>>(m: &M) -> bool {
    finite_tensors::<B, M>(m, None)
}

/// Whether every gradient in `grads` of a float parameter of `m` is finite (see
/// [`finite_tensors`]).
fn gradients_finite<B: TrainingBackend, M: AutodiffModule<B>>(m: &M, grads: &GradientsParams) -> bool {
    finite_tensors::<B, M>(m, Some(grads))
}

/// Whether every float parameter of `m` (or, given `grads`, every gradient it holds of one)
/// is finite: on a backend that reads its buffers on the host, one pass over each
/// ([`FusedKernels::all_finite`](ppl_dist::kernels::FusedKernels::all_finite)); elsewhere the
/// sum of all their values, read back once, and only when that sum is not finite (a NaN, an
/// infinity, or an overflow of finite values) the exact check (`t − t` is 0 for finite values,
/// NaN otherwise).
fn finite_tensors<B: TrainingBackend, M: AutodiffModule<B>>(m: &M, grads: Option<&GradientsParams>) -> bool {
    /// The tensor checked for `param`: its value, or given `grads` its gradient (`None`
    /// when it has none).
    fn picked<B: AutodiffBackend, const D: usize>(
        param: &burn::module::Param<burn::tensor::Tensor<B, D>>,
        grads: Option<&GradientsParams>,
    ) -> Option<burn::tensor::Tensor<B::InnerBackend, D>> {
        match grads {
            None => Some(param.val().inner()),
            Some(grads) => grads.get::<B::InnerBackend, D>(param.id),
        }
    }
    /// Every picked tensor checked by the backend's kernel: `None` once one cannot be.
    struct ByKernel<'g> {
        all: Option<bool>,
        grads: Option<&'g GradientsParams>,
    }
    impl<B: TrainingBackend> burn::module::ModuleVisitor<B> for ByKernel<'_> {
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<burn::tensor::Tensor<B, D>>) {
            if self.all == Some(true) {
                if let Some(t) = picked(param, self.grads) {
                    self.all = <B::InnerBackend as FusedKernels>::all_finite(t);
                }
            }
        }
    }
    let mut by_kernel = ByKernel { all: Some(true), grads };
    m.visit(&mut by_kernel);
    if let Some(all) = by_kernel.all {
        return all;
    }
    /// The sum over the picked tensors of `f(tensor)` reduced to one element.
    struct Sum<'g, B: Backend, F> {
        acc: Option<burn::tensor::Tensor<B, 1>>,
        grads: Option<&'g GradientsParams>,
        f: F,
    }
    impl<
            B: AutodiffBackend,
            F: FnMut(burn::tensor::Tensor<B::InnerBackend, 1>) -> burn::tensor::Tensor<B::InnerBackend, 1>,
        > burn::module::ModuleVisitor<B> for Sum<'_, B::InnerBackend, F>
    {
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<burn::tensor::Tensor<B, D>>) {
            let Some(t) = picked(param, self.grads) else {
                return;
            };
            let n = t.shape().num_elements();
            let term = (self.f)(t.reshape([n]));
            self.acc = Some(match self.acc.take() {
                Some(acc) => acc + term,
                None => term,
            });
        }
    }
    type Inner<B> = burn::tensor::Tensor<<B as AutodiffBackend>::InnerBackend, 1>;
    fn finite_sum<B: AutodiffBackend, M: AutodiffModule<B>>(
        m: &M,
        grads: Option<&GradientsParams>,
        f: impl FnMut(Inner<B>) -> Inner<B>,
    ) -> bool {
        let mut v = Sum::<B::InnerBackend, _> { acc: None, grads, f };
        m.visit(&mut v);
        v.acc.is_none_or(|t| ppl_dist::param::host_values(&t)[0].is_finite())
    }
    // A NaN or an infinity makes the plain sum non-finite, so a finite sum (one read of each
    // tensor) settles it; a non-finite one may be an overflow of finite values, and the exact
    // check (x − x is 0 for finite x, NaN otherwise) decides.
    finite_sum::<B, M>(m, grads, |t| t.sum()) || finite_sum::<B, M>(m, grads, |t| (t.clone() - t).sum())
}

/// Free the autodiff graphs of passes that never back-propagate.
///
/// burn-autodiff 0.21 registers every operation on an autodiff tensor in its graph state,
/// even with gradient tracking off ("untracked" operations keep their parents reachable), and
/// frees what is no longer referenced only at the next `backward`. A forward pass that is
/// never back-propagated (an evaluation, a query) therefore leaves its graph behind, and the
/// next training step walks all of them (a small model's step after 100 evaluations cost
/// 140× a plain one). One backward pass of a one-element tensor runs that clean-up right away.
pub(crate) fn release_autodiff_graphs<B: AutodiffBackend>(device: &B::Device) {
    let t = burn::tensor::Tensor::<B, 1>::zeros([1], ppl_dist::param::float_options::<B>(device)).require_grad();
    let _ = t.sum().backward();
}

#[cfg(test)]
mod tests {
    use burn::backend::{Autodiff, NdArray};
    use burn::module::Param;
    use burn::tensor::Tensor;

    use super::{all_finite, PoolWait, Svi, SviConfig};

    /// Finite values whose sum overflows are finite; a NaN or an infinity is not — by the
    /// device sum and its exact check (NdArray) and by the kernel's pass (flex).
    fn all_finite_sees_through_an_overflowing_sum<B: crate::TrainingBackend>() {
        let dev = Default::default();
        let param = |v: [f32; 3]| Param::from_tensor(Tensor::<B, 1>::from_floats(v, &dev));
        let big = f32::MAX / 2.0;
        assert!(all_finite::<B, _>(&param([big, big, big])));
        assert!(all_finite::<B, _>(&param([1.0, -2.0, 0.5])));
        assert!(!all_finite::<B, _>(&param([1.0, f32::NAN, 0.5])));
        assert!(!all_finite::<B, _>(&param([big, f32::INFINITY, big])));
        assert!(!all_finite::<B, _>(&param([f32::NEG_INFINITY, 0.0, 0.0])));
    }

    #[test]
    fn all_finite_sees_through_an_overflowing_sum_ndarray() {
        all_finite_sees_through_an_overflowing_sum::<Autodiff<NdArray<f32>>>();
    }

    #[cfg(feature = "flex")]
    #[test]
    fn all_finite_sees_through_an_overflowing_sum_flex() {
        all_finite_sees_through_an_overflowing_sum::<Autodiff<burn::backend::Flex>>();
    }

    /// Which steps keep the pool awake: `Auto` after a step of `AUTO_MIN_STEP` or more (not
    /// the first), `Spin` always, `Sleep` never; never for a replayed step; never on a
    /// backend whose kernels do not run on rayon's pool.
    #[test]
    fn the_pool_is_kept_awake_as_the_setting_says() {
        type B = Autodiff<NdArray<f32>>;
        let dev = Default::default();
        let svi_with = |pool_wait: PoolWait| {
            let config = SviConfig {
                pool_wait,
                progress: false,
                ..Default::default()
            };
            Svi::from_fns(
                |_: &mut ppl_core::Ctx<B>| {},
                |_: &mut ppl_core::Ctx<B>| {},
                config,
                &dev,
            )
        };
        let long = PoolWait::AUTO_MIN_STEP;
        let short = long - std::time::Duration::from_micros(1);
        let mut auto = svi_with(PoolWait::Auto);
        assert!(!auto.pool_awake(), "the first step");
        auto.last_step_time = Some(short);
        assert!(!auto.pool_awake(), "after a short step");
        auto.last_step_time = Some(long);
        assert!(auto.pool_awake(), "after a long step");
        auto.replaying = true;
        assert!(!auto.pool_awake(), "a replayed step");
        let mut spin = svi_with(PoolWait::Spin);
        assert!(spin.pool_awake());
        spin.last_step_time = Some(short);
        assert!(spin.pool_awake());
        let mut sleep = svi_with(PoolWait::Sleep);
        sleep.last_step_time = Some(long);
        assert!(!sleep.pool_awake());
        #[cfg(feature = "tch")]
        {
            type T = Autodiff<burn::backend::LibTorch<f32>>;
            let config = SviConfig {
                pool_wait: PoolWait::Spin,
                progress: false,
                ..Default::default()
            };
            let svi = Svi::from_fns(
                |_: &mut ppl_core::Ctx<T>| {},
                |_: &mut ppl_core::Ctx<T>| {},
                config,
                &Default::default(),
            );
            assert!(!svi.pool_awake(), "LibTorch computes on a pool of its own");
        }
    }
}

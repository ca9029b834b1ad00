//! The SVI workloads shared by the criterion benches, the peer comparison and the memory
//! check: the InferPy digit classifier and Edward's VAE, on synthetic data of MNIST shape, and
//! two small models where the fixed cost of a step dominates: a Bayesian logistic regression
//! and eight schools; and the `gmm` example's mixture, with its assignments enumerated or
//! sampled (what summing a discrete latent out costs per step).
//!
//! The Python peers in `benches/peers/` build the same networks, data sizes and objective
//! (analytic-KL mean-field ELBO, one particle, Adam lr 1e-3, minibatches of 128 scaled by N/M)
//! so that one step here and one step there do the same arithmetic.

use burn::tensor::{Int, Tensor, TensorData};
use ppl_core::{Data, FixedPlate};
use ppl_dist::sampling::Sampling;
use ppl_dist::RngKey;
use ppl_examples::{digits, gmm, vae};
use ppl_infer::TrainingBackend;
use ppl_infer::{AutoNormal, Elbo, FnModel, InferError, ModelFn, PoolWait, Svi, SviConfig, Undo, Validation};

/// Pixels per image.
pub const DX: usize = 784;
/// Rows per minibatch in every workload.
pub const BATCH: usize = 128;
/// Distinct minibatches a runner cycles through (uploaded once, so a step measures compute).
pub const DISTINCT_BATCHES: usize = 16;

/// Which model a runner steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// The digit classifier (k = 2, 784–100–2k encoder, NN1 2–100–784, NN2 2–3), N = 18 000.
    Digits,
    /// Edward's VAE (784–256–(10, 10) encoder, 10–256–784 Bernoulli decoder), N = 60 000.
    Vae,
    /// Bayesian logistic regression: w, b ~ N(0, 1), y ~ Bernoulli(logits = w·x + b), 200 rows
    /// (x ~ N(0, 1), true w = 2, b = −0.5), AutoNormal guide, Monte-Carlo ELBO with 4 particles
    /// drawn in one pass (the particle plate), Adam lr 0.01, full batch.
    Logistic,
    /// Eight schools (Rubin 1981; the centred form of NumPyro's and Stan's example):
    /// μ ~ N(0, 5), τ ~ HalfCauchy(5), θ_j ~ N(μ, τ), y_j ~ N(θ_j, σ_j) in a plate of 8,
    /// AutoNormal guide, Monte-Carlo ELBO with 1 particle, Adam lr 0.01, all 8 schools every step.
    EightSchools,
    /// The `gmm` example's mixture (K = 3, 300 points, full batch, Adam lr 0.01): the
    /// assignments summed out (`Elbo::TraceEnum`, a guide for the means only).
    MixtureEnum,
    /// The same mixture with the assignments sampled: a categorical per point in the guide,
    /// `Elbo::Trace` with 4 particles (score-function gradients), as `gmm` fitted it before.
    MixtureSampled,
}

impl Workload {
    /// Every workload.
    pub const ALL: [Workload; 6] = [
        Workload::Digits,
        Workload::Vae,
        Workload::Logistic,
        Workload::EightSchools,
        Workload::MixtureEnum,
        Workload::MixtureSampled,
    ];

    /// The name used on the command line and in result tables.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Digits => "digits",
            Workload::Vae => "vae",
            Workload::Logistic => "logistic",
            Workload::EightSchools => "eight_schools",
            Workload::MixtureEnum => "mixture_enum",
            Workload::MixtureSampled => "mixture_sampled",
        }
    }

    /// Parse [`Self::name`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|w| w.name() == s)
    }

    /// Rows of the full (synthetic) data set the minibatches are scaled to.
    pub fn full_size(self) -> usize {
        match self {
            Workload::Digits => 18_000,
            Workload::Vae => 60_000,
            Workload::Logistic => LOGISTIC_ROWS,
            Workload::EightSchools => EIGHT_SCHOOLS_Y.len(),
            Workload::MixtureEnum | Workload::MixtureSampled => MIXTURE_POINTS,
        }
    }

    /// Whether [`StepRunner::with_settings`] evaluates this workload's minibatches in shares
    /// (the minibatched neural workloads; the small models step on a few hundred rows of
    /// global latents, and take them whole).
    pub fn takes_batch_shares(self) -> bool {
        matches!(self, Workload::Digits | Workload::Vae)
    }
}

/// Synthetic MNIST-shaped rows: 81 % of pixels 0 and the rest uniform in (0, 1) (MNIST's share
/// of blank pixels), binarized (> 0 → 1) for the VAE; labels cycle through 0, 1, 2.
///
/// Returns `(pixels [rows·784] row-major, labels [rows])`.
pub fn synthetic_mnist(workload: Workload, rows: usize, seed: u64) -> (Vec<f32>, Vec<i64>) {
    let key = RngKey::new(seed).fold_in("synthetic-mnist");
    let on = key.fold_in("on").uniform(rows * DX);
    let level = key.fold_in("level").uniform(rows * DX);
    let pixels = on
        .iter()
        .zip(&level)
        .map(|(&o, &l)| match (o < 0.19, workload) {
            (false, _) => 0.0,
            (true, Workload::Vae) => 1.0,
            (true, _) => l as f32,
        })
        .collect();
    let labels = (0..rows).map(|i| (i % 3) as i64).collect();
    (pixels, labels)
}

/// Rows of the logistic-regression workload.
pub const LOGISTIC_ROWS: usize = 200;

/// The logistic-regression model (see [`Workload::Logistic`]), written for vectorized
/// particles as the peers run it (NumPyro's and Pyro's `Trace_ELBO` vectorize their 4
/// particles): w and b are `[K, 1]`, the logits `[K, rows]`.
pub fn logistic_model<B: burn::tensor::backend::Backend>(ctx: &mut ppl_core::Ctx<B>) {
    ctx.particle_plate(|ctx| {
        let w = ctx.sample("w", ppl_dist::Normal::new(ctx.zeros([1, 1]), 1.0));
        let b = ctx.sample("b", ppl_dist::Normal::new(ctx.zeros([1, 1]), 1.0));
        ctx.datamodel(|ctx| {
            let x = ctx.data::<1>("x").unsqueeze::<2>();
            ctx.sample("y", ppl_dist::Bernoulli::from_logits(x * w + b));
        });
    });
}

/// The logistic-regression data: x ~ N(0, 1), y ~ Bernoulli(σ(2x − 0.5)), seeded.
pub fn logistic_data<B: burn::tensor::backend::Backend>(seed: u64, device: &B::Device) -> Data<B> {
    let mut key = RngKey::new(seed).fold_in("logistic");
    let x: Vec<f64> = key.standard_normal(LOGISTIC_ROWS);
    let u = key.uniform(LOGISTIC_ROWS);
    let y: Vec<f64> = x
        .iter()
        .zip(&u)
        .map(|(x, u)| f64::from(*u < 1.0 / (1.0 + (-(2.0 * x - 0.5)).exp())))
        .collect();
    Data::new()
        .with("x", ppl_dist::param::upload::<B, 1>(x.to_vec(), [x.len()], device))
        .with("y", ppl_dist::param::upload::<B, 1>(y.to_vec(), [y.len()], device))
}

/// The SVI engine of a small workload: a model function and its AutoNormal guide.
pub type AutoNormalSvi<B> = Svi<B, FnModel<ModelFn<fn(&mut ppl_core::Ctx<B>)>>, AutoNormal>;

/// The SVI engine of the logistic-regression workload.
pub type LogisticSvi<B> = AutoNormalSvi<B>;

/// Eight schools: the estimated coaching effects `y_j` (SAT points) …
pub const EIGHT_SCHOOLS_Y: [f64; 8] = [28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0];
/// … and their standard errors `σ_j` (Rubin 1981, Table 2).
pub const EIGHT_SCHOOLS_SIGMA: [f64; 8] = [15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0];

/// The eight-schools model (see [`Workload::EightSchools`]); data `y` and `sigma`, `[8]` each.
pub fn eight_schools_model<B: burn::tensor::backend::Backend>(ctx: &mut ppl_core::Ctx<B>) {
    let mu = ctx.sample("mu", ppl_dist::Normal::new(ctx.zeros([1]), 5.0));
    let tau = ctx.sample("tau", ppl_dist::HalfCauchy::new(ctx.full([1], 5.0)));
    ctx.plate(&FixedPlate::new("schools", EIGHT_SCHOOLS_Y.len()), |ctx| {
        let theta = ctx.sample("theta", ppl_dist::Normal::new(mu, tau));
        let sigma = ctx.data::<1>("sigma");
        ctx.sample("y", ppl_dist::Normal::new(theta, sigma));
    });
}

/// The eight-schools data (`y`, `sigma`).
pub fn eight_schools_data<B: burn::tensor::backend::Backend>(device: &B::Device) -> Data<B> {
    Data::new()
        .with(
            "y",
            ppl_dist::param::upload::<B, 1>(EIGHT_SCHOOLS_Y.to_vec(), [EIGHT_SCHOOLS_Y.len()], device),
        )
        .with(
            "sigma",
            ppl_dist::param::upload::<B, 1>(EIGHT_SCHOOLS_SIGMA.to_vec(), [EIGHT_SCHOOLS_SIGMA.len()], device),
        )
}

/// The eight-schools engine and its data (see [`Workload::EightSchools`]).
///
/// # Panics
/// If the autoguide cannot be built (a broken workload).
pub fn eight_schools<B: TrainingBackend>(
    seed: u64,
    (validation, pool_wait): (Validation, PoolWait),
    device: &B::Device,
) -> (AutoNormalSvi<B>, Data<B>) {
    let data = eight_schools_data::<B>(device);
    let model: fn(&mut ppl_core::Ctx<B>) = eight_schools_model::<B>;
    let guide = AutoNormal::new(&model, &data, device).expect("autoguide of eight schools");
    let config = SviConfig {
        batch_size: EIGHT_SCHOOLS_Y.len(),
        lr: 0.01,
        seed,
        elbo: Elbo::Trace { particles: 1 },
        progress: false,
        validation,
        pool_wait,
        ..Default::default()
    };
    (Svi::new(ppl_infer::model_fn(model), guide, config, device), data)
}

/// The logistic-regression engine and its data (see [`Workload::Logistic`]).
///
/// # Panics
/// If the autoguide cannot be built (a broken workload).
pub fn logistic_regression<B: TrainingBackend>(seed: u64, device: &B::Device) -> (LogisticSvi<B>, Data<B>) {
    logistic_regression_with(seed, (Validation::default(), PoolWait::default()), device)
}

/// [`logistic_regression`] with a parameter-validation and a pool-wait setting.
///
/// # Panics
/// If the autoguide cannot be built (a broken workload).
pub fn logistic_regression_with<B: TrainingBackend>(
    seed: u64,
    (validation, pool_wait): (Validation, PoolWait),
    device: &B::Device,
) -> (LogisticSvi<B>, Data<B>) {
    let data = logistic_data::<B>(seed, device);
    let model: fn(&mut ppl_core::Ctx<B>) = logistic_model::<B>;
    let guide = AutoNormal::new(&model, &data, device).expect("autoguide of the logistic regression");
    let config = SviConfig {
        batch_size: LOGISTIC_ROWS,
        lr: 0.01,
        seed,
        elbo: Elbo::Trace { particles: 4 },
        progress: false,
        validation,
        pool_wait,
        ..Default::default()
    };
    (Svi::new(ppl_infer::model_fn(model), guide, config, device), data)
}

/// Points of the mixture workloads.
pub const MIXTURE_POINTS: usize = 300;

/// An SVI engine whose model and guide are plain functions.
pub type FnSvi<B> = Svi<B, FnModel<ModelFn<fn(&mut ppl_core::Ctx<B>)>>, FnModel<ModelFn<fn(&mut ppl_core::Ctx<B>)>>>;

/// The guide of the component means: a normal per mean, started at the true locations'
/// neighbourhood (−3, 0, 3).
fn mixture_means_guide<B: burn::tensor::backend::Backend>(ctx: &mut ppl_core::Ctx<B>) {
    let init = ppl_dist::param::upload::<B, 2>(vec![-3.0, 0.0, 3.0], [1, gmm::K], ctx.device());
    let loc = ctx.param("mu.loc", init, ppl_dist::Constraint::Real);
    let scale = ctx.param("mu.scale", ctx.full([1, gmm::K], 0.1), ppl_dist::Constraint::Positive);
    ctx.sample("mu", ppl_dist::Normal::new(loc, scale));
}

/// [`mixture_means_guide`] and a categorical per point with its own logits.
fn mixture_sampled_guide<B: burn::tensor::backend::Backend>(ctx: &mut ppl_core::Ctx<B>) {
    mixture_means_guide(ctx);
    let logits = ctx.param(
        "c.logits",
        ctx.zeros([MIXTURE_POINTS, gmm::K]),
        ppl_dist::Constraint::Real,
    );
    ctx.datamodel(|ctx| {
        ctx.sample("c", ppl_dist::Categorical::from_logits(logits));
    });
}

/// A mixture engine (see [`Workload::MixtureEnum`], [`Workload::MixtureSampled`]) and its data.
///
/// # Panics
/// For another workload.
pub fn mixture<B: TrainingBackend>(
    workload: Workload,
    seed: u64,
    (validation, pool_wait): (Validation, PoolWait),
    device: &B::Device,
) -> (FnSvi<B>, Data<B>) {
    let (x, _) = gmm::points(MIXTURE_POINTS, seed);
    let data = Data::new().with("x", ppl_dist::param::upload::<B, 2>(x, [MIXTURE_POINTS, 1], device));
    let (guide, elbo): (fn(&mut ppl_core::Ctx<B>), Elbo) = match workload {
        Workload::MixtureEnum => (mixture_means_guide::<B>, Elbo::TraceEnum { particles: 1 }),
        Workload::MixtureSampled => (mixture_sampled_guide::<B>, Elbo::Trace { particles: 4 }),
        other => panic!("{} is not a mixture workload", other.name()),
    };
    let config = SviConfig {
        batch_size: MIXTURE_POINTS,
        shuffle: false,
        lr: 0.01,
        seed,
        elbo,
        progress: false,
        validation,
        pool_wait,
        ..Default::default()
    };
    let model: fn(&mut ppl_core::Ctx<B>) = gmm::model::<B>;
    (Svi::from_fns(model, guide, config, device), data)
}

/// Minibatches of one workload, uploaded once, handed out in a cycle.
pub struct Batches<B: TrainingBackend> {
    batches: Vec<Data<B>>,
    next: usize,
}

impl<B: TrainingBackend> Batches<B> {
    /// [`DISTINCT_BATCHES`] minibatches of [`BATCH`] synthetic rows on `device`.
    pub fn new(workload: Workload, seed: u64, device: &B::Device) -> Self {
        let rows = DISTINCT_BATCHES * BATCH;
        let (pixels, labels) = synthetic_mnist(workload, rows, seed);
        let batches = (0..DISTINCT_BATCHES)
            .map(|b| {
                let px = pixels[b * BATCH * DX..(b + 1) * BATCH * DX].to_vec();
                let x = Tensor::<B, 2>::from_data(TensorData::new(px, [BATCH, DX]), device);
                let data = Data::new().with("x", x);
                match workload {
                    Workload::Digits => {
                        let lb = labels[b * BATCH..(b + 1) * BATCH].to_vec();
                        data.with(
                            "y",
                            Tensor::<B, 1, Int>::from_data(TensorData::new(lb, [BATCH]), device),
                        )
                    }
                    _ => data,
                }
            })
            .collect();
        Self { batches, next: 0 }
    }

    /// The next minibatch in the cycle.
    pub fn next_batch(&mut self) -> &Data<B> {
        let i = self.next;
        self.next = (self.next + 1) % self.batches.len();
        &self.batches[i]
    }
}

type DigitsSvi<B> = Svi<B, digits::DigitModel<B>, digits::DigitQ<B>>;
type VaeSvi<B> = Svi<B, vae::VaeModel<B>, vae::VaeGuide<B>>;

/// An SVI engine for one workload, stepping through its minibatches.
pub enum StepRunner<B: TrainingBackend> {
    /// The digit classifier.
    Digits(Box<DigitsSvi<B>>, Batches<B>),
    /// The VAE.
    Vae(Box<VaeSvi<B>>, Batches<B>),
    /// The logistic regression or eight schools, on the whole data set every step.
    Small(Workload, Box<AutoNormalSvi<B>>, Data<B>),
    /// A mixture workload, on the whole data set every step.
    Mixture(Workload, Box<FnSvi<B>>, Data<B>),
}

/// What a [`StepRunner`] sets on its `Svi` beyond the workload's own settings.
#[derive(Debug, Clone, Copy)]
pub struct RunSettings {
    /// Parameter checks (`SviConfig::validation`).
    pub validation: Validation,
    /// Shares of each minibatch evaluated at once (`SviConfig::batch_shares`; 1: whole).
    pub batch_shares: usize,
    /// Where the samplers draw (`SviConfig::sampling`).
    pub sampling: Sampling,
    /// Whether a step keeps the state before its update (`SviConfig::undo`; digits and VAE
    /// only).
    pub undo: Undo,
    /// How the pool's other threads wait during a step (`SviConfig::pool_wait`).
    pub pool_wait: PoolWait,
}

impl Default for RunSettings {
    /// `SviConfig`'s defaults: validation on the first step, whole minibatches, host draws,
    /// the last update kept to undo, the pool spinning through long steps.
    fn default() -> Self {
        RunSettings {
            validation: Validation::default(),
            batch_shares: 1,
            sampling: Sampling::Host,
            undo: Undo::LastUpdate,
            pool_wait: PoolWait::Auto,
        }
    }
}

/// The SVI settings of every workload: mean-field ELBO (analytic KL), 1 particle, Adam lr 1e-3.
pub fn bench_config(seed: u64) -> SviConfig {
    SviConfig {
        batch_size: BATCH,
        lr: 1e-3,
        seed,
        elbo: Elbo::MeanField { particles: 1 },
        progress: false,
        ..Default::default()
    }
}

impl<B: TrainingBackend> StepRunner<B> {
    /// Models with seeded weights and synthetic minibatches.
    pub fn new(workload: Workload, seed: u64, device: &B::Device) -> Self {
        Self::with_validation(workload, seed, Validation::default(), device)
    }

    /// As [`StepRunner::new`], with a parameter-validation setting (to measure its cost).
    pub fn with_validation(workload: Workload, seed: u64, validation: Validation, device: &B::Device) -> Self {
        Self::with_settings(
            workload,
            seed,
            RunSettings {
                validation,
                ..RunSettings::default()
            },
            device,
        )
    }

    /// As [`StepRunner::new`] with [`RunSettings`]: the validation and the pool wait apply to
    /// every workload; batch shares, device sampling and the undo setting to the digit
    /// classifier and the VAE (the other workloads take their data whole and draw on the
    /// host, see [`Workload::takes_batch_shares`]).
    pub fn with_settings(workload: Workload, seed: u64, settings: RunSettings, device: &B::Device) -> Self {
        let RunSettings {
            validation,
            batch_shares,
            sampling,
            undo,
            pool_wait,
        } = settings;
        let config = SviConfig {
            validation,
            batch_shares,
            sampling,
            undo,
            pool_wait,
            ..bench_config(seed)
        };
        match workload {
            Workload::Digits => {
                let (p, q) = digits::build::<B>(seed, device);
                let batches = Batches::new(workload, seed, device);
                StepRunner::Digits(Box::new(Svi::new(p, q, config, device)), batches)
            }
            Workload::Vae => {
                let (p, q) = vae::build::<B>(seed, device);
                let batches = Batches::new(workload, seed, device);
                StepRunner::Vae(Box::new(Svi::new(p, q, config, device)), batches)
            }
            Workload::Logistic => {
                let (svi, data) = logistic_regression_with::<B>(seed, (validation, pool_wait), device);
                StepRunner::Small(workload, Box::new(svi), data)
            }
            Workload::EightSchools => {
                let (svi, data) = eight_schools::<B>(seed, (validation, pool_wait), device);
                StepRunner::Small(workload, Box::new(svi), data)
            }
            Workload::MixtureEnum | Workload::MixtureSampled => {
                let (svi, data) = mixture::<B>(workload, seed, (validation, pool_wait), device);
                StepRunner::Mixture(workload, Box::new(svi), data)
            }
        }
    }

    /// One SVI step (forward, ELBO, backward, Adam) on the next minibatch; returns the loss.
    ///
    /// # Errors
    /// As [`Svi::step`].
    pub fn step(&mut self) -> Result<f64, InferError> {
        match self {
            StepRunner::Digits(svi, b) => svi.step(b.next_batch(), Workload::Digits.full_size()),
            StepRunner::Vae(svi, b) => svi.step(b.next_batch(), Workload::Vae.full_size()),
            StepRunner::Small(w, svi, data) => svi.step(data, w.full_size()),
            StepRunner::Mixture(w, svi, data) => svi.step(data, w.full_size()),
        }
    }
}

impl<B: TrainingBackend> StepRunner<B> {
    /// Evaluate the objective on the next minibatch without updating (`Svi::evaluate`).
    ///
    /// # Errors
    /// As [`Svi::evaluate`].
    pub fn evaluate(&mut self) -> Result<f64, InferError> {
        let key = ppl_dist::RngKey::new(7);
        match self {
            StepRunner::Digits(svi, b) => Ok(svi.evaluate(b.next_batch(), Workload::Digits.full_size(), &key)?.elbo),
            StepRunner::Vae(svi, b) => Ok(svi.evaluate(b.next_batch(), Workload::Vae.full_size(), &key)?.elbo),
            StepRunner::Small(w, svi, data) => Ok(svi.evaluate(data, w.full_size(), &key)?.elbo),
            StepRunner::Mixture(w, svi, data) => Ok(svi.evaluate(data, w.full_size(), &key)?.elbo),
        }
    }
}

/// A field of `/proc/self/status` in kB (Linux), e.g. `"VmHWM:"` for the peak resident set.
pub fn proc_status_kb(field: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

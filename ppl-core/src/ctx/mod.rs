//! The model context: the state a model runs against and its builders. What the site
//! statements do is in `sites.rs`, reading data in `data_access.rs`, the open plates in
//! `plate_stack.rs`.

mod data_access;
mod plate_stack;
mod sites;

use std::collections::{HashMap, HashSet};

use burn::tensor::{backend::Backend, Int, Tensor, TensorData};
use ppl_dist::param::float_options;
use ppl_dist::RngKey;

use crate::handlers::Handler;
use crate::plate::{DataPlate, Plate, PlateEnv, DATA_PLATE, PARTICLE_PLATE};
use crate::{CoreError, Data, ParamStore, SiteScorer, Trace};
use plate_stack::PlateStack;

/// The payload used to unwind out of a model after an error was recorded.
pub(crate) struct Abort;

/// The context a model runs against: it binds data by name, draws or replays values, tracks
/// plates, records every site in a [`Trace`], and routes sites through effect handlers.
///
/// A model never handles errors itself: the first error (missing data, a shape mismatch, a
/// duplicate site, invalid distribution parameters) is recorded and the run stops; the caller
/// of [`crate::run`] receives it as a `Result`.
///
/// # Shapes inside plates
/// Plates occupy the leading dimensions in nesting order (the outermost plate is dimension 0).
/// A distribution's parameters give the shape of one instance with size 1 (or the plate's
/// size) in those dimensions; the site's value has the plate sizes there.
pub struct Ctx<B: Backend> {
    data: Data<B>,
    key: RngKey,
    device: B::Device,
    handlers: Vec<Box<dyn Handler<B>>>,
    trace: Trace<B>,
    names: HashSet<String>,
    plates: PlateStack<B>,
    params: ParamStore<B>,
    full_sizes: HashMap<String, usize>,
    fixed_indices: HashMap<String, Vec<usize>>,
    instances: Option<usize>,
    data_replicas: usize,
    particles: usize,
    error: Option<CoreError>,
    last_site: Option<String>,
    next_auxiliary: bool,
    program: &'static str,
    scorer: Option<SiteScorer<B>>,
    local_stream: u64,
}

impl<B: Backend> std::fmt::Debug for Ctx<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("sites", &self.trace.sites().len())
            .field("plates", &self.plates.len())
            .finish()
    }
}

impl<B: Backend> Ctx<B> {
    /// A context with `data` bound, drawing from `key`, creating tensors on `device`.
    pub fn new(data: Data<B>, key: RngKey, device: &B::Device) -> Self {
        Ctx {
            data,
            key,
            device: device.clone(),
            handlers: Vec::new(),
            trace: Trace::default(),
            names: HashSet::new(),
            plates: PlateStack::default(),
            params: ParamStore::new(),
            full_sizes: HashMap::new(),
            fixed_indices: HashMap::new(),
            instances: None,
            data_replicas: 1,
            particles: 1,
            error: None,
            last_site: None,
            next_auxiliary: false,
            program: "model",
            scorer: None,
            local_stream: 0,
        }
    }

    /// Score sample sites and map `param` sites to their constraint with `scorer` where its
    /// hooks give a result (fused kernels, e.g. [`SiteScorer::fused`], which inference sets),
    /// and with the distribution's own `log_prob` and
    /// [`to_constrained`](crate::transform::to_constrained) where they return `None`. A
    /// scorer must give those values.
    pub fn with_scorer(mut self, scorer: Option<SiteScorer<B>>) -> Self {
        self.scorer = scorer;
        self
    }

    /// The scorer set by [`Ctx::with_scorer`], if any.
    pub fn scorer(&self) -> Option<SiteScorer<B>> {
        self.scorer
    }

    /// Name the program this context runs (`"model"` by default; inference sets `"guide"`
    /// for the Q-model), so errors say which one failed.
    pub fn with_program(mut self, program: &'static str) -> Self {
        self.program = program;
        self
    }

    /// Push an effect handler (handlers see sites in the order they were pushed).
    pub fn with_handler(mut self, handler: impl Handler<B> + 'static) -> Self {
        self.handlers.push(Box::new(handler));
        self
    }

    /// Push a boxed effect handler.
    pub fn push_handler(&mut self, handler: Box<dyn Handler<B>>) {
        self.handlers.push(handler);
    }

    /// Use (and update) this parameter store for `param` sites.
    pub fn with_params(mut self, params: ParamStore<B>) -> Self {
        self.params = params;
        self
    }

    /// The full size N of a plate whose data arrive subsampled (e.g. the `datamodel` plate
    /// fed a minibatch of M rows under SVI): its sites are scaled by N/M.
    pub fn with_plate_size(mut self, plate: &str, full_size: usize) -> Self {
        self.full_sizes.insert(plate.to_string(), full_size);
        self
    }

    /// The full size N of the `datamodel` plate, whose rows arrive as a minibatch of M under
    /// SVI (its sites are scaled by N/M): [`Ctx::with_plate_size`] for the data plate.
    pub fn with_data_size(self, full_size: usize) -> Self {
        self.with_plate_size(DATA_PLATE, full_size)
    }

    /// Use these subsample indices for a subsampled plate instead of drawing them.
    pub fn with_plate_indices(mut self, plate: &str, indices: Vec<usize>) -> Self {
        self.fixed_indices.insert(plate.to_string(), indices);
        self
    }

    /// The bound rows of the `datamodel` plate are `k` stacked copies of a minibatch
    /// (vectorized particles): up to `k·N` rows are accepted, and each row is still scaled by
    /// N/rows, so the copies average rather than add up.
    pub fn with_data_replicas(mut self, k: usize) -> Self {
        self.data_replicas = k.max(1);
        self
    }

    /// Run [`Ctx::particle_plate`] with `k` instances (inference sets it when it draws `k`
    /// particles in one pass; 1, the default, is one particle per run).
    pub fn with_vectorized_particles(mut self, k: usize) -> Self {
        self.particles = k.max(1);
        self
    }

    /// Draw the data plate's sites from stream `stream` of this run's key: with `stream > 0`
    /// every site (and [`Ctx::rng`] key) inside the `datamodel` plate takes its key folded
    /// with `stream`, sites outside it keep theirs. Inference sets it when the rows of one
    /// minibatch are evaluated in shares (data-parallel peers, a split step), to the share's
    /// first row: every share then draws the same global latents and its own rows' local
    /// noise (shares of the same length would otherwise draw the same local noise). 0, the
    /// default, changes nothing.
    pub fn with_local_stream(mut self, stream: u64) -> Self {
        self.local_stream = stream;
        self
    }

    /// The key of site (or user stream) `name`: this run's key folded with `name`, and with
    /// the [local stream](Ctx::with_local_stream) inside the data plate.
    pub(crate) fn site_key(&self, name: &str) -> RngKey {
        let key = self.key.fold_in(name);
        if self.local_stream != 0 && self.plates.in_data_plate() {
            key.fold_in_u64(self.local_stream)
        } else {
            key
        }
    }

    /// The number of instances of the `datamodel` plate when no data gives it (prior
    /// predictive runs).
    pub fn with_instances(mut self, n: usize) -> Self {
        self.instances = Some(n);
        self
    }

    /// The device tensors are created on.
    pub fn device(&self) -> &B::Device {
        &self.device
    }

    /// A tensor filled with `value`, on the context's device and the backend's float dtype.
    pub fn full<const D: usize>(&self, shape: [usize; D], value: f64) -> Tensor<B, D> {
        Tensor::full(shape, value, float_options::<B>(&self.device))
    }

    /// Zeros on the context's device.
    pub fn zeros<const D: usize>(&self, shape: [usize; D]) -> Tensor<B, D> {
        self.full(shape, 0.0)
    }

    /// Ones on the context's device.
    pub fn ones<const D: usize>(&self, shape: [usize; D]) -> Tensor<B, D> {
        self.full(shape, 1.0)
    }

    /// InferPy's `datamodel`: the plate [`DataPlate`] (named `"data"`), whose instances are
    /// the rows of the bound data (or [`Ctx::with_instances`] when nothing is bound). Under
    /// SVI the data are a minibatch of M rows and the sites are scaled by N/M
    /// ([`Ctx::with_data_size`]).
    pub fn datamodel<R>(&mut self, body: impl FnOnce(&mut Self) -> R) -> R {
        self.plate(&DataPlate, body)
    }

    /// Run `body` inside the plate of vectorized particles ([`PARTICLE_PLATE`]), which must
    /// be the outermost plate: every site inside gets a leading dimension of K instances,
    /// K = 1 in a plain run and the number of particles when SVI draws them in one pass
    /// (`vectorize_particles`). Write the sites' parameters with size 1 in dimension 0 (and
    /// the other plates one dimension further right); bound data carry no particle dimension
    /// (`ctx.data` returns them as bound; observed values are broadcast over the K
    /// particles). Each site's log-density is scaled by 1/K, so the K particles average.
    ///
    /// Every operation in `body` must keep the particles apart: broadcasting against
    /// dimension 0 is fine, reducing over it (a `sum()` of a latent) mixes particles and
    /// gives a wrong objective.
    ///
    /// Stops the run with [`CoreError::InvalidPlate`] when another plate is already open.
    ///
    /// ```
    /// use burn::backend::NdArray;
    /// use ppl_core::{Ctx, Data};
    /// use ppl_dist::{Normal, RngKey};
    /// type B = NdArray<f32>;
    /// let model = |ctx: &mut Ctx<B>| {
    ///     ctx.particle_plate(|ctx| {
    ///         let w = ctx.sample("w", Normal::new(ctx.zeros([1, 1]), 1.0)); // [K, 1]
    ///         ctx.datamodel(|ctx| {
    ///             let x = ctx.data::<1>("x").unsqueeze::<2>(); // [1, M]
    ///             ctx.sample("y", Normal::new(x * w, 1.0)); // [K, M]
    ///         });
    ///     });
    /// };
    /// let data = Data::new()
    ///     .with("x", ppl_dist::param::upload::<B, 1>(vec![1.0, 2.0, 3.0], [3], &Default::default()))
    ///     .with("y", ppl_dist::param::upload::<B, 1>(vec![0.5, 1.0, 2.0], [3], &Default::default()));
    /// let ctx = Ctx::<B>::new(data, RngKey::new(0), &Default::default()).with_vectorized_particles(4);
    /// let trace = ppl_core::run(&model, ctx).unwrap().trace;
    /// assert_eq!(trace.site("w").unwrap().value.dims(), vec![4, 1]);
    /// assert_eq!(trace.site("y").unwrap().value.dims(), vec![4, 3]);
    /// assert_eq!(trace.site("y").unwrap().scale, 0.25); // the four particles average
    /// ```
    pub fn particle_plate<R>(&mut self, body: impl FnOnce(&mut Self) -> R) -> R {
        if self.plates.len() > 0 {
            self.fail(CoreError::InvalidPlate {
                plate: PARTICLE_PLATE.into(),
                size: self.particles,
                subsample: self.particles,
                reason: "the particle plate must be the outermost plate (open it before any other)",
            })
        }
        if let Err(e) = self.plates.enter(PARTICLE_PLATE, self.particles, self.particles, None) {
            self.fail(e)
        }
        let r = body(self);
        self.plates.exit();
        r
    }

    /// Run `body` inside `plate` (nestable; the outermost plate is dimension 0): the one entry
    /// point for every kind of plate — [`crate::FixedPlate`] (all instances),
    /// [`crate::SubsampledPlate`] (a seeded random subsample, sites scaled by N/M, bound data
    /// subsampled along the plate's dimension, indices in [`Ctx::plate_indices`]),
    /// [`DataPlate`], or a [`Plate`] of your own.
    ///
    /// ```
    /// use burn::backend::NdArray;
    /// use ppl_core::{Ctx, Data, FixedPlate, SubsampledPlate};
    /// use ppl_dist::{Normal, RngKey};
    /// type B = NdArray<f32>;
    /// let model = |ctx: &mut Ctx<B>| {
    ///     ctx.plate(&FixedPlate::new("groups", 3), |ctx| {
    ///         ctx.plate(&SubsampledPlate::new("members", 100, 10), |ctx| {
    ///             ctx.sample("x", Normal::new(ctx.zeros([1, 1]), 1.0));
    ///         });
    ///     });
    /// };
    /// let ctx = Ctx::<B>::new(Data::new(), RngKey::new(0), &Default::default());
    /// let trace = ppl_core::run(&model, ctx).unwrap().trace;
    /// let x = trace.site("x").unwrap();
    /// assert_eq!(x.value.dims(), vec![3, 10]);
    /// assert_eq!(x.scale, 10.0);                     // 100 members seen through 10
    /// ```
    pub fn plate<P: Plate + ?Sized, R>(&mut self, plate: &P, body: impl FnOnce(&mut Self) -> R) -> R {
        let name = plate.name().to_string();
        if name == PARTICLE_PLATE {
            self.fail(CoreError::InvalidPlate {
                plate: name,
                size: 0,
                subsample: 0,
                reason: "this name is reserved for `Ctx::particle_plate`",
            })
        }
        let env = PlateEnv {
            data_rows: if name == DATA_PLATE { self.data.rows() } else { Ok(None) },
            instances: self.instances,
            full_size: self.full_sizes.get(&name).copied(),
            fixed_indices: self.fixed_indices.get(&name).map(Vec::as_slice),
            key: self.key.fold_in(&format!("plate:{name}")),
            data_replicas: self.data_replicas,
        };
        let rows = match plate.rows(&env) {
            Ok(rows) => rows,
            Err(e) => self.fail(e),
        };
        let indices = rows.indices.map(|idx| {
            let ints: Vec<i64> = idx.iter().map(|&i| i as i64).collect();
            let t = Tensor::<B, 1, Int>::from_data(TensorData::new(ints, [idx.len()]), &self.device);
            (idx, t)
        });
        if let Err(e) = self.plates.enter(&name, rows.size, rows.subsample, indices) {
            self.fail(e)
        }
        let r = body(self);
        self.plates.exit();
        r
    }

    /// The subsample indices of the innermost subsampled plate, if any.
    pub fn plate_indices(&self) -> Option<&[usize]> {
        self.plates.innermost_indices()
    }

    /// The current trace (sites recorded so far).
    pub fn trace(&self) -> &Trace<B> {
        &self.trace
    }

    /// Stop the run with `error` (the first error wins).
    pub fn fail(&mut self, error: CoreError) -> ! {
        if self.error.is_none() {
            self.error = Some(error);
        }
        std::panic::resume_unwind(Box::new(Abort))
    }
}

impl<B: Backend> Ctx<B> {
    /// Take the recorded error and the results of a finished run.
    pub(crate) fn into_parts(self) -> (Trace<B>, ParamStore<B>, Option<CoreError>, RunContext) {
        let context = RunContext {
            program: self.program,
            last_site: self.last_site,
            data: self.data.describe(),
        };
        (self.trace, self.params, self.error, context)
    }
}

/// What a failed run reports about itself: which program, the last site, the bound data.
pub(crate) struct RunContext {
    pub(crate) program: &'static str,
    pub(crate) last_site: Option<String>,
    pub(crate) data: String,
}

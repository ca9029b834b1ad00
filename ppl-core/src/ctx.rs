//! The model context: what `sample`, `param`, `deterministic`, `data` and plates do.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use burn::tensor::{backend::Backend, Int, Tensor, TensorData};
use ppl_dist::param::float_options;
use ppl_dist::{Constraint, RngKey};

use crate::erased::{Erased, ErasedDist};
use crate::handlers::{Handler, Message};
use crate::plate::{DataPlate, Plate, PlateEnv, DATA_PLATE};
use crate::{CoreError, Data, ParamStore, PlateInfo, Site, SiteKind, Trace, Value};
use ppl_dist::IntoDistribution;

/// The payload used to unwind out of a model after an error was recorded.
pub(crate) struct Abort;

/// One active plate.
#[derive(Debug, Clone)]
struct Frame<B: Backend> {
    info: PlateInfo,
    /// Subsample indices along this plate's dimension (host and device copies).
    indices: Option<(Vec<usize>, Tensor<B, 1, Int>)>,
}

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
    plates: Vec<Frame<B>>,
    params: ParamStore<B>,
    full_sizes: HashMap<String, usize>,
    fixed_indices: HashMap<String, Vec<usize>>,
    instances: Option<usize>,
    data_replicas: usize,
    error: Option<CoreError>,
    last_site: Option<String>,
    next_auxiliary: bool,
    program: &'static str,
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
            plates: Vec::new(),
            params: ParamStore::new(),
            full_sizes: HashMap::new(),
            fixed_indices: HashMap::new(),
            instances: None,
            data_replicas: 1,
            error: None,
            last_site: None,
            next_auxiliary: false,
            program: "model",
        }
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

    /// Whether data is bound to `name`.
    pub fn has_data(&self, name: &str) -> bool {
        self.data.contains(name)
    }

    /// The data bound to `name` (subsampled by the enclosing plates): how an inference
    /// network reads its input (`ctx.data("x")`).
    ///
    /// Stops the run with [`CoreError::MissingData`] if nothing is bound, and with
    /// [`CoreError::ShapeMismatch`] if its rank is not `D`.
    pub fn data<const D: usize>(&mut self, name: &str) -> Tensor<B, D> {
        let Some(v) = self.bound_data(name) else {
            let bound: Vec<&str> = self.data.names().collect();
            let hint = format!("bind it with `Data::new().with(\"{name}\", tensor)`; bound names: {bound:?}");
            self.fail(CoreError::MissingData {
                site: name.to_string(),
                hint,
            })
        };
        match v.tensor::<D>() {
            Some(t) => t,
            None => {
                let actual = v.dims();
                self.fail(CoreError::ShapeMismatch {
                    site: name.to_string(),
                    expected: vec![0; D],
                    actual,
                    hint: format!("the model reads `{name}` as a rank-{D} tensor"),
                })
            }
        }
    }

    /// A random variable named `name` with distribution `dist` (or the `Result` of a checked
    /// constructor). Returns its value: observed data when `name` is bound, otherwise what a
    /// handler supplies (replay, substitute, condition) or a draw — pathwise when the
    /// distribution allows.
    ///
    /// Stops the run on a duplicate name, invalid parameters, or a shape that does not fit
    /// the enclosing plates or the data.
    pub fn sample<const D: usize, T: IntoDistribution<B, D>>(&mut self, name: &str, dist: T) -> Tensor<B, D> {
        let dist = match dist.into_distribution() {
            Ok(d) => d,
            Err(source) => self.fail(CoreError::Distribution {
                site: name.to_string(),
                source: Box::new(source),
            }),
        };
        self.claim_name(name);
        let value_shape = ppl_dist::Distribution::value_shape(&dist);
        let expected = self.expected_shape(name, value_shape);
        let erased: Arc<dyn ErasedDist<B>> = Arc::new(Erased::<T::Dist, D>(dist));
        let mut msg = self.message(name, SiteKind::Sample);
        if let Some(v) = self.bound_data(name) {
            msg.value = Some(v);
            msg.observed = true;
        }
        self.process(&mut msg);
        let (value, reparameterized) = match msg.value.take() {
            Some(v) => (self.conform::<D>(name, v, expected), false),
            None => {
                let shape = expected.to_vec();
                match erased.rsample(&shape, &mut msg.key) {
                    Ok(v) => (v.tensor::<D>().expect("rank preserved"), true),
                    Err(_) => (
                        erased
                            .sample(&shape, &mut msg.key)
                            .tensor::<D>()
                            .expect("rank preserved"),
                        false,
                    ),
                }
            }
        };
        let value_v = Value::from_tensor(value.clone());
        let mut lp = erased.log_prob(&value_v).expect("rank preserved");
        if let Some(mask) = &msg.mask {
            lp = apply_mask(&lp, mask);
        }
        let lp_sum = lp.sum() * msg.scale;
        msg.value = Some(value_v.clone());
        self.postprocess(&mut msg);
        self.record(msg, Some(erased), value_v, Some(lp), Some(lp_sum), reparameterized);
        value
    }

    /// An auxiliary sample site of a guide (Pyro's `is_auxiliary`): it contributes to the
    /// guide's density but has no counterpart in the model. Otherwise as [`Ctx::sample`].
    pub fn sample_auxiliary<const D: usize, T: IntoDistribution<B, D>>(&mut self, name: &str, dist: T) -> Tensor<B, D> {
        self.next_auxiliary = true;
        self.sample(name, dist)
    }

    /// A learnable parameter outside any network (Pyro's `pyro.param`): created from `init`
    /// on first use, stored unconstrained, returned mapped into `constraint`
    /// (`Constraint::Positive` uses softplus).
    pub fn param<const D: usize>(&mut self, name: &str, init: Tensor<B, D>, constraint: Constraint) -> Tensor<B, D> {
        self.claim_name(name);
        let mut msg = self.message(name, SiteKind::Param);
        self.process(&mut msg);
        let v = match msg.value.take() {
            Some(v) => v,
            None => self.params.get_or_init(name, Value::from_tensor(init), constraint),
        };
        let t = self.conform::<D>(name, v.clone(), {
            let mut s = [0; D];
            s.copy_from_slice(&v.dims());
            s
        });
        msg.value = Some(v.clone());
        self.postprocess(&mut msg);
        self.record(msg, None, v, None, None, false);
        t
    }

    /// Record a deterministic function of other sites under `name` and return it.
    pub fn deterministic<const D: usize>(&mut self, name: &str, value: Tensor<B, D>) -> Tensor<B, D> {
        self.claim_name(name);
        let mut msg = self.message(name, SiteKind::Deterministic);
        msg.value = Some(Value::from_tensor(value.clone()));
        self.process(&mut msg);
        let v = msg.value.clone().expect("value set");
        self.postprocess(&mut msg);
        self.record(msg, None, v.clone(), None, None, false);
        v.tensor::<D>().unwrap_or(value)
    }

    /// Add `log_factor` (summed over all its elements) to this run's log-density under
    /// `name` (Pyro's `factor`): a site with no distribution and no value to infer, scaled like
    /// a sample site (N/M inside subsampled plates, `scale` handlers), hidden by `block`.
    /// Bayesian layers use it to add `−KL(q(w) ‖ p(w))` to the ELBO.
    ///
    /// ```
    /// use burn::backend::NdArray;
    /// use ppl_core::{trace, Ctx, Data};
    /// let model = |ctx: &mut Ctx<NdArray>| ctx.factor("penalty", ctx.full([2], -0.5));
    /// let t = trace(&model, &Data::new(), 0, &Default::default()).unwrap();
    /// assert_eq!(t.log_joint().unwrap().into_scalar(), -1.0);
    /// ```
    pub fn factor<const D: usize>(&mut self, name: &str, log_factor: Tensor<B, D>) {
        self.record_factor(name, log_factor, false);
    }

    /// As [`Ctx::factor`], but a global term: no plate scaling even when called inside plates
    /// (`scale` handlers still apply), and recorded outside them. A Bayesian layer called on
    /// a minibatch inside `datamodel` adds its weights' `−KL` once per step this way, while
    /// the likelihood of the rows is scaled by N/M.
    pub fn global_factor<const D: usize>(&mut self, name: &str, log_factor: Tensor<B, D>) {
        self.record_factor(name, log_factor, true);
    }

    fn record_factor<const D: usize>(&mut self, name: &str, log_factor: Tensor<B, D>, global: bool) {
        self.claim_name(name);
        let mut msg = self.message(name, SiteKind::Factor);
        if global {
            msg.scale = 1.0;
        }
        msg.value = Some(Value::from_tensor(log_factor.clone()));
        self.process(&mut msg);
        self.postprocess(&mut msg);
        let sum = log_factor.clone().sum().reshape([1]) * msg.scale;
        let v = Value::from_tensor(log_factor);
        let plates = if global {
            std::mem::take(&mut self.plates)
        } else {
            Vec::new()
        };
        self.record(msg, None, v.clone(), Some(v), Some(sum), false);
        if global {
            self.plates = plates;
        }
    }

    /// A random key for user code that draws its own noise inside the model (e.g. the weight
    /// noise of a Bayesian layer), derived from this run's key and `name`: same seed, same
    /// draws.
    pub fn rng(&self, name: &str) -> RngKey {
        self.key.fold_in(&format!("rng:{name}"))
    }

    /// InferPy's `datamodel`: the plate [`DataPlate`] (named `"data"`), whose instances are
    /// the rows of the bound data (or [`Ctx::with_instances`] when nothing is bound). Under
    /// SVI the data are a minibatch of M rows and the sites are scaled by N/M
    /// ([`Ctx::with_data_size`]).
    pub fn datamodel<R>(&mut self, body: impl FnOnce(&mut Self) -> R) -> R {
        self.plate(&DataPlate, body)
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
        self.enter(&name, rows.size, rows.subsample, indices, body)
    }

    /// The subsample indices of the innermost subsampled plate, if any.
    pub fn plate_indices(&self) -> Option<&[usize]> {
        self.plates
            .iter()
            .rev()
            .find_map(|f| f.indices.as_ref().map(|(h, _)| h.as_slice()))
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

    // ---- internals ----

    fn enter<R>(
        &mut self,
        name: &str,
        size: usize,
        subsample: usize,
        indices: Option<(Vec<usize>, Tensor<B, 1, Int>)>,
        body: impl FnOnce(&mut Self) -> R,
    ) -> R {
        if self.plates.iter().any(|f| f.info.name == name) {
            self.fail(CoreError::InvalidPlate {
                plate: name.into(),
                size,
                subsample,
                reason: "a plate of that name is already open",
            });
        }
        let dim = self.plates.len();
        self.plates.push(Frame {
            info: PlateInfo {
                name: name.to_string(),
                dim,
                size,
                subsample_size: subsample,
            },
            indices,
        });
        let r = body(self);
        self.plates.pop();
        r
    }

    fn claim_name(&mut self, name: &str) {
        if !self.names.insert(name.to_string()) {
            self.fail(CoreError::DuplicateSite(name.to_string()));
        }
    }

    fn message(&self, name: &str, kind: SiteKind) -> Message<B> {
        let scale = self
            .plates
            .iter()
            .map(|f| f.info.size as f64 / f.info.subsample_size as f64)
            .product();
        Message {
            name: name.to_string(),
            kind,
            value: None,
            observed: false,
            scale,
            mask: None,
            hidden: false,
            key: self.key.fold_in(name),
        }
    }

    fn process(&mut self, msg: &mut Message<B>) {
        for h in self.handlers.iter_mut() {
            h.process(msg);
        }
    }

    fn postprocess(&mut self, msg: &mut Message<B>) {
        for h in self.handlers.iter_mut().rev() {
            h.postprocess(msg);
        }
    }

    fn record(
        &mut self,
        msg: Message<B>,
        dist: Option<Arc<dyn ErasedDist<B>>>,
        value: Value<B>,
        log_prob: Option<Value<B>>,
        log_prob_sum: Option<Tensor<B, 1>>,
        reparameterized: bool,
    ) {
        self.last_site = Some(msg.name.clone());
        let auxiliary = std::mem::take(&mut self.next_auxiliary);
        if msg.hidden {
            return;
        }
        self.trace.push(Site {
            name: msg.name,
            kind: msg.kind,
            dist,
            value,
            observed: msg.observed,
            plates: self.plates.iter().map(|f| f.info.clone()).collect(),
            scale: msg.scale,
            log_prob,
            log_prob_sum,
            mask: msg.mask,
            reparameterized,
            auxiliary,
        });
    }

    /// Bound data for `name`, subsampled along each subsampled plate's dimension; the read
    /// is noted in the trace (inside or outside the data plate).
    fn bound_data(&mut self, name: &str) -> Option<Value<B>> {
        let mut v = self.data.get(name)?.clone();
        let in_data_plate = self.plates.iter().any(|f| f.info.name == DATA_PLATE);
        self.trace.note_read(name, in_data_plate);
        for f in &self.plates {
            if let Some((_, idx)) = &f.indices {
                let dims = v.dims();
                if f.info.dim < dims.len() && dims[f.info.dim] == f.info.size {
                    v = v.select(f.info.dim, idx.clone());
                }
            }
        }
        Some(v)
    }

    /// The shape a site's value must have: plate sizes first, then the distribution's own.
    fn expected_shape<const D: usize>(&mut self, name: &str, value_shape: [usize; D]) -> [usize; D] {
        let mut expected = value_shape;
        if self.plates.len() > D {
            let plates: Vec<String> = self.plates.iter().map(|f| f.info.name.clone()).collect();
            self.fail(CoreError::ShapeMismatch {
                site: name.to_string(),
                expected: self.plates.iter().map(|f| f.info.subsample_size).collect(),
                actual: value_shape.to_vec(),
                hint: format!(
                    "the site sits in {} plates {plates:?} but its value has rank {D}; each plate needs its own \
                     leading dimension: give the parameters {} leading dimension(s) of size 1",
                    self.plates.len(),
                    self.plates.len()
                ),
            });
        }
        for f in &self.plates {
            let (k, m) = (f.info.dim, f.info.subsample_size);
            if value_shape[k] != 1 && value_shape[k] != m {
                let mut want = value_shape;
                want[k] = m;
                self.fail(CoreError::ShapeMismatch {
                    site: name.to_string(),
                    expected: want.to_vec(),
                    actual: value_shape.to_vec(),
                    hint: format!(
                        "Try one of the following fixes:\n- give the distribution's parameters size 1 in dimension {k} \
                         (plate `{}`), so they are broadcast to its {m} instances\n- compute the parameters from \
                         per-instance inputs with {m} rows",
                        f.info.name
                    ),
                });
            }
            expected[k] = m;
        }
        expected
    }

    /// A value of the right rank and shape for a site, from data or a handler.
    fn conform<const D: usize>(&mut self, name: &str, v: Value<B>, expected: [usize; D]) -> Tensor<B, D> {
        let dims = v.dims();
        let t = if v.rank() == D {
            v.tensor::<D>()
        } else if v.rank() + 1 == D && expected[D - 1] == 1 {
            // Labels [M] for a site whose value is [M, 1] (Categorical's index slot).
            let mut s = [1; D];
            s[..D - 1].copy_from_slice(&dims);
            match &v {
                Value::R1(t) => Some(t.clone().reshape(s)),
                Value::R2(t) => Some(t.clone().reshape(s)),
                Value::R3(t) => Some(t.clone().reshape(s)),
                Value::R4(t) => Some(t.clone().reshape(s)),
            }
        } else {
            None
        };
        match t {
            Some(t) if t.dims() == expected => t,
            _ => self.fail(CoreError::ShapeMismatch {
                site: name.to_string(),
                expected: expected.to_vec(),
                actual: dims,
                hint: "Try one of the following fixes:\n- enclose the site in a plate (`ctx.datamodel` or \
                       `ctx.plate`) so its rows are instances\n- give the distribution the event shape of one \
                       instance (e.g. wrap it in `Independent`)\n- reshape or permute the data"
                    .to_string(),
            }),
        }
    }
}

/// `lp · mask` with the mask broadcast (1 keeps, 0 drops the term).
fn apply_mask<B: Backend>(lp: &Value<B>, mask: &Value<B>) -> Value<B> {
    macro_rules! masked {
        ($t:expr, $d:literal) => {{
            let m: Tensor<B, $d> = mask.tensor::<$d>().expect("mask rank matches the site's log-density");
            let zero = m.clone().equal_elem(0.0);
            $t.clone().mask_fill(zero.expand($t.dims()), 0.0)
        }};
    }
    match lp {
        Value::R1(t) => Value::R1(masked!(t, 1)),
        Value::R2(t) => Value::R2(masked!(t, 2)),
        Value::R3(t) => Value::R3(masked!(t, 3)),
        Value::R4(t) => Value::R4(masked!(t, 4)),
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

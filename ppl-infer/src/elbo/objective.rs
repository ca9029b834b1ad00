//! The [`Objective`] trait: one estimator of a variational objective, owning its state.

use std::collections::BTreeMap;

use burn::tensor::backend::Backend;
use ppl_core::{Model, ParamStore};
use ppl_dist::RngKey;

use super::{Batch, ElboEstimate, MeanFieldElbo, RenyiElbo, TraceElbo, TraceEnumElbo, TraceGraphElbo};
use crate::InferError;

/// Everything one evaluation of an [`Objective`] reads: the two programs, the minibatch, the
/// `param` store the runs start from, the key and the device.
///
/// # Example
/// ```
/// use burn::backend::{Autodiff, NdArray};
/// use ppl_core::{Ctx, Data};
/// use ppl_dist::{param::upload, Normal, RngKey};
/// use ppl_infer::elbo::{Batch, Objective, ObjectiveInput, TraceElbo};
/// type B = Autodiff<NdArray<f64>>;
/// let dev = Default::default();
/// let model = ppl_infer::model_fn(|ctx: &mut Ctx<B>| {
///     let z = ctx.sample("z", Normal::new(ctx.zeros([1]), 1.0));
///     ctx.datamodel(|ctx| { ctx.sample("x", Normal::new(z, 1.0)); });
/// });
/// let guide = ppl_infer::model_fn(|ctx: &mut Ctx<B>| {
///     ctx.sample("z", Normal::new(ctx.full([1], 0.5), 0.8));
/// });
/// let data = Data::new().with("x", upload::<B, 1>(vec![0.2, 1.1], [2], &dev));
/// let key = RngKey::new(0);
/// let input = ObjectiveInput::new(&model, &guide, Batch::new(&data, 2), &key, &dev);
/// let est = TraceElbo::new(4).estimate(input).unwrap();
/// assert!(est.elbo.is_finite());
/// ```
#[derive(Debug)]
pub struct ObjectiveInput<'a, B: Backend, P, Q> {
    /// The P-model.
    pub model: &'a P,
    /// The Q-model (the guide).
    pub guide: &'a Q,
    /// The minibatch and the full size of the data plate.
    pub batch: Batch<'a, B>,
    /// The `param` store the runs start from (new `param` sites are added to it).
    pub params: ParamStore<B>,
    /// The key of this evaluation; particle `k` draws with `key.fold_in_u64(k)`.
    pub key: &'a RngKey,
    /// The device the programs run on.
    pub device: &'a B::Device,
}

impl<'a, B: Backend, P, Q> ObjectiveInput<'a, B, P, Q> {
    /// An input with an empty `param` store.
    pub fn new(model: &'a P, guide: &'a Q, batch: Batch<'a, B>, key: &'a RngKey, device: &'a B::Device) -> Self {
        ObjectiveInput {
            model,
            guide,
            batch,
            params: ParamStore::new(),
            key,
            device,
        }
    }

    /// Start the runs from this `param` store.
    pub fn with_params(mut self, params: ParamStore<B>) -> Self {
        self.params = params;
        self
    }
}

/// One estimator of a variational objective (an ELBO or a bound on the evidence): runs the
/// guide and the model on one [`ObjectiveInput`] and returns an [`ElboEstimate`] whose
/// `surrogate_loss` has the estimator's (negated) gradient.
///
/// An estimator owns its state across steps (the score-function baseline of
/// [`TraceElbo`]/[`MeanFieldElbo`]) and updates it only when an evaluation succeeds.
/// [`crate::Svi`] evaluates a copy and keeps it only when the whole step succeeds, so a
/// failed step leaves the state as it was. New estimators implement this trait.
pub trait Objective<B: Backend> {
    /// Evaluate the objective once.
    ///
    /// # Errors
    /// Errors of the model or guide runs, [`InferError::UnmatchedSite`] when their sites do
    /// not match, and [`InferError::Config`] for an unusable setting (zero particles).
    fn estimate<P: Model<B>, Q: Model<B>>(
        &mut self,
        input: ObjectiveInput<'_, B, P, Q>,
    ) -> Result<ElboEstimate<B>, InferError>;
}

/// The built-in estimators, chosen by [`crate::Elbo`] (what [`crate::Svi`] holds).
#[derive(Debug, Clone, PartialEq)]
pub enum AnyObjective {
    /// [`TraceElbo`].
    Trace(TraceElbo),
    /// [`MeanFieldElbo`].
    MeanField(MeanFieldElbo),
    /// [`RenyiElbo`].
    Renyi(RenyiElbo),
    /// [`TraceEnumElbo`].
    TraceEnum(TraceEnumElbo),
    /// [`TraceGraphElbo`].
    TraceGraph(TraceGraphElbo),
}

/// What an estimator carries from one step to the next: its score-function baselines.
/// [`crate::Svi`] keeps it with the parameters (undone steps, restored best states) and
/// saves it in checkpoints, so a resumed fit takes the same steps.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ObjectiveState {
    /// The moving-average baseline of the whole ELBO ([`TraceElbo`], [`MeanFieldElbo`]).
    pub baseline: Option<f64>,
    /// Per-site baselines by site name ([`TraceGraphElbo`]).
    pub site_baselines: BTreeMap<String, f64>,
}

impl AnyObjective {
    /// The estimator's state (empty for one that keeps none); saved in checkpoints.
    pub fn state(&self) -> ObjectiveState {
        match self {
            AnyObjective::Trace(o) => ObjectiveState {
                baseline: o.baseline(),
                ..Default::default()
            },
            AnyObjective::MeanField(o) => ObjectiveState {
                baseline: o.baseline(),
                ..Default::default()
            },
            AnyObjective::TraceGraph(o) => ObjectiveState {
                baseline: None,
                site_baselines: o.baselines().clone(),
            },
            AnyObjective::Renyi(_) | AnyObjective::TraceEnum(_) => ObjectiveState::default(),
        }
    }

    /// Restore the state (from a checkpoint, or when a step is undone).
    pub fn set_state(&mut self, state: ObjectiveState) {
        match self {
            AnyObjective::Trace(o) => o.set_baseline(state.baseline),
            AnyObjective::MeanField(o) => o.set_baseline(state.baseline),
            AnyObjective::TraceGraph(o) => o.set_baselines(state.site_baselines),
            AnyObjective::Renyi(_) | AnyObjective::TraceEnum(_) => {}
        }
    }

    /// Draws per evaluation.
    pub fn particles(&self) -> usize {
        match self {
            AnyObjective::Trace(o) => o.particles(),
            AnyObjective::MeanField(o) => o.particles(),
            AnyObjective::Renyi(o) => o.particles(),
            AnyObjective::TraceEnum(o) => o.particles(),
            AnyObjective::TraceGraph(o) => o.particles(),
        }
    }

    /// The same estimator and state with `particles` draws per evaluation; the Rényi bound
    /// is returned unchanged (its particles are importance samples, not draws to average).
    pub fn with_particles(&self, particles: usize) -> Self {
        match self {
            AnyObjective::Trace(o) => AnyObjective::Trace(o.clone().with_particles(particles)),
            AnyObjective::MeanField(o) => AnyObjective::MeanField(o.clone().with_particles(particles)),
            AnyObjective::Renyi(o) => AnyObjective::Renyi(o.clone()),
            AnyObjective::TraceEnum(o) => AnyObjective::TraceEnum(o.clone().with_particles(particles)),
            AnyObjective::TraceGraph(o) => AnyObjective::TraceGraph(o.clone().with_particles(particles)),
        }
    }
}

impl<B: Backend> Objective<B> for AnyObjective {
    fn estimate<P: Model<B>, Q: Model<B>>(
        &mut self,
        input: ObjectiveInput<'_, B, P, Q>,
    ) -> Result<ElboEstimate<B>, InferError> {
        match self {
            AnyObjective::Trace(o) => o.estimate(input),
            AnyObjective::MeanField(o) => o.estimate(input),
            AnyObjective::Renyi(o) => o.estimate(input),
            AnyObjective::TraceEnum(o) => o.estimate(input),
            AnyObjective::TraceGraph(o) => o.estimate(input),
        }
    }
}

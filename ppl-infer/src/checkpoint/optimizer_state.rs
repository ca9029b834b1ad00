//! The optimizer's per-parameter state as named tensors, so it can be written to burnpack
//! beside the weights.
//!
//! burn keys an optimizer's state by [`ParamId`], and ids are not stable across processes: a
//! module built again gets fresh ids. A checkpoint therefore names each state by the path of
//! its parameter in the module tree (`q.encoder.layers.0.weight`, `params.tensors.1`), and a
//! load maps each path back to the id that parameter has in the module being restored.
//!
//! Adam and AdamW keep `moment_1`, `moment_2` (and `max_moment_2` with AMSGrad) and a step
//! count `time` per parameter; RMSprop (without momentum) keeps `square_avg`, `avg` (and
//! `grad_avg` when centered); SGD with momentum keeps `velocity`; plain SGD keeps an empty
//! state, recorded so that the set of parameters with a state is restored exactly.

use std::collections::{BTreeMap, HashMap};

use burn::module::{AutodiffModule, ParamId};
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::momentum::{Momentum, MomentumConfig, MomentumState};
use burn::optim::record::{AdaptorRecord, AdaptorRecordV1};
use burn::optim::{
    AdamState, AdamWState, AdaptiveMomentumState, CenteredState, Optimizer, RmsPropState, SgdState, SimpleOptimizer,
    SquareAvgState,
};
use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor, TensorData};
use burn_store::{ModuleSnapshot, TensorSnapshot};
use ppl_dist::kernels::TrainingBackend;
use serde::{Deserialize, Serialize};

use crate::optim::AnyOptimizer;

/// The state one parameter has in the optimizer, as `state.json` records it; its tensors are
/// in `optimizer.bpk` under `<path>/<tensor name>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OptimizerEntry {
    /// The parameter's path in the module tree.
    pub path: String,
    /// The parameter's rank.
    pub rank: usize,
    /// Adam's (AdamW's) step count for this parameter (None for RMSprop and SGD).
    pub time: Option<usize>,
    /// The names of the state's tensors (`moment_1`, `moment_2`, `max_moment_2`,
    /// `square_avg`, `avg`, `grad_avg`, `velocity`).
    pub tensors: Vec<String>,
}

/// The optimizer state split into its description and its tensors.
pub(crate) struct OptimizerTensors {
    pub entries: Vec<OptimizerEntry>,
    pub snapshots: Vec<TensorSnapshot>,
}

/// Where a parameter sits in the module tree, and its shape.
#[derive(Debug, Clone)]
pub(crate) struct ParamSlot {
    pub path: String,
    pub shape: Vec<usize>,
}

/// Every float parameter of `module`, by id.
pub(crate) fn slots_by_id<B: Backend, M: ModuleSnapshot<B>>(module: &M) -> HashMap<ParamId, ParamSlot> {
    module
        .collect(None, None, false)
        .into_iter()
        .filter_map(|s| {
            let slot = ParamSlot {
                path: s.full_path(),
                shape: s.shape.to_vec(),
            };
            Some((s.tensor_id?, slot))
        })
        .collect()
}

fn snapshot<B: Backend, const D: usize>(path: &str, name: &str, t: &Tensor<B, D>) -> TensorSnapshot {
    TensorSnapshot::from_float(
        t,
        vec![path.to_string(), name.to_string()],
        vec!["OptimizerState".to_string(), "Tensor".to_string()],
        ParamId::new(),
    )
}

/// The name a state tensor is stored under in `optimizer.bpk`.
pub(crate) fn key(path: &str, name: &str) -> String {
    format!("{path}.{name}")
}

/// One parameter's optimizer state of rank `D`, split into named tensors and joined back.
trait StateTensors<B: Backend, const D: usize>: Sized {
    /// Push the state's tensors to `out` (named by `slot`'s path); the step count, if the
    /// state has one, and the tensors' names.
    fn split(
        self,
        slot: &ParamSlot,
        device: &B::Device,
        out: &mut Vec<TensorSnapshot>,
    ) -> Result<(Option<usize>, Vec<String>), String>;

    /// The state from its step count and its tensors (`has` says which names the entry lists).
    fn join(
        time: Option<usize>,
        has: &dyn Fn(&str) -> bool,
        t: &dyn Fn(&str) -> Result<Tensor<B, D>, String>,
    ) -> Result<Self, String>;
}

fn split_adaptive<B: Backend, const D: usize>(
    path: &str,
    m: AdaptiveMomentumState<B, D>,
    out: &mut Vec<TensorSnapshot>,
) -> (Option<usize>, Vec<String>) {
    let mut names = vec!["moment_1".to_string(), "moment_2".to_string()];
    out.push(snapshot(path, "moment_1", &m.moment_1));
    out.push(snapshot(path, "moment_2", &m.moment_2));
    if let Some(max) = &m.max_moment_2 {
        out.push(snapshot(path, "max_moment_2", max));
        names.push("max_moment_2".to_string());
    }
    (Some(m.time), names)
}

fn join_adaptive<B: Backend, const D: usize>(
    time: Option<usize>,
    has: &dyn Fn(&str) -> bool,
    t: &dyn Fn(&str) -> Result<Tensor<B, D>, String>,
) -> Result<AdaptiveMomentumState<B, D>, String> {
    Ok(AdaptiveMomentumState {
        time: time.ok_or("the Adam state has no step count")?,
        moment_1: t("moment_1")?,
        moment_2: t("moment_2")?,
        max_moment_2: if has("max_moment_2") {
            Some(t("max_moment_2")?)
        } else {
            None
        },
    })
}

/// `StateTensors` for the states that are one `momentum: AdaptiveMomentumState` (Adam, AdamW).
macro_rules! adaptive_momentum_state {
    ($($state:ident),+) => {$(
        impl<B: Backend, const D: usize> StateTensors<B, D> for $state<B, D> {
            fn split(
                self,
                slot: &ParamSlot,
                _: &B::Device,
                out: &mut Vec<TensorSnapshot>,
            ) -> Result<(Option<usize>, Vec<String>), String> {
                Ok(split_adaptive(&slot.path, self.momentum, out))
            }
            fn join(
                time: Option<usize>,
                has: &dyn Fn(&str) -> bool,
                t: &dyn Fn(&str) -> Result<Tensor<B, D>, String>,
            ) -> Result<Self, String> {
                Ok($state {
                    momentum: join_adaptive(time, has, t)?,
                })
            }
        }
    )+};
}

adaptive_momentum_state!(AdamState, AdamWState);

impl<B: Backend, const D: usize> StateTensors<B, D> for RmsPropState<B, D> {
    fn split(
        self,
        slot: &ParamSlot,
        _: &B::Device,
        out: &mut Vec<TensorSnapshot>,
    ) -> Result<(Option<usize>, Vec<String>), String> {
        if self.momentum.is_some() {
            // `OptimizerKind::RmsProp` has momentum 0; burn keeps the buffer private.
            return Err(format!(
                "the RMSprop state of `{}` has a momentum buffer, which checkpoints cannot read",
                slot.path
            ));
        }
        let path = &slot.path;
        let mut names = vec!["square_avg".to_string(), "avg".to_string()];
        out.push(snapshot(path, "square_avg", &self.square_avg.square_avg));
        out.push(snapshot(path, "avg", &self.centered.avg));
        if let Some(g) = &self.centered.grad_avg {
            out.push(snapshot(path, "grad_avg", g));
            names.push("grad_avg".to_string());
        }
        Ok((None, names))
    }
    fn join(
        _: Option<usize>,
        has: &dyn Fn(&str) -> bool,
        t: &dyn Fn(&str) -> Result<Tensor<B, D>, String>,
    ) -> Result<Self, String> {
        Ok(RmsPropState {
            square_avg: SquareAvgState {
                square_avg: t("square_avg")?,
            },
            centered: CenteredState {
                grad_avg: if has("grad_avg") { Some(t("grad_avg")?) } else { None },
                avg: t("avg")?,
            },
            momentum: None,
        })
    }
}

impl<B: Backend, const D: usize> StateTensors<B, D> for SgdState<B, D> {
    fn split(
        self,
        slot: &ParamSlot,
        device: &B::Device,
        out: &mut Vec<TensorSnapshot>,
    ) -> Result<(Option<usize>, Vec<String>), String> {
        let Some(state) = self.momentum else {
            return Ok((None, Vec::new()));
        };
        // burn keeps `MomentumState::velocity` private. One momentum step with momentum 1,
        // dampening 1 and a zero gradient of the parameter's shape returns it unchanged:
        // v' = (1 − 1)·0 + 1·v.
        let identity = Momentum::<B>::new(&MomentumConfig::new().with_momentum(1.0).with_dampening(1.0));
        let zero = Tensor::<B, D>::zeros(slot.shape.as_slice(), device);
        let (velocity, _) = identity.transform(zero, Some(state));
        out.push(snapshot(&slot.path, "velocity", &velocity));
        Ok((None, vec!["velocity".to_string()]))
    }
    fn join(
        _: Option<usize>,
        has: &dyn Fn(&str) -> bool,
        t: &dyn Fn(&str) -> Result<Tensor<B, D>, String>,
    ) -> Result<Self, String> {
        let momentum = if has("velocity") {
            Some(MomentumState::new(t("velocity")?))
        } else {
            None
        };
        Ok(SgdState { momentum })
    }
}

/// Split the records of one optimizer into `out` (entries and tensors, in path order).
fn split_records<O, B>(
    records: impl IntoIterator<Item = (ParamId, AdaptorRecord<O, B>)>,
    slots: &HashMap<ParamId, ParamSlot>,
    device: &B::Device,
    out: &mut OptimizerTensors,
) -> Result<(), String>
where
    B: TrainingBackend,
    O: SimpleOptimizer<B::InnerBackend>,
    O::State<1>: StateTensors<B::InnerBackend, 1>,
    O::State<2>: StateTensors<B::InnerBackend, 2>,
    O::State<3>: StateTensors<B::InnerBackend, 3>,
    O::State<4>: StateTensors<B::InnerBackend, 4>,
{
    for (id, record) in sorted(records, slots) {
        let slot = &slots[&id];
        let AdaptorRecord::V1(v1) = record;
        let (time, tensors) = match v1 {
            AdaptorRecordV1::Rank1(s) => s.split(slot, device, &mut out.snapshots)?,
            AdaptorRecordV1::Rank2(s) => s.split(slot, device, &mut out.snapshots)?,
            AdaptorRecordV1::Rank3(s) => s.split(slot, device, &mut out.snapshots)?,
            AdaptorRecordV1::Rank4(s) => s.split(slot, device, &mut out.snapshots)?,
            _ => return Err(unsupported(&slot.path)),
        };
        out.entries.push(OptimizerEntry {
            path: slot.path.clone(),
            rank: slot.shape.len(),
            time,
            tensors,
        });
    }
    Ok(())
}

/// Split `optim`'s state into entries and tensors; `slots` describes each parameter of the
/// module being optimized. States of parameters the module no longer has are dropped (they
/// can never be used again).
pub(crate) fn to_tensors<M, B>(
    optim: &AnyOptimizer<M, B>,
    slots: &HashMap<ParamId, ParamSlot>,
    device: &B::Device,
) -> Result<OptimizerTensors, String>
where
    M: AutodiffModule<B>,
    B: TrainingBackend,
{
    let mut out = OptimizerTensors {
        entries: Vec::new(),
        snapshots: Vec::new(),
    };
    match optim {
        AnyOptimizer::Adam(o) => split_records(o.to_record(), slots, device, &mut out)?,
        AnyOptimizer::AdamW(o) => split_records(o.to_record(), slots, device, &mut out)?,
        AnyOptimizer::RmsProp(o) => split_records(o.to_record(), slots, device, &mut out)?,
        AnyOptimizer::Sgd(o) => split_records(o.to_record(), slots, device, &mut out)?,
    }
    Ok(out)
}

fn unsupported(path: &str) -> String {
    format!("the optimizer state of `{path}` has a rank outside 1 to 4, which checkpoints do not support")
}

/// The records of parameters the module has, in path order (so the file is deterministic).
fn sorted<R>(
    records: impl IntoIterator<Item = (ParamId, R)>,
    slots: &HashMap<ParamId, ParamSlot>,
) -> Vec<(ParamId, R)> {
    let mut v: Vec<(ParamId, R)> = records.into_iter().filter(|(id, _)| slots.contains_key(id)).collect();
    v.sort_by(|a, b| slots[&a.0].path.cmp(&slots[&b.0].path));
    v
}

/// The state `e` describes, as a record of optimizer `O`; `read` gives a tensor's values.
fn join_record<O, B>(
    e: &OptimizerEntry,
    read: &dyn Fn(&str) -> Result<TensorData, String>,
    device: &B::Device,
    dtype: DType,
) -> Result<AdaptorRecord<O, B>, String>
where
    B: TrainingBackend,
    O: SimpleOptimizer<B::InnerBackend>,
    O::State<1>: StateTensors<B::InnerBackend, 1>,
    O::State<2>: StateTensors<B::InnerBackend, 2>,
    O::State<3>: StateTensors<B::InnerBackend, 3>,
    O::State<4>: StateTensors<B::InnerBackend, 4>,
{
    let has = |name: &str| e.tensors.iter().any(|t| t == name);
    let at = |path: &str, r: Result<AdaptorRecord<O, B>, String>| r.map_err(|m| format!("{m} (`{path}`)"));
    ppl_core::with_rank!(e.rank, D => {
        let t = |name: &str| -> Result<Tensor<B::InnerBackend, D>, String> {
            Ok(Tensor::<B::InnerBackend, D>::from_data(read(name)?, device).cast(dtype))
        };
        let state = <O::State<D> as StateTensors<B::InnerBackend, D>>::join(e.time, &has, &t);
        at(&e.path, state.map(AdaptorRecord::<O, B>::from_state::<D>))
    }, _ => Err(unsupported(&e.path)))
}

/// Rebuild `optim` (the optimizer of the module being restored, whose parameters `slots`
/// describes by path) with the state `entries` describes and `tensors` holds.
///
/// # Errors
/// A message naming the path when a state belongs to a parameter the module does not have,
/// has another rank or shape, misses a tensor, or when `tensors` holds tensors no entry names.
pub(crate) fn from_tensors<M, B>(
    optim: AnyOptimizer<M, B>,
    entries: &[OptimizerEntry],
    tensors: &BTreeMap<String, TensorSnapshot>,
    slots: &HashMap<String, (ParamId, Vec<usize>)>,
    device: &B::Device,
) -> Result<AnyOptimizer<M, B>, String>
where
    M: AutodiffModule<B>,
    B: TrainingBackend,
{
    let named: usize = entries.iter().map(|e| e.tensors.len()).sum();
    if named != tensors.len() {
        return Err(format!(
            "holds {} tensors, the checkpoint's state names {named}",
            tensors.len()
        ));
    }
    let dtype = ppl_dist::param::float_dtype::<B>();
    let mut records = Vec::with_capacity(entries.len());
    for e in entries {
        let (id, shape) = slots
            .get(&e.path)
            .ok_or_else(|| format!("holds a state for `{}`, a parameter this model does not have", e.path))?;
        if e.rank != shape.len() {
            return Err(format!(
                "the state of `{}` has rank {}, the parameter {shape:?}",
                e.path, e.rank
            ));
        }
        let read = move |name: &str| -> Result<TensorData, String> {
            let snap = tensors
                .get(&key(&e.path, name))
                .ok_or_else(|| format!("has no `{name}` for `{}`", e.path))?;
            if snap.shape.as_slice() != shape.as_slice() {
                return Err(format!(
                    "`{name}` of `{}` has shape {:?}, the parameter {shape:?}",
                    e.path,
                    snap.shape.as_slice()
                ));
            }
            snap.to_data()
                .map_err(|err| format!("`{name}` of `{}`: {err:?}", e.path))
        };
        records.push((*id, e, Box::new(read) as Reader<'_>));
    }
    Ok(match optim {
        AnyOptimizer::Adam(o) => AnyOptimizer::Adam(load_adaptor(o, &records, device, dtype)?),
        AnyOptimizer::AdamW(o) => AnyOptimizer::AdamW(load_adaptor(o, &records, device, dtype)?),
        AnyOptimizer::RmsProp(o) => AnyOptimizer::RmsProp(load_adaptor(o, &records, device, dtype)?),
        AnyOptimizer::Sgd(o) => AnyOptimizer::Sgd(load_adaptor(o, &records, device, dtype)?),
    })
}

/// Gives the values of one named state tensor of one entry.
type Reader<'a> = Box<dyn Fn(&str) -> Result<TensorData, String> + 'a>;

/// `o` with the states of `records` (parameter id, entry, its tensors) loaded.
fn load_adaptor<O, M, B>(
    o: OptimizerAdaptor<O, M, B>,
    records: &[(ParamId, &OptimizerEntry, Reader<'_>)],
    device: &B::Device,
    dtype: DType,
) -> Result<OptimizerAdaptor<O, M, B>, String>
where
    M: AutodiffModule<B>,
    B: TrainingBackend,
    O: SimpleOptimizer<B::InnerBackend>,
    O::State<1>: StateTensors<B::InnerBackend, 1>,
    O::State<2>: StateTensors<B::InnerBackend, 2>,
    O::State<3>: StateTensors<B::InnerBackend, 3>,
    O::State<4>: StateTensors<B::InnerBackend, 4>,
{
    let mut record: <OptimizerAdaptor<O, M, B> as Optimizer<M, B>>::Record = Default::default();
    for (id, e, read) in records {
        record.insert(*id, join_record(e, read.as_ref(), device, dtype)?);
    }
    Ok(o.load_record(record))
}

//! The optimizer's per-parameter state as named tensors, so it can be written to burnpack
//! beside the weights.
//!
//! burn keys an optimizer's state by [`ParamId`], and ids are not stable across processes: a
//! module built again gets fresh ids. A checkpoint therefore names each state by the path of
//! its parameter in the module tree (`q.encoder.layers.0.weight`, `params.tensors.1`), and a
//! load maps each path back to the id that parameter has in the module being restored.
//!
//! Adam keeps `moment_1`, `moment_2` (and `max_moment_2` with AMSGrad) and a step count
//! `time` per parameter; SGD with momentum keeps `velocity`; plain SGD keeps an empty state,
//! recorded so that the set of parameters with a state is restored exactly.

use std::collections::{BTreeMap, HashMap};

use burn::module::{AutodiffModule, ParamId};
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::momentum::{Momentum, MomentumConfig, MomentumState};
use burn::optim::record::{AdaptorRecord, AdaptorRecordV1};
use burn::optim::{Adam, AdamState, AdaptiveMomentumState, Optimizer, Sgd, SgdState};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::Tensor;
use burn_store::{ModuleSnapshot, TensorSnapshot};
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
    /// Adam's step count for this parameter (None for SGD).
    pub time: Option<usize>,
    /// The names of the state's tensors (`moment_1`, `moment_2`, `max_moment_2`, `velocity`).
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
    B: AutodiffBackend,
{
    let mut out = OptimizerTensors {
        entries: Vec::new(),
        snapshots: Vec::new(),
    };
    match optim {
        AnyOptimizer::Adam(o) => {
            for (id, record) in sorted(o.to_record(), slots) {
                let path = &slots[&id].path;
                let AdaptorRecord::V1(v1) = record;
                let (time, tensors) = match v1 {
                    AdaptorRecordV1::Rank1(s) => adam_tensors(path, s, &mut out.snapshots),
                    AdaptorRecordV1::Rank2(s) => adam_tensors(path, s, &mut out.snapshots),
                    AdaptorRecordV1::Rank3(s) => adam_tensors(path, s, &mut out.snapshots),
                    AdaptorRecordV1::Rank4(s) => adam_tensors(path, s, &mut out.snapshots),
                    _ => return Err(unsupported(path)),
                };
                out.entries.push(OptimizerEntry {
                    path: path.clone(),
                    rank: slots[&id].shape.len(),
                    time: Some(time),
                    tensors,
                });
            }
        }
        AnyOptimizer::Sgd(o) => {
            for (id, record) in sorted(o.to_record(), slots) {
                let slot = &slots[&id];
                let AdaptorRecord::V1(v1) = record;
                let tensors = match v1 {
                    AdaptorRecordV1::Rank1(s) => sgd_tensors(slot, s, device, &mut out.snapshots),
                    AdaptorRecordV1::Rank2(s) => sgd_tensors(slot, s, device, &mut out.snapshots),
                    AdaptorRecordV1::Rank3(s) => sgd_tensors(slot, s, device, &mut out.snapshots),
                    AdaptorRecordV1::Rank4(s) => sgd_tensors(slot, s, device, &mut out.snapshots),
                    _ => return Err(unsupported(&slot.path)),
                };
                out.entries.push(OptimizerEntry {
                    path: slot.path.clone(),
                    rank: slot.shape.len(),
                    time: None,
                    tensors,
                });
            }
        }
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

fn adam_tensors<B: Backend, const D: usize>(
    path: &str,
    s: AdamState<B, D>,
    out: &mut Vec<TensorSnapshot>,
) -> (usize, Vec<String>) {
    let m = s.momentum;
    let mut names = vec!["moment_1".to_string(), "moment_2".to_string()];
    out.push(snapshot(path, "moment_1", &m.moment_1));
    out.push(snapshot(path, "moment_2", &m.moment_2));
    if let Some(max) = &m.max_moment_2 {
        out.push(snapshot(path, "max_moment_2", max));
        names.push("max_moment_2".to_string());
    }
    (m.time, names)
}

fn sgd_tensors<B: Backend, const D: usize>(
    slot: &ParamSlot,
    s: SgdState<B, D>,
    device: &B::Device,
    out: &mut Vec<TensorSnapshot>,
) -> Vec<String> {
    let Some(state) = s.momentum else {
        return Vec::new();
    };
    // burn keeps `MomentumState::velocity` private. One momentum step with momentum 1,
    // dampening 1 and a zero gradient of the parameter's shape returns it unchanged:
    // v' = (1 − 1)·0 + 1·v.
    let identity = Momentum::<B>::new(&MomentumConfig::new().with_momentum(1.0).with_dampening(1.0));
    let zero = Tensor::<B, D>::zeros(slot.shape.as_slice(), device);
    let (velocity, _) = identity.transform(zero, Some(state));
    out.push(snapshot(&slot.path, "velocity", &velocity));
    vec!["velocity".to_string()]
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
    B: AutodiffBackend,
{
    let named: usize = entries.iter().map(|e| e.tensors.len()).sum();
    if named != tensors.len() {
        return Err(format!(
            "holds {} tensors, the checkpoint's state names {named}",
            tensors.len()
        ));
    }
    let dtype = ppl_dist::param::float_dtype::<B>();
    let mut adam: <OptimizerAdaptor<Adam, M, B> as Optimizer<M, B>>::Record = Default::default();
    let mut sgd: <OptimizerAdaptor<Sgd<B::InnerBackend>, M, B> as Optimizer<M, B>>::Record = Default::default();
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
        let read = |name: &str| -> Result<burn::tensor::TensorData, String> {
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
        let has = |name: &str| e.tensors.iter().any(|t| t == name);
        match &optim {
            AnyOptimizer::Adam(_) => {
                let time = e
                    .time
                    .ok_or_else(|| format!("the Adam state of `{}` has no step count", e.path))?;
                let record = ppl_core::with_rank!(e.rank, D => {
                    let t = |name: &str| -> Result<Tensor<B::InnerBackend, D>, String> {
                        Ok(Tensor::<B::InnerBackend, D>::from_data(read(name)?, device).cast(dtype))
                    };
                    let state = AdamState {
                        momentum: AdaptiveMomentumState {
                            time,
                            moment_1: t("moment_1")?,
                            moment_2: t("moment_2")?,
                            max_moment_2: if has("max_moment_2") { Some(t("max_moment_2")?) } else { None },
                        },
                    };
                    AdaptorRecord::<Adam, B>::V1(AdaptorRecordV1::from_state::<D>(state))
                }, _ => return Err(unsupported(&e.path)));
                adam.insert(*id, record);
            }
            AnyOptimizer::Sgd(_) => {
                let record = ppl_core::with_rank!(e.rank, D => {
                    let momentum = if has("velocity") {
                        let v = Tensor::<B::InnerBackend, D>::from_data(read("velocity")?, device).cast(dtype);
                        Some(MomentumState::new(v))
                    } else {
                        None
                    };
                    AdaptorRecord::<Sgd<B::InnerBackend>, B>::V1(AdaptorRecordV1::from_state::<D>(SgdState { momentum }))
                }, _ => return Err(unsupported(&e.path)));
                sgd.insert(*id, record);
            }
        }
    }
    Ok(match optim {
        AnyOptimizer::Adam(o) => AnyOptimizer::Adam(o.load_record(adam)),
        AnyOptimizer::Sgd(o) => AnyOptimizer::Sgd(o.load_record(sgd)),
    })
}

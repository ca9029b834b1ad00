//! Checkpoints: the whole inference state, saved atomically and restored all or nothing.
//!
//! A checkpoint is a directory holding
//! * `modules.bpk`: the P-model's and guide's weights and the `param` store's tensors, in
//!   burn's burnpack format (burn-store), at the backend's own precision (exact);
//! * `optimizer.bpk`: the optimizer's per-parameter state (Adam's moments, SGD's velocity),
//!   each tensor named by its parameter's path in the module tree
//!   ([`optimizer_state`](self::optimizer_state));
//! * `state.json`: format and crate versions, step, seed, optimizer kind and per-parameter
//!   step counts, score-function baseline, loss history, float dtype, the model's and guide's
//!   types, the `param` store's names, shapes and constraints, a fingerprint of the networks'
//!   parameter shapes, the length and CRC-32 of each `.bpk` file, and a CRC-32 of itself.
//!
//! **Saving** writes a temporary directory beside the target, then swaps it into place (the
//! old checkpoint is moved aside first and removed last), so a crash at any point leaves a
//! complete checkpoint: the target, or the temporary or old directory beside it. Stale
//! temporaries from earlier crashes are removed once the new checkpoint is in place.
//!
//! **Loading** finds the newest complete checkpoint (the target, else a complete temporary,
//! else the old one), stages everything — files checked against their lengths and checksums,
//! `state.json` parsed and checked, model and guide types, network shapes, `param` names,
//! shapes and constraints, optimizer kind and seed compared with this `Svi`, tensors decoded
//! into copies — and only then swaps it in. Any failure is an [`InferError::Checkpoint`] error
//! and leaves the `Svi` exactly as it was. Resuming replays the same per-step random keys:
//! resume equals an uninterrupted run.

mod optimizer_state;
mod state;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::backend::Backend;
use burn::tensor::{Bytes, Tensor};
use burn_store::{BurnpackStore, BurnpackWriter, ModuleStore};
use ppl_core::{ParamMeta, ParamStore};
use ppl_dist::kernels::TrainingBackend;

use crate::elbo::ObjectiveState;
use crate::export::manifest::{constraint_name, read_checked};
use crate::export::{burnpack_bytes, crc, load_burnpack, FileEntry, ParamEntry, BURN_VERSION};
use crate::optim::AnyOptimizer;
use crate::{InferError, Svi};
use crate::{SviGuide, SviModel};
use state::{CheckpointState, FORMAT, FORMAT_VERSION};

const MODULES_FILE: &str = "modules.bpk";
const OPTIMIZER_FILE: &str = "optimizer.bpk";
const STATE_FILE: &str = "state.json";

/// Shapes of every float parameter, in visiting order.
struct Shapes(Vec<Vec<usize>>);

impl<B: Backend> ModuleVisitor<B> for Shapes {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        self.0.push(param.shape().dims::<D>().to_vec());
    }
}

/// Casts every float parameter to the backend's own dtype (records load in the process's
/// default dtype), keeping ids and gradient tracking.
struct CastToBackend;

impl<B: Backend> ModuleMapper<B> for CastToBackend {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let dtype = ppl_dist::param::float_dtype::<B>();
        if param.val().dtype() == dtype {
            return param;
        }
        param.map(|t| t.cast(dtype).detach().require_grad())
    }
}

/// The shapes of `m`'s float parameters in visiting order (`2x3;3`): which architecture
/// a set of weights belongs to.
pub(crate) fn fingerprint<B: Backend, M: Module<B>>(m: &M) -> String {
    let mut v = Shapes(Vec::new());
    m.visit(&mut v);
    v.0.iter()
        .map(|s| s.iter().map(usize::to_string).collect::<Vec<_>>().join("x"))
        .collect::<Vec<_>>()
        .join(";")
}

fn err(path: &Path, detail: impl Into<String>) -> InferError {
    InferError::Checkpoint {
        path: path.display().to_string(),
        detail: detail.into(),
    }
}

impl<B: TrainingBackend, P: SviModel<B>, Q: SviGuide<B>> Svi<B, P, Q> {
    /// Save the whole inference state to the directory `dir` (atomically: written beside it
    /// and swapped into place; see the module docs). In a data-parallel fit
    /// ([`Svi::with_peers`]) only peer 0 writes (the peers' states are the same; a peer that
    /// is not peer 0 returns `Ok` without writing, so every peer may call this), and every
    /// peer resumes from it with [`Svi::load_checkpoint`].
    ///
    /// # Errors
    /// [`InferError::Checkpoint`] if the files cannot be written.
    pub fn save_checkpoint(&self, dir: impl AsRef<Path>) -> Result<(), InferError> {
        #[cfg(feature = "collective")]
        if self.peers().is_some_and(|p| !p.is_leader()) {
            return Ok(());
        }
        self.save_checkpoint_until(dir, SaveStage::Done)
    }

    /// [`Svi::save_checkpoint`], stopped after `stage` as if the process had been killed
    /// there (for crash-recovery tests).
    #[doc(hidden)]
    pub fn save_checkpoint_until(&self, dir: impl AsRef<Path>, stage: SaveStage) -> Result<(), InferError> {
        let dir = dir.as_ref();
        let tmp = sibling(dir, &format!("tmp-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp).map_err(|e| err(dir, format!("cannot create {}: {e}", tmp.display())))?;
        let modules = self.modules_ref();
        let fp = format!("{}|{}", fingerprint(&modules.p), fingerprint(&modules.q));
        let mut files = Vec::new();
        let module_bytes = burnpack_bytes(modules).map_err(|e| err(dir, format!("{MODULES_FILE}: {e}")))?;
        write_synced(&tmp.join(MODULES_FILE), &module_bytes).map_err(|e| err(dir, format!("{MODULES_FILE}: {e}")))?;
        files.push(file_entry(MODULES_FILE, &module_bytes));
        if stage == SaveStage::ModulesWritten {
            return Ok(());
        }
        let slots = optimizer_state::slots_by_id(modules);
        let opt = optimizer_state::to_tensors(self.optimizer(), &slots, self.device())
            .map_err(|e| err(dir, format!("{OPTIMIZER_FILE}: {e}")))?;
        let opt_bytes = BurnpackWriter::new(opt.snapshots)
            .to_bytes()
            .map_err(|e| err(dir, format!("{OPTIMIZER_FILE}: cannot encode: {e}")))?
            .to_vec();
        write_synced(&tmp.join(OPTIMIZER_FILE), &opt_bytes).map_err(|e| err(dir, format!("{OPTIMIZER_FILE}: {e}")))?;
        files.push(file_entry(OPTIMIZER_FILE, &opt_bytes));
        let state = CheckpointState {
            format: FORMAT.to_string(),
            format_version: FORMAT_VERSION,
            crate_version: env!("CARGO_PKG_VERSION").to_string(),
            burn_version: BURN_VERSION.to_string(),
            step: self.steps(),
            seed: self.config().seed,
            optimizer: optimizer_kind(self.optimizer()).to_string(),
            baseline: self.objective_state().baseline,
            site_baselines: self.objective_state().site_baselines,
            float_dtype: format!("{:?}", ppl_dist::param::float_dtype::<B>()),
            model_type: std::any::type_name::<P>().to_string(),
            guide_type: std::any::type_name::<Q>().to_string(),
            fingerprint: fp,
            params: param_entries(self.params().meta()),
            optimizer_state: opt.entries,
            losses: self.losses().to_vec(),
            files,
            crc32: String::new(),
        };
        let json = state.into_json().map_err(|e| err(dir, format!("{STATE_FILE}: {e}")))?;
        write_synced(&tmp.join(STATE_FILE), json.as_bytes()).map_err(|e| err(dir, format!("{STATE_FILE}: {e}")))?;
        if stage == SaveStage::TemporaryComplete {
            return Ok(());
        }
        // Swap into place: the old checkpoint survives until the new one is complete.
        let old = sibling(dir, &format!("old-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&old);
        if dir.exists() {
            std::fs::rename(dir, &old).map_err(|e| err(dir, format!("cannot move the old checkpoint aside: {e}")))?;
        }
        if stage == SaveStage::OldMovedAside {
            return Ok(());
        }
        std::fs::rename(&tmp, dir).map_err(|e| err(dir, format!("cannot rename into place: {e}")))?;
        if stage == SaveStage::NewInPlace {
            return Ok(());
        }
        // The new checkpoint is complete: every leftover beside it is stale.
        for stale in leftovers(dir) {
            let _ = std::fs::remove_dir_all(stale);
        }
        Ok(())
    }

    /// Restore the state saved by [`Svi::save_checkpoint`] into this `Svi` (built with the
    /// same model, guide and configuration). All or nothing: on any error this `Svi` is left
    /// exactly as it was (parameters, optimizer state, step, losses).
    ///
    /// When `dir` is missing or incomplete after a crash mid-save, the complete checkpoint
    /// left beside it (`<dir>.tmp-PID` or `<dir>.old-PID`) is loaded instead.
    ///
    /// # Errors
    /// [`InferError::Checkpoint`] when no complete checkpoint is found, a file is missing,
    /// truncated or corrupt (length, checksum or content), or the checkpoint belongs to
    /// another model or guide (types, network shapes, `param` names and shapes), optimizer
    /// or seed. The message names the file and the mismatch.
    pub fn load_checkpoint(&mut self, dir: impl AsRef<Path>) -> Result<(), InferError> {
        let dir = dir.as_ref();
        let first = match self.stage_checkpoint(dir) {
            Ok(staged) => return self.commit(staged),
            Err(e) => e,
        };
        // The target is missing or damaged: a crash mid-save leaves a complete copy beside it.
        for candidate in leftovers(dir) {
            if let Ok(staged) = self.stage_checkpoint(&candidate) {
                return self.commit(staged);
            }
        }
        Err(first)
    }

    fn commit(&mut self, s: StagedSvi<B, P, Q>) -> Result<(), InferError> {
        self.restore(s.modules, s.optim, s.step, s.losses, s.objective);
        Ok(())
    }

    /// Read, check and decode a checkpoint into copies, touching nothing of `self`.
    fn stage_checkpoint(&self, dir: &Path) -> Result<StagedSvi<B, P, Q>, InferError> {
        let raw = std::fs::read(dir.join(STATE_FILE)).map_err(|e| err(dir, format!("{STATE_FILE}: {e}")))?;
        let st = CheckpointState::from_json(&raw).map_err(|e| err(dir, e))?;
        if st.format != FORMAT || st.format_version != FORMAT_VERSION {
            return Err(err(
                dir,
                format!(
                    "not a checkpoint this version reads: {STATE_FILE} says {} version {}, this crate reads {FORMAT} version {FORMAT_VERSION}",
                    st.format, st.format_version
                ),
            ));
        }
        if st.losses.len() != st.step {
            return Err(err(
                dir,
                format!("{STATE_FILE} holds {} losses for {} steps", st.losses.len(), st.step),
            ));
        }
        // Every file, checked against its length and checksum before any is decoded.
        let mut contents = Vec::new();
        for f in [MODULES_FILE, OPTIMIZER_FILE] {
            contents.push(read_checked(dir, &st.files, f, STATE_FILE).map_err(|e| err(dir, e))?);
        }
        let this_dtype = format!("{:?}", ppl_dist::param::float_dtype::<B>());
        if st.float_dtype != this_dtype {
            return Err(err(
                dir,
                format!(
                    "saved by a {} backend, this run computes in {this_dtype}: resuming would not continue the same run",
                    st.float_dtype
                ),
            ));
        }
        if st.seed != self.config().seed {
            return Err(err(
                dir,
                format!("saved with seed {}, this run uses seed {}", st.seed, self.config().seed),
            ));
        }
        let expected_kind = optimizer_kind(self.optimizer());
        if st.optimizer != expected_kind {
            return Err(err(
                dir,
                format!("saved with optimizer {}, this run uses {expected_kind}", st.optimizer),
            ));
        }
        let current = self.modules_ref();
        let here = format!("{}|{}", fingerprint(&current.p), fingerprint(&current.q));
        if here != st.fingerprint {
            return Err(err(
                dir,
                format!(
                    "the checkpoint's networks do not fit this model: saved shapes [{}], model shapes [{here}]",
                    st.fingerprint
                ),
            ));
        }
        // `param` sites already created by this run must match the saved ones, constraints
        // included.
        if !current.params.is_empty() && param_entries(current.params.meta()) != st.params {
            let describe = |e: &[ParamEntry]| {
                e.iter()
                    .map(|p| format!("{}{:?} {}", p.name, p.shape, p.constraint))
                    .collect::<Vec<_>>()
            };
            return Err(err(
                dir,
                format!(
                    "the checkpoint's param sites do not fit this model: saved {:?}, model {:?}",
                    describe(&st.params),
                    describe(&param_entries(current.params.meta()))
                ),
            ));
        }
        // Closures and modules of another type (a fresh `Svi` has no `param` sites to compare).
        let (this_model, this_guide) = (std::any::type_name::<P>(), std::any::type_name::<Q>());
        if st.model_type != this_model || st.guide_type != this_guide {
            return Err(err(
                dir,
                format!(
                    "saved for model `{}` with guide `{}`; this run has model `{this_model}` with guide `{this_guide}`",
                    st.model_type, st.guide_type
                ),
            ));
        }
        let meta = st
            .params
            .iter()
            .map(ParamEntry::to_meta)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| err(dir, e))?;
        let device = self.device().clone();
        let mut staged = current.clone();
        staged.params = ParamStore::with_placeholders(meta, &device);
        let mut contents = contents.into_iter();
        let module_bytes = contents.next().expect("two files were read");
        let modules = quiet(|| load_burnpack(staged, module_bytes))
            .and_then(|r| r)
            .map_err(|m| err(dir, format!("{MODULES_FILE} does not fit this model: {m}")))?
            .map(&mut CastToBackend);
        let loaded = format!("{}|{}", fingerprint(&modules.p), fingerprint(&modules.q));
        if loaded != st.fingerprint || param_entries(modules.params.meta()) != st.params {
            return Err(err(dir, format!("{MODULES_FILE} does not match {STATE_FILE}")));
        }
        // The optimizer state, keyed by the restored modules' parameter ids.
        let mut store = BurnpackStore::from_bytes(Some(Bytes::from_bytes_vec(contents.next().expect("two files"))));
        let tensors = store
            .get_all_snapshots()
            .map_err(|e| err(dir, format!("{OPTIMIZER_FILE}: {e}")))?
            .clone();
        let slots: HashMap<String, _> = optimizer_state::slots_by_id(&modules)
            .into_iter()
            .map(|(id, s)| (s.path, (id, s.shape)))
            .collect();
        let optim = quiet(|| {
            optimizer_state::from_tensors(self.optimizer().clone(), &st.optimizer_state, &tensors, &slots, &device)
        })
        .and_then(|r| r)
        .map_err(|m| err(dir, format!("{OPTIMIZER_FILE} does not fit this model: {m}")))?;
        Ok(Staged {
            modules,
            optim,
            step: st.step,
            losses: st.losses,
            objective: ObjectiveState {
                baseline: st.baseline,
                site_baselines: st.site_baselines,
            },
        })
    }
}

/// `adam`, `adamw`, `rmsprop` or `sgd`.
fn optimizer_kind<M: burn::module::AutodiffModule<B>, B: TrainingBackend>(o: &AnyOptimizer<M, B>) -> &'static str {
    match o {
        AnyOptimizer::Adam(_) => "adam",
        AnyOptimizer::AdamW(_) => "adamw",
        AnyOptimizer::RmsProp(_) => "rmsprop",
        AnyOptimizer::Sgd(_) => "sgd",
    }
}

/// The `param` store's entries as `state.json` records them (constraints by full name).
fn param_entries(meta: &[ParamMeta]) -> Vec<ParamEntry> {
    meta.iter()
        .map(|m| ParamEntry {
            name: m.name.clone(),
            shape: m.shape.clone(),
            constraint: constraint_name(m.constraint),
        })
        .collect()
}

fn file_entry(name: &str, bytes: &[u8]) -> FileEntry {
    FileEntry {
        name: name.to_string(),
        bytes: bytes.len() as u64,
        crc32: crc(bytes),
    }
}

/// The staged state of an `Svi<B, P, Q>`.
type StagedSvi<B, P, Q> = Staged<crate::SviModules<B, P, Q>, AnyOptimizer<crate::SviModules<B, P, Q>, B>>;

/// A checkpoint read and checked, not yet swapped in.
struct Staged<M, O> {
    modules: M,
    optim: O,
    step: usize,
    losses: Vec<f64>,
    objective: ObjectiveState,
}

/// The points of the save sequence (for crash-recovery tests).
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveStage {
    /// `modules.bin` written into the temporary directory.
    ModulesWritten,
    /// The temporary directory is complete.
    TemporaryComplete,
    /// The old checkpoint was moved aside; the target does not exist.
    OldMovedAside,
    /// The new checkpoint is in place; the old one is still beside it.
    NewInPlace,
    /// The whole sequence.
    Done,
}

/// `<dir>.<suffix>`, beside `dir`.
fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    PathBuf::from(format!("{}.{suffix}", dir.display()))
}

/// The temporary and old directories a save leaves beside `dir` when interrupted, newest
/// first (temporaries before old copies).
fn leftovers(dir: &Path) -> Vec<PathBuf> {
    let (Some(parent), Some(name)) = (dir.parent(), dir.file_name().and_then(|n| n.to_str())) else {
        return Vec::new();
    };
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    let Ok(entries) = std::fs::read_dir(parent) else {
        return Vec::new();
    };
    let mut found: Vec<(u8, std::time::SystemTime, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let n = e.file_name().to_str()?.to_string();
            let rank = if n.starts_with(&format!("{name}.tmp-")) {
                0
            } else if n.starts_with(&format!("{name}.old-")) {
                1
            } else {
                return None;
            };
            let t = e.metadata().and_then(|m| m.modified()).unwrap_or(std::time::UNIX_EPOCH);
            Some((rank, t, e.path()))
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    found.into_iter().map(|f| f.2).collect()
}

/// Write a file and flush it to disk.
fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::fs::File::create(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Run `f`, turning a panic inside burn's record loading into an error message.
fn quiet<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "a panic while decoding".into())
    })
}

//! Checkpoints: the whole inference state, saved atomically and restored all or nothing.
//!
//! A checkpoint is a directory holding `modules.bin` (P-model, Q-model and `param` store, via
//! burn's binary recorder in double precision, exact for f32 and f64 backends),
//! `optimizer.bin` (the optimizer's state) and `state.txt` (format version, step, seed,
//! optimizer kind, score-function baseline, loss history, the float dtype, the model's and
//! guide's types, the
//! `param` store's names, shapes and constraints, a fingerprint of the networks' parameter
//! shapes, the length and CRC-32 of each `.bin` file, and a CRC-32 of `state.txt` itself on
//! its last line).
//!
//! **Saving** writes a temporary directory beside the target, then swaps it into place (the
//! old checkpoint is moved aside first and removed last), so a crash at any point leaves a
//! complete checkpoint: the target, or the temporary or old directory beside it. Stale
//! temporaries from earlier crashes are removed once the new checkpoint is in place.
//!
//! **Loading** finds the newest complete checkpoint (the target, else a complete temporary,
//! else the old one), stages everything — files checked against their lengths and checksums,
//! every line parsed, model and guide types, network shapes, `param` names and shapes,
//! optimizer kind and seed compared with this `Svi`, records decoded into copies — and only
//! then swaps it in. Any failure is an [`InferError::Checkpoint`] error and leaves the `Svi`
//! exactly as it was. Resuming replays the same per-step random keys: resume equals an
//! uninterrupted run.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::optim::Optimizer;
use burn::record::{BinFileRecorder, DoublePrecisionSettings, Recorder};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::Tensor;
use ppl_core::{ParamMeta, ParamStore};
use ppl_dist::Constraint;

use crate::optim::AnyOptimizer;
use crate::{InferError, Svi};
use crate::{SviGuide, SviModel};

const FORMAT: &str = "ppl-infer-checkpoint 2";

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

fn constraint_name(c: Constraint) -> &'static str {
    match c {
        Constraint::Positive => "positive",
        Constraint::NonNegative => "nonnegative",
        Constraint::UnitInterval => "unit_interval",
        Constraint::Simplex => "simplex",
        _ => "real",
    }
}

fn constraint_from(s: &str) -> Constraint {
    match s {
        "positive" => Constraint::Positive,
        "nonnegative" => Constraint::NonNegative,
        "unit_interval" => Constraint::UnitInterval,
        "simplex" => Constraint::Simplex,
        _ => Constraint::Real,
    }
}

fn err(path: &Path, detail: impl Into<String>) -> InferError {
    InferError::Checkpoint {
        path: path.display().to_string(),
        detail: detail.into(),
    }
}

impl<B: AutodiffBackend, P: SviModel<B>, Q: SviGuide<B>> Svi<B, P, Q> {
    /// Save the whole inference state to the directory `dir` (atomically: written beside it
    /// and swapped into place; see the module docs).
    ///
    /// # Errors
    /// [`InferError::Checkpoint`] if the files cannot be written.
    pub fn save_checkpoint(&self, dir: impl AsRef<Path>) -> Result<(), InferError> {
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
        let recorder = BinFileRecorder::<DoublePrecisionSettings>::new();
        let modules = self.modules_ref().clone();
        let fp = format!("{}|{}", fingerprint(&modules.p), fingerprint(&modules.q));
        recorder
            .record(modules.into_record(), tmp.join("modules"))
            .map_err(|e| err(dir, format!("modules: {e}")))?;
        if stage == SaveStage::ModulesWritten {
            return Ok(());
        }
        let kind = match self.optimizer() {
            AnyOptimizer::Adam(o) => {
                recorder
                    .record(o.to_record(), tmp.join("optimizer"))
                    .map_err(|e| err(dir, format!("optimizer: {e}")))?;
                "adam"
            }
            AnyOptimizer::Sgd(o) => {
                recorder
                    .record(o.to_record(), tmp.join("optimizer"))
                    .map_err(|e| err(dir, format!("optimizer: {e}")))?;
                "sgd"
            }
        };
        let mut s = String::new();
        let _ = writeln!(s, "{FORMAT}");
        let _ = writeln!(s, "step {}", self.steps());
        let _ = writeln!(s, "seed {}", self.config().seed);
        let _ = writeln!(s, "optimizer {kind}");
        let _ = writeln!(
            s,
            "baseline {}",
            self.baseline().map_or("none".to_string(), |b| format!("{b:e}"))
        );
        let _ = writeln!(s, "dtype {:?}", ppl_dist::param::float_dtype::<B>());
        let _ = writeln!(s, "model {}", std::any::type_name::<P>());
        let _ = writeln!(s, "guide {}", std::any::type_name::<Q>());
        let _ = writeln!(s, "fingerprint {fp}");
        let losses: Vec<String> = self.losses().iter().map(|l| format!("{l:e}")).collect();
        let _ = writeln!(s, "losses {}", losses.join(","));
        for m in self.params().meta() {
            let shape: Vec<String> = m.shape.iter().map(usize::to_string).collect();
            let _ = writeln!(
                s,
                "param {} {} {}",
                constraint_name(m.constraint),
                shape.join(","),
                m.name
            );
        }
        for f in ["modules.bin", "optimizer.bin"] {
            let bytes = std::fs::read(tmp.join(f)).map_err(|e| err(dir, format!("{f}: {e}")))?;
            let _ = writeln!(s, "file {f} {} {:08x}", bytes.len(), crc32fast::hash(&bytes));
        }
        let _ = writeln!(s, "crc {:08x}", crc32fast::hash(s.as_bytes()));
        write_synced(&tmp.join("state.txt"), s.as_bytes()).map_err(|e| err(dir, format!("state.txt: {e}")))?;
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
        self.restore(s.modules, s.optim, s.step, s.losses, s.baseline);
        Ok(())
    }

    /// Read, check and decode a checkpoint into copies, touching nothing of `self`.
    fn stage_checkpoint(&self, dir: &Path) -> Result<StagedSvi<B, P, Q>, InferError> {
        let raw = std::fs::read(dir.join("state.txt")).map_err(|e| err(dir, format!("state.txt: {e}")))?;
        let text = String::from_utf8(raw).map_err(|_| err(dir, "state.txt is not text (corrupt)"))?;
        if !text.ends_with('\n') {
            return Err(err(dir, "state.txt is truncated (no final newline)"));
        }
        let body_end = text
            .trim_end_matches('\n')
            .rfind('\n')
            .map(|i| i + 1)
            .ok_or_else(|| err(dir, "state.txt is truncated"))?;
        let (body, last) = text.split_at(body_end);
        let want = last
            .trim_end()
            .strip_prefix("crc ")
            .ok_or_else(|| err(dir, "state.txt is truncated (no checksum line)"))?;
        if format!("{:08x}", crc32fast::hash(body.as_bytes())) != want {
            return Err(err(dir, "state.txt is corrupt (checksum mismatch)"));
        }
        let mut lines = body.lines();
        if lines.next() != Some(FORMAT) {
            return Err(err(
                dir,
                format!("not a checkpoint of this version (expected the header `{FORMAT}`)"),
            ));
        }
        let mut st = StateFile::default();
        for line in lines {
            st.parse_line(line).map_err(|d| err(dir, d))?;
        }
        let (Some(step), Some(seed), Some(kind), Some(baseline), Some(fp), Some(losses), Some(model), Some(guide)) = (
            st.step,
            st.seed,
            st.kind,
            st.baseline,
            st.fp,
            st.losses,
            st.model,
            st.guide,
        ) else {
            return Err(err(dir, "state.txt is incomplete"));
        };
        if losses.len() != step {
            return Err(err(
                dir,
                format!("state.txt holds {} losses for {step} steps", losses.len()),
            ));
        }
        for (f, (len, crc)) in ["modules.bin", "optimizer.bin"]
            .iter()
            .zip([st.modules_file, st.optimizer_file])
        {
            let (Some(len), Some(crc)) = (len, crc) else {
                return Err(err(dir, format!("state.txt has no checksum for {f}")));
            };
            let bytes = std::fs::read(dir.join(f)).map_err(|e| err(dir, format!("{f}: {e}")))?;
            if bytes.len() != len {
                return Err(err(
                    dir,
                    format!(
                        "{f} has {} bytes, the checkpoint says {len} (truncated or replaced)",
                        bytes.len()
                    ),
                ));
            }
            if crc32fast::hash(&bytes) != crc {
                return Err(err(
                    dir,
                    format!("{f} is corrupt or from another checkpoint (checksum mismatch)"),
                ));
            }
        }
        let this_dtype = format!("{:?}", ppl_dist::param::float_dtype::<B>());
        if st.dtype.as_deref() != Some(this_dtype.as_str()) {
            return Err(err(
                dir,
                format!(
                    "saved by a {} backend, this run computes in {this_dtype}: resuming would not continue the same run",
                    st.dtype.as_deref().unwrap_or("unknown")
                ),
            ));
        }
        if seed != self.config().seed {
            return Err(err(
                dir,
                format!("saved with seed {seed}, this run uses seed {}", self.config().seed),
            ));
        }
        let expected_kind = match self.optimizer() {
            AnyOptimizer::Adam(_) => "adam",
            AnyOptimizer::Sgd(_) => "sgd",
        };
        if kind != expected_kind {
            return Err(err(
                dir,
                format!("saved with optimizer {kind}, this run uses {expected_kind}"),
            ));
        }
        let current = self.modules_ref();
        let here = format!("{}|{}", fingerprint(&current.p), fingerprint(&current.q));
        if here != fp {
            return Err(err(
                dir,
                format!("the checkpoint's networks do not fit this model: saved shapes [{fp}], model shapes [{here}]"),
            ));
        }
        // `param` sites already created by this run must match the saved ones.
        let describe = |m: &[ParamMeta]| m.iter().map(|m| format!("{}{:?}", m.name, m.shape)).collect::<Vec<_>>();
        if !current.params.is_empty() && describe(current.params.meta()) != describe(&st.meta) {
            let (saved, this) = (describe(&st.meta), describe(current.params.meta()));
            return Err(err(
                dir,
                format!("the checkpoint's param sites do not fit this model: saved {saved:?}, model {this:?}"),
            ));
        }
        // Closures and modules of another type (a fresh `Svi` has no `param` sites to compare).
        let (this_model, this_guide) = (std::any::type_name::<P>(), std::any::type_name::<Q>());
        if model != this_model || guide != this_guide {
            return Err(err(
                dir,
                format!("saved for model `{model}` with guide `{guide}`; this run has model `{this_model}` with guide `{this_guide}`"),
            ));
        }
        let device = self.device().clone();
        let mut staged = current.clone();
        staged.params = ParamStore::with_placeholders(st.meta.clone(), &device);
        let recorder = BinFileRecorder::<DoublePrecisionSettings>::new();
        let record = recorder
            .load(dir.join("modules"), &device)
            .map_err(|e| err(dir, format!("modules.bin: {e}")))?;
        let modules = quiet(|| staged.load_record(record))
            .map_err(|m| err(dir, format!("modules.bin does not fit this model: {m}")))?
            .map(&mut CastToBackend);
        let loaded = format!("{}|{}", fingerprint(&modules.p), fingerprint(&modules.q));
        if loaded != fp || describe(modules.params.meta()) != describe(&st.meta) {
            return Err(err(dir, "modules.bin does not match state.txt"));
        }
        let optim = match self.optimizer().clone() {
            AnyOptimizer::Adam(o) => {
                let rec = recorder.load(dir.join("optimizer"), &device);
                rec.map(|r| quiet(|| AnyOptimizer::Adam(o.load_record(r))))
            }
            AnyOptimizer::Sgd(o) => {
                let rec = recorder.load(dir.join("optimizer"), &device);
                rec.map(|r| quiet(|| AnyOptimizer::Sgd(o.load_record(r))))
            }
        }
        .map_err(|e| err(dir, format!("optimizer.bin: {e}")))?
        .map_err(|m| err(dir, format!("optimizer.bin does not fit this model: {m}")))?;
        Ok(Staged {
            modules,
            optim,
            step,
            losses,
            baseline,
        })
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
    baseline: Option<f64>,
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

/// The lines of `state.txt`, parsed.
#[derive(Default)]
struct StateFile {
    step: Option<usize>,
    seed: Option<u64>,
    kind: Option<String>,
    baseline: Option<Option<f64>>,
    fp: Option<String>,
    losses: Option<Vec<f64>>,
    dtype: Option<String>,
    model: Option<String>,
    guide: Option<String>,
    meta: Vec<ParamMeta>,
    modules_file: (Option<usize>, Option<u32>),
    optimizer_file: (Option<usize>, Option<u32>),
}

impl StateFile {
    fn parse_line(&mut self, line: &str) -> Result<(), String> {
        let bad = || format!("state.txt: corrupt line `{line}`");
        let (key, rest) = line.split_once(' ').unwrap_or((line, ""));
        match key {
            "step" => self.step = Some(rest.parse().map_err(|_| bad())?),
            "seed" => self.seed = Some(rest.parse().map_err(|_| bad())?),
            "optimizer" => self.kind = Some(rest.to_string()),
            "baseline" => {
                self.baseline = Some(if rest == "none" {
                    None
                } else {
                    Some(rest.parse().map_err(|_| bad())?)
                })
            }
            "dtype" => self.dtype = Some(rest.to_string()),
            "model" => self.model = Some(rest.to_string()),
            "guide" => self.guide = Some(rest.to_string()),
            "fingerprint" => self.fp = Some(rest.to_string()),
            "losses" => {
                self.losses = Some(if rest.is_empty() {
                    Vec::new()
                } else {
                    rest.split(',')
                        .map(|v| v.parse::<f64>().map_err(|_| bad()))
                        .collect::<Result<_, _>>()?
                })
            }
            "param" => {
                let mut parts = rest.splitn(3, ' ');
                let (Some(c), Some(shape), Some(name)) = (parts.next(), parts.next(), parts.next()) else {
                    return Err(bad());
                };
                let shape = shape
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<Vec<usize>, _>>()
                    .map_err(|_| bad())?;
                self.meta.push(ParamMeta {
                    name: name.to_string(),
                    shape,
                    constraint: constraint_from(c),
                });
            }
            "file" => {
                let mut parts = rest.split(' ');
                let (Some(f), Some(len), Some(crc)) = (parts.next(), parts.next(), parts.next()) else {
                    return Err(bad());
                };
                let len = len.parse().map_err(|_| bad())?;
                let crc = u32::from_str_radix(crc, 16).map_err(|_| bad())?;
                match f {
                    "modules.bin" => self.modules_file = (Some(len), Some(crc)),
                    "optimizer.bin" => self.optimizer_file = (Some(len), Some(crc)),
                    _ => return Err(bad()),
                }
            }
            _ => return Err(format!("state.txt: unknown line `{line}`")),
        }
        Ok(())
    }
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

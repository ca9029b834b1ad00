//! Checkpoints: the whole inference state, saved atomically and restored exactly.
//!
//! A checkpoint is a directory holding `modules.bin` (P-model, Q-model and `param` store, via
//! burn's binary recorder in double precision, exact for f32 and f64 backends), `optimizer.bin` (the optimizer's state) and
//! `state.txt` (step, seed, score-function baseline, loss history, the `param` store's names,
//! shapes and constraints, and a fingerprint of the networks' parameter shapes). Loading checks
//! the networks' shapes always, and the `param` sites when this run has already created them. It is written to a
//! temporary directory and renamed into place, so a crash mid-write leaves the previous
//! checkpoint intact. Resuming replays the same per-step random keys: resume equals an
//! uninterrupted run.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use burn::module::{AutodiffModule, Module, ModuleDisplay, ModuleMapper, ModuleVisitor, Param};
use burn::optim::Optimizer;
use burn::record::{BinFileRecorder, DoublePrecisionSettings, Recorder};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::Tensor;
use ppl_core::{Model, ParamMeta, ParamStore};
use ppl_dist::Constraint;

use crate::optim::AnyOptimizer;
use crate::{InferError, Svi};

const FORMAT: &str = "ppl-infer-checkpoint 1";

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

fn fingerprint<B: Backend, M: Module<B>>(m: &M) -> String {
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

impl<B, P, Q> Svi<B, P, Q>
where
    B: AutodiffBackend,
    P: AutodiffModule<B> + Model<B> + ModuleDisplay,
    Q: AutodiffModule<B> + Model<B> + ModuleDisplay,
    P::InnerModule: ModuleDisplay,
    Q::InnerModule: ModuleDisplay,
{
    /// Save the whole inference state to the directory `dir` (atomically: written beside it
    /// and renamed into place).
    ///
    /// # Errors
    /// [`InferError::Checkpoint`] if the files cannot be written.
    pub fn save_checkpoint(&self, dir: impl AsRef<Path>) -> Result<(), InferError> {
        let dir = dir.as_ref();
        let tmp = PathBuf::from(format!("{}.tmp-{}", dir.display(), std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp).map_err(|e| err(dir, format!("cannot create {}: {e}", tmp.display())))?;
        let recorder = BinFileRecorder::<DoublePrecisionSettings>::new();
        let modules = self.modules_ref().clone();
        let fp = format!("{}|{}", fingerprint(&modules.p), fingerprint(&modules.q));
        recorder
            .record(modules.into_record(), tmp.join("modules"))
            .map_err(|e| err(dir, format!("modules: {e}")))?;
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
        std::fs::write(tmp.join("state.txt"), s).map_err(|e| err(dir, format!("state.txt: {e}")))?;
        // Swap into place: the old checkpoint survives until the new one is complete.
        let old = PathBuf::from(format!("{}.old-{}", dir.display(), std::process::id()));
        if dir.exists() {
            std::fs::rename(dir, &old).map_err(|e| err(dir, format!("cannot move the old checkpoint aside: {e}")))?;
        }
        std::fs::rename(&tmp, dir).map_err(|e| err(dir, format!("cannot rename into place: {e}")))?;
        let _ = std::fs::remove_dir_all(&old);
        Ok(())
    }

    /// Restore the state saved by [`Svi::save_checkpoint`] into this `Svi` (built with the
    /// same model, guide and configuration).
    ///
    /// # Errors
    /// [`InferError::Checkpoint`] when files are missing or corrupt, or the checkpoint belongs
    /// to a model with different parameters (names, shapes) or another optimizer or seed.
    pub fn load_checkpoint(&mut self, dir: impl AsRef<Path>) -> Result<(), InferError> {
        let dir = dir.as_ref();
        let text = std::fs::read_to_string(dir.join("state.txt")).map_err(|e| err(dir, format!("state.txt: {e}")))?;
        let mut lines = text.lines();
        if lines.next() != Some(FORMAT) {
            return Err(err(dir, format!("not a checkpoint (expected the header `{FORMAT}`)")));
        }
        let (mut step, mut seed, mut kind, mut baseline, mut fp, mut losses) = (None, None, None, None, None, None);
        let mut meta = Vec::new();
        for line in lines {
            let (key, rest) = line.split_once(' ').unwrap_or((line, ""));
            match key {
                "step" => step = rest.parse::<usize>().ok(),
                "seed" => seed = rest.parse::<u64>().ok(),
                "optimizer" => kind = Some(rest.to_string()),
                "baseline" => baseline = Some(if rest == "none" { None } else { rest.parse::<f64>().ok() }),
                "fingerprint" => fp = Some(rest.to_string()),
                "losses" => {
                    losses = Some(if rest.is_empty() {
                        Vec::new()
                    } else {
                        rest.split(',').map(|v| v.parse::<f64>().unwrap_or(f64::NAN)).collect()
                    })
                }
                "param" => {
                    let mut parts = rest.splitn(3, ' ');
                    let (c, shape, name) = (parts.next(), parts.next(), parts.next());
                    let (Some(c), Some(shape), Some(name)) = (c, shape, name) else {
                        return Err(err(dir, format!("corrupt param line `{line}`")));
                    };
                    let shape: Result<Vec<usize>, _> = shape.split(',').map(str::parse).collect();
                    let shape = shape.map_err(|_| err(dir, format!("corrupt param shape in `{line}`")))?;
                    meta.push(ParamMeta {
                        name: name.to_string(),
                        shape,
                        constraint: constraint_from(c),
                    });
                }
                _ => return Err(err(dir, format!("unknown line `{line}`"))),
            }
        }
        let (Some(step), Some(seed), Some(kind), Some(baseline), Some(fp), Some(losses)) =
            (step, seed, kind, baseline, fp, losses)
        else {
            return Err(err(dir, "state.txt is incomplete"));
        };
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
        let device = self.device().clone();
        let mut modules = self.take_modules();
        let here = format!("{}|{}", fingerprint(&modules.p), fingerprint(&modules.q));
        if here != fp {
            self.put_modules(modules);
            return Err(err(
                dir,
                format!("the checkpoint's networks do not fit this model: saved shapes [{fp}], model shapes [{here}]"),
            ));
        }
        // `param` sites already created by this run must match the saved ones.
        let describe = |m: &[ParamMeta]| m.iter().map(|m| format!("{}{:?}", m.name, m.shape)).collect::<Vec<_>>();
        if !modules.params.is_empty() && describe(modules.params.meta()) != describe(&meta) {
            let (saved, this) = (describe(&meta), describe(modules.params.meta()));
            self.put_modules(modules);
            return Err(err(
                dir,
                format!("the checkpoint's param sites do not fit this model: saved {saved:?}, model {this:?}"),
            ));
        }
        modules.params = ParamStore::with_placeholders(meta, &device);
        let recorder = BinFileRecorder::<DoublePrecisionSettings>::new();
        let record = match recorder.load(dir.join("modules"), &device) {
            Ok(r) => r,
            Err(e) => {
                self.put_modules(modules);
                return Err(err(dir, format!("modules.bin: {e}")));
            }
        };
        let modules = modules.load_record(record).map(&mut CastToBackend);
        let optim = match self.optimizer().clone() {
            AnyOptimizer::Adam(o) => {
                let rec = recorder.load(dir.join("optimizer"), &device);
                rec.map(|r| AnyOptimizer::Adam(o.load_record(r)))
            }
            AnyOptimizer::Sgd(o) => {
                let rec = recorder.load(dir.join("optimizer"), &device);
                rec.map(|r| AnyOptimizer::Sgd(o.load_record(r)))
            }
        };
        let optim = match optim {
            Ok(o) => o,
            Err(e) => {
                self.put_modules(modules);
                return Err(err(dir, format!("optimizer.bin: {e}")));
            }
        };
        self.restore(modules, optim, step, losses, baseline);
        Ok(())
    }
}

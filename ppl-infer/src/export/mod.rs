//! Deploying a fitted posterior: [`Posterior::export`] writes it once, [`Posterior::load`]
//! reads it back on any plain backend (no autodiff anywhere), e.g. in a serving binary.
//!
//! An export is a directory holding:
//! * `model.bpk`, `guide.bpk`, `params.bpk`: the P-model's and guide's weights and the
//!   `param` store's unconstrained tensors, in burn's burnpack format (burn-store; the format
//!   burn 0.22+ also reads);
//! * `manifest.json` ([`Manifest`]): format and crate versions, float dtype, the backend it
//!   was fitted on, seed, chunk size, model and guide types and parameter shapes, the guide's
//!   latents, the `param` names, shapes and constraints, and the length and CRC-32 of every
//!   weight file.
//!
//! Export writes a temporary directory beside the target and swaps it into place, so the
//! target is always a complete export (the old one, or the new one). Loading checks the
//! manifest, every file's length and checksum, the skeleton's types and shapes against the
//! manifest, and that each burnpack file holds exactly the skeleton's tensors; it builds the
//! posterior from the skeletons it was given by value, so a failure leaves nothing
//! half-loaded.

pub(crate) mod manifest;

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::tensor::backend::Backend;
use burn::tensor::Bytes;
use burn_store::{BurnpackStore, ModuleSnapshot};
use ppl_core::handlers::Replay;
use ppl_core::{run, Ctx, Data, Model, ParamStore};

pub use manifest::{FileEntry, Manifest, ParamEntry, SiteEntry, BURN_VERSION, FORMAT, FORMAT_VERSION};

use crate::checkpoint::fingerprint;
use crate::{InferError, Posterior};

const MODEL_FILE: &str = "model.bpk";
const GUIDE_FILE: &str = "guide.bpk";
const PARAMS_FILE: &str = "params.bpk";

pub(crate) fn fail(dir: &Path, file: &str, detail: impl Into<String>) -> InferError {
    InferError::Export {
        path: dir.display().to_string(),
        file: file.to_string(),
        detail: detail.into(),
    }
}

/// A type's path without its generic parameters (`my_crate::DigitQ`), so a model fitted on
/// `Autodiff<Flex>` matches its skeleton on `Flex`.
fn type_stem<T: ?Sized>() -> String {
    let name = std::any::type_name::<T>();
    name.split('<').next().unwrap_or(name).to_string()
}

pub(crate) fn crc(bytes: &[u8]) -> String {
    format!("{:08x}", crc32fast::hash(bytes))
}

/// `m`'s tensors as burnpack bytes.
pub(crate) fn burnpack_bytes<B: Backend, M: Module<B>>(m: &M) -> Result<Vec<u8>, String> {
    let mut store = BurnpackStore::from_bytes(None);
    m.save_into(&mut store).map_err(|e| format!("cannot encode: {e}"))?;
    let bytes = store.get_bytes().map_err(|e| format!("cannot encode: {e}"))?;
    Ok(bytes.to_vec())
}

/// Load burnpack `bytes` into `m`; every tensor of `m` must be in them and every tensor in
/// them must be one of `m`'s.
pub(crate) fn load_burnpack<B: Backend, M: Module<B>>(mut m: M, bytes: Vec<u8>) -> Result<M, String> {
    let mut store = BurnpackStore::from_bytes(Some(Bytes::from_bytes_vec(bytes)));
    let result = m.load_from(&mut store).map_err(|e| format!("cannot load: {e}"))?;
    if !result.unused.is_empty() {
        return Err(format!("holds tensors the skeleton does not have: {:?}", result.unused));
    }
    Ok(m)
}

fn to_burnpack<B: Backend, M: Module<B>>(m: &M, dir: &Path, file: &str) -> Result<Vec<u8>, InferError> {
    burnpack_bytes(m).map_err(|e| fail(dir, file, e))
}

fn from_burnpack<B: Backend, M: Module<B>>(m: M, bytes: Vec<u8>, dir: &Path, file: &str) -> Result<M, InferError> {
    load_burnpack(m, bytes).map_err(|e| fail(dir, file, e))
}

/// `dir` with `suffix` appended to its last component.
fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dir.with_file_name(format!(".{name}.{suffix}"))
}

impl<B: Backend, P: Model<B> + Module<B>, Q: Model<B> + Module<B>> Posterior<B, P, Q> {
    /// Write this posterior to the directory `dir` (created, or replaced as a whole): the
    /// model's, guide's and `param` store's tensors in burnpack and a `manifest.json` (see
    /// the [module docs](crate::export)). Returns the manifest it wrote.
    ///
    /// `example` holds a few rows of the data the posterior will be queried with (one row
    /// suffices; `Data::new()` for a model without data): the model is traced on them, with
    /// the guide's latents replayed, to record each sample site's shape, support and role
    /// in the manifest.
    ///
    /// # Errors
    /// Model or guide errors on `example`; [`InferError::Export`] if a file cannot be encoded
    /// or written. The target is left as it was on any error.
    pub fn export(&self, dir: impl AsRef<Path>, example: &Data<B>) -> Result<Manifest, InferError> {
        let dir = dir.as_ref();
        let sites = self.traced_sites(example)?;
        let tmp = sibling(dir, &format!("tmp-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp).map_err(|e| fail(dir, "", format!("cannot create {}: {e}", tmp.display())))?;
        let mut files = Vec::new();
        for (file, bytes) in [
            (MODEL_FILE, to_burnpack(self.model(), dir, MODEL_FILE)?),
            (GUIDE_FILE, to_burnpack(self.guide(), dir, GUIDE_FILE)?),
            (PARAMS_FILE, to_burnpack(self.params(), dir, PARAMS_FILE)?),
        ] {
            std::fs::write(tmp.join(file), &bytes).map_err(|e| fail(dir, file, format!("cannot write: {e}")))?;
            files.push(FileEntry {
                name: file.to_string(),
                bytes: bytes.len() as u64,
                crc32: crc(&bytes),
            });
        }
        let manifest = Manifest {
            format: FORMAT.to_string(),
            format_version: FORMAT_VERSION,
            crate_version: env!("CARGO_PKG_VERSION").to_string(),
            burn_version: BURN_VERSION.to_string(),
            float_dtype: format!("{:?}", ppl_dist::param::float_dtype::<B>()),
            backend: std::any::type_name::<B>().to_string(),
            seed: self.seed(),
            chunk: self.chunk(),
            model_type: type_stem::<P>(),
            guide_type: type_stem::<Q>(),
            model_shapes: fingerprint(self.model()),
            guide_shapes: fingerprint(self.guide()),
            guide_latents: self.guide_latents().to_vec(),
            sites,
            params: self
                .params()
                .meta()
                .iter()
                .map(|m| ParamEntry {
                    name: m.name.clone(),
                    shape: m.shape.clone(),
                    constraint: manifest::constraint_name(m.constraint),
                })
                .collect(),
            files,
        };
        let json = serde_json::to_string_pretty(&manifest).map_err(|e| fail(dir, "manifest.json", e.to_string()))?;
        std::fs::write(tmp.join("manifest.json"), json)
            .map_err(|e| fail(dir, "manifest.json", format!("cannot write: {e}")))?;
        // Swap into place: the old export (if any) aside, the new one in, the old one removed.
        let old = sibling(dir, &format!("old-{}", std::process::id()));
        let had_old = dir.exists();
        if had_old {
            std::fs::rename(dir, &old).map_err(|e| fail(dir, "", format!("cannot move the old export aside: {e}")))?;
        }
        if let Err(e) = std::fs::rename(&tmp, dir) {
            if had_old {
                let _ = std::fs::rename(&old, dir);
            }
            return Err(fail(dir, "", format!("cannot move the export into place: {e}")));
        }
        if had_old {
            let _ = std::fs::remove_dir_all(&old);
        }
        Ok(manifest)
    }

    /// The model's sample sites on `example`, the guide's latents replayed.
    fn traced_sites(&self, example: &Data<B>) -> Result<Vec<SiteEntry>, InferError> {
        let key = ppl_dist::RngKey::new(self.seed()).fold_in("export");
        let guide = run(
            self.guide(),
            Ctx::new(example.clone(), key.fold_in("guide"), self.device())
                .with_program("guide")
                .with_params(self.params().clone()),
        )?;
        let mut ctx = Ctx::new(example.clone(), key.fold_in("model"), self.device())
            .with_params(self.params().clone())
            .with_handler(Replay::new(&guide.trace));
        if let Some(n) = example.rows()? {
            ctx = ctx.with_instances(n).with_data_size(n);
        }
        let model = run(self.model(), ctx)?.trace;
        Ok(model
            .sites()
            .iter()
            .filter(|s| s.kind == ppl_core::SiteKind::Sample)
            .map(|s| SiteEntry {
                name: s.name.clone(),
                observed: s.observed,
                per_row: s.in_data_plate(),
                shape: s.value.dims(),
                support: s
                    .dist
                    .as_ref()
                    .map_or_else(|| "unknown".to_string(), |d| manifest::constraint_name(d.support())),
            })
            .collect())
    }

    /// Read a posterior exported by [`Posterior::export`] into the skeletons `model` and
    /// `guide` (the same types with the same configuration, on this backend `B`, which needs
    /// no autodiff; their weights are replaced), on `device`. The seed, chunk size and guide
    /// latents come from the manifest, so the same queries give the same draws as the
    /// exported posterior on the same backend.
    ///
    /// # Errors
    /// [`InferError::Export`], naming the file and the mismatch, for a missing file, a
    /// truncated or corrupt file (length or CRC-32), a manifest of another format or crate
    /// version, another float dtype, skeleton types or parameter shapes that differ from the
    /// manifest's, or a weight file whose tensors differ from the skeleton's.
    pub fn load(dir: impl AsRef<Path>, model: P, guide: Q, device: &B::Device) -> Result<Self, InferError> {
        let dir = dir.as_ref();
        let m = Manifest::read(dir)?;
        let mismatch = |what: &str, saved: &str, here: &str| {
            fail(
                dir,
                "manifest.json",
                format!("{what} differs: exported {saved}, skeleton {here}"),
            )
        };
        let dtype = format!("{:?}", ppl_dist::param::float_dtype::<B>());
        if m.float_dtype != dtype {
            return Err(mismatch("float dtype", &m.float_dtype, &dtype));
        }
        for (what, saved, here) in [
            ("model type", &m.model_type, type_stem::<P>()),
            ("guide type", &m.guide_type, type_stem::<Q>()),
            ("model parameter shapes", &m.model_shapes, fingerprint(&model)),
            ("guide parameter shapes", &m.guide_shapes, fingerprint(&guide)),
        ] {
            if *saved != here {
                return Err(mismatch(what, saved, &here));
            }
        }
        // Every file, checked before any is decoded.
        let mut contents = Vec::new();
        for file in [MODEL_FILE, GUIDE_FILE, PARAMS_FILE] {
            contents
                .push(manifest::read_checked(dir, &m.files, file, "manifest.json").map_err(|e| fail(dir, file, e))?);
        }
        let meta = m
            .params
            .iter()
            .map(ParamEntry::to_meta)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| fail(dir, "manifest.json", e))?;
        let mut contents = contents.into_iter();
        let mut next = || contents.next().expect("three files read above");
        let model = from_burnpack(model.to_device(device), next(), dir, MODEL_FILE)?;
        let guide = from_burnpack(guide.to_device(device), next(), dir, GUIDE_FILE)?;
        let params = from_burnpack(ParamStore::with_placeholders(meta, device), next(), dir, PARAMS_FILE)?;
        Ok(Posterior::new(model, guide, params, m.seed, device)
            .with_chunk(m.chunk)
            .with_guide_latents(m.guide_latents))
    }
}

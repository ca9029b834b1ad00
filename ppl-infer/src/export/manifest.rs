//! `manifest.json`: what an export holds and what produced it.

use std::path::Path;

use ppl_dist::Constraint;
use serde::{Deserialize, Serialize};

use crate::InferError;

/// The format name written into every manifest.
pub const FORMAT: &str = "ppl-infer-export";
/// The format version this crate writes and reads.
pub const FORMAT_VERSION: u32 = 2;
/// The burn version the workspace pins (`burn = "=0.21.0"`), recorded for the reader.
pub const BURN_VERSION: &str = "0.21.0";

/// The description of an exported posterior (`manifest.json`), written by
/// [`crate::Posterior::export`] and checked by [`crate::Posterior::load`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`FORMAT_VERSION`] of the writer.
    pub format_version: u32,
    /// The `ppl-infer` version that wrote it; a reader of another version refuses it.
    pub crate_version: String,
    /// The burn version that wrote it.
    pub burn_version: String,
    /// The float dtype of the parameters (`F32`, `F64`, …); the reading backend must use it.
    pub float_dtype: String,
    /// The backend the posterior was fitted and exported on (its Rust type).
    pub backend: String,
    /// The seed the posterior's queries derive their keys from.
    pub seed: u64,
    /// Rows per query chunk.
    pub chunk: usize,
    /// The model's type, without its backend parameter.
    pub model_type: String,
    /// The guide's type, without its backend parameter.
    pub guide_type: String,
    /// The model's float parameter shapes in visiting order (`2x100;100;…`).
    pub model_shapes: String,
    /// The guide's float parameter shapes in visiting order.
    pub guide_shapes: String,
    /// The guide's latent sites, where it declares them.
    pub guide_latents: Vec<String>,
    /// The model's sample sites as traced on the export's example rows (latents replayed
    /// from the guide): what a query may ask for and what data it must bind.
    pub sites: Vec<SiteEntry>,
    /// The `param` store: name, constrained shape and constraint of each entry.
    pub params: Vec<ParamEntry>,
    /// Every weight file with its length and CRC-32.
    pub files: Vec<FileEntry>,
}

/// One `param` site of an export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParamEntry {
    /// Site name.
    pub name: String,
    /// Shape of the constrained value.
    pub shape: Vec<usize>,
    /// The constraint, by name (`Real`, `Positive`, …).
    pub constraint: String,
}

/// One sample site of the exported model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteEntry {
    /// Site name.
    pub name: String,
    /// Whether the example rows bound data to it (observed); otherwise the guide or the
    /// model drew it.
    pub observed: bool,
    /// Whether it lies in the data plate: one value per data row, the rows being its
    /// leading dimension.
    pub per_row: bool,
    /// Its value's shape on the example rows (the leading dimension is the number of
    /// example rows when `per_row`).
    pub shape: Vec<usize>,
    /// Its distribution's support, by name (`Real`, `Positive`, `CategoricalIndex`, …).
    pub support: String,
}

/// One weight file of an export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileEntry {
    /// File name inside the export directory.
    pub name: String,
    /// Length in bytes.
    pub bytes: u64,
    /// CRC-32 (IEEE) of the contents, as 8 hex digits.
    pub crc32: String,
}

/// Read the file `name` from `dir` and check it against its entry in `files` (length, then
/// CRC-32) before anyone decodes it. `listing` names the file that holds the entries, for the
/// message; the caller wraps the message in its own error variant.
pub(crate) fn read_checked(dir: &Path, files: &[FileEntry], name: &str, listing: &str) -> Result<Vec<u8>, String> {
    let entry = files
        .iter()
        .find(|e| e.name == name)
        .ok_or_else(|| format!("{listing} lists no `{name}`"))?;
    let bytes = std::fs::read(dir.join(name)).map_err(|e| format!("{name}: cannot read: {e}"))?;
    if bytes.len() as u64 != entry.bytes {
        return Err(format!(
            "{name} has {} bytes, {listing} says {} (truncated or replaced)",
            bytes.len(),
            entry.bytes
        ));
    }
    let crc = super::crc(&bytes);
    if crc != entry.crc32 {
        return Err(format!(
            "{name} has CRC-32 {crc}, {listing} says {} (corrupt or from another save)",
            entry.crc32
        ));
    }
    Ok(bytes)
}

impl ParamEntry {
    /// The store's description of this entry: the constraint by name and a rank the store
    /// holds (1 to 4), or a message naming the param.
    pub(crate) fn to_meta(&self) -> Result<ppl_core::ParamMeta, String> {
        let constraint = constraint_from_name(&self.constraint)
            .ok_or_else(|| format!("param `{}` has an unknown constraint `{}`", self.name, self.constraint))?;
        if !(1..=4).contains(&self.shape.len()) {
            return Err(format!(
                "param `{}` has shape {:?}; params have rank 1 to 4",
                self.name, self.shape
            ));
        }
        Ok(ppl_core::ParamMeta {
            name: self.name.clone(),
            shape: self.shape.clone(),
            constraint,
        })
    }
}

impl Manifest {
    /// Read and check `dir/manifest.json`: present, valid JSON of this shape, this format,
    /// this format version and this crate's version.
    ///
    /// # Errors
    /// [`InferError::Export`] naming `manifest.json` and what differs.
    pub fn read(dir: impl AsRef<Path>) -> Result<Manifest, InferError> {
        let dir = dir.as_ref();
        let fail = |detail: String| super::fail(dir, "manifest.json", detail);
        let text = std::fs::read_to_string(dir.join("manifest.json")).map_err(|e| fail(format!("cannot read: {e}")))?;
        let m: Manifest = serde_json::from_str(&text).map_err(|e| fail(format!("not a valid manifest: {e}")))?;
        if m.format != FORMAT {
            return Err(fail(format!("format `{}`, expected `{FORMAT}`", m.format)));
        }
        if m.format_version != FORMAT_VERSION {
            return Err(fail(format!(
                "format version {}, this reader reads version {FORMAT_VERSION}",
                m.format_version
            )));
        }
        let here = env!("CARGO_PKG_VERSION");
        if m.crate_version != here {
            return Err(fail(format!(
                "written by ppl-infer {}, this is ppl-infer {here}; export it again with this version",
                m.crate_version
            )));
        }
        Ok(m)
    }
}

/// The name a manifest records for a constraint.
pub(crate) fn constraint_name(c: Constraint) -> String {
    format!("{c:?}")
}

/// The constraint a manifest names, if it is one.
pub(crate) fn constraint_from_name(name: &str) -> Option<Constraint> {
    [
        Constraint::Real,
        Constraint::Positive,
        Constraint::NonNegative,
        Constraint::UnitInterval,
        Constraint::Interval,
        Constraint::Boolean,
        Constraint::NonNegativeInteger,
        Constraint::IntegerInterval,
        Constraint::CategoricalIndex,
        Constraint::OneHot,
        Constraint::Simplex,
        Constraint::MultinomialCounts,
        Constraint::RealVector,
        Constraint::Singleton,
        Constraint::Dependent,
    ]
    .into_iter()
    .find(|c| constraint_name(*c) == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constraint_names_round_trip() {
        for name in ["Real", "Positive", "UnitInterval", "Simplex", "RealVector"] {
            let c = constraint_from_name(name).expect(name);
            assert_eq!(constraint_name(c), name);
        }
        assert_eq!(constraint_from_name("Sideways"), None);
    }
}

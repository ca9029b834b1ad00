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

//! `state.json`: everything of a checkpoint that is not a tensor, with a checksum of itself.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::optimizer_state::OptimizerEntry;
use crate::export::{FileEntry, ParamEntry};

/// The format name written into every `state.json`.
pub(crate) const FORMAT: &str = "ppl-infer-checkpoint";
/// The version this crate writes and reads (1–2 were text files beside burn records).
pub(crate) const FORMAT_VERSION: u32 = 3;

/// The contents of `state.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CheckpointState {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`FORMAT_VERSION`] of the writer.
    pub format_version: u32,
    /// The `ppl-infer` version that wrote it.
    pub crate_version: String,
    /// The burn version that wrote it.
    pub burn_version: String,
    /// Steps taken.
    pub step: usize,
    /// The `SviConfig::seed` of the run.
    pub seed: u64,
    /// `adam`, `adamw`, `rmsprop` or `sgd`.
    pub optimizer: String,
    /// The score-function baseline, if the objective keeps one.
    #[serde(with = "float_or_text::option")]
    pub baseline: Option<f64>,
    /// Per-site score-function baselines (`Elbo::TraceGraph`), finite values only; absent
    /// when empty, so a checkpoint without them reads and checksums as before.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub site_baselines: std::collections::BTreeMap<String, f64>,
    /// The float dtype of the parameters (`F32`, `F64`).
    pub float_dtype: String,
    /// The model's Rust type.
    pub model_type: String,
    /// The guide's Rust type.
    pub guide_type: String,
    /// The networks' float parameter shapes in visiting order (`model|guide`).
    pub fingerprint: String,
    /// The `param` store: name, constrained shape and constraint of each entry.
    pub params: Vec<ParamEntry>,
    /// The optimizer's state per parameter (tensors in `optimizer.bpk`).
    pub optimizer_state: Vec<OptimizerEntry>,
    /// The loss of every step so far.
    #[serde(with = "float_or_text::vec")]
    pub losses: Vec<f64>,
    /// `modules.bpk` and `optimizer.bpk` with their lengths and CRC-32s.
    pub files: Vec<FileEntry>,
    /// CRC-32 of this state written with an empty `crc32` (compact JSON).
    pub crc32: String,
}

impl CheckpointState {
    /// The checksum of everything but the checksum field.
    pub(crate) fn checksum(&self) -> Result<String, serde_json::Error> {
        let mut bare = self.clone();
        bare.crc32.clear();
        let bytes = serde_json::to_vec(&bare)?;
        Ok(format!("{:08x}", crc32fast::hash(&bytes)))
    }

    /// Fill in `crc32` and render as pretty JSON.
    pub(crate) fn into_json(mut self) -> Result<String, serde_json::Error> {
        self.crc32 = self.checksum()?;
        serde_json::to_string_pretty(&self)
    }

    /// Parse `state.json` and check its checksum.
    pub(crate) fn from_json(bytes: &[u8]) -> Result<Self, String> {
        let state: CheckpointState = serde_json::from_slice(bytes).map_err(|e| {
            if e.is_eof() {
                format!("state.json is truncated ({e})")
            } else {
                format!("state.json is corrupt ({e})")
            }
        })?;
        let want = state.checksum().map_err(|e| format!("state.json: {e}"))?;
        if want != state.crc32 {
            return Err(format!(
                "state.json is corrupt (checksum {want}, the file says {})",
                state.crc32
            ));
        }
        Ok(state)
    }
}

/// f64 values as JSON numbers when finite and as text (`NaN`, `inf`, `-inf`) otherwise, so a
/// diverged run's losses survive a checkpoint. Finite values round-trip exactly (serde_json
/// writes the shortest representation that reads back to the same bits).
mod float_or_text {
    use super::*;

    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    enum Repr {
        Number(f64),
        Text(String),
    }

    fn to_repr(v: f64) -> Repr {
        if v.is_finite() {
            Repr::Number(v)
        } else {
            Repr::Text(v.to_string())
        }
    }

    fn from_repr<E: serde::de::Error>(r: Repr) -> Result<f64, E> {
        match r {
            Repr::Number(v) => Ok(v),
            Repr::Text(t) => match t.as_str() {
                "NaN" | "inf" | "-inf" => Ok(t.parse().expect("a non-finite float name")),
                _ => Err(E::custom(format!("`{t}` is not a number"))),
            },
        }
    }

    pub mod vec {
        use super::*;

        pub fn serialize<S: Serializer>(v: &[f64], s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq(v.iter().map(|x| to_repr(*x)))
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
            Vec::<Repr>::deserialize(d)?.into_iter().map(from_repr).collect()
        }
    }

    pub mod option {
        use super::*;

        pub fn serialize<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
            v.map(to_repr).serialize(s)
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
            Option::<Repr>::deserialize(d)?.map(from_repr).transpose()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> CheckpointState {
        CheckpointState {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            crate_version: "0.1.0".into(),
            burn_version: "0.21.0".into(),
            step: 3,
            seed: 7,
            optimizer: "adam".into(),
            baseline: Some(f64::NAN),
            site_baselines: [("c".to_string(), -12.345_678_901_234_567)].into(),
            float_dtype: "F32".into(),
            model_type: "m".into(),
            guide_type: "g".into(),
            fingerprint: "2x3|3".into(),
            params: Vec::new(),
            optimizer_state: Vec::new(),
            losses: vec![0.1 + 0.2, -1.0e-300, f64::INFINITY],
            files: Vec::new(),
            crc32: String::new(),
        }
    }

    #[test]
    fn state_round_trips_bit_for_bit_including_non_finite_losses() {
        let json = sample().into_json().unwrap();
        let back = CheckpointState::from_json(json.as_bytes()).unwrap();
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back.losses), bits(&sample().losses));
        assert!(back.baseline.unwrap().is_nan());
        assert_eq!(
            back.site_baselines["c"].to_bits(),
            (-12.345_678_901_234_567f64).to_bits()
        );
        assert_eq!(back.step, 3);
    }

    #[test]
    fn a_state_without_site_baselines_reads_and_checksums_as_before() {
        // Written before per-site baselines existed: no `site_baselines` key at all.
        let mut old = sample();
        old.site_baselines.clear();
        let json = old.into_json().unwrap();
        assert!(!json.contains("site_baselines"), "{json}");
        let back = CheckpointState::from_json(json.as_bytes()).unwrap();
        assert!(back.site_baselines.is_empty());
    }

    #[test]
    fn an_edited_or_truncated_state_is_refused() {
        let json = sample().into_json().unwrap();
        let edited = json.replace("\"step\": 3", "\"step\": 4");
        assert_ne!(edited, json);
        let e = CheckpointState::from_json(edited.as_bytes()).unwrap_err();
        assert!(e.contains("checksum"), "{e}");
        let e = CheckpointState::from_json(&json.as_bytes()[..json.len() / 2]).unwrap_err();
        assert!(e.contains("truncated"), "{e}");
        let e = CheckpointState::from_json(json.replace("\"seed\"", "\"sead\"").as_bytes()).unwrap_err();
        assert!(e.contains("corrupt"), "{e}");
    }
}

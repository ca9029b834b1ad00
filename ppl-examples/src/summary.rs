//! The machine-readable JSON summary every example writes (serde_json): its results with their
//! units, the full configuration, whether it was a smoke run, the command line, and what
//! produced it (seed, backend, device, versions, git commit).

use std::path::Path;

use burn::tensor::backend::Backend;
use serde_json::{json, Map, Value};

use crate::cli::ExampleArgs;

/// The git commit the examples were built from (`build.rs`; empty outside a git checkout).
const GIT_COMMIT: &str = env!("PPL_GIT_COMMIT");

/// An example's results, each with its unit, in the order they were added; [`Summary::finish`]
/// adds the settings and the provenance.
///
/// ```
/// use ppl_examples::summary::Summary;
/// let s = Summary::new()
///     .num("accuracy", 0.9876, "fraction of the test images")
///     .int("steps", 2110, "SVI steps");
/// assert_eq!(s.results()["steps"], 2110);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Summary {
    results: Map<String, Value>,
    units: Map<String, Value>,
}

impl Summary {
    /// An empty summary.
    pub fn new() -> Self {
        Summary::default()
    }

    /// A number and its unit (`null` when not finite).
    pub fn num(self, key: &str, v: f64, unit: &str) -> Self {
        self.value(key, v, unit)
    }

    /// A count and its unit.
    pub fn int(self, key: &str, v: usize, unit: &str) -> Self {
        self.value(key, v, unit)
    }

    /// Any serializable value (arrays, objects) and its unit. Non-finite floats become `null`.
    pub fn value(mut self, key: &str, v: impl serde::Serialize, unit: &str) -> Self {
        let v = serde_json::to_value(v).expect("summary values are plain numbers, strings and arrays");
        self.results.insert(key.into(), v);
        self.units.insert(key.into(), unit.into());
        self
    }

    /// The results added so far.
    pub fn results(&self) -> &Map<String, Value> {
        &self.results
    }

    /// The summary as a JSON value: `results`, `units`, `smoke_run` (a `--steps` limit cut
    /// the fit short), `config` (every setting of `args`), `command_line`, and `provenance`
    /// (backend, float type, device, crate and burn versions, git commit or `null`).
    pub fn to_value<B: Backend>(&self, args: &ExampleArgs, device: &B::Device) -> Value {
        json!({
            "results": self.results,
            "units": self.units,
            "smoke_run": args.steps.is_some(),
            "config": args,
            "command_line": std::env::args().collect::<Vec<_>>(),
            "provenance": {
                "seed": args.seed,
                "backend": crate::backend::backend_label::<B>(device),
                "backend_name": B::name(device),
                "float": if size_of::<B::FloatElem>() == 8 { "f64" } else { "f32" },
                "device": format!("{device:?}"),
                "versions": {"ppl-examples": env!("CARGO_PKG_VERSION"), "burn": "0.21.0"},
                "git_commit": (!GIT_COMMIT.is_empty()).then_some(GIT_COMMIT),
            },
        })
    }

    /// [`Self::to_value`], rendered (pretty-printed, newline-terminated).
    pub fn finish<B: Backend>(self, args: &ExampleArgs, device: &B::Device) -> String {
        let mut s = serde_json::to_string_pretty(&self.to_value::<B>(args, device)).expect("a JSON value renders");
        s.push('\n');
        s
    }

    /// Render and write `summary.json` into `dir`.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn write<B: Backend>(self, dir: &Path, args: &ExampleArgs, device: &B::Device) -> Result<(), String> {
        let p = dir.join("summary.json");
        std::fs::write(&p, self.finish::<B>(args, device)).map_err(|e| format!("{}: {e}", p.display()))
    }
}

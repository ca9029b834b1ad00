//! The machine-readable JSON summary every example writes: its results, its settings, and
//! what produced them (seed, backend, device, versions).

use std::fmt::Write as _;
use std::path::Path;

use burn::tensor::backend::Backend;

use crate::cli::ExampleArgs;

/// A flat JSON object built key by key (results first, then settings and provenance).
#[derive(Debug, Clone, Default)]
pub struct Summary {
    fields: Vec<(String, String)>,
}

impl Summary {
    /// An empty summary.
    pub fn new() -> Self {
        Summary::default()
    }

    /// A number (`null` when not finite).
    pub fn num(mut self, key: &str, v: f64) -> Self {
        let v = if v.is_finite() {
            format!("{v:.6}")
        } else {
            "null".into()
        };
        self.fields.push((key.into(), v));
        self
    }

    /// An integer.
    pub fn int(mut self, key: &str, v: usize) -> Self {
        self.fields.push((key.into(), v.to_string()));
        self
    }

    /// A string.
    pub fn text(mut self, key: &str, v: &str) -> Self {
        self.fields
            .push((key.into(), format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "'"))));
        self
    }

    /// Any value already written as JSON (arrays, objects).
    pub fn raw(mut self, key: &str, json: &str) -> Self {
        self.fields.push((key.into(), json.into()));
        self
    }

    /// Add the settings of `args` and the provenance (seed, backend, device, versions), and
    /// render.
    pub fn finish<B: Backend>(self, args: &ExampleArgs, device: &B::Device) -> String {
        let s = self
            .int("epochs", args.epochs)
            .int("batch_size", args.batch_size)
            .num("learning_rate", args.lr)
            .int("seed", args.seed as usize)
            .text("backend", &crate::backend::backend_label::<B>(device))
            .text("backend_name", &B::name(device))
            .text("float", if size_of::<B::FloatElem>() == 8 { "f64" } else { "f32" })
            .text("device", &format!("{device:?}"))
            .raw(
                "versions",
                &format!(
                    "{{\"ppl-examples\": \"{}\", \"burn\": \"0.21.0\"}}",
                    env!("CARGO_PKG_VERSION")
                ),
            );
        let mut out = String::from("{\n");
        for (i, (k, v)) in s.fields.iter().enumerate() {
            let comma = if i + 1 < s.fields.len() { "," } else { "" };
            let _ = writeln!(out, "  \"{k}\": {v}{comma}");
        }
        out.push_str("}\n");
        out
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

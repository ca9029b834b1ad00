//! Serve the exported digit classifier: class probabilities per image, no autodiff.
//!
//! `digits-serve EXPORT_DIR [--images FILE|-] [--labels FILE] [--digits 0,1,2] [--format csv|jsonl]`
//!
//! Reads IDX (`t10k-images-idx3-ubyte`) or CSV images (784 pixels 0–255 per line, optionally
//! after a label) from FILE or stdin, loads the posterior `digits --export EXPORT_DIR` wrote,
//! prints one line per image (probabilities of 0, 1, 2 averaged over 32 posterior draws, the
//! predicted digit, the label if known) and, on stderr, the accuracy when labels are given
//! and the load and first-prediction times. Builds without burn's autodiff:
//! `cargo build --release -p ppl-examples --bin digits-serve --no-default-features --features flex`.

use std::io::Write;

use clap::{CommandFactory, FromArgMatches};
use ppl_examples::backend::{default_device, DefaultBackend, BACKEND_NAME};
use ppl_examples::cli::about;
use ppl_examples::serve::{read_images, serve, ServeArgs};

fn main() {
    let command = ServeArgs::command()
        .about(about(include_str!("digits_serve.rs")))
        .long_about(None);
    let args = command
        .try_get_matches()
        .and_then(|m| ServeArgs::from_arg_matches(&m))
        .unwrap_or_else(|e| e.exit());
    let run = || -> Result<(), String> {
        let device = default_device().map_err(|e| e.to_string())?;
        let images = read_images::<DefaultBackend>(args.images.as_deref(), args.labels.as_deref(), &device)?
            .keep_digits(&args.digits)?;
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        let r = serve::<DefaultBackend>(&args, &images, &device, &mut out)?;
        out.flush().map_err(|e| format!("output: {e}"))?;
        let accuracy = r
            .accuracy
            .map(|a| format!(", accuracy {:.2}%", 100.0 * a))
            .unwrap_or_default();
        eprintln!(
            "digits-serve ({BACKEND_NAME}): {} images{accuracy}; posterior loaded in {:.1} ms, predictions after {:.1} ms ({:.0} images/s)",
            r.images,
            1e3 * r.load_seconds,
            1e3 * r.first_prediction_seconds,
            r.images as f64 / r.classify_seconds.max(1e-9)
        );
        Ok(())
    };
    if let Err(e) = run() {
        eprintln!("digits-serve: {e}");
        std::process::exit(1);
    }
}

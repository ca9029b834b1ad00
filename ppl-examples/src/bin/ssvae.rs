//! The semi-supervised digit classifier (Kingma et al. 2014's M2) on the ten MNIST digits with
//! labels for only 100 training images (`--labels N`), against the same classifier trained on
//! those images alone.
//!
//! `cargo run --release -p ppl-examples --bin ssvae -- [--labels N] [--epochs N]
//! [--batch-size M] [--seed S] [--lr LR] [--data-dir DIR] [--out-dir DIR] [--steps N]
//! [--num-instances N] [--num-instances-test N] [--quiet]`

use ppl_examples::backend::BACKEND_NAME;
use ppl_examples::cli::example_main;
use ppl_examples::default_runs;
use ppl_examples::ssvae::{defaults, LABELS};

fn main() {
    example_main("ssvae", include_str!("ssvae.rs"), defaults(), |args, device| {
        let r = default_runs::ssvae(args, args.labels.unwrap_or(LABELS), device)?;
        Ok(format!(
            "semi-supervised classifier M2 ({} train images, {} labelled / {} test, backend {BACKEND_NAME}): \
             test accuracy {:.2}% (the same network on the labelled images alone: {:.2}%), {} steps, {:.1} s\n\
             confusion (rows: true digit 0–9, columns: predicted): {:?}\n\
             figures and summary.json in {}",
            r.sizes.0,
            r.labels,
            r.sizes.1,
            100.0 * r.accuracy,
            100.0 * r.accuracy_labelled_only,
            r.steps,
            r.fit_seconds,
            r.confusion,
            args.out_dir.display()
        ))
    });
}

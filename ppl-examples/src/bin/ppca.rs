//! Probabilistic PCA (InferPy's probzoo) on MNIST digits 0, 1, 2 with AutoNormal; plots the
//! 2-d latent space coloured by digit.
//!
//! `cargo run --release -p ppl-examples --bin ppca -- [--epochs STEPS] [--seed S] [--lr LR]
//! [--data-dir DIR] [--out-dir DIR] [--steps N] [--num-instances N] [--quiet]`

use ppl_examples::backend::BACKEND_NAME;
use ppl_examples::cli::example_main;
use ppl_examples::default_runs;
use ppl_examples::ppca::defaults;

fn main() {
    example_main("ppca", include_str!("ppca.rs"), defaults(), |args, device| {
        let r = default_runs::ppca(args, device)?;
        Ok(format!(
            "PPCA ({} images of digits 0-2, k = 2, backend {BACKEND_NAME}): ELBO {:.1} per image; \
             nearest-centroid accuracy in the latent space {:.1} %\nfigures and summary.json in {}",
            r.images,
            -r.loss_per_image,
            100.0 * r.centroid_accuracy,
            args.out_dir.display()
        ))
    });
}

//! Edward's inference-network VAE (784–256–10, Bernoulli decoder) on binarized MNIST;
//! reports the test-set ELBO in nats per image.
//!
//! `cargo run --release -p ppl-examples --bin vae -- [--epochs N] [--batch-size M] [--seed S]
//! [--lr LR] [--data-dir DIR] [--out-dir DIR] [--steps N] [--num-instances N]
//! [--num-instances-test N] [--quiet]`

use ppl_examples::backend::BACKEND_NAME;
use ppl_examples::cli::example_main;
use ppl_examples::default_runs;
use ppl_examples::vae::defaults;

fn main() {
    example_main("vae", include_str!("vae.rs"), defaults(), |args, device| {
        let r = default_runs::vae(args, device)?;
        Ok(format!(
            "VAE ({} train / {} test images, backend {BACKEND_NAME}): test ELBO {:.2} nats per image \
             (train, last epoch: {:.2}), {} steps at {:.1} steps/s, {:.1} s\n\
             figures and summary.json in {}",
            r.sizes.0,
            r.sizes.1,
            r.test_elbo,
            r.train_elbo,
            r.steps,
            r.steps_per_second,
            r.seconds,
            args.out_dir.display()
        ))
    });
}

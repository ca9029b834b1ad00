//! A Bayesian neural network (Flipout layers) classifying MNIST digits 0, 1, 2, with
//! predictive uncertainty.
//!
//! `cargo run --release -p ppl-examples --bin bnn -- [--epochs N] [--batch-size M] [--seed S]
//! [--lr LR] [--data-dir DIR] [--out-dir DIR] [--steps N] [--num-instances N]
//! [--num-instances-test N] [--quiet]`

use ppl_examples::backend::BACKEND_NAME;
use ppl_examples::bnn::defaults;
use ppl_examples::cli::example_main;
use ppl_examples::default_runs;

fn main() {
    example_main("bnn", include_str!("bnn.rs"), defaults(), |args, device| {
        let r = default_runs::bnn(args, device)?;
        let m = &r.metrics;
        Ok(format!(
            "BNN classifier ({} train / {} test images, backend {BACKEND_NAME}): test accuracy {:.2}%, \
             final ELBO {:.1}, {} steps at {:.1} steps/s, {:.1} s\n\
             confusion (rows: true 0, 1, 2): {:?}\n\
             mean predictive entropy: correct {:.3} nats, wrong {:.3} nats\n\
             figures and summary.json in {}",
            r.sizes.0,
            r.sizes.1,
            100.0 * m.accuracy,
            -r.final_loss,
            r.steps,
            r.steps_per_second,
            r.seconds,
            m.confusion,
            m.entropy_correct,
            m.entropy_wrong,
            args.out_dir.display()
        ))
    });
}

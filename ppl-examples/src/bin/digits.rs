//! The InferPy digit classifier on real MNIST digits 0, 1, 2, end to end.
//!
//! `cargo run --release -p ppl-examples --bin digits -- [--epochs N] [--batch-size M]
//! [--seed S] [--lr LR] [--data-dir DIR] [--out-dir DIR] [--steps N] [--num-instances N]
//! [--num-instances-test N] [--quiet] [--export DIR] [--autoguide] [--peers N]
//! [--peer-id K --orchestrator ws://HOST:PORT]`

use ppl_examples::backend::BACKEND_NAME;
use ppl_examples::cli::{example_main, ExampleArgs};
use ppl_examples::default_runs;

fn main() {
    example_main(
        "digits",
        include_str!("digits.rs"),
        ExampleArgs::default(),
        |args, device| {
            let r = default_runs::digits(args, device)?;
            Ok(format!(
                "digit classifier ({} train / {} test images, backend {BACKEND_NAME}): test accuracy {:.2}% \
             (single sampled y: {:.2}%), final ELBO {:.1}, {} steps at {:.1} steps/s, {:.1} s\n\
             confusion (rows: true 0, 1, 2): {:?}\n\
             mean predictive entropy: correct {:.3} nats, wrong {:.3} nats\n\
             {}",
                r.sizes.0,
                r.sizes.1,
                100.0 * r.accuracy,
                100.0 * r.accuracy_sampled,
                -r.final_loss,
                r.steps,
                r.steps_per_second,
                r.total_seconds,
                r.confusion,
                r.entropy_correct,
                r.entropy_wrong,
                match args.peer_id {
                    0 => format!("figures and summary.json in {}", args.out_dir.display()),
                    k => format!("peer {k}: figures and summary.json are peer 0's"),
                }
            ))
        },
    );
}

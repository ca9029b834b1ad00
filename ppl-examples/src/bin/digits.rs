//! The InferPy digit classifier on real MNIST digits 0, 1, 2, end to end.
//!
//! `cargo run --release -p ppl-examples --bin digits -- [--epochs N] [--batch-size M]
//! [--seed S] [--lr LR] [--data-dir DIR] [--out-dir DIR] [--steps N] [--num-instances N]
//! [--num-instances-test N] [--quiet]`

use ppl_examples::digits::{run, DigitsArgs};

fn parse() -> Result<DigitsArgs, String> {
    let mut a = DigitsArgs::default();
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        let num = |v: String| v.parse::<usize>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--epochs" => a.epochs = num(value()?)?,
            "--batch-size" => a.batch_size = num(value()?)?,
            "--seed" => a.seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--lr" => a.lr = value()?.parse().map_err(|e| format!("--lr: {e}"))?,
            "--data-dir" => a.data_dir = value()?.into(),
            "--out-dir" => a.out_dir = value()?.into(),
            "--steps" => a.steps = Some(num(value()?)?),
            "--num-instances" => a.num_instances = Some(num(value()?)?),
            "--num-instances-test" => a.num_instances_test = Some(num(value()?)?),
            "--quiet" => a.progress = false,
            "-h" | "--help" => {
                println!(
                    "{}",
                    include_str!("digits.rs").lines().take(5).collect::<Vec<_>>().join("\n")
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown flag {other} (see --help)")),
        }
    }
    Ok(a)
}

fn main() {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("digits: {e}");
            std::process::exit(2);
        }
    };
    let device = match ppl_dist::backend::default_device() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("digits: {e}");
            std::process::exit(1);
        }
    };
    match run::<ppl_dist::backend::DefaultAutodiffBackend>(&args, &device) {
        Ok(r) => {
            println!(
                "digit classifier ({} train / {} test images, backend {}): test accuracy {:.2}% \
                 (single sampled y: {:.2}%), final ELBO {:.1}, {} steps at {:.1} steps/s, {:.1} s",
                r.sizes.0,
                r.sizes.1,
                ppl_dist::backend::BACKEND_NAME,
                100.0 * r.accuracy,
                100.0 * r.accuracy_sampled,
                -r.final_loss,
                r.steps,
                r.steps_per_second,
                r.total_seconds
            );
            println!("confusion (rows: true 0, 1, 2): {:?}", r.confusion);
            println!(
                "mean predictive entropy: correct {:.3} nats, wrong {:.3} nats",
                r.entropy_correct, r.entropy_wrong
            );
            println!("figures and summary.json in {}", args.out_dir.display());
        }
        Err(e) => {
            eprintln!("digits: {e}");
            std::process::exit(1);
        }
    }
}

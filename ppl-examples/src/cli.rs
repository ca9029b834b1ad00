//! Command-line settings shared by every example binary, and the `main` they share.

use std::path::PathBuf;

use crate::backend::{default_device, DefaultBackend};
use ppl_data::MnistOptions;
use ppl_infer::{Elbo, LrSchedule, SviConfig};

/// Settings every example accepts (`--epochs`, `--batch-size`, `--seed`, `--lr`,
/// `--data-dir`, `--out-dir`, `--steps`, `--num-instances`, `--num-instances-test`,
/// `--quiet`, `--export`). `Default` holds the digit classifier's defaults; each example starts from its
/// own.
#[derive(Debug, Clone)]
pub struct ExampleArgs {
    /// Epochs of SVI.
    pub epochs: usize,
    /// Minibatch size M.
    pub batch_size: usize,
    /// Seed of everything random.
    pub seed: u64,
    /// Adam's learning rate.
    pub lr: f64,
    /// MNIST directory.
    pub data_dir: PathBuf,
    /// Where figures and the summary go.
    pub out_dir: PathBuf,
    /// Stop after this many steps (smoke runs).
    pub steps: Option<usize>,
    /// Training rows (default: the example's own).
    pub num_instances: Option<usize>,
    /// Test rows (default: the example's own).
    pub num_instances_test: Option<usize>,
    /// Show the progress bar.
    pub progress: bool,
    /// Export the fitted posterior to this directory (`--export DIR`; the digit classifier,
    /// served by `digits-serve DIR`).
    pub export: Option<PathBuf>,
}

impl Default for ExampleArgs {
    fn default() -> Self {
        ExampleArgs {
            epochs: 15,
            batch_size: 128,
            seed: 0,
            lr: 0.01,
            data_dir: PathBuf::from("data/mnist"),
            out_dir: PathBuf::from("out/digits"),
            steps: None,
            num_instances: None,
            num_instances_test: None,
            progress: true,
            export: None,
        }
    }
}

impl ExampleArgs {
    /// MNIST loading options from `--data-dir` and `--num-instances[-test]`, restricted to
    /// `digits` (empty: all ten).
    pub fn mnist_options(&self, digits: &[u8]) -> MnistOptions {
        MnistOptions {
            dir: Some(self.data_dir.clone()),
            digits: digits.to_vec(),
            num_instances: self.num_instances,
            num_instances_test: self.num_instances_test,
            ..Default::default()
        }
    }

    /// The SVI settings these flags give (epochs, batch size, seed, lr, progress, `--steps`)
    /// with objective `elbo`.
    pub fn svi_config(&self, elbo: Elbo) -> SviConfig {
        SviConfig {
            epochs: self.epochs,
            batch_size: self.batch_size,
            seed: self.seed,
            lr: self.lr,
            elbo,
            progress: self.progress,
            max_steps: self.steps,
            ..Default::default()
        }
    }

    /// [`Self::svi_config`] for a small data set fitted full-batch: every step sees all rows in
    /// order, `--epochs` counts steps, and the learning rate decays exponentially to a tenth of
    /// `--lr` over the run (so the last steps settle instead of jittering around the optimum).
    pub fn full_batch_config(&self, elbo: Elbo) -> SviConfig {
        SviConfig {
            batch_size: usize::MAX,
            shuffle: false,
            schedule: LrSchedule::Exponential {
                gamma: 0.1f64.powf(1.0 / self.epochs.max(1) as f64),
            },
            ..self.svi_config(elbo)
        }
    }

    /// Parse `args` (without the program name) over `defaults`.
    ///
    /// # Errors
    /// An unknown flag, a missing or unparsable value; `Ok(None)` for `--help`.
    pub fn parse(defaults: ExampleArgs, args: impl IntoIterator<Item = String>) -> Result<Option<Self>, String> {
        let mut a = defaults;
        let mut it = args.into_iter();
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
                "--export" => a.export = Some(value()?.into()),
                "-h" | "--help" => return Ok(None),
                other => return Err(format!("unknown flag {other} (see --help)")),
            }
        }
        Ok(Some(a))
    }
}

/// The device type of the default backend (chosen by the Cargo feature).
pub type Device = burn::tensor::Device<DefaultBackend>;

/// The `main` of an example binary: parse the flags over `defaults` (printing `usage` for
/// `--help`), get the default device (a clear error when, e.g., no CUDA device is present),
/// run `body`, and print its report or the error (exit status 1; 2 for bad flags).
pub fn example_main(
    name: &str,
    usage: &str,
    defaults: ExampleArgs,
    body: impl FnOnce(&ExampleArgs, &Device) -> Result<String, String>,
) {
    let args = match ExampleArgs::parse(defaults, std::env::args().skip(1)) {
        Ok(Some(a)) => a,
        Ok(None) => {
            println!("{usage}");
            return;
        }
        Err(e) => {
            eprintln!("{name}: {e}");
            std::process::exit(2);
        }
    };
    if args.export.is_some() && name != "digits" {
        eprintln!("{name}: --export is supported by the digit classifier only");
        std::process::exit(2);
    }
    let device = match default_device() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("{name}: {e}");
            std::process::exit(1);
        }
    };
    match body(&args, &device) {
        Ok(report) => println!("{report}"),
        Err(e) => {
            eprintln!("{name}: {e}");
            std::process::exit(1);
        }
    }
}

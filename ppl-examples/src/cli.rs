//! Command-line settings shared by every example binary, and the `main` they share.

use std::path::PathBuf;

use crate::backend::{default_device, DefaultBackend};
use ppl_data::MnistOptions;
use ppl_infer::{Elbo, LrSchedule, PoolWait, SviConfig};

/// Settings every example accepts (`--epochs`, `--batch-size`, `--seed`, `--lr`,
/// `--data-dir`, `--out-dir`, `--steps`, `--num-instances`, `--num-instances-test`,
/// `--quiet`, `--export`, `--autoguide`, `--labels`, `--peers`, `--peer-id`, `--orchestrator`,
/// `--batch-shares`), parsed by clap. `Default` holds the digit classifier's defaults;
/// each example starts from its own, which [`ExampleArgs::command`] puts into the flags'
/// defaults (and so into `--help`).
#[derive(Debug, Clone, clap::Args, serde::Serialize)]
pub struct ExampleArgs {
    /// Epochs of SVI (passes over the training rows; full-batch examples: steps)
    #[arg(long, value_name = "N")]
    pub epochs: usize,
    /// Minibatch size M
    #[arg(long, value_name = "M")]
    pub batch_size: usize,
    /// Seed of everything random (initialisation, minibatch order, noise)
    #[arg(long, value_name = "S")]
    pub seed: u64,
    /// Adam's learning rate
    #[arg(long, value_name = "LR")]
    pub lr: f64,
    /// MNIST directory (IDX files; `bash scripts/fetch-mnist.sh DIR` fetches them)
    #[arg(long, value_name = "DIR")]
    pub data_dir: PathBuf,
    /// Where figures and summary.json go
    #[arg(long, value_name = "DIR")]
    pub out_dir: PathBuf,
    /// Stop after this many SVI steps, a smoke run (default: run every epoch)
    #[arg(long, value_name = "N")]
    pub steps: Option<usize>,
    /// Training rows to use (default: the example's own)
    #[arg(long, value_name = "N")]
    pub num_instances: Option<usize>,
    /// Test rows to use (default: the example's own)
    #[arg(long, value_name = "N")]
    pub num_instances_test: Option<usize>,
    /// Hide the progress bar (default: shown)
    #[arg(long = "quiet", action = clap::ArgAction::SetFalse)]
    pub progress: bool,
    /// Export the fitted posterior to DIR, for `digits-serve DIR` (the digit classifier only;
    /// default: no export)
    #[arg(long, value_name = "DIR")]
    pub export: Option<PathBuf>,
    /// Fit with the amortized autoguide (AutoAmortizedNormal) instead of the hand-written
    /// Q-model (the digit classifier only; default: the hand-written one)
    #[arg(long)]
    pub autoguide: bool,
    /// Training images whose labels are kept (the semi-supervised classifier only; default:
    /// 100)
    #[arg(long, value_name = "N")]
    pub labels: Option<usize>,
    /// Fit data-parallel with N peers, each taking its share of every minibatch (the digit
    /// classifier only; `ppl_infer::collective`): threads of this process on the default
    /// device, or N processes with `--orchestrator`
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub peers: usize,
    /// This process's id among the `--peers` processes, 0..N (with `--orchestrator`; peer 0
    /// writes the figures, summary.json and export; default: 0)
    #[arg(long, value_name = "K", default_value_t = 0)]
    pub peer_id: usize,
    /// Peers as processes: peer 0 listens at this address's port and the others connect to
    /// it, ws://HOST:PORT with HOST peer 0's machine (`scripts/run-digits-peers.sh` starts
    /// them on one machine; default: peers are threads)
    #[arg(long, value_name = "ws://HOST:PORT")]
    pub orchestrator: Option<String>,
    /// Evaluate each minibatch as N shares of its rows at once on the thread pool, one
    /// update from their summed gradients (`SviConfig::batch_shares`; faster on several
    /// cores for the networks, other numbers than 1 gives; default: 1)
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub batch_shares: u64,
    /// How the thread pool's other threads wait between a step's parallel kernels: auto
    /// (spin through steps of 0.5 ms and more), spin or sleep (`SviConfig::pool_wait`; the
    /// same numbers either way; default: auto)
    #[arg(long, value_name = "WAIT", default_value = "auto")]
    pub pool_wait: PoolWait,
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
            autoguide: false,
            labels: None,
            peers: 1,
            peer_id: 0,
            orchestrator: None,
            batch_shares: 1,
            pool_wait: PoolWait::Auto,
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
            batch_shares: usize::try_from(self.batch_shares).unwrap_or(usize::MAX),
            pool_wait: self.pool_wait,
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

    /// The command line of example `name`: `about`, then every flag above with `defaults`'
    /// values as its defaults (shown by `--help`).
    pub fn command(name: &'static str, about: String, defaults: &ExampleArgs) -> clap::Command {
        use clap::Args as _;
        let d = defaults;
        let mut cmd = ExampleArgs::augment_args(clap::Command::new(name))
            .about(about)
            .long_about(None);
        for (id, value) in [
            ("epochs", d.epochs.to_string()),
            ("batch_size", d.batch_size.to_string()),
            ("seed", d.seed.to_string()),
            ("lr", d.lr.to_string()),
            ("data_dir", d.data_dir.display().to_string()),
            ("out_dir", d.out_dir.display().to_string()),
        ] {
            cmd = cmd.mut_arg(id, |a| a.required(false).default_value(value));
        }
        cmd
    }

    /// Parse `args` (the program name first) for example `name` over `defaults`.
    ///
    /// # Errors
    /// clap's error for an unknown flag or a missing or unparsable value, and its `--help`
    /// and `--version` displays (`clap::Error::exit` prints them and exits with 0 or 2).
    pub fn parse_from(
        name: &'static str,
        about: String,
        defaults: &ExampleArgs,
        args: impl IntoIterator<Item = std::ffi::OsString>,
    ) -> Result<Self, clap::Error> {
        use clap::FromArgMatches as _;
        let matches = Self::command(name, about, defaults).try_get_matches_from(args)?;
        let mut parsed = ExampleArgs::from_arg_matches(&matches)?;
        // Defaults the flags cannot carry (no value on the command line means the example's
        // own choice, which may itself be a number).
        if parsed.steps.is_none() {
            parsed.steps = defaults.steps;
        }
        if parsed.num_instances.is_none() {
            parsed.num_instances = defaults.num_instances;
        }
        if parsed.num_instances_test.is_none() {
            parsed.num_instances_test = defaults.num_instances_test;
        }
        if !defaults.progress {
            parsed.progress = false;
        }
        Ok(parsed)
    }
}

/// The first paragraph of a binary's `//!` documentation, unmarked: its `--help` text
/// (`about(include_str!("vae.rs"))`).
pub fn about(source: &str) -> String {
    source
        .lines()
        .map_while(|l| l.strip_prefix("//!"))
        .map(str::trim)
        .take_while(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The device type of the default backend (chosen by the Cargo feature).
pub type Device = burn::tensor::Device<DefaultBackend>;

/// The `main` of an example binary: parse the flags over `defaults` (`--help` shows
/// [`about`] of `source`, the binary's own file, and every flag with its default), get the
/// default device (a clear error when, e.g., no CUDA device is present), run `body` on the
/// compute pool ([`ppl_infer::on_compute_pool`]), and print its report or the error (exit
/// status 1; 2 for bad flags).
pub fn example_main(
    name: &'static str,
    source: &str,
    defaults: ExampleArgs,
    body: impl FnOnce(&ExampleArgs, &Device) -> Result<String, String> + Send,
) {
    let args =
        ExampleArgs::parse_from(name, about(source), &defaults, std::env::args_os()).unwrap_or_else(|e| e.exit());
    for (set, flag, only) in [
        (args.export.is_some(), "--export", "digits"),
        (args.autoguide, "--autoguide", "digits"),
        (args.labels.is_some(), "--labels", "ssvae"),
    ] {
        if set && name != only {
            eprintln!("{name}: {flag} is supported by `{only}` only");
            std::process::exit(2);
        }
    }
    if args.export.is_some() && args.autoguide {
        eprintln!("{name}: digits-serve loads the hand-written Q-model; --export cannot be combined with --autoguide");
        std::process::exit(2);
    }
    let device = match default_device() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("{name}: {e}");
            std::process::exit(1);
        }
    };
    // On the compute pool: on few cores, faster than waiting on it from outside.
    match ppl_infer::on_compute_pool(|| body(&args, &device)) {
        Ok(report) => println!("{report}"),
        Err(e) => {
            eprintln!("{name}: {e}");
            std::process::exit(1);
        }
    }
}

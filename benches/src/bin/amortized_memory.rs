//! Peak memory of amortized SVI does not grow with the number of rows N beyond the data itself.
//!
//! Fits the digit classifier's P- and Q-models (an inference network on x, ppl-infer issue 4)
//! on synthetic data of MNIST shape (`[N, 784]` f32 pixels, `[N]` labels) for a fixed number of
//! minibatch steps, and reports the peak resident set size of the *fit* (Linux `VmHWM`, reset
//! after the data is built via `/proc/self/clear_refs`) next to the size of the data.
//!
//! ```text
//! cargo run --release -p benches --bin amortized_memory -- --compare 1800   # N and 10·N
//! cargo run --release -p benches --bin amortized_memory -- --rows 18000     # one size
//! ```
//!
//! `--compare N` runs `--rows N` and `--rows 10N` in two fresh processes and checks the
//! acceptance criterion: the peaks differ by less than the (10·N) data plus 10 %.

use std::process::{Command, ExitCode};

use benches::workloads::proc_status_kb;
use burn::tensor::{Int, Tensor, TensorData};
use ppl_core::Data;
use ppl_dist::RngKey;
use ppl_examples::backend::{default_device, DefaultAutodiffBackend as B};
use ppl_infer::{Elbo, Svi, SviConfig};

const DX: usize = 784;
const STEPS: usize = 200;
const BATCH: usize = 128;

/// One fit on `rows` rows; prints `rows data_bytes peak_fit_kb rss_before_kb`.
fn measure(rows: usize) -> Result<(), String> {
    let device = default_device().map_err(|e| e.to_string())?;
    let mut key = RngKey::new(7);
    let pixels: Vec<f32> = key.standard_normal(rows * DX).into_iter().map(|v| v as f32).collect();
    let labels: Vec<i64> = (0..rows).map(|i| (i % 3) as i64).collect();
    let x = Tensor::<B, 2>::from_data(TensorData::new(pixels, [rows, DX]), &device);
    let y = Tensor::<B, 1, Int>::from_data(TensorData::new(labels, [rows]), &device);
    let data = Data::new().with("x", x).with("y", y);
    let data_bytes = rows * DX * 4 + rows * 8;
    // Forget the peak of building the data (host vectors and their upload).
    std::fs::write("/proc/self/clear_refs", "5").map_err(|e| format!("cannot reset VmHWM: {e}"))?;
    let before = proc_status_kb("VmRSS:").unwrap_or(0);
    let (p, q) = ppl_examples::digits::build::<B>(1, &device);
    let config = SviConfig {
        epochs: usize::MAX,
        batch_size: BATCH,
        max_steps: Some(STEPS),
        elbo: Elbo::MeanField { particles: 1 },
        progress: false,
        ..Default::default()
    };
    let mut svi = Svi::new(p, q, config, &device);
    svi.fit(&data).map_err(|e| e.to_string())?;
    let peak = proc_status_kb("VmHWM:").ok_or("no VmHWM in /proc/self/status")?;
    println!("{rows} {data_bytes} {peak} {before}");
    Ok(())
}

fn run_child(rows: usize) -> Result<(usize, u64, u64), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = Command::new(exe)
        .args(["--rows", &rows.to_string()])
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let f: Vec<u64> = text.split_whitespace().filter_map(|t| t.parse().ok()).collect();
    match f[..] {
        [_, bytes, peak, _] => Ok((bytes as usize, peak, f[3])),
        _ => Err(format!("unexpected output {text:?}")),
    }
}

/// Peak memory of amortized SVI against the number of rows (the module docs above).
#[derive(Debug, clap::Parser)]
#[command(name = "amortized_memory")]
struct Args {
    /// Measure one fit on this many rows and print `rows data_bytes peak_fit_kb rss_before_kb` (default: compare)
    #[arg(long, value_name = "N", conflicts_with = "compare")]
    rows: Option<usize>,
    /// Compare N rows against 10·N rows in two fresh processes and check the criterion
    #[arg(long, value_name = "N", default_value_t = 1800)]
    compare: usize,
}

fn main() -> ExitCode {
    let args = <Args as clap::Parser>::parse();
    if let Some(rows) = args.rows {
        return match measure(rows) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let n = args.compare;
    let (small, large) = match (run_child(n), run_child(10 * n)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mb = |kb: u64| kb as f64 / 1024.0;
    let mib = |b: usize| b as f64 / (1024.0 * 1024.0);
    println!(
        "amortized SVI, digit P/Q models, {STEPS} steps of batch {BATCH}, backend {}",
        ppl_examples::backend::BACKEND_NAME
    );
    println!(
        "{:>8} {:>12} {:>16} {:>16}",
        "rows", "data MiB", "RSS before MiB", "peak fit MiB"
    );
    for (rows, (bytes, peak, before)) in [(n, small), (10 * n, large)] {
        println!("{rows:>8} {:>12.1} {:>16.1} {:>16.1}", mib(bytes), mb(before), mb(peak));
    }
    let growth = mb(large.1) - mb(small.1);
    let allowed = mib(large.0) * 1.1;
    let extra = growth - (mib(large.0) - mib(small.0));
    println!("peak growth {growth:.1} MiB ({extra:+.1} MiB beyond the added data); allowed (10·N data + 10 %) {allowed:.1} MiB");
    if growth < allowed {
        println!("PASS");
        ExitCode::SUCCESS
    } else {
        println!("FAIL");
        ExitCode::FAILURE
    }
}

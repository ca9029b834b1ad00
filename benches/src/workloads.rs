//! The two SVI workloads shared by the criterion benches, the peer comparison and the memory
//! check: the InferPy digit classifier and Edward's VAE, on synthetic data of MNIST shape.
//!
//! The Python peers in `benches/peers/` build the same networks, data sizes and objective
//! (analytic-KL mean-field ELBO, one particle, Adam lr 1e-3, minibatches of 128 scaled by N/M)
//! so that one step here and one step there do the same arithmetic.

use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Int, Tensor, TensorData};
use ppl_core::Data;
use ppl_dist::RngKey;
use ppl_examples::{digits, vae};
use ppl_infer::{Elbo, InferError, Svi, SviConfig};

/// Pixels per image.
pub const DX: usize = 784;
/// Rows per minibatch in every workload.
pub const BATCH: usize = 128;
/// Distinct minibatches a runner cycles through (uploaded once, so a step measures compute).
pub const DISTINCT_BATCHES: usize = 16;

/// Which model a runner steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// The digit classifier (k = 2, 784–100–2k encoder, NN1 2–100–784, NN2 2–3), N = 18 000.
    Digits,
    /// Edward's VAE (784–256–(10, 10) encoder, 10–256–784 Bernoulli decoder), N = 60 000.
    Vae,
}

impl Workload {
    /// Both workloads.
    pub const ALL: [Workload; 2] = [Workload::Digits, Workload::Vae];

    /// The name used on the command line and in result tables.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Digits => "digits",
            Workload::Vae => "vae",
        }
    }

    /// Parse [`Self::name`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|w| w.name() == s)
    }

    /// Rows of the full (synthetic) data set the minibatches are scaled to.
    pub fn full_size(self) -> usize {
        match self {
            Workload::Digits => 18_000,
            Workload::Vae => 60_000,
        }
    }
}

/// Synthetic MNIST-shaped rows: 81 % of pixels 0 and the rest uniform in (0, 1) (MNIST's share
/// of blank pixels), binarized (> 0 → 1) for the VAE; labels cycle through 0, 1, 2.
///
/// Returns `(pixels [rows·784] row-major, labels [rows])`.
pub fn synthetic_mnist(workload: Workload, rows: usize, seed: u64) -> (Vec<f32>, Vec<i64>) {
    let key = RngKey::new(seed).fold_in("synthetic-mnist");
    let on = key.fold_in("on").uniform(rows * DX);
    let level = key.fold_in("level").uniform(rows * DX);
    let pixels = on
        .iter()
        .zip(&level)
        .map(|(&o, &l)| match (o < 0.19, workload) {
            (false, _) => 0.0,
            (true, Workload::Vae) => 1.0,
            (true, Workload::Digits) => l as f32,
        })
        .collect();
    let labels = (0..rows).map(|i| (i % 3) as i64).collect();
    (pixels, labels)
}

/// Minibatches of one workload, uploaded once, handed out in a cycle.
pub struct Batches<B: AutodiffBackend> {
    batches: Vec<Data<B>>,
    next: usize,
}

impl<B: AutodiffBackend> Batches<B> {
    /// [`DISTINCT_BATCHES`] minibatches of [`BATCH`] synthetic rows on `device`.
    pub fn new(workload: Workload, seed: u64, device: &B::Device) -> Self {
        let rows = DISTINCT_BATCHES * BATCH;
        let (pixels, labels) = synthetic_mnist(workload, rows, seed);
        let batches = (0..DISTINCT_BATCHES)
            .map(|b| {
                let px = pixels[b * BATCH * DX..(b + 1) * BATCH * DX].to_vec();
                let x = Tensor::<B, 2>::from_data(TensorData::new(px, [BATCH, DX]), device);
                let data = Data::new().with("x", x);
                match workload {
                    Workload::Digits => {
                        let lb = labels[b * BATCH..(b + 1) * BATCH].to_vec();
                        data.with(
                            "y",
                            Tensor::<B, 1, Int>::from_data(TensorData::new(lb, [BATCH]), device),
                        )
                    }
                    Workload::Vae => data,
                }
            })
            .collect();
        Self { batches, next: 0 }
    }

    /// The next minibatch in the cycle.
    pub fn next_batch(&mut self) -> &Data<B> {
        let i = self.next;
        self.next = (self.next + 1) % self.batches.len();
        &self.batches[i]
    }
}

type DigitsSvi<B> = Svi<B, digits::DigitModel<B>, digits::DigitQ<B>>;
type VaeSvi<B> = Svi<B, vae::VaeModel<B>, vae::VaeGuide<B>>;

/// An SVI engine for one workload, stepping through its minibatches.
pub enum StepRunner<B: AutodiffBackend> {
    /// The digit classifier.
    Digits(Box<DigitsSvi<B>>, Batches<B>),
    /// The VAE.
    Vae(Box<VaeSvi<B>>, Batches<B>),
}

/// The SVI settings of every workload: mean-field ELBO (analytic KL), 1 particle, Adam lr 1e-3.
pub fn bench_config(seed: u64) -> SviConfig {
    SviConfig {
        batch_size: BATCH,
        lr: 1e-3,
        seed,
        elbo: Elbo::MeanField { particles: 1 },
        progress: false,
        ..Default::default()
    }
}

impl<B: AutodiffBackend> StepRunner<B> {
    /// Models with seeded weights and synthetic minibatches.
    pub fn new(workload: Workload, seed: u64, device: &B::Device) -> Self {
        let batches = Batches::new(workload, seed, device);
        match workload {
            Workload::Digits => {
                let (p, q) = digits::build::<B>(seed, device);
                StepRunner::Digits(Box::new(Svi::new(p, q, bench_config(seed), device)), batches)
            }
            Workload::Vae => {
                let (p, q) = vae::build::<B>(seed, device);
                StepRunner::Vae(Box::new(Svi::new(p, q, bench_config(seed), device)), batches)
            }
        }
    }

    /// One SVI step (forward, ELBO, backward, Adam) on the next minibatch; returns the loss.
    ///
    /// # Errors
    /// As [`Svi::step`].
    pub fn step(&mut self) -> Result<f64, InferError> {
        match self {
            StepRunner::Digits(svi, b) => svi.step(b.next_batch(), Workload::Digits.full_size()),
            StepRunner::Vae(svi, b) => svi.step(b.next_batch(), Workload::Vae.full_size()),
        }
    }
}

impl<B: AutodiffBackend> StepRunner<B> {
    /// Evaluate the objective on the next minibatch without updating (`Svi::evaluate`).
    ///
    /// # Errors
    /// As [`Svi::evaluate`].
    pub fn evaluate(&mut self) -> Result<f64, InferError> {
        let key = ppl_dist::RngKey::new(7);
        match self {
            StepRunner::Digits(svi, b) => Ok(svi.evaluate(b.next_batch(), Workload::Digits.full_size(), &key)?.elbo),
            StepRunner::Vae(svi, b) => Ok(svi.evaluate(b.next_batch(), Workload::Vae.full_size(), &key)?.elbo),
        }
    }
}

/// A field of `/proc/self/status` in kB (Linux), e.g. `"VmHWM:"` for the peak resident set.
pub fn proc_status_kb(field: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

//! Explicit, host-side random number generation.
//!
//! burn's NdArray generator is a single process-wide state: two tests or two models in one
//! process interleave their draws. `ppl-dist` never uses it. Every sampler takes an
//! [`RngKey`]: a seeded ChaCha8 stream on the host that produces standard noise
//! (uniform, normal, exponential, gamma, …) in `f64`, which is then uploaded to the
//! device. The same key therefore gives the same numbers whatever else runs in the process,
//! and the same numbers on every backend (up to the backend's float precision).
//!
//! ```
//! use ppl_dist::RngKey;
//! let mut a = RngKey::new(42);
//! let mut b = RngKey::new(42);
//! assert_eq!(a.standard_normal(3), b.standard_normal(3));
//! // Named children are independent of the order in which they are made.
//! assert_eq!(a.fold_in("z").seed(), RngKey::new(42).fold_in("z").seed());
//! ```

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution as _, Exp1, Gamma, StandardNormal};

/// A seeded, explicit random stream (ChaCha8 on the host).
///
/// Cloning a key clones its position: both copies then produce the same draws.
/// Use [`RngKey::split`] or [`RngKey::fold_in`] for independent streams.
#[derive(Debug, Clone)]
pub struct RngKey {
    seed: u64,
    rng: ChaCha8Rng,
}

/// The serializable position of an [`RngKey`] (for checkpoints).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RngState {
    /// The seed the key was made from.
    pub seed: u64,
    /// Position in the ChaCha stream, in 32-bit words.
    pub word_pos: u128,
}

/// SplitMix64 finaliser: a bijective mixer used to derive child seeds.
fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl RngKey {
    /// A key from a seed.
    pub fn new(seed: u64) -> Self {
        RngKey {
            seed,
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// The seed this key was made from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The key's current position, enough to restore it with [`RngKey::from_state`].
    pub fn state(&self) -> RngState {
        RngState {
            seed: self.seed,
            word_pos: self.rng.get_word_pos(),
        }
    }

    /// Restore a key saved with [`RngKey::state`].
    pub fn from_state(state: RngState) -> Self {
        let mut key = RngKey::new(state.seed);
        key.rng.set_word_pos(state.word_pos);
        key
    }

    /// A child key derived from this key's seed and a name (e.g. a site name); it does not
    /// advance this key, so the child does not depend on what was drawn before.
    pub fn fold_in(&self, name: &str) -> RngKey {
        // FNV-1a over the name, then mixed with the seed.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in name.as_bytes() {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01B3);
        }
        RngKey::new(mix64(self.seed ^ mix64(h)))
    }

    /// A child key derived from this key's seed and a counter (e.g. a step number).
    pub fn fold_in_u64(&self, data: u64) -> RngKey {
        RngKey::new(mix64(self.seed ^ mix64(data ^ 0xA5A5_A5A5_A5A5_A5A5)))
    }

    /// A new independent key; advances this one.
    pub fn split(&mut self) -> RngKey {
        let s: u64 = self.rng.random();
        RngKey::new(mix64(s))
    }

    /// `n` uniform draws in `[0, 1)`.
    pub fn uniform(&mut self, n: usize) -> Vec<f64> {
        (0..n).map(|_| self.rng.random::<f64>()).collect()
    }

    /// `n` uniform draws in the open interval `(0, 1)`, safe to take logs of.
    pub fn uniform_open(&mut self, n: usize) -> Vec<f64> {
        (0..n)
            .map(|_| {
                // 53 random bits, centred in their cell: never 0, never 1.
                let k = self.rng.random::<u64>() >> 11;
                (k as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
            })
            .collect()
    }

    /// `n` standard normal draws.
    pub fn standard_normal(&mut self, n: usize) -> Vec<f64> {
        (0..n).map(|_| StandardNormal.sample(&mut self.rng)).collect()
    }

    /// `n` standard exponential draws (rate 1).
    pub fn standard_exponential(&mut self, n: usize) -> Vec<f64> {
        (0..n).map(|_| Exp1.sample(&mut self.rng)).collect()
    }

    /// One Gamma(`shape`, rate 1) draw; `shape` must be finite and > 0.
    pub fn standard_gamma(&mut self, shape: f64) -> f64 {
        match Gamma::new(shape, 1.0) {
            Ok(g) => g.sample(&mut self.rng),
            Err(_) => f64::NAN,
        }
    }

    /// The logarithm of one Gamma(`shape`, rate 1) draw, computed in log space so that it
    /// stays finite for tiny shapes (where the draw itself underflows):
    /// `ln G(α) = ln G(α + 1) + ln(U)/α` for `α < 1`.
    pub fn log_standard_gamma(&mut self, shape: f64) -> f64 {
        if shape >= 1.0 {
            self.standard_gamma(shape).ln()
        } else {
            let g = self.standard_gamma(shape + 1.0).ln();
            let u = self.uniform_open(1)[0];
            g + u.ln() / shape
        }
    }

    /// One Poisson(`rate`) draw; `rate` must be finite and ≥ 0.
    pub fn poisson(&mut self, rate: f64) -> f64 {
        if rate <= 0.0 {
            return 0.0;
        }
        match rand_distr::Poisson::new(rate) {
            Ok(p) => p.sample(&mut self.rng),
            Err(_) => f64::NAN,
        }
    }

    /// One Binomial(`n`, `p`) draw.
    pub fn binomial(&mut self, n: u64, p: f64) -> f64 {
        match rand_distr::Binomial::new(n, p.clamp(0.0, 1.0)) {
            Ok(b) => b.sample(&mut self.rng) as f64,
            Err(_) => f64::NAN,
        }
    }

    /// One index in `0..n`, uniformly.
    pub fn index(&mut self, n: usize) -> usize {
        self.rng.random_range(0..n)
    }
}

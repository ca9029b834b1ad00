//! Where samplers draw their noise: on the host (the default) or on the tensors' device.
//!
//! [`Sampling::Host`] draws every random number on the host from the [`RngKey`] (ChaCha8)
//! and uploads it: a seed fixes every draw bit for bit on every backend. [`Sampling::Device`]
//! draws the uniform and normal noise behind the location-scale and inverse-CDF samplers
//! (Normal, LogNormal, HalfNormal, MultivariateNormal, Uniform, Bernoulli, Categorical,
//! OneHotCategorical, Gumbel, Exponential, Laplace, Logistic, Cauchy, HalfCauchy, Pareto,
//! Weibull, Geometric) with burn's device RNG, seeded from the key at each draw, and
//! transforms it on the device: nothing is uploaded, which is what a GPU wants. On a given
//! backend the draws are then fixed by the key, also with other threads drawing at the same
//! time (burn's RNG is one per backend, so each draw is seeded and made under one lock; code
//! outside this crate that reseeds burn's RNG between the two is not covered); across
//! backends they differ. The samplers built on Gamma draws (Gamma, Beta, Dirichlet, StudentT,
//! InverseGamma, Chi2) draw by Marsaglia–Tsang in tensor operations on the device (rounds of
//! proposals for every element at once, one boolean read back every four rounds to see that
//! all have accepted) and compute their implicit-reparameterization gradients there too
//! ([`crate::special::d_log_gamma_sample`]: exact series and continued fraction up to shape
//! 80, within 10⁻³ relative above; the host mode's are exact to ~10⁻⁹). The counting ones
//! (Poisson, Binomial, …) and LKJ draw on the host in either mode.
//!
//! The mode is per thread, set for a scope with [`with_sampling`]; `ppl_infer`'s `SviConfig`
//! sets it for every step.
//!
//! ```
//! use burn::backend::NdArray;
//! use burn::tensor::Tensor;
//! use ppl_dist::sampling::{with_sampling, Sampling};
//! use ppl_dist::{Distribution, Normal, RngKey};
//!
//! let dev = Default::default();
//! let d = Normal::new(Tensor::<NdArray<f32>, 1>::zeros([4], &dev), 1.0).unwrap();
//! let host = d.sample(&mut RngKey::new(7));
//! let on_device = with_sampling(Sampling::Device, || d.sample(&mut RngKey::new(7)));
//! assert_eq!(on_device.dims(), [4]);
//! assert_ne!(host.to_data(), on_device.to_data()); // another generator
//! ```

use std::cell::Cell;

use burn::tensor::backend::Backend;
use burn::tensor::{Distribution as BurnDistribution, Tensor};

use crate::RngKey;

/// Where samplers draw their noise (see the [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sampling {
    /// On the host from the [`RngKey`], uploaded: bitwise reproducible on every backend.
    #[default]
    Host,
    /// With burn's device RNG (seeded from the key at each draw), transformed on the device.
    Device,
}

thread_local! {
    static MODE: Cell<Sampling> = const { Cell::new(Sampling::Host) };
}

/// The sampling mode of this thread now ([`Sampling::Host`] unless inside [`with_sampling`]).
pub fn sampling() -> Sampling {
    MODE.with(Cell::get)
}

/// Run `f` with this thread's sampling mode set to `mode`, then restore the previous mode
/// (also when `f` panics).
pub fn with_sampling<R>(mode: Sampling, f: impl FnOnce() -> R) -> R {
    crate::thread_setting::with_thread_setting(&MODE, mode, f)
}

/// The smallest value a device uniform draw is raised to before a logarithm: 2⁻²⁴, f32's
/// resolution below 1 (a draw of exactly 0 would give an infinite value).
const OPEN_FLOOR: f64 = 1.0 / 16_777_216.0;

/// `Distribution` noise of `shape` from burn's device RNG, seeded from `rng` (which advances).
pub(crate) fn device_noise<B: Backend, const D: usize>(
    shape: [usize; D],
    distribution: BurnDistribution,
    rng: &mut RngKey,
    dev: &B::Device,
) -> Tensor<B, D> {
    let seed = rng.split().seed();
    // burn's RNG is one per backend, shared by every thread: seeding and drawing happen under
    // one lock, so a draw follows its own seed even while other threads (data-parallel peers,
    // parallel fits) draw too, and a key fixes it.
    let _seed_and_draw = DEVICE_RNG.lock().unwrap_or_else(|e| e.into_inner());
    B::seed(dev, seed);
    // In the backend's float type (burn's default dtype is kept per device type, and may be
    // another backend's in a process that runs two).
    Tensor::random(shape, distribution, crate::param::float_options::<B>(dev))
}

/// Held from seeding burn's device RNG to the draw that follows (see [`device_noise`]).
static DEVICE_RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Uniform device noise in the open interval `(0, 1)`: draws below 2⁻²⁴ are raised to it.
pub(crate) fn device_open_uniform<B: Backend, const D: usize>(
    shape: [usize; D],
    rng: &mut RngKey,
    dev: &B::Device,
) -> Tensor<B, D> {
    device_noise::<B, D>(shape, BurnDistribution::Uniform(0.0, 1.0), rng, dev).clamp_min(OPEN_FLOOR)
}

#[cfg(test)]
mod tests {
    use burn::backend::NdArray;

    use super::*;
    use crate::{Distribution, Normal};

    /// Device draws from threads drawing at once equal the same keys' draws made alone: each
    /// draw is seeded and made under one lock.
    #[test]
    fn device_draws_are_fixed_by_their_key_while_other_threads_draw() {
        type B = NdArray<f32>;
        let dev = Default::default();
        let draw = |seed: u64| {
            let d = Normal::new(Tensor::<B, 1>::zeros([64], crate::param::float_options::<B>(&dev)), 1.0).unwrap();
            with_sampling(Sampling::Device, || d.sample(&mut RngKey::new(seed)).into_data())
        };
        let alone: Vec<_> = (0..4u64).map(draw).collect();
        std::thread::scope(|s| {
            let threads: Vec<_> = (0..4u64)
                .map(|t| s.spawn(move || (0..50).map(|_| draw(t)).collect::<Vec<_>>()))
                .collect();
            for (t, h) in threads.into_iter().enumerate() {
                for d in h.join().unwrap() {
                    assert_eq!(d, alone[t], "thread {t} drew another key's numbers");
                }
            }
        });
    }
}

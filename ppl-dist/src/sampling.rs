//! Where samplers draw their noise: on the host (the default) or on the tensors' device.
//!
//! [`Sampling::Host`] draws every random number on the host from the [`RngKey`] (ChaCha8)
//! and uploads it: a seed fixes every draw bit for bit on every backend. [`Sampling::Device`]
//! draws the uniform and normal noise behind the location-scale and inverse-CDF samplers
//! (Normal, LogNormal, HalfNormal, MultivariateNormal, Uniform, Bernoulli, Categorical,
//! OneHotCategorical, Gumbel, Exponential, Laplace, Logistic, Cauchy, HalfCauchy, Pareto,
//! Weibull, Geometric) with burn's device RNG, seeded from the key at each draw, and
//! transforms it on the device: nothing is uploaded, which is what a GPU wants. On a given
//! backend the draws are then fixed by the key only while no other thread draws from the same
//! backend (burn's RNG is one per backend); across backends they differ. The samplers built
//! on Gamma draws (Gamma, Beta, Dirichlet, StudentT, InverseGamma, Chi2) and the counting ones
//! (Poisson, Binomial, …) draw on the host in either mode.
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
    struct Restore(Sampling);
    impl Drop for Restore {
        fn drop(&mut self) {
            MODE.with(|m| m.set(self.0));
        }
    }
    let _restore = Restore(MODE.with(|m| m.replace(mode)));
    f()
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
    B::seed(dev, rng.split().seed());
    // In the backend's float type (burn's default dtype is kept per device type, and may be
    // another backend's in a process that runs two).
    Tensor::random(shape, distribution, crate::param::float_options::<B>(dev))
}

/// Uniform device noise in the open interval `(0, 1)`: draws below 2⁻²⁴ are raised to it.
pub(crate) fn device_open_uniform<B: Backend, const D: usize>(
    shape: [usize; D],
    rng: &mut RngKey,
    dev: &B::Device,
) -> Tensor<B, D> {
    device_noise::<B, D>(shape, BurnDistribution::Uniform(0.0, 1.0), rng, dev).clamp_min(OPEN_FLOOR)
}

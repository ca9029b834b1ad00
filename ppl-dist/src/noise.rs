//! Standard noise drawn on the host from an [`RngKey`] and uploaded, plus the implicit
//! reparameterization of Gamma draws.

use burn::tensor::{backend::Backend, Tensor};

use burn::tensor::Distribution as BurnDistribution;

use crate::param::{host_values, upload};
use crate::sampling::{device_noise, device_open_uniform, sampling, Sampling};
use crate::special::{digamma_f64, gamma_p_da, lgamma_f64};
use crate::RngKey;

/// Number of elements of a shape.
pub(crate) fn numel<const D: usize>(shape: [usize; D]) -> usize {
    shape.iter().product()
}

/// Standard normal noise of `shape` (on the host or the device: [`crate::sampling`]).
pub(crate) fn normal<B: Backend, const D: usize>(shape: [usize; D], rng: &mut RngKey, dev: &B::Device) -> Tensor<B, D> {
    match sampling() {
        Sampling::Host => upload(rng.standard_normal(numel(shape)), shape, dev),
        Sampling::Device => device_noise(shape, BurnDistribution::Normal(0.0, 1.0), rng, dev),
    }
}

/// Uniform noise in `[0, 1)` (on the host or the device: [`crate::sampling`]).
pub(crate) fn uniform<B: Backend, const D: usize>(
    shape: [usize; D],
    rng: &mut RngKey,
    dev: &B::Device,
) -> Tensor<B, D> {
    match sampling() {
        Sampling::Host => upload(rng.uniform(numel(shape)), shape, dev),
        Sampling::Device => device_noise(shape, BurnDistribution::Uniform(0.0, 1.0), rng, dev),
    }
}

/// Noise `f(u)` with `u` uniform in the open interval `(0, 1)`: on the host `host(u)` in f64
/// (so that e.g. `−ln u` never overflows after rounding to f32), on the device
/// `device(u)`, the same function in tensor operations ([`crate::sampling`]).
pub(crate) fn from_open_uniform<B: Backend, const D: usize>(
    shape: [usize; D],
    rng: &mut RngKey,
    dev: &B::Device,
    host: impl Fn(f64) -> f64,
    device: impl FnOnce(Tensor<B, D>) -> Tensor<B, D>,
) -> Tensor<B, D> {
    match sampling() {
        Sampling::Host => upload(
            rng.uniform_open(numel(shape)).into_iter().map(host).collect(),
            shape,
            dev,
        ),
        Sampling::Device => device(device_open_uniform(shape, rng, dev)),
    }
}

/// Standard Gumbel noise `−ln(−ln u)` (for Gumbel-max sampling of categories).
pub(crate) fn gumbel<B: Backend, const D: usize>(shape: [usize; D], rng: &mut RngKey, dev: &B::Device) -> Tensor<B, D> {
    from_open_uniform(shape, rng, dev, |u| -(-u.ln()).ln(), |u| u.log().neg().log().neg())
}

/// One log-space Gamma(`alpha`, 1) draw and the implicit-reparameterization derivative
/// `d ln z / dα = −(∂F(z; α)/∂α) / (z·f(z; α))` (Figurnov, Mohamed & Mnih 2018).
///
/// Where `z` underflows (tiny α) the small-`z` limit `(ln z − ψ(α + 1))/α` of the same
/// formula is used.
pub(crate) fn log_gamma_with_grad(rng: &mut RngKey, alpha: f64) -> (f64, f64) {
    let ln_z = rng.log_standard_gamma(alpha);
    let z = ln_z.exp();
    let d = if z > 1e-250 {
        let log_zf = alpha * ln_z - z - lgamma_f64(alpha);
        -gamma_p_da(alpha, z) / log_zf.exp()
    } else {
        (ln_z - digamma_f64(alpha + 1.0)) / alpha
    };
    (ln_z, if d.is_finite() { d } else { 0.0 })
}

/// Gamma(`alpha`, 1) draws of `shape` with implicit-reparameterization gradients.
///
/// The value is an exact Gamma draw (Marsaglia–Tsang on the host); its gradient w.r.t.
/// `alpha` is attached through the surrogate `z + (α − stop_grad(α))·dz/dα`, whose value
/// is exactly `z`.
pub(crate) fn standard_gamma_rsample<B: Backend, const D: usize>(
    alpha: Tensor<B, D>,
    shape: [usize; D],
    rng: &mut RngKey,
) -> Tensor<B, D> {
    let dev = alpha.device();
    let alpha = alpha.expand(shape);
    let (mut z, mut dz) = (Vec::new(), Vec::new());
    for a in host_values(&alpha) {
        let (ln_z, d) = log_gamma_with_grad(rng, a);
        let zi = ln_z.exp();
        z.push(zi);
        dz.push(zi * d);
    }
    let z = upload::<B, D>(z, shape, &dev);
    let dz = upload::<B, D>(dz, shape, &dev);
    z + (alpha.clone() - alpha.detach()) * dz
}

/// Draws from the simplex `Gᵢ / Σⱼ Gⱼ` (`Gᵢ ~ Gamma(αᵢ)`, along the last dimension of
/// `shape`), normalised in log space, with implicit-reparameterization gradients:
/// `∂xᵢ/∂αⱼ = xᵢ(δᵢⱼ − xⱼ)·d ln Gⱼ/dαⱼ`, attached through a zero-valued surrogate.
pub(crate) fn simplex_rsample<B: Backend, const D: usize>(
    alpha: Tensor<B, D>,
    shape: [usize; D],
    rng: &mut RngKey,
) -> Tensor<B, D> {
    let dev = alpha.device();
    let alpha = alpha.expand(shape);
    let k = shape[D - 1];
    let a = host_values(&alpha);
    let (mut x, mut dlog) = (Vec::with_capacity(a.len()), Vec::with_capacity(a.len()));
    for row in a.chunks(k) {
        let draws: Vec<(f64, f64)> = row.iter().map(|&ai| log_gamma_with_grad(rng, ai)).collect();
        let m = draws.iter().map(|d| d.0).fold(f64::NEG_INFINITY, f64::max);
        let lse = m + draws.iter().map(|d| (d.0 - m).exp()).sum::<f64>().ln();
        for (ln_g, d) in draws {
            x.push((ln_g - lse).exp());
            dlog.push(d);
        }
    }
    let x = upload::<B, D>(x, shape, &dev);
    let s = (alpha.clone() - alpha.detach()) * upload::<B, D>(dlog, shape, &dev);
    let mean_s = (x.clone() * s.clone()).sum_dim(D - 1);
    x.clone() + x * (s - mean_s)
}

/// Beta(`alpha`, `beta`) draws `X/(X + Y)` computed as `sigmoid(ln X − ln Y)` from
/// log-space Gamma draws, with implicit-reparameterization gradients
/// `∂x/∂α = x(1 − x)·d ln X/dα`, `∂x/∂β = −x(1 − x)·d ln Y/dβ`.
pub(crate) fn beta_rsample<B: Backend, const D: usize>(
    alpha: Tensor<B, D>,
    beta: Tensor<B, D>,
    shape: [usize; D],
    rng: &mut RngKey,
) -> Tensor<B, D> {
    let dev = alpha.device();
    let (alpha, beta) = (alpha.expand(shape), beta.expand(shape));
    let n = numel(shape);
    let (mut x, mut da, mut db) = (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
    for (a, b) in host_values(&alpha).into_iter().zip(host_values(&beta)) {
        let (lx, dx) = log_gamma_with_grad(rng, a);
        let (ly, dy) = log_gamma_with_grad(rng, b);
        let xi = 1.0 / (1.0 + (ly - lx).exp());
        x.push(xi);
        da.push(xi * (1.0 - xi) * dx);
        db.push(-xi * (1.0 - xi) * dy);
    }
    let x = upload::<B, D>(x, shape, &dev);
    let sa = (alpha.clone() - alpha.detach()) * upload::<B, D>(da, shape, &dev);
    let sb = (beta.clone() - beta.detach()) * upload::<B, D>(db, shape, &dev);
    x + sa + sb
}

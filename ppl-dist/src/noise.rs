//! Standard noise drawn on the host from an [`RngKey`] and uploaded (or on the device:
//! [`crate::sampling`]), plus the implicit reparameterization of Gamma draws.

use burn::tensor::{backend::Backend, Tensor};

use burn::tensor::Distribution as BurnDistribution;

use crate::gamma_device::device_log_standard_gamma;
use crate::param::{host_values, upload};
use crate::sampling::{device_noise, device_open_uniform, sampling, Sampling};
use crate::special::{d_log_gamma_sample, digamma_f64, gamma_p_da, lgamma_f64, log_sum_exp, sigmoid};
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
/// `d ln z / dα` ([`d_log_gamma_d_alpha`]).
pub(crate) fn log_gamma_with_grad(rng: &mut RngKey, alpha: f64) -> (f64, f64) {
    let ln_z = rng.log_standard_gamma(alpha);
    (ln_z, d_log_gamma_d_alpha(alpha, ln_z))
}

/// The implicit-reparameterization derivative of a Gamma(`alpha`, 1) draw `z` (given as
/// `ln z`): `d ln z / dα = −(∂F(z; α)/∂α) / (z·f(z; α))` (Figurnov, Mohamed & Mnih 2018),
/// 0 where it is not finite.
///
/// Where `z` underflows (tiny α) the small-`z` limit of the same formula is used: with
/// `F ≈ z^α/Γ(α + 1)` and `z·f ≈ α·F`, `d ln z/dα = −(ln z − ψ(α + 1))/α` (positive: a
/// larger shape moves a tiny draw up).
pub(crate) fn d_log_gamma_d_alpha(alpha: f64, ln_z: f64) -> f64 {
    let z = ln_z.exp();
    let d = if z > 1e-250 {
        let log_zf = alpha * ln_z - z - lgamma_f64(alpha);
        -gamma_p_da(alpha, z) / log_zf.exp()
    } else {
        -(ln_z - digamma_f64(alpha + 1.0)) / alpha
    };
    if d.is_finite() {
        d
    } else {
        0.0
    }
}

/// Gamma(`alpha`, 1) draws of `shape` with implicit-reparameterization gradients.
///
/// The value is an exact Gamma draw (Marsaglia–Tsang, on the host or, in device mode, in
/// tensor operations: [`crate::sampling`]); its gradient w.r.t. `alpha` is attached through
/// the surrogate `z + (α − stop_grad(α))·dz/dα`, whose value is exactly `z`. In device mode
/// `dz/dα` is computed on the device too ([`d_log_gamma_sample`]).
pub(crate) fn standard_gamma_rsample<B: Backend, const D: usize>(
    alpha: Tensor<B, D>,
    shape: [usize; D],
    rng: &mut RngKey,
) -> Tensor<B, D> {
    let alpha = alpha.expand(shape);
    let (z, dz) = match sampling() {
        Sampling::Host => {
            let dev = alpha.device();
            let (mut z, mut dz) = (Vec::new(), Vec::new());
            for a in host_values(&alpha) {
                let (ln_z, d) = log_gamma_with_grad(rng, a);
                let zi = ln_z.exp();
                z.push(zi);
                dz.push(zi * d);
            }
            (upload::<B, D>(z, shape, &dev), upload::<B, D>(dz, shape, &dev))
        }
        Sampling::Device => {
            let (ln_z, d) = device_log_gamma_with_grad(alpha.clone(), rng);
            let z = ln_z.exp();
            (z.clone(), z * d)
        }
    };
    z + (alpha.clone() - alpha.detach()) * dz
}

/// Device twin of [`log_gamma_with_grad`]: `ln z` of Gamma(`alpha`, 1) draws and
/// `d ln z/dα`, both computed on `alpha`'s device.
fn device_log_gamma_with_grad<B: Backend, const D: usize>(
    alpha: Tensor<B, D>,
    rng: &mut RngKey,
) -> (Tensor<B, D>, Tensor<B, D>) {
    let alpha = alpha.detach();
    let ln_z = device_log_standard_gamma(alpha.clone(), rng);
    let d = d_log_gamma_sample(alpha, ln_z.clone());
    (ln_z, d)
}

/// Draws from the simplex `Gᵢ / Σⱼ Gⱼ` (`Gᵢ ~ Gamma(αᵢ)`, along the last dimension of
/// `shape`), normalised in log space, with implicit-reparameterization gradients:
/// `∂xᵢ/∂αⱼ = xᵢ(δᵢⱼ − xⱼ)·d ln Gⱼ/dαⱼ`, attached through a zero-valued surrogate.
pub(crate) fn simplex_rsample<B: Backend, const D: usize>(
    alpha: Tensor<B, D>,
    shape: [usize; D],
    rng: &mut RngKey,
) -> Tensor<B, D> {
    let alpha = alpha.expand(shape);
    if sampling() == Sampling::Device {
        let (ln_g, dlog) = device_log_gamma_with_grad(alpha.clone(), rng);
        let x = (ln_g.clone() - log_sum_exp(ln_g, D - 1)).exp();
        let s = (alpha.clone() - alpha.detach()) * dlog;
        let mean_s = (x.clone() * s.clone()).sum_dim(D - 1);
        return x.clone() + x * (s - mean_s);
    }
    let dev = alpha.device();
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
    let (alpha, beta) = (alpha.expand(shape), beta.expand(shape));
    if sampling() == Sampling::Device {
        let (lx, dx) = device_log_gamma_with_grad(alpha.clone(), rng);
        let (ly, dy) = device_log_gamma_with_grad(beta.clone(), rng);
        let x = sigmoid(lx - ly);
        let slope = x.clone() * (x.clone().neg() + 1.0);
        let sa = (alpha.clone() - alpha.detach()) * slope.clone() * dx;
        let sb = (beta.clone() - beta.detach()) * slope * dy;
        return x - sb + sa;
    }
    let dev = alpha.device();
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The host derivative of a tiny Gamma draw takes the same value just below the
    /// underflow cut (`z = 10⁻²⁵⁰`, the small-`z` limit) as just above it (the incomplete-gamma
    /// formula), and it is positive there: a larger shape moves a tiny draw up. (The limit had
    /// its sign flipped: α = 0.002 draws below 10⁻²⁵⁰ — a third of them — pulled α the wrong
    /// way.)
    #[test]
    fn the_small_draw_limit_continues_the_implicit_derivative() {
        let alpha = 0.002;
        let cut = 1e-250f64.ln();
        let above = d_log_gamma_d_alpha(alpha, cut + 1e-3);
        let below = d_log_gamma_d_alpha(alpha, cut - 1e-3);
        assert!(
            above > 0.0 && below > 0.0,
            "d ln z/dα: {above} above the cut, {below} below"
        );
        // Across 2·10⁻³ in ln z the derivative moves by 2·10⁻³/α = 1 (slope −1/α of the limit).
        assert!((above - below).abs() < 2.0, "{above} above the cut vs {below} below");
    }
}

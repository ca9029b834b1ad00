//! The normal distribution truncated to an interval.

use burn::tensor::{backend::Backend, Tensor};

use crate::constraint::mask_outside;
use crate::macros::{dist_common, sample_via_rsample};
use crate::param::{
    broadcast_params, check_param, check_param_each, common_device, expand_value, finite, host_values, not_nan,
    positive, upload, ParamArg,
};
use crate::special::{log_ndtr_f64, log_normal_interval_mass, log_normal_pdf_f64, ndtri_log_f64};
use crate::{Constraint, DistError, Distribution, RngKey};

use crate::special::HALF_LN_2PI;

/// The normal distribution `N(loc, scale²)` restricted to `[low, high]` and renormalised:
/// `ln p(x) = ln φ(z) − ln σ − ln Z` for `low ≤ x ≤ high`, with `z = (x − μ)/σ`,
/// `Z = Φ(β) − Φ(α)`, `α = (low − μ)/σ`, `β = (high − μ)/σ`
/// ([Wikipedia](https://en.wikipedia.org/wiki/Truncated_normal_distribution)).
/// Either bound may be infinite (`f64::NEG_INFINITY` / `f64::INFINITY`): a half-bounded or
/// an untruncated normal.
///
/// # Numerics
/// `ln Z` is computed by [`log_normal_interval_mass`](crate::special::log_normal_interval_mass),
/// accurate however far in a tail the interval lies (e.g. `[10σ, 11σ]` above the mean), and so
/// are `log_prob` and `mean`. The variance and the entropy in such a far tail are differences
/// of nearly equal terms of size `k²` (`k` the farther finite standardised bound) and lose
/// about `4 log₁₀ k` digits: exact enough in f64, in f32 trustworthy to `k ≲ 5`.
///
/// # Gradients
/// `rsample` is pathwise in all four parameters: the standardised draw
/// `ξ = Φ⁻¹(Φ(α) + u·Z)` is made on the host in f64 (in log space, so far tails work), and its
/// implicit derivatives `∂ξ/∂α = φ(α)(Φ(β) − Φ(ξ)) / (Z φ(ξ))`,
/// `∂ξ/∂β = φ(β)(Φ(ξ) − Φ(α)) / (Z φ(ξ))` are attached through a zero-valued surrogate;
/// `x = μ + σ ξ`.
///
/// # Shapes
/// The four parameters broadcast to the value shape; no event dimensions.
///
/// # Example
/// ```
/// use burn::backend::NdArray;
/// use ppl_dist::{Distribution, RngKey, TruncatedNormal};
/// // a standard normal kept above 0: the half-normal
/// let d = TruncatedNormal::<NdArray<f64>, 1>::new(0.0, 1.0, 0.0, f64::INFINITY).unwrap();
/// let x = d.sample_n(1000, &mut RngKey::new(1)).unwrap();
/// assert!(x.clone().min().into_scalar() >= 0.0);
/// assert!(TruncatedNormal::<NdArray<f64>, 1>::new(0.0, 1.0, 2.0, 1.0).is_err());
/// ```
#[derive(Debug, Clone)]
pub struct TruncatedNormal<B: Backend, const D: usize> {
    loc: Tensor<B, D>,
    scale: Tensor<B, D>,
    low: Tensor<B, D>,
    high: Tensor<B, D>,
    shape: [usize; D],
}

impl<B: Backend, const D: usize> TruncatedNormal<B, D> {
    /// A validated truncated normal: `loc` finite, `scale` finite and > 0, `low < high`
    /// (the bounds may be infinite, not NaN).
    ///
    /// # Errors
    /// [`DistError::InvalidParameter`] naming `loc`, `scale`, `low` or `high`;
    /// [`DistError::ShapeMismatch`] if the shapes do not broadcast.
    pub fn new(
        loc: impl Into<ParamArg<B, D>>,
        scale: impl Into<ParamArg<B, D>>,
        low: impl Into<ParamArg<B, D>>,
        high: impl Into<ParamArg<B, D>>,
    ) -> Result<Self, DistError> {
        let d = Self::resolve(loc.into(), scale.into(), low.into(), high.into())?;
        check_param("TruncatedNormal", "loc", &d.loc, "must be finite", finite)?;
        check_param("TruncatedNormal", "scale", &d.scale, "must be finite and > 0", positive)?;
        check_param_each("TruncatedNormal", "low", &d.low, "must not be NaN", not_nan)?;
        check_param_each("TruncatedNormal", "high", &d.high, "must not be NaN", not_nan)?;
        if crate::validation::parameter_checks() {
            let low = host_values(&d.low.clone().expand(d.shape));
            let high = host_values(&d.high.clone().expand(d.shape));
            if let Some((l, h)) = low.into_iter().zip(high).find(|(l, h)| l >= h) {
                return Err(DistError::invalid(
                    "TruncatedNormal",
                    "high",
                    h,
                    if l == h {
                        "must be > low (an interval of width 0 has no mass)"
                    } else {
                        "must be > low"
                    },
                ));
            }
        }
        Ok(d)
    }

    /// Without parameter checks.
    ///
    /// # Panics
    /// If the shapes do not broadcast.
    pub fn new_unchecked(
        loc: impl Into<ParamArg<B, D>>,
        scale: impl Into<ParamArg<B, D>>,
        low: impl Into<ParamArg<B, D>>,
        high: impl Into<ParamArg<B, D>>,
    ) -> Self {
        Self::resolve(loc.into(), scale.into(), low.into(), high.into())
            .expect("TruncatedNormal::new_unchecked: parameter shapes do not broadcast")
    }

    fn resolve(
        loc: ParamArg<B, D>,
        scale: ParamArg<B, D>,
        low: ParamArg<B, D>,
        high: ParamArg<B, D>,
    ) -> Result<Self, DistError> {
        let dev = common_device(&[&loc, &scale, &low, &high]);
        let (loc, scale, low, high) = (
            loc.into_tensor(&dev),
            scale.into_tensor(&dev),
            low.into_tensor(&dev),
            high.into_tensor(&dev),
        );
        let shape = broadcast_params(
            "TruncatedNormal",
            "loc, scale, low and high",
            &[loc.dims(), scale.dims(), low.dims(), high.dims()],
        )?;
        Ok(TruncatedNormal {
            loc,
            scale,
            low,
            high,
            shape,
        })
    }

    /// The mean of the untruncated normal.
    pub fn loc(&self) -> &Tensor<B, D> {
        &self.loc
    }

    /// The standard deviation of the untruncated normal.
    pub fn scale(&self) -> &Tensor<B, D> {
        &self.scale
    }

    /// The lower bound (may be −∞).
    pub fn low(&self) -> &Tensor<B, D> {
        &self.low
    }

    /// The upper bound (may be +∞).
    pub fn high(&self) -> &Tensor<B, D> {
        &self.high
    }

    /// The standardised bounds `(α, β)`, with infinite bounds as ∓10³ (replaced through a mask,
    /// so no infinity enters a differentiated operation).
    fn standard_bounds(&self) -> (Tensor<B, D>, Tensor<B, D>) {
        let standardise = |bound: &Tensor<B, D>, far: f64| {
            let inf = bound.clone().is_inf();
            let z = (bound.clone().mask_fill(inf.clone(), 0.0) - self.loc.clone()) / self.scale.clone();
            z.mask_fill(inf, far)
        };
        (standardise(&self.low, -1e3), standardise(&self.high, 1e3))
    }

    /// `(ln Z, φ(α)/Z, φ(β)/Z, α, β)` on the parameters' shape.
    fn moments_parts(&self) -> [Tensor<B, D>; 5] {
        let (a, b) = self.standard_bounds();
        let log_z = log_normal_interval_mass(a.clone(), b.clone());
        let ratio = |t: Tensor<B, D>| (t.powi_scalar(2) * -0.5 - HALF_LN_2PI - log_z.clone()).exp();
        [log_z.clone(), ratio(a.clone()), ratio(b.clone()), a, b]
    }
}

impl<B: Backend, const D: usize> Distribution<B, D> for TruncatedNormal<B, D> {
    dist_common!(
        "TruncatedNormal",
        event_dims = 0,
        support = Constraint::Interval,
        device = loc
    );
    sample_via_rsample!();

    fn log_prob(&self, value: Tensor<B, D>) -> Tensor<B, D> {
        let (a, b) = self.standard_bounds();
        let log_z = log_normal_interval_mass(a, b);
        let value = expand_value("TruncatedNormal", value, self.shape);
        let inside = crate::constraint::within(value.clone(), &self.low, &self.high);
        let z = (value - self.loc.clone()) / self.scale.clone();
        let lp = z.powi_scalar(2) * -0.5 - HALF_LN_2PI - self.scale.clone().log() - log_z;
        mask_outside(lp, inside)
    }

    fn support_bounds(&self) -> Option<(Tensor<B, D>, Tensor<B, D>)> {
        Some((
            self.low.clone().expand(self.shape),
            self.high.clone().expand(self.shape),
        ))
    }
    fn rsample_expanded(&self, shape: [usize; D], rng: &mut RngKey) -> Result<Tensor<B, D>, DistError> {
        let dev = self.device();
        let (a, b) = self.standard_bounds();
        let (a, b) = (a.expand(shape), b.expand(shape));
        let u = rng.uniform_open(crate::noise::numel(shape));
        let (mut xi, mut da, mut db) = (
            Vec::with_capacity(u.len()),
            Vec::with_capacity(u.len()),
            Vec::with_capacity(u.len()),
        );
        for ((ai, bi), ui) in host_values(&a).into_iter().zip(host_values(&b)).zip(u) {
            let (x, ga, gb) = standard_draw(ai, bi, ui);
            xi.push(x);
            da.push(ga);
            db.push(gb);
        }
        let xi = upload::<B, D>(xi, shape, &dev)
            + (a.clone() - a.detach()) * upload::<B, D>(da, shape, &dev)
            + (b.clone() - b.detach()) * upload::<B, D>(db, shape, &dev);
        Ok(self.loc.clone() + self.scale.clone() * xi)
    }

    fn mean(&self) -> Option<Tensor<B, D>> {
        let [_, pa, pb, _, _] = self.moments_parts();
        Some((self.loc.clone() + self.scale.clone() * (pa - pb)).expand(self.shape))
    }

    fn variance(&self) -> Option<Tensor<B, D>> {
        let [_, pa, pb, a, b] = self.moments_parts();
        let v = (a * pa.clone() - b * pb.clone()) + 1.0 - (pa - pb).powi_scalar(2);
        Some((v * self.scale.clone().powi_scalar(2)).expand(self.shape))
    }

    fn entropy(&self) -> Option<Tensor<B, D>> {
        // ln(√(2πe) σ Z) + (α φ(α) − β φ(β)) / (2Z)
        let [log_z, pa, pb, a, b] = self.moments_parts();
        let h = self.scale.clone().log() + log_z + (HALF_LN_2PI + 0.5) + (a * pa - b * pb) * 0.5;
        Some(h.expand(self.shape))
    }
}

/// One standardised draw `ξ ∈ [α, β]` from the uniform `u`, with `∂ξ/∂α` and `∂ξ/∂β`, in f64.
///
/// The interval is reflected to the lower half (centre ≤ 0), where `Φ` is small and carried in
/// log space; the reflection swaps the two derivatives.
fn standard_draw(alpha: f64, beta: f64, u: f64) -> (f64, f64, f64) {
    let flip = alpha + beta > 0.0;
    let (a, b, u) = if flip {
        (-beta, -alpha, 1.0 - u)
    } else {
        (alpha, beta, u)
    };
    let (la, lb) = (log_ndtr_f64(a), log_ndtr_f64(b));
    // ln Z = ln(Φ(b) − Φ(a)), and ln(Φ(a) + u Z) = ln((1 − u)Φ(a) + uΦ(b))
    let log_z = lb + log1mexp_f64(la - lb);
    let log_p = lb + (u + (1.0 - u) * (la - lb).exp()).ln();
    let x = ndtri_log_f64(log_p).clamp(a, b);
    let lx = log_ndtr_f64(x);
    let denom = log_normal_pdf_f64(x) + log_z;
    // ∂ξ/∂a = φ(a)(Φ(b) − Φ(ξ))/(Zφ(ξ)), ∂ξ/∂b = φ(b)(Φ(ξ) − Φ(a))/(Zφ(ξ))
    let d_a = (log_normal_pdf_f64(a) + lb + log1mexp_f64(lx - lb) - denom).exp();
    let d_b = (log_normal_pdf_f64(b) + lx + log1mexp_f64(la - lx) - denom).exp();
    let (d_a, d_b) = (finite_or_zero(d_a), finite_or_zero(d_b));
    if flip {
        (-x, d_b, d_a)
    } else {
        (x, d_a, d_b)
    }
}

/// `ln(1 − eˣ)` for `x ≤ 0`, in f64 (−∞ at 0).
fn log1mexp_f64(x: f64) -> f64 {
    if x > -std::f64::consts::LN_2 {
        (-x.exp_m1()).ln()
    } else {
        (-x.exp()).ln_1p()
    }
}

fn finite_or_zero(v: f64) -> f64 {
    if v.is_finite() {
        v
    } else {
        0.0
    }
}

//! The LKJ distribution over Cholesky factors of correlation matrices.

use burn::tensor::{backend::Backend, Tensor, TensorData};

use crate::constraint::mask_outside;
use crate::param::{check_param, float_options, host_values, positive, upload, ParamArg};
use crate::special::lgamma;
use crate::{Constraint, DistError, Distribution, RngKey};

/// How far a row's squared length may be from 1 and still count as a correlation row (f32
/// rounding of a factor built in f32).
const ROW_TOLERANCE: f64 = 1e-4;

/// The LKJ distribution (Lewandowski, Kurowicka & Joe 2009) on the Cholesky factor `L` of a
/// `K × K` correlation matrix `R = LLᵀ`, with `concentration` η > 0: `p(R) ∝ det(R)^{η−1}`
/// (η = 1 uniform over correlation matrices; η > 1 favours the identity; η < 1 strong
/// correlations), expressed as a density over the strict lower triangle of `L`, as in Stan's
/// `lkj_corr_cholesky` and NumPyro's `LKJCholesky`:
///
/// `ln p(L) = Σ_{i=1}^{K−1} (K − i − 1 + 2(η − 1)) ln Lᵢᵢ − ln c_K(η)`, with
/// `ln c_K(η) = ½(K−1) ln π + ln Γ_{K−1}(α − ½) − (K−1) ln Γ(α)`, `α = η + (K−1)/2` and
/// `Γ_p` the multivariate gamma function (checked: it integrates to 1 for K = 3 by quadrature,
/// and equals the symmetric Beta law of the one correlation for K = 2).
///
/// Each off-diagonal correlation `Rᵢⱼ` is marginally `2·Beta(b, b) − 1` with
/// `b = η − 1 + K/2`.
///
/// # Sampling
/// The onion method (§3.2 of the paper) on the host in f64: row `k` of `L` is
/// `[√y·u, √(1 − y)]` with `y ~ Beta(k/2, η + (K − 2)/2 − (k − 1)/2)` and `u` uniform on the
/// unit sphere in ℝᵏ. No pathwise sampler (as in NumPyro): `rsample` is an error.
///
/// # Shapes
/// Values are `[…, K, K]` (two event dimensions, so `D ≥ 2`); `concentration` has the batch
/// shape followed by `[1, 1]` (or is one number); `log_prob` returns `[…, 1, 1]`.
///
/// # Example
/// ```
/// use burn::backend::NdArray;
/// use ppl_dist::{Distribution, LkjCholesky, RngKey};
/// let d = LkjCholesky::<NdArray<f64>, 2>::new(3, 2.0).unwrap();
/// let l = d.sample(&mut RngKey::new(0)); // [3, 3], lower-triangular
/// assert_eq!(l.dims(), [3, 3]);
/// assert!(d.log_prob(l).into_scalar().is_finite());
/// ```
#[derive(Debug, Clone)]
pub struct LkjCholesky<B: Backend, const D: usize> {
    dim: usize,
    concentration: Tensor<B, D>,
    shape: [usize; D],
}

impl<B: Backend, const D: usize> LkjCholesky<B, D> {
    /// An LKJ distribution over `dim × dim` correlation Cholesky factors (`dim ≥ 1`, η finite
    /// and > 0).
    ///
    /// # Errors
    /// [`DistError::InvalidParameter`] naming `concentration` or `dim` (0);
    /// [`DistError::ShapeMismatch`] if `concentration`'s last two dimensions are not 1 or
    /// `D < 2`.
    pub fn new(dim: usize, concentration: impl Into<ParamArg<B, D>>) -> Result<Self, DistError> {
        let d = Self::build(dim, concentration.into())?;
        check_param(
            "LkjCholesky",
            "concentration",
            &d.concentration,
            "must be finite and > 0",
            positive,
        )?;
        Ok(d)
    }

    /// Without the parameter check.
    ///
    /// # Panics
    /// If `dim` is 0, `D < 2`, or `concentration`'s last two dimensions are not 1.
    pub fn new_unchecked(dim: usize, concentration: impl Into<ParamArg<B, D>>) -> Self {
        Self::build(dim, concentration.into()).expect("LkjCholesky::new_unchecked: invalid dim or shape")
    }

    fn build(dim: usize, concentration: ParamArg<B, D>) -> Result<Self, DistError> {
        if dim == 0 {
            return Err(DistError::invalid("LkjCholesky", "dim", 0.0, "must be ≥ 1"));
        }
        let concentration = concentration.into_tensor(&Default::default());
        let c = concentration.dims();
        if D < 2 || c[D - 2] != 1 || c[D - 1] != 1 {
            let mut expected = c.to_vec();
            if D >= 2 {
                expected[D - 2] = 1;
                expected[D - 1] = 1;
            }
            return Err(DistError::ShapeMismatch {
                dist: "LkjCholesky",
                what: "concentration (batch shape, then [1, 1])",
                expected,
                actual: c.to_vec(),
                hint: if D < 2 {
                    "; values are K × K matrices, so the rank D must be ≥ 2".into()
                } else {
                    String::new()
                },
            });
        }
        let mut shape = c;
        shape[D - 2] = dim;
        shape[D - 1] = dim;
        Ok(LkjCholesky {
            dim,
            concentration,
            shape,
        })
    }

    /// The matrix size `K`.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The concentration η (`[…, 1, 1]`).
    pub fn concentration(&self) -> &Tensor<B, D> {
        &self.concentration
    }

    /// `ln c_K(η)`, `[…, 1, 1]`.
    fn log_normalizer(&self) -> Tensor<B, D> {
        let dm1 = (self.dim - 1) as f64;
        let eta = self.concentration.clone();
        let alpha = eta.clone() + 0.5 * dm1;
        let ln_pi = std::f64::consts::PI.ln();
        // ln Γ_p(a) = p(p − 1)/4 ln π + Σ_{j=1}^{p} ln Γ(a + (1 − j)/2), here a = α − ½ = η + (K−2)/2
        let mut mvlgamma = eta.zeros_like() + dm1 * (dm1 - 1.0) / 4.0 * ln_pi;
        for j in 1..self.dim {
            mvlgamma = mvlgamma + lgamma(alpha.clone() - 0.5 + (1.0 - j as f64) / 2.0);
        }
        mvlgamma + 0.5 * dm1 * ln_pi - lgamma(alpha) * dm1
    }
}

impl<B: Backend, const D: usize> Distribution<B, D> for LkjCholesky<B, D> {
    fn name(&self) -> &'static str {
        "LkjCholesky"
    }
    fn value_shape(&self) -> [usize; D] {
        self.shape
    }
    fn event_dims(&self) -> usize {
        2
    }
    fn support(&self) -> Constraint {
        Constraint::CorrCholesky
    }
    fn device(&self) -> B::Device {
        self.concentration.device()
    }

    fn log_prob(&self, value: Tensor<B, D>) -> Tensor<B, D> {
        let k = self.dim;
        let dims = value.dims();
        assert!(
            dims[D - 1] == k && dims[D - 2] == k,
            "LkjCholesky::log_prob: value shape {dims:?} does not end in [{k}, {k}]"
        );
        let dev = value.device();
        let inside = crate::constraint::cholesky_inside(value.clone(), Some(ROW_TOLERANCE));
        let eye = crate::constraint::matrix_pattern::<B, D>(k, &dev, |i, j| i == j);
        // the diagonal [..., K, 1], with 1 where it is not positive (those values score −∞)
        let d = (value * eye).sum_dim(D - 1);
        let log_d = d.clone().mask_fill(d.greater_elem(0.0).bool_not(), 1.0).log();
        // coefficients K − i − 1 + 2(η − 1) for rows i = 0 … K−1 (row 0 has ln L₀₀ = 0)
        let coef: Vec<f64> = (0..k).map(|i| k as f64 - i as f64 - 1.0).collect();
        let mut column = [1; D];
        column[D - 2] = k;
        let coef = Tensor::<B, 1>::from_data(TensorData::new(coef, [k]), float_options::<B>(&dev)).reshape(column)
            + (self.concentration.clone() - 1.0) * 2.0;
        let lp = (coef * log_d).sum_dim(D - 2) - self.log_normalizer();
        mask_outside(lp, inside)
    }

    fn sample_expanded(&self, shape: [usize; D], rng: &mut RngKey) -> Tensor<B, D> {
        let k = self.dim;
        let mut batch = shape;
        batch[D - 2] = 1;
        batch[D - 1] = 1;
        let eta = host_values(&self.concentration.clone().expand(batch));
        let mut out = Vec::with_capacity(eta.len() * k * k);
        for e in eta {
            out.extend(onion(k, e, rng));
        }
        upload::<B, D>(out, shape, &self.device())
    }
}

/// One `K × K` factor by the onion method, row-major, in f64.
fn onion(k: usize, eta: f64, rng: &mut RngKey) -> Vec<f64> {
    let mut l = vec![0.0; k * k];
    l[0] = 1.0;
    for row in 1..k {
        let a = row as f64 / 2.0;
        let b = eta + (k as f64 - 2.0) / 2.0 - (row as f64 - 1.0) / 2.0;
        // y ~ Beta(a, b) as X/(X + Y) from log-space Gamma draws
        let (lx, ly) = (rng.log_standard_gamma(a), rng.log_standard_gamma(b));
        let y = 1.0 / (1.0 + (ly - lx).exp());
        let u = rng.standard_normal(row);
        let norm = u.iter().map(|v| v * v).sum::<f64>().sqrt();
        for (j, uj) in u.iter().enumerate() {
            l[row * k + j] = y.sqrt() * uj / norm;
        }
        l[row * k + row] = (1.0 - y).sqrt();
    }
    l
}

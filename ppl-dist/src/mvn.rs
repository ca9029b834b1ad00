//! The multivariate normal distribution with a Cholesky-factor covariance.

use burn::tensor::{backend::Backend, Tensor};

use crate::macros::sample_via_rsample;
use crate::param::{broadcast_shape, check_param, expand_value, finite, host_values};
use crate::{noise, Constraint, DistError, Distribution, RngKey};

use crate::special::HALF_LN_2PI;

/// Multivariate normal `N(loc, L Lᵀ)` with lower-triangular `scale_tril` `L`:
/// `ln p(x) = −½‖L⁻¹(x − μ)‖² − Σ ln Lᵢᵢ − (k/2) ln 2π`
/// ([Wikipedia](https://en.wikipedia.org/wiki/Multivariate_normal_distribution)).
///
/// # Shapes
/// Values are rank 2: `loc` `[n, k]` (or `[1, k]`), `scale_tril` `[n, k, k]` (or `[1, k, k]`);
/// value `[n, k]`; `log_prob` `[n, 1]`. Only the lower triangle of `scale_tril` is read.
///
/// # Numerics
/// `L⁻¹(x − μ)` by forward substitution (k steps of tensor ops, differentiable).
#[derive(Debug, Clone)]
pub struct MultivariateNormal<B: Backend> {
    loc: Tensor<B, 2>,
    scale_tril: Tensor<B, 3>,
    shape: [usize; 2],
}

impl<B: Backend> MultivariateNormal<B> {
    /// A validated MVN: `loc` finite, `scale_tril` finite with a positive diagonal.
    ///
    /// # Errors
    /// [`DistError::InvalidParameter`] naming `loc` or `scale_tril`;
    /// [`DistError::ShapeMismatch`] if `scale_tril` is not `[·, k, k]` for `loc` `[·, k]`.
    pub fn new(loc: Tensor<B, 2>, scale_tril: Tensor<B, 3>) -> Result<Self, DistError> {
        check_param("MultivariateNormal", "loc", &loc, "must be finite", finite)?;
        check_param(
            "MultivariateNormal",
            "scale_tril",
            &scale_tril,
            "must be finite",
            finite,
        )?;
        let d = Self::build(loc, scale_tril)?;
        if let Some(v) = host_values(&d.diagonal()).into_iter().find(|v| v.is_nan() || *v <= 0.0) {
            return Err(DistError::invalid(
                "MultivariateNormal",
                "scale_tril",
                v,
                "diagonal must be > 0",
            ));
        }
        Ok(d)
    }

    /// A validated MVN from a covariance matrix `[k, k]` (shared by every row), by Cholesky
    /// decomposition on the host.
    ///
    /// # Errors
    /// [`DistError::InvalidParameter`] if the covariance is not symmetric positive definite.
    pub fn from_covariance(loc: Tensor<B, 2>, covariance: Tensor<B, 2>) -> Result<Self, DistError> {
        let [k, k2] = covariance.dims();
        let c = host_values(&covariance);
        if k != k2 {
            return Err(DistError::ShapeMismatch {
                dist: "MultivariateNormal",
                what: "covariance",
                expected: vec![k, k],
                actual: vec![k, k2],
                hint: String::new(),
            });
        }
        let mut l = vec![0.0; k * k];
        for i in 0..k {
            for j in 0..=i {
                let s: f64 = (0..j).map(|m| l[i * k + m] * l[j * k + m]).sum();
                if i == j {
                    let d = c[i * k + i] - s;
                    if d.is_nan() || d <= 0.0 {
                        return Err(DistError::invalid(
                            "MultivariateNormal",
                            "covariance",
                            d,
                            "must be positive definite",
                        ));
                    }
                    l[i * k + j] = d.sqrt();
                } else {
                    l[i * k + j] = (c[i * k + j] - s) / l[j * k + j];
                }
            }
        }
        let tril = crate::param::upload::<B, 3>(l, [1, k, k], &covariance.device());
        Self::new(loc, tril)
    }

    /// Without parameter checks.
    ///
    /// # Panics
    /// If the shapes are inconsistent.
    pub fn new_unchecked(loc: Tensor<B, 2>, scale_tril: Tensor<B, 3>) -> Self {
        Self::build(loc, scale_tril).expect("MultivariateNormal::new_unchecked: inconsistent shapes")
    }

    fn build(loc: Tensor<B, 2>, scale_tril: Tensor<B, 3>) -> Result<Self, DistError> {
        let [n, k] = loc.dims();
        let [m, r, c] = scale_tril.dims();
        let shape = broadcast_shape([n, k], [m, r])
            .filter(|_| r == c && r == k)
            .ok_or_else(|| DistError::ShapeMismatch {
                dist: "MultivariateNormal",
                what: "loc [n, k] and scale_tril [n, k, k]",
                expected: vec![n, k, k],
                actual: vec![m, r, c],
                hint: "; scale_tril needs one k×k matrix per row of loc (or a single [1, k, k])".into(),
            })?;
        Ok(MultivariateNormal {
            loc,
            scale_tril: scale_tril.tril(0),
            shape,
        })
    }

    /// The diagonal of `scale_tril`, `[n, k]`.
    fn diagonal(&self) -> Tensor<B, 2> {
        let [m, k, _] = self.scale_tril.dims();
        let eye: Tensor<B, 3> = Tensor::<B, 2>::eye(k, &self.scale_tril.device())
            .cast(crate::param::float_dtype::<B>())
            .unsqueeze();
        (self.scale_tril.clone() * eye).sum_dim(2).reshape([m, k])
    }

    /// `L⁻¹ r` for rows `r` `[n, k]`, by forward substitution.
    fn solve_tril(&self, r: Tensor<B, 2>) -> Tensor<B, 2> {
        let [n, k] = r.dims();
        let l = self.scale_tril.clone();
        let m = l.dims()[0];
        let mut cols: Vec<Tensor<B, 2>> = Vec::with_capacity(k);
        for i in 0..k {
            let l_ii = l.clone().slice([0..m, i..i + 1, i..i + 1]).reshape([m, 1]);
            let mut acc = r.clone().slice([0..n, i..i + 1]);
            if i > 0 {
                let y_prev = Tensor::cat(cols.clone(), 1); // [n, i]
                let l_row = l.clone().slice([0..m, i..i + 1, 0..i]).reshape([m, i]);
                acc = acc - (l_row * y_prev).sum_dim(1);
            }
            cols.push(acc / l_ii);
        }
        Tensor::cat(cols, 1)
    }

    /// The mean vector(s), `[n, k]`.
    pub fn loc(&self) -> &Tensor<B, 2> {
        &self.loc
    }

    /// The Cholesky factor(s), `[n, k, k]`.
    pub fn scale_tril(&self) -> &Tensor<B, 3> {
        &self.scale_tril
    }
}

impl<B: Backend> Distribution<B, 2> for MultivariateNormal<B> {
    fn name(&self) -> &'static str {
        "MultivariateNormal"
    }
    fn value_shape(&self) -> [usize; 2] {
        self.shape
    }
    fn event_dims(&self) -> usize {
        1
    }
    fn support(&self) -> Constraint {
        Constraint::RealVector
    }
    fn device(&self) -> B::Device {
        self.loc.device()
    }
    fn log_prob(&self, value: Tensor<B, 2>) -> Tensor<B, 2> {
        let r = expand_value("MultivariateNormal", value, self.shape) - self.loc.clone();
        let y = self.solve_tril(r);
        let k = self.shape[1] as f64;
        y.powi_scalar(2).sum_dim(1) * -0.5 - self.diagonal().log().sum_dim(1) - k * HALF_LN_2PI
    }
    sample_via_rsample!(2);
    fn rsample_expanded(&self, shape: [usize; 2], rng: &mut RngKey) -> Result<Tensor<B, 2>, DistError> {
        let [n, k] = shape;
        let eps = noise::normal::<B, 3>([n, k, 1], rng, &self.device());
        let l = self.scale_tril.clone();
        let l = if l.dims()[0] == n { l } else { l.expand([n, k, k]) };
        Ok(self.loc.clone() + l.matmul(eps).reshape([n, k]))
    }
    fn mean(&self) -> Option<Tensor<B, 2>> {
        Some(self.loc.clone().expand(self.shape))
    }
    fn median(&self) -> Option<Tensor<B, 2>> {
        Some(self.loc.clone().expand(self.shape))
    }
    fn variance(&self) -> Option<Tensor<B, 2>> {
        let [m, k, _] = self.scale_tril.dims();
        Some(
            self.scale_tril
                .clone()
                .powi_scalar(2)
                .sum_dim(2)
                .reshape([m, k])
                .expand(self.shape),
        )
    }
    fn entropy(&self) -> Option<Tensor<B, 2>> {
        let k = self.shape[1] as f64;
        let h = self.diagonal().log().sum_dim(1) + k * (0.5 + HALF_LN_2PI);
        Some(h.expand([self.shape[0], 1]))
    }
}

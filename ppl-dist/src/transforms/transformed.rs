//! [`TransformedDistribution`]: the law of `f(X)` for a base distribution of `X` and a
//! bijection `f`.

use std::sync::Arc;

use burn::tensor::{backend::Backend, Tensor};

use super::Transform;
use crate::{Constraint, DistError, Distribution, RngKey};

/// The distribution of `Y = f(X)`, `X ~ base`, for a [`Transform`] `f`:
/// `ln p(y) = ln p_X(f⁻¹(y)) − ln |det ∂f/∂x|` at `x = f⁻¹(y)` (NumPyro's and Pyro's
/// `TransformedDistribution`).
///
/// # Shapes
/// The value shape is the transform's [`Transform::forward_shape`] of the base's (a
/// stick-breaking transform adds one to the last dimension); the event rank is the larger of
/// the base's and the transform's; `log_prob` sums those event dimensions, keeping them as
/// size 1. Values outside the transform's codomain (for the simplex: a coordinate outside
/// `[0, 1]` or a sum more than `1e-5·K` away from 1) score `−∞`.
///
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::Tensor;
/// use ppl_dist::transforms::{Transform, TransformedDistribution};
/// use ppl_dist::{Distribution, LogNormal, Normal};
///
/// type B = NdArray<f64>;
/// let dev = Default::default();
/// let t = TransformedDistribution::new(Normal::<B, 1>::new_unchecked(0.5, 2.0), Transform::Exp);
/// let x = Tensor::<B, 1>::from_floats([0.3, 4.0], &dev);
/// let a: Vec<f64> = t.log_prob(x.clone()).into_data().to_vec().unwrap();
/// let b: Vec<f64> = LogNormal::<B, 1>::new_unchecked(0.5, 2.0).log_prob(x).into_data().to_vec().unwrap();
/// assert!((a[0] - b[0]).abs() < 1e-12 && (a[1] - b[1]).abs() < 1e-12);
/// ```
#[derive(Debug, Clone)]
pub struct TransformedDistribution<B: Backend, const D: usize> {
    base: Arc<dyn Distribution<B, D>>,
    transform: Transform,
    shape: [usize; D],
}

impl<B: Backend, const D: usize> TransformedDistribution<B, D> {
    /// The law of `transform(X)` for `X ~ base`.
    pub fn new(base: impl Distribution<B, D> + 'static, transform: Transform) -> Self {
        let base: Arc<dyn Distribution<B, D>> = Arc::new(base);
        let mut shape = [0; D];
        shape.copy_from_slice(&transform.forward_shape(&base.value_shape()));
        TransformedDistribution { base, transform, shape }
    }

    /// The distribution of `X`.
    pub fn base(&self) -> &dyn Distribution<B, D> {
        self.base.as_ref()
    }

    /// The bijection `f`.
    pub fn transform(&self) -> &Transform {
        &self.transform
    }

    fn base_shape(&self, shape: [usize; D]) -> [usize; D] {
        let mut s = [0; D];
        s.copy_from_slice(&self.transform.inverse_shape(&shape));
        s
    }

    /// Whether each event of `y` lies in the codomain (as 1/0 of the `log_prob` shape).
    fn inside(&self, y: Tensor<B, D>) -> Option<Tensor<B, D, burn::tensor::Bool>> {
        let codomain = self.transform.codomain();
        match codomain {
            Constraint::LowerCholesky => return Some(crate::constraint::cholesky_inside(y, None)),
            Constraint::CorrCholesky => return Some(crate::constraint::cholesky_inside(y, Some(1e-4))),
            _ => {}
        }
        let mut inside = codomain.check(y.clone())?;
        if codomain == Constraint::Simplex {
            let k = y.dims()[D - 1] as f64;
            let sums = y
                .sum_dim(D - 1)
                .sub_scalar(1.0)
                .abs()
                .lower_equal_elem(1e-5 * k.max(1.0));
            inside = inside.all_dim(D - 1).bool_and(sums);
        }
        for k in 0..self.event_dims() {
            inside = inside.all_dim(D - 1 - k);
        }
        Some(inside)
    }
}

impl<B: Backend, const D: usize> Distribution<B, D> for TransformedDistribution<B, D> {
    fn name(&self) -> &'static str {
        "TransformedDistribution"
    }
    fn value_shape(&self) -> [usize; D] {
        self.shape
    }
    fn event_dims(&self) -> usize {
        self.base.event_dims().max(self.transform.event_dims())
    }
    fn support(&self) -> Constraint {
        self.transform.codomain()
    }
    fn device(&self) -> B::Device {
        self.base.device()
    }

    fn log_prob(&self, value: Tensor<B, D>) -> Tensor<B, D> {
        let events = self.event_dims();
        let x = self.transform.inverse(value.clone());
        let ladj = self.transform.log_abs_det_jacobian(x.clone());
        let mut base_lp = self.base.log_prob(x);
        for k in self.base.event_dims()..events {
            base_lp = base_lp.sum_dim(D - 1 - k);
        }
        let mut ladj = ladj;
        for k in self.transform.event_dims()..events {
            ladj = ladj.sum_dim(D - 1 - k);
        }
        let lp = base_lp - ladj;
        let lp = lp.clone().mask_fill(lp.is_nan(), f64::NEG_INFINITY);
        match self.inside(value) {
            Some(inside) => lp.mask_fill(inside.bool_not(), f64::NEG_INFINITY),
            None => lp,
        }
    }

    fn sample_expanded(&self, shape: [usize; D], rng: &mut RngKey) -> Tensor<B, D> {
        self.transform
            .forward(self.base.sample_expanded(self.base_shape(shape), rng))
    }

    fn has_rsample(&self) -> bool {
        self.base.has_rsample()
    }

    fn rsample_expanded(&self, shape: [usize; D], rng: &mut RngKey) -> Result<Tensor<B, D>, DistError> {
        Ok(self
            .transform
            .forward(self.base.rsample_expanded(self.base_shape(shape), rng)?))
    }

    fn median(&self) -> Option<Tensor<B, D>> {
        // a monotone element-wise map carries the median over
        if self.transform.event_dims() == 0 && self.transform.is_increasing() {
            self.base.median().map(|m| self.transform.forward(m))
        } else {
            None
        }
    }
}

crate::impl_into_distribution!(TransformedDistribution<B, D>);

//! The empirical distribution of a set of samples.

use burn::tensor::{backend::Backend, Int, Tensor, TensorData};

use crate::param::{check_param, host_values, upload};
use crate::{Constraint, DistError, Distribution, RngKey};

/// The (weighted) empirical distribution of `n` samples stacked along dimension 0 (Pyro's
/// `Empirical`): a draw is one of the sample rows, picked with probability ∝ its weight.
///
/// # Shapes
/// `samples`: `[n, rest…]`. A value is one row, `[1, rest…]` (dimension 0 is the instance
/// dimension, so [`Distribution::sample_n`] draws `m` rows); `log_prob` of `[m, rest…]` is
/// `[m, 1, …, 1]`: `ln Σ{wᵢ : row i equals the value}` (−∞ if no row equals it).
#[derive(Debug, Clone)]
pub struct Empirical<B: Backend, const D: usize> {
    samples: Tensor<B, D>,
    log_weights: Vec<f64>,
    shape: [usize; D],
}

impl<B: Backend, const D: usize> Empirical<B, D> {
    /// Equally weighted samples.
    ///
    /// # Errors
    /// [`DistError::InvalidParameter`] if there are no samples.
    pub fn new(samples: Tensor<B, D>) -> Result<Self, DistError> {
        let n = samples.dims()[0];
        Self::with_log_weights(samples, vec![0.0; n])
    }

    /// Samples with unnormalised log-weights (one per row).
    ///
    /// # Errors
    /// [`DistError::InvalidParameter`] if there are no samples, a weight is NaN or +∞, or all
    /// are −∞; [`DistError::ShapeMismatch`] if the number of weights is not `n`.
    pub fn with_log_weights(samples: Tensor<B, D>, log_weights: Vec<f64>) -> Result<Self, DistError> {
        let n = samples.dims()[0];
        if n == 0 {
            return Err(DistError::invalid(
                "Empirical",
                "samples",
                0.0,
                "need at least one sample",
            ));
        }
        if log_weights.len() != n {
            return Err(DistError::ShapeMismatch {
                dist: "Empirical",
                what: "log_weights (one per sample)",
                expected: vec![n],
                actual: vec![log_weights.len()],
                hint: String::new(),
            });
        }
        let w = upload::<B, 1>(log_weights.clone(), [n], &samples.device());
        check_param("Empirical", "log_weights", &w, "must not be NaN or +∞", |v| {
            !v.is_nan() && v != f64::INFINITY
        })?;
        let m = log_weights.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        if m == f64::NEG_INFINITY {
            return Err(DistError::invalid(
                "Empirical",
                "log_weights",
                m,
                "at least one must be finite",
            ));
        }
        let lse = m + log_weights.iter().map(|w| (w - m).exp()).sum::<f64>().ln();
        let log_weights = log_weights.into_iter().map(|w| w - lse).collect();
        let mut shape = samples.dims();
        shape[0] = 1;
        Ok(Empirical {
            samples,
            log_weights,
            shape,
        })
    }

    /// Normalised weights.
    fn weights(&self) -> Vec<f64> {
        self.log_weights.iter().map(|w| w.exp()).collect()
    }

    /// The weights as a `[n, 1, …, 1]` tensor.
    fn weight_tensor(&self) -> Tensor<B, D> {
        let mut s = [1; D];
        s[0] = self.log_weights.len();
        upload(self.weights(), s, &self.samples.device())
    }
}

impl<B: Backend, const D: usize> Distribution<B, D> for Empirical<B, D> {
    fn name(&self) -> &'static str {
        "Empirical"
    }
    fn value_shape(&self) -> [usize; D] {
        self.shape
    }
    fn event_dims(&self) -> usize {
        D - 1
    }
    fn support(&self) -> Constraint {
        Constraint::Dependent
    }
    fn device(&self) -> B::Device {
        self.samples.device()
    }
    fn log_prob(&self, value: Tensor<B, D>) -> Tensor<B, D> {
        let row_len: usize = self.shape[1..].iter().product();
        let rows = host_values(&self.samples);
        let m = value.dims()[0];
        let vals = host_values(&value.expand({
            let mut s = self.shape;
            s[0] = m;
            s
        }));
        let out: Vec<f64> = vals
            .chunks(row_len.max(1))
            .map(|v| {
                let mass: f64 = rows
                    .chunks(row_len.max(1))
                    .zip(&self.log_weights)
                    .filter(|(r, _)| *r == v)
                    .map(|(_, w)| w.exp())
                    .sum();
                mass.ln()
            })
            .collect();
        let mut s = [1; D];
        s[0] = m;
        upload(out, s, &self.device())
    }
    fn sample_expanded(&self, shape: [usize; D], rng: &mut RngKey) -> Tensor<B, D> {
        let w = self.weights();
        let cum: Vec<f64> = w
            .iter()
            .scan(0.0, |acc, x| {
                *acc += x;
                Some(*acc)
            })
            .collect();
        let idx: Vec<i64> = rng
            .uniform(shape[0])
            .into_iter()
            .map(|u| cum.iter().position(|c| u < *c).unwrap_or(w.len() - 1) as i64)
            .collect();
        let idx = Tensor::<B, 1, Int>::from_data(TensorData::new(idx, [shape[0]]), &self.device());
        self.samples.clone().select(0, idx).expand(shape)
    }
    fn mean(&self) -> Option<Tensor<B, D>> {
        Some((self.samples.clone() * self.weight_tensor()).sum_dim(0))
    }
    fn variance(&self) -> Option<Tensor<B, D>> {
        let mean = self.mean()?;
        Some(((self.samples.clone() - mean).powi_scalar(2) * self.weight_tensor()).sum_dim(0))
    }
}

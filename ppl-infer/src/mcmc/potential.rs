//! The model's log-density in unconstrained space and its gradient, from burn's autodiff:
//! what nuts-rs asks for at each leapfrog step.

use std::collections::HashMap;

use burn::tensor::{backend::AutodiffBackend, ElementConversion, Tensor, TensorData};
use nuts_rs::{CpuLogpFunc, CpuMathError, HasDims, LogpError};
use ppl_core::handlers::Substitute;
use ppl_core::{run, Ctx, Data, Model};
use ppl_dist::param::float_options;
use ppl_dist::RngKey;

use super::layout::{dimension, LatentSlot};

/// Why the log-density could not be evaluated at a point.
#[derive(Debug, thiserror::Error)]
pub enum LogDensityError {
    /// The log-density or its gradient is not finite there (NUTS counts the step as a
    /// divergence and moves on).
    #[error("the log-density is {value} there{}", if *.gradient { " (its gradient is not finite)" } else { "" })]
    NonFinite {
        /// The value found.
        value: f64,
        /// Whether only the gradient was non-finite.
        gradient: bool,
    },
    /// The model itself failed (a shape error, a missing datum): sampling stops.
    #[error("{0}")]
    Model(String),
}

impl LogpError for LogDensityError {
    fn is_recoverable(&self) -> bool {
        matches!(self, LogDensityError::NonFinite { .. })
    }
}

/// `ln p(x, constrained(u)) + Σ ln |det J(u)|` as a function of the flat unconstrained
/// vector `u` (see [`super::latent_layout`] for the layout).
#[derive(Debug)]
pub struct LogDensity<'a, B: AutodiffBackend, M: Model<B>> {
    model: &'a M,
    data: Data<B>,
    slots: Vec<LatentSlot>,
    device: B::Device,
    dim: usize,
}

impl<'a, B: AutodiffBackend, M: Model<B>> LogDensity<'a, B, M> {
    /// The log-density of `model` with `data` observed, over the latents in `slots`.
    pub fn new(model: &'a M, data: Data<B>, slots: Vec<LatentSlot>, device: &B::Device) -> Self {
        let dim = dimension(&slots);
        LogDensity {
            model,
            data,
            slots,
            device: device.clone(),
            dim,
        }
    }

    /// The latent sites, in the order of the flat vector.
    pub fn slots(&self) -> &[LatentSlot] {
        &self.slots
    }

    fn flat(&self, position: &[f64]) -> Tensor<B, 1> {
        Tensor::from_data(
            TensorData::new(position.to_vec(), [position.len()]),
            float_options::<B>(&self.device),
        )
    }

    /// The model's trace with the latents set from `u`, and `Σ ln |det J|`.
    fn trace(&self, u: &Tensor<B, 1>) -> Result<(ppl_core::Trace<B>, Option<Tensor<B, 1>>), ppl_core::CoreError> {
        let mut values = Data::new();
        let mut ladj: Option<Tensor<B, 1>> = None;
        for slot in &self.slots {
            let (value, l) = slot.constrain(u);
            values.insert(&slot.name, value);
            ladj = Some(match ladj {
                Some(acc) => acc + l,
                None => l,
            });
        }
        let ctx = Ctx::new(self.data.clone(), RngKey::new(0).fold_in("mcmc"), &self.device)
            .with_handler(Substitute::new(values));
        Ok((run(self.model, ctx)?.trace, ladj))
    }

    /// The log-density at `position`, its gradient written into `gradient`.
    ///
    /// # Errors
    /// [`LogDensityError::NonFinite`] where the value or the gradient is not finite;
    /// [`LogDensityError::Model`] when the model fails.
    pub fn value_and_gradient(&self, position: &[f64], gradient: &mut [f64]) -> Result<f64, LogDensityError> {
        let u = self.flat(position).require_grad();
        let (trace, ladj) = self.trace(&u).map_err(|e| LogDensityError::Model(e.to_string()))?;
        let joint = match (trace.log_joint(), ladj) {
            (Some(lj), Some(l)) => lj + l,
            (Some(lj), None) => lj,
            (None, Some(l)) => l,
            (None, None) => return Err(LogDensityError::Model("the model has no sample sites".into())),
        };
        let value: f64 = joint.clone().into_scalar().elem();
        if !value.is_finite() {
            return Err(LogDensityError::NonFinite { value, gradient: false });
        }
        let grads = joint.backward();
        let g = u.grad(&grads).expect("the flat vector takes part in the log-density");
        for (out, v) in gradient.iter_mut().zip(g.into_data().iter::<f64>()) {
            if !v.is_finite() {
                return Err(LogDensityError::NonFinite { value, gradient: true });
            }
            *out = v;
        }
        Ok(value)
    }

    /// Which site makes the log-density at `position` non-finite (the first one in model
    /// order, its log-density or its Jacobian), in words.
    pub fn blame(&self, position: &[f64]) -> String {
        let u = self.flat(position);
        let (trace, _) = match self.trace(&u) {
            Ok(t) => t,
            Err(e) => return format!("the model fails there: {e}"),
        };
        for slot in &self.slots {
            let ladj: f64 = slot.constrain(&u).1.into_scalar().elem();
            if !ladj.is_finite() {
                return format!("the Jacobian of latent `{}` is {ladj} there", slot.name);
            }
        }
        for s in trace.sites() {
            if let Some(lp) = &s.log_prob_sum {
                let v: f64 = lp.clone().into_scalar().elem();
                if !v.is_finite() {
                    let kind = if s.observed { "observed" } else { "latent" };
                    return format!("{kind} site `{}` has log-density {v} there", s.name);
                }
            }
        }
        "every site is finite there, but the gradient is not".into()
    }
}

impl<B: AutodiffBackend, M: Model<B>> HasDims for LogDensity<'_, B, M> {
    fn dim_sizes(&self) -> HashMap<String, u64> {
        HashMap::from([
            ("unconstrained_parameter".to_string(), self.dim as u64),
            ("dim".to_string(), self.dim as u64),
        ])
    }
}

impl<B: AutodiffBackend, M: Model<B>> CpuLogpFunc for LogDensity<'_, B, M> {
    type LogpError = LogDensityError;
    type FlowParameters = ();
    type ExpandedVector = Vec<f64>;

    fn dim(&self) -> usize {
        self.dim
    }

    fn logp(&mut self, position: &[f64], gradient: &mut [f64]) -> Result<f64, LogDensityError> {
        self.value_and_gradient(position, gradient)
    }

    fn expand_vector<R: nuts_rs::rand::Rng + ?Sized>(
        &mut self,
        _rng: &mut R,
        array: &[f64],
    ) -> Result<Vec<f64>, CpuMathError> {
        Ok(array.to_vec())
    }
}

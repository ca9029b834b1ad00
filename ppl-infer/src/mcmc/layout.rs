//! Where each latent site lives in the flat unconstrained vector MCMC moves, and the
//! transform that takes its slice onto the site's support.

use burn::tensor::{backend::Backend, Tensor};
use ppl_core::{Data, Model, Value};
use ppl_dist::transforms::{transform_to_support, Transform};
use ppl_dist::{Constraint, RngKey};

use crate::InferError;

/// One latent site of the flat parameter vector.
#[derive(Debug, Clone, PartialEq)]
pub struct LatentSlot {
    /// Site name.
    pub name: String,
    /// The site's value shape (constrained).
    pub shape: Vec<usize>,
    /// The shape of its unconstrained preimage (stick-breaking drops one from the last
    /// dimension).
    pub unconstrained_shape: Vec<usize>,
    /// The site's support.
    pub support: Constraint,
    /// From unconstrained space onto the support.
    pub transform: Transform,
    /// First index in the flat unconstrained vector.
    pub offset: usize,
}

impl LatentSlot {
    /// How many unconstrained coordinates the site takes.
    pub fn len(&self) -> usize {
        self.unconstrained_shape.iter().product()
    }

    /// Whether the site takes no coordinates (an empty tensor).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many values the constrained site has.
    pub fn constrained_len(&self) -> usize {
        self.shape.iter().product()
    }

    /// `(value, Σ ln |det J|)` of this site's slice of the flat vector `u`.
    pub(crate) fn constrain<B: Backend>(&self, u: &Tensor<B, 1>) -> (Value<B>, Tensor<B, 1>) {
        let x = u.clone().narrow(0, self.offset, self.len());
        match self.shape.len() {
            1 => self.constrain_rank::<B, 1>(x),
            2 => self.constrain_rank::<B, 2>(x),
            3 => self.constrain_rank::<B, 3>(x),
            _ => self.constrain_rank::<B, 4>(x),
        }
    }

    fn constrain_rank<B: Backend, const D: usize>(&self, x: Tensor<B, 1>) -> (Value<B>, Tensor<B, 1>) {
        let mut shape = [0; D];
        shape.copy_from_slice(&self.unconstrained_shape);
        let (y, ladj) = self.transform.forward_with_log_abs_det_jacobian(x.reshape(shape));
        (Value::from_tensor(y), ladj.sum())
    }
}

/// The latent sites of `model` given `data`, laid out one after the other.
///
/// # Errors
/// Model errors; [`InferError::Mcmc`] for a discrete latent (naming it: sum it out with
/// `Elbo::TraceEnum` or fit it with a guide), for a latent of a subsampled plate, or for a
/// support with no bijection from real space (an `Interval` whose bounds are parameters).
pub fn latent_layout<B: Backend, M: Model<B>>(
    model: &M,
    data: &Data<B>,
    device: &B::Device,
) -> Result<Vec<LatentSlot>, InferError> {
    let trace = crate::data_plan::checked_trace(model, data, RngKey::new(0).fold_in("mcmc-layout"), device)?;
    let bounds = crate::data_plan::latent_interval_bounds(model, data, &trace, device).map_err(|e| match e {
        InferError::Config(detail) => InferError::Mcmc { chain: None, detail },
        other => other,
    })?;
    let mut slots = Vec::new();
    let mut offset = 0;
    for s in trace.latent_sites() {
        let mcmc = |detail: String| InferError::Mcmc { chain: None, detail };
        if let Some(p) = s.plates.iter().find(|p| p.subsample_size < p.size) {
            return Err(mcmc(format!(
                "latent `{}` lies in the subsampled plate `{}`; MCMC needs the whole data set in every step",
                s.name, p.name
            )));
        }
        let support = s
            .dist
            .as_ref()
            .expect("sample sites carry their distribution")
            .support();
        if support.is_discrete() {
            return Err(mcmc(format!(
                "latent `{}` is discrete (support {support:?}); NUTS moves continuous latents only: sum it out \
                 (observe it, or fit the model with Elbo::TraceEnum) or give it a guide and use SVI",
                s.name
            )));
        }
        let bounds = bounds.get(&s.name).cloned();
        let transform = transform_to_support(support, bounds).map_err(|e| mcmc(format!("latent `{}`: {e}", s.name)))?;
        let shape = s.value.dims();
        let unconstrained_shape = transform.inverse_shape(&shape);
        let slot = LatentSlot {
            name: s.name.clone(),
            shape,
            unconstrained_shape,
            support,
            transform,
            offset,
        };
        offset += slot.len();
        slots.push(slot);
    }
    if slots.is_empty() {
        return Err(InferError::Mcmc {
            chain: None,
            detail: "the model has no latent sites given this data: nothing to sample".into(),
        });
    }
    Ok(slots)
}

/// The total number of unconstrained coordinates.
pub fn dimension(slots: &[LatentSlot]) -> usize {
    slots.iter().map(LatentSlot::len).sum()
}

/// The constrained values of the flat unconstrained vector `position`, site after site (each
/// row-major), computed on `device`.
pub fn constrained_values<B: Backend>(slots: &[LatentSlot], position: &[f64], device: &B::Device) -> Vec<f64> {
    let u: Tensor<B, 1> = Tensor::from_data(
        burn::tensor::TensorData::new(position.to_vec(), [position.len()]),
        ppl_dist::param::float_options::<B>(device),
    );
    let mut out = Vec::new();
    for slot in slots {
        out.extend(slot.constrain(&u).0.to_vec());
    }
    out
}

//! Bijections from unconstrained space onto supports (for `param` sites and autoguides).

use burn::tensor::{activation, backend::Backend, Tensor};
use ppl_dist::special::{inverse_softplus, softplus};
use ppl_dist::Constraint;

/// Map an unconstrained tensor into `constraint` (softplus for positive values, sigmoid for
/// the unit interval, softmax along the last dimension for the simplex; identity otherwise).
pub fn to_constrained<B: Backend, const D: usize>(constraint: Constraint, u: Tensor<B, D>) -> Tensor<B, D> {
    match constraint {
        Constraint::Positive | Constraint::NonNegative => softplus(u),
        Constraint::UnitInterval => ppl_dist::special::sigmoid(u),
        Constraint::Simplex => activation::softmax(u, D - 1),
        _ => u,
    }
}

/// The inverse of [`to_constrained`] (for the simplex: `ln x`, one of its preimages).
pub fn to_unconstrained<B: Backend, const D: usize>(constraint: Constraint, x: Tensor<B, D>) -> Tensor<B, D> {
    match constraint {
        Constraint::Positive | Constraint::NonNegative => inverse_softplus(x),
        Constraint::UnitInterval => x.clone().log() - x.neg().log1p(),
        Constraint::Simplex => x.log(),
        _ => x,
    }
}

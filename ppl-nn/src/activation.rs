//! Element-wise activations for [`crate::Mlp`] layers.

use burn::tensor::{activation, backend::Backend, Tensor};

/// An activation applied after a dense layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Activation {
    /// No activation.
    #[default]
    Identity,
    /// `max(x, 0)`.
    Relu,
    /// `tanh x`.
    Tanh,
    /// `ln(1 + eˣ)`, overflow-free (`ppl_dist::special::softplus`).
    Softplus,
    /// `1 / (1 + e⁻ˣ)`.
    Sigmoid,
    /// `x` for `x > 0`, `eˣ − 1` otherwise.
    Elu,
    /// Gaussian error linear unit.
    Gelu,
}

impl Activation {
    /// Apply the activation.
    pub fn forward<B: Backend, const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        match self {
            Activation::Identity => x,
            Activation::Relu => activation::relu(x),
            Activation::Tanh => x.tanh(),
            Activation::Softplus => ppl_dist::special::softplus(x),
            Activation::Sigmoid => ppl_dist::special::sigmoid(x),
            Activation::Elu => activation::elu(x, 1.0),
            Activation::Gelu => activation::gelu(x),
        }
    }
}

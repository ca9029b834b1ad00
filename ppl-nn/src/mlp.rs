//! A multi-layer perceptron built from a list of layer sizes.

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Linear};
use burn::tensor::{backend::Backend, Tensor};
use ppl_dist::kernels::{dense, DenseActivation};
use ppl_dist::RngKey;

use crate::Activation;

/// The configuration of an [`Mlp`] (burn's Config → init → Module pattern).
///
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::Tensor;
/// use burn::module::Module;
/// use ppl_nn::{Activation, MlpConfig};
/// let dev = Default::default();
/// // InferPy's NN1: Dense(100, relu) → Dense(784).
/// let nn1 = MlpConfig::new(&[2, 100, 784]).with_hidden(Activation::Relu).with_seed(1).init::<NdArray<f32>>(&dev);
/// let x = nn1.forward(Tensor::<NdArray<f32>, 2>::zeros([5, 2], &dev));
/// assert_eq!(x.dims(), [5, 784]);
/// assert_eq!(nn1.num_params(), 2 * 100 + 100 + 100 * 784 + 784);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct MlpConfig {
    /// Layer widths, input first: `[d_in, h₁, …, d_out]` (at least two).
    pub sizes: Vec<usize>,
    /// Activation after every hidden layer.
    pub hidden: Activation,
    /// Activation after the output layer.
    pub output: Activation,
    /// Per-layer activations (one per dense layer, overriding `hidden` and `output`).
    pub activations: Option<Vec<Activation>>,
    /// Dropout probability after every hidden activation (0: none).
    pub dropout: f64,
    /// Seed of the weight initialisation (U(−1/√fan_in, 1/√fan_in), as torch's default).
    pub seed: u64,
}

impl MlpConfig {
    /// An MLP with the given widths, ReLU hidden layers, identity output, no dropout.
    ///
    /// # Panics
    /// With fewer than two sizes or a zero width (a programming error).
    pub fn new(sizes: &[usize]) -> Self {
        assert!(
            sizes.len() >= 2 && sizes.iter().all(|&s| s > 0),
            "an Mlp needs at least two non-zero widths, got {sizes:?}"
        );
        MlpConfig {
            sizes: sizes.to_vec(),
            hidden: Activation::Relu,
            output: Activation::Identity,
            activations: None,
            dropout: 0.0,
            seed: 0,
        }
    }

    /// Set the hidden activation.
    pub fn with_hidden(mut self, a: Activation) -> Self {
        self.hidden = a;
        self
    }

    /// Set the output activation.
    pub fn with_output(mut self, a: Activation) -> Self {
        self.output = a;
        self
    }

    /// Set the activation of each dense layer (`sizes.len() − 1` of them), e.g.
    /// `[Relu, Tanh, Identity]`.
    ///
    /// # Panics
    /// When the number of activations is not the number of layers (a programming error).
    pub fn with_activations(mut self, per_layer: &[Activation]) -> Self {
        assert_eq!(
            per_layer.len(),
            self.sizes.len() - 1,
            "an Mlp with widths {:?} has {} layers, got {} activations",
            self.sizes,
            self.sizes.len() - 1,
            per_layer.len()
        );
        self.activations = Some(per_layer.to_vec());
        self
    }

    /// Set the dropout probability of hidden layers.
    pub fn with_dropout(mut self, p: f64) -> Self {
        self.dropout = p;
        self
    }

    /// Set the initialisation seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Build the network on `device` with seeded weights (the same seed gives the same
    /// weights on every backend, up to its float precision).
    pub fn init<B: Backend>(&self, device: &B::Device) -> Mlp<B> {
        let mut key = RngKey::new(self.seed).fold_in("mlp");
        let layers = self
            .sizes
            .windows(2)
            .map(|w| crate::linear::linear_from_key(w[0], w[1], &mut key, device))
            .collect();
        let dropout = (self.dropout > 0.0).then(|| DropoutConfig::new(self.dropout).init());
        let n = self.sizes.len() - 1;
        let activations = self.activations.clone().unwrap_or_else(|| {
            (0..n)
                .map(|i| if i + 1 < n { self.hidden } else { self.output })
                .collect()
        });
        Mlp {
            layers,
            activations,
            dropout,
        }
    }
}

/// A stack of dense layers with an activation after each (see [`MlpConfig`]).
///
/// # Shapes
/// `forward`: `[..., d_in]` → `[..., d_out]` (any leading dimensions).
#[derive(Module, Debug)]
pub struct Mlp<B: Backend> {
    layers: Vec<Linear<B>>,
    #[module(skip)]
    activations: Vec<Activation>,
    dropout: Option<Dropout>,
}

impl<B: Backend> Mlp<B> {
    /// Apply the network. Inside a model or guide run by inference, each dense layer and its
    /// ReLU are one fused operation of the backend ([`ppl_dist::kernels::dense`]; the same
    /// values as burn's `Linear` and `relu`, gradients within rounding); elsewhere burn's
    /// operations.
    pub fn forward<const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        let last = self.layers.len() - 1;
        let mut h = x;
        for (i, (layer, act)) in self.layers.iter().zip(&self.activations).enumerate() {
            // ReLU goes into the dense layer (one fused node where the run has the kernel:
            // `ppl_dist::kernels::dense`); the other activations follow it.
            let (fused, after) = match act {
                Activation::Relu => (DenseActivation::Relu, Activation::Identity),
                other => (DenseActivation::Identity, *other),
            };
            h = after.forward(dense(
                h,
                layer.weight.val(),
                layer.bias.as_ref().map(|b| b.val()),
                fused,
            ));
            if i < last {
                if let Some(d) = &self.dropout {
                    h = d.forward(h);
                }
            }
        }
        h
    }

    /// The activation after each dense layer.
    pub fn activations(&self) -> &[Activation] {
        &self.activations
    }

    /// The dense layers.
    pub fn layers(&self) -> &[Linear<B>] {
        &self.layers
    }
}

//! The mean-field normal posterior over a dense layer's kernel and bias, and its prior.

use burn::module::{Module, Param};
use burn::tensor::{backend::Backend, Tensor, TensorData};
use ppl_core::Ctx;
use ppl_dist::param::{float_options, upload};
use ppl_dist::special::softplus;
use ppl_dist::{kl_divergence, Normal, RngKey};

use super::{DenseFlipout, DenseReparameterization};

/// The configuration of a Bayesian dense layer (burn's Config → init → Module pattern).
///
/// ```
/// use burn::backend::NdArray;
/// use ppl_nn::bayesian::BayesianDenseConfig;
/// let dev = Default::default();
/// let layer = BayesianDenseConfig::new("fc1", 784, 64).with_seed(3).init_flipout::<NdArray<f32>>(&dev);
/// # use burn::module::Module;
/// assert_eq!(layer.num_params(), 2 * (784 * 64 + 64)); // loc and ρ per weight
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct BayesianDenseConfig {
    /// Layer name: its KL site is `"{name}.kl"` and its weight noise is keyed by it (unique per
    /// model).
    pub name: String,
    /// Input width.
    pub d_in: usize,
    /// Output width.
    pub d_out: usize,
    /// Standard deviation of the `N(0, prior_scale²)` prior on every weight and bias.
    pub prior_scale: f64,
    /// Initial posterior standard deviation of every weight and bias.
    pub init_scale: f64,
    /// Seed of the initial posterior means (U(−1/√d_in, 1/√d_in); biases 0).
    pub seed: u64,
}

impl BayesianDenseConfig {
    /// A `d_in → d_out` layer named `name`: prior N(0, 1), initial posterior sd 0.05.
    ///
    /// # Panics
    /// With a zero width (a programming error).
    pub fn new(name: &str, d_in: usize, d_out: usize) -> Self {
        assert!(d_in > 0 && d_out > 0, "a Bayesian dense layer needs non-zero widths");
        BayesianDenseConfig {
            name: name.to_string(),
            d_in,
            d_out,
            prior_scale: 1.0,
            init_scale: 0.05,
            seed: 0,
        }
    }

    /// Set the prior standard deviation.
    pub fn with_prior_scale(mut self, s: f64) -> Self {
        self.prior_scale = s;
        self
    }

    /// Set the initial posterior standard deviation.
    pub fn with_init_scale(mut self, s: f64) -> Self {
        self.init_scale = s;
        self
    }

    /// Set the initialisation seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The posterior and prior, on `device`.
    pub fn init_weights<B: Backend>(&self, device: &B::Device) -> MeanFieldWeights<B> {
        let mut key = RngKey::new(self.seed).fold_in(&self.name);
        let bound = 1.0 / (self.d_in as f64).sqrt();
        let n = self.d_in * self.d_out;
        let loc: Vec<f64> = key.uniform(n).into_iter().map(|u| (2.0 * u - 1.0) * bound).collect();
        let rho = inverse_softplus_host(self.init_scale);
        let opts = || float_options::<B>(device);
        MeanFieldWeights {
            kernel_loc: Param::from_tensor(Tensor::from_data(TensorData::new(loc, [self.d_in, self.d_out]), opts())),
            kernel_rho: Param::from_tensor(Tensor::full([self.d_in, self.d_out], rho, opts())),
            bias_loc: Param::from_tensor(Tensor::zeros([self.d_out], opts())),
            bias_rho: Param::from_tensor(Tensor::full([self.d_out], rho, opts())),
            prior_scale: self.prior_scale,
            name: self.name.clone(),
        }
    }

    /// A [`DenseReparameterization`] layer.
    pub fn init_reparameterization<B: Backend>(&self, device: &B::Device) -> DenseReparameterization<B> {
        DenseReparameterization {
            weights: self.init_weights(device),
        }
    }

    /// A [`DenseFlipout`] layer.
    pub fn init_flipout<B: Backend>(&self, device: &B::Device) -> DenseFlipout<B> {
        DenseFlipout {
            weights: self.init_weights(device),
        }
    }
}

/// `ln(eˢ − 1)`, the ρ whose softplus is `s`.
fn inverse_softplus_host(s: f64) -> f64 {
    if s > 20.0 {
        s
    } else {
        s.exp_m1().ln()
    }
}

/// A mean-field normal posterior over a `[d_in, d_out]` kernel and a `[d_out]` bias, with
/// scale `softplus(ρ)`, and a `N(0, prior_scale²)` prior.
#[derive(Module, Debug)]
pub struct MeanFieldWeights<B: Backend> {
    /// Posterior means of the kernel `[d_in, d_out]`.
    pub kernel_loc: Param<Tensor<B, 2>>,
    /// Unconstrained posterior scales of the kernel (scale = softplus(ρ)).
    pub kernel_rho: Param<Tensor<B, 2>>,
    /// Posterior means of the bias `[d_out]`.
    pub bias_loc: Param<Tensor<B, 1>>,
    /// Unconstrained posterior scales of the bias.
    pub bias_rho: Param<Tensor<B, 1>>,
    #[module(skip)]
    prior_scale: f64,
    #[module(skip)]
    name: String,
}

impl<B: Backend> MeanFieldWeights<B> {
    /// The layer name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Posterior standard deviations of the kernel `[d_in, d_out]`.
    pub fn kernel_scale(&self) -> Tensor<B, 2> {
        softplus(self.kernel_rho.val())
    }

    /// Posterior standard deviations of the bias `[d_out]`.
    pub fn bias_scale(&self) -> Tensor<B, 1> {
        softplus(self.bias_rho.val())
    }

    /// `KL(q ‖ p)` summed over kernel and bias, a `[1]` tensor (analytic, from the registry).
    pub fn kl(&self) -> Tensor<B, 1> {
        let kl_k = kl_divergence(
            &Normal::new_unchecked(self.kernel_loc.val(), self.kernel_scale()),
            &Normal::new_unchecked(self.kernel_loc.val().zeros_like(), self.prior_scale),
        )
        .expect("Normal–Normal KL is registered");
        let kl_b = kl_divergence(
            &Normal::new_unchecked(self.bias_loc.val(), self.bias_scale()),
            &Normal::new_unchecked(self.bias_loc.val().zeros_like(), self.prior_scale),
        )
        .expect("Normal–Normal KL is registered");
        kl_k.sum().reshape([1]) + kl_b.sum()
    }

    /// Add `−KL` to the model's log-density (a global factor `"{name}.kl"`) and return a fresh
    /// key for this pass's weight noise.
    pub(crate) fn enter(&self, ctx: &mut Ctx<B>) -> RngKey {
        ctx.global_factor(&format!("{}.kl", self.name), self.kl().neg());
        ctx.rng(&self.name)
    }

    /// Standard normal noise of `shape` on the layer's device.
    pub(crate) fn noise<const D: usize>(&self, key: &mut RngKey, shape: [usize; D]) -> Tensor<B, D> {
        let n = shape.iter().product();
        upload::<B, D>(key.standard_normal(n), shape, &self.kernel_loc.device())
    }

    /// One pathwise draw of the bias, `[d_out]`.
    pub(crate) fn bias_draw(&self, key: &mut RngKey) -> Tensor<B, 1> {
        let d_out = self.bias_loc.dims()[0];
        self.bias_loc.val() + self.bias_scale() * self.noise(key, [d_out])
    }
}

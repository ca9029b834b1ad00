//! Optimizer, learning-rate schedule and gradient clipping for [`crate::Svi`].

use burn::grad_clipping::GradientClippingConfig;
use burn::module::AutodiffModule;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{
    Adam, AdamConfig, AdamW, AdamWConfig, GradientsParams, Optimizer, RmsProp, RmsPropConfig, Sgd, SgdConfig,
};
use burn::tensor::backend::AutodiffBackend;

/// Which optimizer (from burn-optim) updates the parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OptimizerKind {
    /// Adam (β₁ = 0.9, β₂ = 0.999, ε = 1e−5): the default, as in Pyro and NumPyro examples.
    Adam,
    /// AdamW: Adam with decoupled weight decay (each step also shrinks every parameter by
    /// `lr · weight_decay`; Loshchilov & Hutter 2019); β and ε as [`OptimizerKind::Adam`].
    AdamW {
        /// The decay rate (burn's default 1e−4).
        weight_decay: f64,
    },
    /// RMSprop without momentum (PyTorch's default; Edward's VAE used it): the gradient
    /// divided by the root of a moving average of its square (ε = 1e−5).
    RmsProp {
        /// Smoothing constant of the moving average (PyTorch: 0.99; TensorFlow: 0.9).
        alpha: f64,
        /// Divide by an estimate of the gradient's variance instead (centered RMSprop).
        centered: bool,
    },
    /// SGD, with optional momentum.
    Sgd {
        /// Momentum factor (None: plain SGD).
        momentum: Option<f64>,
    },
}

/// The learning rate as a function of the step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LrSchedule {
    /// `lr` at every step.
    Constant,
    /// `lr · gamma^step` (Pyro's `ExponentialLR`, per step).
    Exponential {
        /// Per-step decay factor.
        gamma: f64,
    },
    /// `lr · factor^⌊step / every⌋`.
    Step {
        /// Steps between decays.
        every: usize,
        /// Decay factor.
        factor: f64,
    },
}

impl LrSchedule {
    /// The learning rate at `step` for a base rate `lr`.
    pub fn at(&self, lr: f64, step: usize) -> f64 {
        match *self {
            LrSchedule::Constant => lr,
            LrSchedule::Exponential { gamma } => lr * gamma.powf(step as f64),
            LrSchedule::Step { every, factor } => lr * factor.powi((step / every.max(1)) as i32),
        }
    }
}

/// A burn optimizer chosen at run time.
#[derive(Clone)]
pub(crate) enum AnyOptimizer<M: AutodiffModule<B>, B: AutodiffBackend> {
    Adam(burn::optim::adaptor::OptimizerAdaptor<Adam, M, B>),
    AdamW(burn::optim::adaptor::OptimizerAdaptor<AdamW, M, B>),
    RmsProp(burn::optim::adaptor::OptimizerAdaptor<RmsProp, M, B>),
    Sgd(burn::optim::adaptor::OptimizerAdaptor<Sgd<B::InnerBackend>, M, B>),
}

impl<M: AutodiffModule<B>, B: AutodiffBackend> AnyOptimizer<M, B> {
    pub(crate) fn new(kind: OptimizerKind, clip_norm: Option<f64>) -> Self {
        let clip = clip_norm.map(|c| GradientClippingConfig::Norm(c as f32));
        match kind {
            OptimizerKind::Adam => AnyOptimizer::Adam(AdamConfig::new().with_grad_clipping(clip).init()),
            OptimizerKind::AdamW { weight_decay } => AnyOptimizer::AdamW(
                AdamWConfig::new()
                    .with_weight_decay(weight_decay as f32)
                    .with_grad_clipping(clip)
                    .init(),
            ),
            // Momentum 0: burn keeps RMSprop's momentum buffer private, so a checkpoint could
            // not restore it; without momentum every state tensor is public.
            OptimizerKind::RmsProp { alpha, centered } => AnyOptimizer::RmsProp(
                RmsPropConfig::new()
                    .with_alpha(alpha as f32)
                    .with_momentum(0.0)
                    .with_centered(centered)
                    .with_grad_clipping(clip)
                    .init(),
            ),
            OptimizerKind::Sgd { momentum } => AnyOptimizer::Sgd(
                SgdConfig::new()
                    .with_momentum(momentum.map(|m| MomentumConfig::new().with_momentum(m).with_dampening(0.0)))
                    .with_gradient_clipping(clip)
                    .init(),
            ),
        }
    }

    pub(crate) fn step(&mut self, lr: f64, module: M, grads: GradientsParams) -> M {
        match self {
            AnyOptimizer::Adam(o) => o.step(lr, module, grads),
            AnyOptimizer::AdamW(o) => o.step(lr, module, grads),
            AnyOptimizer::RmsProp(o) => o.step(lr, module, grads),
            AnyOptimizer::Sgd(o) => o.step(lr, module, grads),
        }
    }
}

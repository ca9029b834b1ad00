//! Optimizer, learning-rate schedule and gradient clipping for [`crate::Svi`].

use burn::grad_clipping::GradientClippingConfig;
use burn::module::AutodiffModule;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{Adam, AdamConfig, GradientsParams, Optimizer, Sgd, SgdConfig};
use burn::tensor::backend::AutodiffBackend;

/// Which optimizer (from burn-optim) updates the parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OptimizerKind {
    /// Adam (β₁ = 0.9, β₂ = 0.999, ε = 1e−5): the default, as in Pyro and NumPyro examples.
    Adam,
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
    Sgd(burn::optim::adaptor::OptimizerAdaptor<Sgd<B::InnerBackend>, M, B>),
}

impl<M: AutodiffModule<B>, B: AutodiffBackend> AnyOptimizer<M, B> {
    pub(crate) fn new(kind: OptimizerKind, clip_norm: Option<f64>) -> Self {
        let clip = clip_norm.map(|c| GradientClippingConfig::Norm(c as f32));
        match kind {
            OptimizerKind::Adam => AnyOptimizer::Adam(AdamConfig::new().with_grad_clipping(clip).init()),
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
            AnyOptimizer::Sgd(o) => o.step(lr, module, grads),
        }
    }
}

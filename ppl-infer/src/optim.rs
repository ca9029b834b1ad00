//! Optimizer, learning-rate schedule and gradient clipping for [`crate::Svi`].

use std::cell::Cell;

use burn::grad_clipping::GradientClippingConfig;
use burn::module::{AutodiffModule, ModuleVisitor, Param};
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{
    AdamState, AdamW, AdamWConfig, AdaptiveMomentumState, GradientsParams, LearningRate, Optimizer, RmsProp,
    RmsPropConfig, Sgd, SgdConfig, SimpleOptimizer,
};
use burn::tensor::Tensor;
use ppl_dist::kernels::{AdamMoments, AdamStep, FusedKernels, TrainingBackend};

/// Which optimizer (from burn-optim) updates the parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OptimizerKind {
    /// Adam (β₁ = 0.9, β₂ = 0.999, ε = 1e−5): the default, as in Pyro and NumPyro examples.
    /// burn-optim's arithmetic, run through the backend's fused kernel where it has one
    /// ([`FusedKernels::adam_update`]: one pass per parameter on flex) with the same values.
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

/// Adam as burn-optim 0.21 computes it (no weight decay, no AMSGrad), each parameter updated
/// by [`FusedKernels::adam_update`]; its state is burn's [`AdamState`], so checkpoints and
/// records are those of burn's `Adam`.
#[derive(Clone, Debug)]
pub(crate) struct FusedAdam {
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
}

impl Default for FusedAdam {
    /// burn's `AdamConfig` defaults.
    fn default() -> Self {
        FusedAdam {
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-5,
        }
    }
}

impl<B: FusedKernels> SimpleOptimizer<B> for FusedAdam {
    type State<const D: usize> = AdamState<B, D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<B, D>,
        grad: Tensor<B, D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<B, D>, Option<Self::State<D>>) {
        let (time, moments) = match state {
            Some(AdamState { momentum }) => (
                momentum.time + 1,
                Some(AdamMoments {
                    moment_1: momentum.moment_1,
                    moment_2: momentum.moment_2,
                }),
            ),
            None => (1, None),
        };
        let step = AdamStep {
            beta_1: self.beta_1,
            beta_2: self.beta_2,
            epsilon: self.epsilon,
            lr,
            time,
        };
        let (tensor, m, finite) = B::adam_update_checked(tensor, grad, moments, &step);
        UPDATED_FINITE.with(|c| {
            if let Some((count, all)) = c.get() {
                c.set(Some((count + 1, all.zip(finite).map(|(a, b)| a & b))));
            }
        });
        let momentum = AdaptiveMomentumState::new(time, m.moment_1, m.moment_2);
        (tensor, Some(AdamState::new(momentum)))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &B::Device) -> Self::State<D> {
        AdamState::new(state.momentum.to_device(device))
    }
}

thread_local! {
    /// While [`AnyOptimizer::step`] runs on this thread: how many parameters [`FusedAdam`]
    /// updated, and whether every new value was finite (`None` once a kernel could not tell).
    static UPDATED_FINITE: Cell<Option<(usize, Option<bool>)>> = const { Cell::new(None) };
}

/// Counts a module's float parameters.
struct CountParams(usize);

impl<B: burn::tensor::backend::Backend> ModuleVisitor<B> for CountParams {
    fn visit_float<const D: usize>(&mut self, _: &Param<Tensor<B, D>>) {
        self.0 += 1;
    }
}

/// A burn optimizer chosen at run time.
#[derive(Clone)]
pub(crate) enum AnyOptimizer<M: AutodiffModule<B>, B: TrainingBackend> {
    Adam(OptimizerAdaptor<FusedAdam, M, B>),
    AdamW(OptimizerAdaptor<AdamW, M, B>),
    RmsProp(OptimizerAdaptor<RmsProp, M, B>),
    Sgd(OptimizerAdaptor<Sgd<B::InnerBackend>, M, B>),
}

impl<M: AutodiffModule<B>, B: TrainingBackend> AnyOptimizer<M, B> {
    pub(crate) fn new(kind: OptimizerKind, clip_norm: Option<f64>) -> Self {
        let clip = clip_norm.map(|c| GradientClippingConfig::Norm(c as f32));
        match kind {
            OptimizerKind::Adam => {
                let adam = OptimizerAdaptor::from(FusedAdam::default());
                AnyOptimizer::Adam(match clip {
                    Some(c) => adam.with_grad_clipping(c.init()),
                    None => adam,
                })
            }
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

    /// One update of `module` by `grads`, and whether every parameter of the updated module
    /// is finite where the update could tell without another pass over them (`None`: check
    /// them separately): Adam on a backend whose kernel checks the values it writes, and
    /// every float parameter updated (one without a gradient is not checked here).
    pub(crate) fn step_checked(&mut self, lr: f64, module: M, grads: GradientsParams) -> (M, Option<bool>) {
        let AnyOptimizer::Adam(o) = self else {
            return (self.step(lr, module, grads), None);
        };
        let mut params = CountParams(0);
        module.visit(&mut params);
        // The outer count put back after: a thread that waits inside a kernel may run another
        // fit's step (rayon's work stealing), which counts its own parameters.
        let outer = UPDATED_FINITE.with(|c| c.replace(Some((0, Some(true)))));
        let updated = o.step(lr, module, grads);
        let (count, finite) = UPDATED_FINITE.with(|c| c.replace(outer)).unwrap_or((0, None));
        (updated, finite.filter(|_| count == params.0))
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

#[cfg(test)]
mod tests {
    use burn::module::{Module, Param};
    use burn::optim::{AdamConfig, GradientsParams, Optimizer};
    use burn::tensor::backend::Backend;
    use burn::tensor::Tensor;
    use ppl_dist::kernels::TrainingBackend;
    use ppl_dist::testkit::{host, t1, t2};

    use super::{AnyOptimizer, OptimizerKind};

    #[derive(Module, Debug)]
    struct Two<B: Backend> {
        a: Param<Tensor<B, 1>>,
        w: Param<Tensor<B, 2>>,
    }

    /// A loss whose gradient changes from step to step (and is 0 for some entries).
    fn grads<B: TrainingBackend>(m: &Two<B>, step: usize, dev: &B::Device) -> GradientsParams {
        let k = t1::<B>(&[1.0, -2.0, 0.0, 0.5], dev).mul_scalar(step as f64 + 1.0);
        let loss = (m.a.val() * k).sin().sum() + m.w.val().powi_scalar(2).mul_scalar(0.3 * step as f64).sum();
        GradientsParams::from_grads(loss.backward(), m)
    }

    fn values<B: Backend>(m: &Two<B>) -> Vec<f64> {
        let mut v = host(m.a.val());
        v.extend(host(m.w.val()));
        v
    }

    fn bits<B: Backend>(m: &Two<B>) -> Vec<u64> {
        values(m).into_iter().map(f64::to_bits).collect()
    }

    /// The Adam of `OptimizerKind::Adam` (the backend's fused kernel where it has one) takes
    /// burn-optim's `Adam` steps bit for bit, with and without gradient clipping; on libtorch,
    /// whose kernel runs torch's fused operators (another rounding of the same update), within
    /// a few f32 ulps of each parameter's magnitude per step.
    fn svi_adam_is_burns_adam<B: TrainingBackend>(dev: &B::Device) {
        let exact = !(cfg!(feature = "tch") && std::any::type_name::<B>().contains("LibTorch"));
        for clip in [None, Some(0.7)] {
            let init = Two {
                a: Param::from_tensor(t1::<B>(&[0.3, -1.2, 4.0, 1e-3], dev)),
                w: Param::from_tensor(t2::<B>(&[0.5, -0.25, 2.0, 0.0, 1e4, -3e-4], 2, 3, dev)),
            };
            let mut ours = AnyOptimizer::<Two<B>, B>::new(OptimizerKind::Adam, clip);
            let mut theirs = AdamConfig::new()
                .with_grad_clipping(clip.map(|c| burn::grad_clipping::GradientClippingConfig::Norm(c as f32)))
                .init::<B, Two<B>>();
            let (mut m1, mut m2) = (init.clone(), init);
            for step in 0..6 {
                let lr = 0.01 * (1.0 + step as f64);
                let (g1, g2) = (grads(&m1, step, dev), grads(&m2, step, dev));
                m1 = ours.step(lr, m1, g1);
                m2 = theirs.step(lr, m2, g2);
                if exact {
                    assert_eq!(bits(&m1), bits(&m2), "clip {clip:?}, step {step}");
                } else {
                    // Each step moves a parameter by at most about lr; the roundings of six
                    // steps, each within a few ulps of the parameter and its step.
                    for (i, (a, b)) in values(&m1).into_iter().zip(values(&m2)).enumerate() {
                        let tol = 32.0 * f64::from(f32::EPSILON) * (a.abs().max(b.abs()) + 0.06);
                        assert!(
                            (a - b).abs() <= tol,
                            "clip {clip:?}, step {step}, parameter {i}: {a:e} vs {b:e}"
                        );
                    }
                }
            }
        }
    }

    /// `step_checked` tells whether the updated parameters are finite where Adam's kernel
    /// checks what it writes (flex: for a finite update, a NaN gradient, an infinite
    /// parameter) and every parameter was updated; `None` elsewhere (other backends, a
    /// parameter without a gradient, other optimizers), where `Svi` checks them in a pass of
    /// its own. The parameters are the same as `step`'s.
    fn adam_tells_whether_the_update_is_finite<B: TrainingBackend>(dev: &B::Device) {
        let flex = std::any::type_name::<B>().contains("Flex");
        let run = |kind: OptimizerKind, m: Two<B>, g: GradientsParams| {
            let (checked, finite) = AnyOptimizer::<Two<B>, B>::new(kind, None).step_checked(0.01, m, g);
            (bits(&checked), finite)
        };
        let plain = |kind: OptimizerKind, m: Two<B>, g: GradientsParams| {
            bits(&AnyOptimizer::<Two<B>, B>::new(kind, None).step(0.01, m, g))
        };
        let m = Two {
            a: Param::from_tensor(t1::<B>(&[0.3, -1.2, 4.0, 1e-3], dev)),
            w: Param::from_tensor(t2::<B>(&[0.5, -0.25, 2.0, 0.0, 1e4, -3e-4], 2, 3, dev)),
        };
        let (b, f) = run(OptimizerKind::Adam, m.clone(), grads(&m, 1, dev));
        assert_eq!(
            b,
            plain(OptimizerKind::Adam, m.clone(), grads(&m, 1, dev)),
            "the same update"
        );
        assert_eq!(f, flex.then_some(true), "a finite update");
        let mut g = grads(&m, 1, dev);
        g.register(m.a.id, t1::<B::InnerBackend>(&[1.0, f64::NAN, 0.0, 2.0], dev));
        assert_eq!(
            run(OptimizerKind::Adam, m.clone(), g).1,
            flex.then_some(false),
            "a NaN gradient"
        );
        let g = grads(&m, 1, dev);
        let mut inf = m.clone();
        inf.a = inf.a.map(|_| t1::<B>(&[0.3, f64::INFINITY, 4.0, 1e-3], dev));
        assert_eq!(
            run(OptimizerKind::Adam, inf, g).1,
            flex.then_some(false),
            "an infinite parameter"
        );
        let mut g = grads(&m, 1, dev);
        let _ = g.remove::<B::InnerBackend, 2>(m.w.id);
        assert_eq!(
            run(OptimizerKind::Adam, m.clone(), g).1,
            None,
            "a parameter without a gradient"
        );
        let sgd = OptimizerKind::Sgd { momentum: None };
        assert_eq!(run(sgd, m.clone(), grads(&m, 1, dev)).1, None, "SGD");
    }

    ppl_dist::backend_suite!(svi_adam_is_burns_adam, adam_tells_whether_the_update_is_finite);
}

//! The fused kernels on burn's autodiff backend: each forward pass runs the inner backend's
//! kernel and records one node in the graph, whose backward pass runs the inner backend's
//! gradient kernel (instead of one node per composed operation).

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{broadcast_shape, unary, Backward, Ops, OpsKind};
use burn::backend::autodiff::NodeId;
use burn::backend::Autodiff;
use burn::tensor::backend::Backend;
use burn::tensor::ops::FloatTensor;
use burn::tensor::Tensor;
use burn::tensor::TensorMetadata;

use super::bernoulli::bernoulli_logits_log_prob_composed;
use super::half_cauchy::half_cauchy_log_prob_grads;
use super::log_normal::log_normal_log_prob_grads;
use super::normal::normal_log_prob_grads;
use super::{float, DenseActivation, FusedKernels};

impl<B: FusedKernels, C: CheckpointStrategy> FusedKernels for Autodiff<B, C> {
    fn kernels_on_rayon_pool() -> bool {
        B::kernels_on_rayon_pool()
    }

    /// One graph node with `logits` as its only parent; a `value` that is itself tracked
    /// (a gradient would be owed to it) takes the composed operations instead.
    fn bernoulli_logits_log_prob<const D: usize>(logits: Tensor<Self, D>, value: Tensor<Self, D>) -> Tensor<Self, D> {
        let (l, x) = (logits.into_primitive().tensor(), value.into_primitive().tensor());
        if !x.node.requirement.is_none() {
            return bernoulli_logits_log_prob_composed(float(l), float(x));
        }
        let out = B::bernoulli_logits_log_prob(float::<B, D>(l.primitive.clone()), float(x.primitive.clone()));
        let out = out.into_primitive().tensor();
        let state = (l.primitive.clone(), x.primitive);
        float(record::<B, C, _, 1>(BernoulliLogits, [&l], state, out))
    }

    /// Two graph nodes, each with `logits` as its only parent: the element-wise values (as
    /// [`FusedKernels::bernoulli_logits_log_prob`]) and their sum, whose backward step hands
    /// the sum's gradient, one number, to the inner backend's
    /// [`FusedKernels::bernoulli_logits_sum_grad`]. A tracked `value` takes the composed
    /// operations, as there.
    fn bernoulli_logits_log_prob_sum<const D: usize>(
        logits: Tensor<Self, D>,
        value: Tensor<Self, D>,
    ) -> (Tensor<Self, D>, Tensor<Self, 1>) {
        let (l, x) = (logits.into_primitive().tensor(), value.into_primitive().tensor());
        if !x.node.requirement.is_none() {
            let lp = bernoulli_logits_log_prob_composed(float::<Self, D>(l), float(x));
            return (lp.clone(), lp.sum());
        }
        let (lv, xv) = (float::<B, D>(l.primitive.clone()), float::<B, D>(x.primitive.clone()));
        // Slopes only for a backward pass (tracked logits), where the backend keeps them.
        let slopes = if l.node.requirement.is_none() {
            None
        } else {
            B::bernoulli_logits_log_prob_slopes(lv.clone(), xv.clone())
        };
        let (out, sum_state) = match slopes {
            Some((out, w)) => (out, SumState::Slopes(w.into_primitive().tensor())),
            None => (
                B::bernoulli_logits_log_prob(lv, xv),
                SumState::Values(l.primitive.clone(), x.primitive.clone()),
            ),
        };
        let sum = out.clone().sum().into_primitive().tensor();
        let state = (l.primitive.clone(), x.primitive);
        let lp = record::<B, C, _, 1>(BernoulliLogits, [&l], state, out.into_primitive().tensor());
        let sum = record::<B, C, _, 1>(BernoulliLogitsSum, [&l], sum_state, sum);
        (float(lp), float(sum))
    }

    /// One graph node with `value`, `loc` and `scale` as parents (any of them untracked).
    fn normal_log_prob<const D: usize>(
        value: Tensor<Self, D>,
        loc: Tensor<Self, D>,
        scale: Tensor<Self, D>,
    ) -> Tensor<Self, D> {
        fused_density(
            [value, loc, scale],
            |[x, m, s]| B::normal_log_prob(x, m, s),
            normal_partials::<B, D>,
        )
    }

    /// One graph node with `value`, `loc` and `scale` as parents (any of them untracked).
    fn log_normal_log_prob<const D: usize>(
        value: Tensor<Self, D>,
        loc: Tensor<Self, D>,
        scale: Tensor<Self, D>,
    ) -> Tensor<Self, D> {
        fused_density(
            [value, loc, scale],
            |[x, m, s]| B::log_normal_log_prob(x, m, s),
            log_normal_partials::<B, D>,
        )
    }

    /// One graph node with `value` and `scale` as parents (either untracked).
    fn half_cauchy_log_prob<const D: usize>(value: Tensor<Self, D>, scale: Tensor<Self, D>) -> Tensor<Self, D> {
        fused_density(
            [value, scale],
            |[x, s]| B::half_cauchy_log_prob(x, s),
            half_cauchy_partials::<B, D>,
        )
    }

    /// One graph node with `x`, `weight` and `bias` as parents (any of them untracked); it
    /// keeps `x` only when the weight is tracked, the weight only when `x` is, and the
    /// output only for ReLU.
    fn dense(
        x: Tensor<Self, 2>,
        weight: Tensor<Self, 2>,
        bias: Option<Tensor<Self, 1>>,
        activation: DenseActivation,
    ) -> Tensor<Self, 2> {
        let (x, w) = (x.into_primitive().tensor(), weight.into_primitive().tensor());
        let b = bias.map(|b| b.into_primitive().tensor());
        let out = B::dense(
            float(x.primitive.clone()),
            float(w.primitive.clone()),
            b.as_ref().map(|b| float(b.primitive.clone())),
            activation,
        )
        .into_primitive()
        .tensor();
        let tracked = |t: &FloatTensor<Self>| !t.node.requirement.is_none();
        let state = DenseState {
            x: tracked(&w).then(|| x.primitive.clone()),
            weight: tracked(&x).then(|| w.primitive.clone()),
            output: (activation == DenseActivation::Relu).then(|| out.clone()),
            activation,
        };
        float(match &b {
            Some(b) => record::<B, C, _, 3>(DenseBackward, [&x, &w, b], state, out),
            None => record::<B, C, _, 2>(DenseBackward, [&x, &w], state, out),
        })
    }

    /// One graph node; its backward pass multiplies by `σ(x)`.
    fn softplus<const D: usize>(x: Tensor<Self, D>) -> Tensor<Self, D> {
        let x = x.into_primitive().tensor();
        let out = B::softplus(float::<B, D>(x.primitive.clone()))
            .into_primitive()
            .tensor();
        let state = x.primitive.clone();
        float(record::<B, C, _, 1>(Softplus, [&x], state, out))
    }

    /// One graph node with `loc` and `scale` as parents; noise `eps` that is itself tracked
    /// takes the composed operations.
    fn normal_reparameterized<const D: usize>(
        loc: Tensor<Self, D>,
        scale: Tensor<Self, D>,
        eps: Tensor<Self, D>,
    ) -> Tensor<Self, D> {
        let (m, s, e) = (
            loc.into_primitive().tensor(),
            scale.into_primitive().tensor(),
            eps.into_primitive().tensor(),
        );
        if !e.node.requirement.is_none() {
            return float::<Self, D>(m) + float::<Self, D>(s) * float::<Self, D>(e);
        }
        let out = B::normal_reparameterized(
            float::<B, D>(m.primitive.clone()),
            float(s.primitive.clone()),
            float(e.primitive.clone()),
        );
        let out = out.into_primitive().tensor();
        let state = (m.primitive.shape(), s.primitive.shape(), e.primitive);
        float(record::<B, C, _, 2>(NormalReparameterized, [&m, &s], state, out))
    }

    /// One graph node with `value` and `loc` as parents.
    fn normal_log_prob_fixed_scale<const D: usize>(
        value: Tensor<Self, D>,
        loc: Tensor<Self, D>,
        scale: f64,
    ) -> Tensor<Self, D> {
        let (x, m) = (value.into_primitive().tensor(), loc.into_primitive().tensor());
        let out = B::normal_log_prob_fixed_scale(float::<B, D>(x.primitive.clone()), float(m.primitive.clone()), scale);
        let out = out.into_primitive().tensor();
        let state = (x.primitive.clone(), m.primitive.clone());
        float(record::<B, C, _, 2>(
            NormalLogDensityFixedScale::<D>(scale),
            [&x, &m],
            state,
            out,
        ))
    }
}

/// Record `out`, computed by the inner backend from `parents`, as one graph node of `op` with
/// `state` kept for its backward step (dropped when no parent is tracked): the one pattern
/// every fused override follows.
fn record<B: FusedKernels, C: CheckpointStrategy, O: Backward<B, N>, const N: usize>(
    op: O,
    parents: [&FloatTensor<Autodiff<B, C>>; N],
    state: O::State,
    out: FloatTensor<B>,
) -> FloatTensor<Autodiff<B, C>> {
    match op
        .prepare::<C>(parents.map(|p| p.node.clone()))
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish(state, out),
        OpsKind::UnTracked(prep) => prep.finish(out),
    }
}

/// Hand each parent that is tracked its gradient, summed back from the broadcast shape to
/// the parent's own shape (what burn's binary operations do).
fn register_grads<B: FusedKernels, const N: usize>(
    parents: [Option<NodeId>; N],
    shapes: [burn::tensor::Shape; N],
    partials: [Option<FloatTensor<B>>; N],
    grads: &mut Gradients,
) {
    for ((parent, shape), partial) in parents.into_iter().zip(shapes).zip(partials) {
        if let (Some(id), Some(g)) = (parent, partial) {
            grads.register::<B>(id, broadcast_shape::<B>(g, &shape));
        }
    }
}

/// The backward step of the fused Bernoulli log-density; its state is the logits and the
/// value.
#[derive(Debug)]
struct BernoulliLogits;

impl<B: FusedKernels> Backward<B, 1> for BernoulliLogits {
    type State = (FloatTensor<B>, FloatTensor<B>);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let (logits, value) = ops.state;
        unary::<B, _>(ops.parents, ops.node, grads, |grad| {
            // Element-wise, so computed on the flattened tensors (the state has no rank).
            let shape = logits.shape();
            let n = shape.num_elements();
            let flat = |t: FloatTensor<B>| float::<B, 1>(t).reshape([n]);
            let g = B::bernoulli_logits_grad(flat(logits), flat(value), flat(grad));
            B::float_reshape(g.into_primitive().tensor(), shape)
        });
    }
}

/// The backward step of the sum of the fused Bernoulli log-density's elements; its state is
/// the slopes where the forward pass kept them, the logits and the value otherwise.
#[derive(Debug)]
struct BernoulliLogitsSum;

/// What [`BernoulliLogitsSum`] keeps for its backward step.
#[derive(Debug, Clone)]
enum SumState<B: Backend> {
    /// Each element's slope ([`FusedKernels::bernoulli_logits_log_prob_slopes`]).
    Slopes(FloatTensor<B>),
    /// The logits and the value.
    Values(FloatTensor<B>, FloatTensor<B>),
}

impl<B: FusedKernels> Backward<B, 1> for BernoulliLogitsSum {
    type State = SumState<B>;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        unary::<B, _>(ops.parents, ops.node, grads, |grad| {
            // Element-wise, so computed on the flattened tensors (the state has no rank).
            let grad = float::<B, 1>(grad).reshape([1]);
            let (shape, g) = match ops.state {
                SumState::Slopes(w) => {
                    let shape = w.shape();
                    let n = shape.num_elements();
                    let g = B::bernoulli_logits_sum_grad_from_slopes(float::<B, 1>(w).reshape([n]), grad);
                    (shape, g)
                }
                SumState::Values(logits, value) => {
                    let shape = logits.shape();
                    let n = shape.num_elements();
                    let flat = |t: FloatTensor<B>| float::<B, 1>(t).reshape([n]);
                    (shape, B::bernoulli_logits_sum_grad(flat(logits), flat(value), grad))
                }
            };
            B::float_reshape(g.into_primitive().tensor(), shape)
        });
    }
}

/// The gradients of a fused density from its inputs and the gradient of its output: each
/// input's gradient in the broadcast shape, where wanted (`None` otherwise).
type Partials<B, const N: usize> = fn([FloatTensor<B>; N], FloatTensor<B>, [bool; N]) -> [Option<FloatTensor<B>>; N];

/// The backward step of a fused density of `N` inputs; its state is the inputs.
#[derive(Debug)]
struct DensityBackward<B: FusedKernels, const N: usize>(Partials<B, N>);

impl<B: FusedKernels, const N: usize> Backward<B, N> for DensityBackward<B, N> {
    type State = [FloatTensor<B>; N];

    fn backward(self, ops: Ops<Self::State, N>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let grad = grads.consume::<B>(&ops.node);
        let shapes = ops.state.each_ref().map(|t| t.shape());
        let wanted = ops.parents.each_ref().map(Option::is_some);
        let partials = (self.0)(ops.state, grad, wanted);
        register_grads::<B, N>(ops.parents.map(|p| p.map(|n| n.id)), shapes, partials, grads);
    }
}

/// A density computed by the inner backend's `forward` from `inputs`, recorded as one graph
/// node with the inputs as parents and `partials` as its backward step.
fn fused_density<B: FusedKernels, C: CheckpointStrategy, const D: usize, const N: usize>(
    inputs: [Tensor<Autodiff<B, C>, D>; N],
    forward: impl FnOnce([Tensor<B, D>; N]) -> Tensor<B, D>,
    partials: Partials<B, N>,
) -> Tensor<Autodiff<B, C>, D> {
    let inputs = inputs.map(|t| t.into_primitive().tensor());
    let out = forward(inputs.each_ref().map(|t| float(t.primitive.clone())));
    let state = inputs.each_ref().map(|t| t.primitive.clone());
    float(record::<B, C, _, N>(
        DensityBackward(partials),
        inputs.each_ref(),
        state,
        out.into_primitive().tensor(),
    ))
}

/// The primitives of rank-`D` gradients.
fn primitives<B: Backend, const D: usize, const N: usize>(g: [Option<Tensor<B, D>>; N]) -> [Option<FloatTensor<B>>; N] {
    g.map(|g| g.map(|g| g.into_primitive().tensor()))
}

/// A [`Partials`] function (rank `D`) that converts the primitives and calls a density's
/// composed gradient function `$grads(inputs…, grad, wanted)`.
macro_rules! partials {
    ($(#[$doc:meta])* $name:ident = $grads:ident($($input:ident),+; $n:literal)) => {
        $(#[$doc])*
        fn $name<B: FusedKernels, const D: usize>(
            [$($input),+]: [FloatTensor<B>; $n],
            grad: FloatTensor<B>,
            wanted: [bool; $n],
        ) -> [Option<FloatTensor<B>>; $n] {
            primitives($grads::<B, D>($(float($input)),+, float(grad), wanted))
        }
    };
}

partials!(
    /// [`Partials`] of the normal log-density.
    normal_partials = normal_log_prob_grads(x, m, s; 3)
);
partials!(
    /// [`Partials`] of the log-normal log-density.
    log_normal_partials = log_normal_log_prob_grads(x, m, s; 3)
);
partials!(
    /// [`Partials`] of the half-Cauchy log-density.
    half_cauchy_partials = half_cauchy_log_prob_grads(x, s; 2)
);

/// The backward step of the fused normal log-density with a fixed scale (rank `D`); its
/// state is the value and the location.
#[derive(Debug)]
struct NormalLogDensityFixedScale<const D: usize>(f64);

impl<B: FusedKernels, const D: usize> Backward<B, 2> for NormalLogDensityFixedScale<D> {
    type State = (FloatTensor<B>, FloatTensor<B>);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let grad = grads.consume::<B>(&ops.node);
        let (x, m) = ops.state;
        let shapes = [x.shape(), m.shape()];
        let wanted = ops.parents.each_ref().map(Option::is_some);
        let partials = B::normal_log_prob_fixed_scale_grads::<D>(float(x), float(m), self.0, float(grad), wanted)
            .map(|g| g.map(|g| g.into_primitive().tensor()));
        register_grads::<B, 2>(ops.parents.map(|p| p.map(|n| n.id)), shapes, partials, grads);
    }
}

/// What the backward step of a fused dense layer keeps: `x` (for the weight's gradient), the
/// weight (for `x`'s) and the output (for ReLU's), each only when needed.
#[derive(Debug, Clone)]
struct DenseState<B: Backend> {
    x: Option<FloatTensor<B>>,
    weight: Option<FloatTensor<B>>,
    output: Option<FloatTensor<B>>,
    activation: DenseActivation,
}

/// The backward step of a fused dense layer with `N` parents: `x`, the weight and, when
/// `N = 3`, the bias.
#[derive(Debug)]
struct DenseBackward;

impl<B: FusedKernels, const N: usize> Backward<B, N> for DenseBackward {
    type State = DenseState<B>;

    fn backward(self, ops: Ops<Self::State, N>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let grad = grads.consume::<B>(&ops.node);
        let DenseState {
            x,
            weight,
            output,
            activation,
        } = ops.state;
        let [x_node, w_node] = [0, 1].map(|i| ops.parents[i].as_ref().map(|n| n.id));
        let b_node = ops.parents.get(2).and_then(|p| p.as_ref().map(|n| n.id));
        let g = B::dense_grads(
            w_node.and(x).map(float),
            x_node.and(weight).map(float),
            output.map(float),
            float(grad),
            activation,
            b_node.is_some(),
        );
        let pairs = [
            (x_node, g.x.map(|t| t.into_primitive().tensor())),
            (w_node, g.weight.map(|t| t.into_primitive().tensor())),
            (b_node, g.bias.map(|t| t.into_primitive().tensor())),
        ];
        for (node, partial) in pairs {
            if let (Some(id), Some(partial)) = (node, partial) {
                grads.register::<B>(id, partial);
            }
        }
    }
}

/// The backward step of the fused softplus; its state is the input.
#[derive(Debug)]
struct Softplus;

impl<B: FusedKernels> Backward<B, 1> for Softplus {
    type State = FloatTensor<B>;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let x = ops.state;
        unary::<B, _>(ops.parents, ops.node, grads, |grad| {
            // Element-wise, so computed on the flattened tensors (the state has no rank).
            let shape = x.shape();
            let n = shape.num_elements();
            let flat = |t: FloatTensor<B>| float::<B, 1>(t).reshape([n]);
            let g = flat(grad) * crate::special::sigmoid(flat(x));
            B::float_reshape(g.into_primitive().tensor(), shape)
        });
    }
}

/// The backward step of the fused reparameterized normal draw; its state is the shapes of
/// the location and the scale, and the noise.
#[derive(Debug)]
struct NormalReparameterized;

impl<B: FusedKernels> Backward<B, 2> for NormalReparameterized {
    type State = (burn::tensor::Shape, burn::tensor::Shape, FloatTensor<B>);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let grad = grads.consume::<B>(&ops.node);
        let (loc_shape, scale_shape, eps) = ops.state;
        let wants_scale = ops.parents[1].is_some();
        let partials = [Some(grad.clone()), wants_scale.then(|| B::float_mul(grad, eps))];
        register_grads::<B, 2>(
            ops.parents.map(|p| p.map(|n| n.id)),
            [loc_shape, scale_shape],
            partials,
            grads,
        );
    }
}

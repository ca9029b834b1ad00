//! The fused kernels on burn's autodiff backend: each forward pass runs the inner backend's
//! kernel and records one node in the graph, whose backward pass runs the inner backend's
//! gradient kernel (instead of one node per composed operation).

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{unary, Backward, Ops, OpsKind};
use burn::backend::Autodiff;
use burn::tensor::ops::FloatTensor;
use burn::tensor::Tensor;
use burn::tensor::TensorMetadata;

use super::bernoulli::bernoulli_logits_log_prob_composed;
use super::{float, FusedKernels};

impl<B: FusedKernels, C: CheckpointStrategy> FusedKernels for Autodiff<B, C> {
    /// One graph node with `logits` as its only parent; a `value` that is itself tracked
    /// (a gradient would be owed to it) takes the composed operations instead.
    fn bernoulli_logits_log_prob<const D: usize>(logits: Tensor<Self, D>, value: Tensor<Self, D>) -> Tensor<Self, D> {
        let (l, x) = (logits.into_primitive().tensor(), value.into_primitive().tensor());
        if !x.node.requirement.is_none() {
            return bernoulli_logits_log_prob_composed(float(l), float(x));
        }
        let out = B::bernoulli_logits_log_prob(float::<B, D>(l.primitive.clone()), float(x.primitive.clone()));
        let out = out.into_primitive().tensor();
        let primitive = match BernoulliLogits
            .prepare::<C>([l.node.clone()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish((l.primitive, x.primitive), out),
            OpsKind::UnTracked(prep) => prep.finish(out),
        };
        float(primitive)
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

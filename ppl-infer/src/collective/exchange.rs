//! The exchanges between peers, each bounded by the peers' timeout: registration, a step's
//! status (sums of a few numbers), the gradients, peer 0's parameters. Threads of one
//! process exchange through burn-collective; processes through [`super::processes`].
//!
//! burn-collective's calls block until every peer has made the same call; a peer that
//! stopped would leave the others waiting forever. So each call runs on a helper thread and
//! the peer waits for it at most the timeout; past it, the peer fails with
//! [`InferError::Peer`] (the helper is left behind, blocked, until the process ends or the
//! collective is reset).

use std::sync::mpsc::{self, RecvTimeoutError};

use burn::module::{AutodiffModule, ModuleMapper, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData, TensorPrimitive};
use burn_collective::{PeerId, ReduceOperation};

use super::Peers;
use crate::InferError;

/// A [`InferError::Peer`] for this peer at `step`.
pub(crate) fn peer_error(peers: &Peers, step: usize, detail: String) -> InferError {
    InferError::Peer {
        peer: peers.id(),
        peers: peers.count(),
        step,
        detail,
    }
}

/// Run `call` (a blocking collective call) and wait for it at most the peers' timeout.
fn within<T: Send + 'static>(
    peers: &Peers,
    step: usize,
    what: &str,
    call: impl FnOnce() -> Result<T, burn_collective::CollectiveError> + Send + 'static,
) -> Result<T, InferError> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name(format!("ppl-peer-{}", peers.id()))
        .spawn(move || {
            let _ = tx.send(call());
        })
        .map_err(|e| peer_error(peers, step, format!("{what}: cannot start a thread: {e}")))?;
    match rx.recv_timeout(peers.timeout()) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(peer_error(
            peers,
            step,
            format!("{what}: burn-collective refused: {e:?}"),
        )),
        Err(RecvTimeoutError::Timeout) => Err(peer_error(
            peers,
            step,
            format!(
                "{what}: no answer from the other peers within {:.0?}: a peer stopped, failed, or never joined \
                 (each of the {} peers must run the same fit)",
                peers.timeout(),
                peers.count()
            ),
        )),
        Err(RecvTimeoutError::Disconnected) => {
            Err(peer_error(peers, step, format!("{what}: the collective call panicked")))
        }
    }
}

/// Join the collective (returns when every peer has joined).
///
/// # Errors
/// [`InferError::Peer`] when the others do not join within the timeout, or burn-collective
/// refuses (e.g. two peers with the same id, or different settings).
pub(crate) fn register<I: Backend>(peers: &Peers, device: I::Device) -> Result<(), InferError> {
    if let Some(address) = peers.address() {
        return super::processes::register(peers, address);
    }
    let (id, config) = (PeerId::from(peers.id()), peers.config());
    within(peers, 0, "joining the peers", move || {
        burn_collective::register::<I>(id, device, config)
    })
}

/// Leave the collective (best effort: errors are ignored, the wait is short).
pub(crate) fn finish<I: Backend>(peers: &Peers) {
    if peers.address().is_some() {
        return super::processes::finish();
    }
    let quick = peers.clone().with_timeout(std::time::Duration::from_secs(5));
    let id = PeerId::from(peers.id());
    let _ = within(&quick, 0, "leaving the peers", move || {
        burn_collective::finish_collective::<I>(id)
    });
}

/// The sums over the peers of each peer's `values` (in the backend's float type).
///
/// # Errors
/// [`InferError::Peer`] (timeout, refusal).
pub(crate) fn sum_scalars<I: Backend, const N: usize>(
    peers: &Peers,
    step: usize,
    values: [f64; N],
    device: &I::Device,
) -> Result<[f64; N], InferError> {
    let values = Tensor::<I, 1>::from_data(TensorData::new(values.to_vec(), [N]), device);
    let summed = all_reduce_flat(peers, step, "exchanging the step's status", vec![values])?;
    let sums: Vec<f64> = summed
        .into_data()
        .convert::<f64>()
        .to_vec()
        .expect("a float tensor reads as f64");
    Ok(std::array::from_fn(|i| sums[i]))
}

/// Sums the concatenation of `flat` over the peers (one all-reduce).
fn all_reduce_flat<I: Backend>(
    peers: &Peers,
    step: usize,
    what: &str,
    flat: Vec<Tensor<I, 1>>,
) -> Result<Tensor<I, 1>, InferError> {
    let flat = Tensor::cat(flat, 0);
    if peers.address().is_some() {
        return super::processes::all_reduce(peers, step, what, flat);
    }
    let id = PeerId::from(peers.id());
    let tensor = flat.into_primitive().tensor();
    let summed = within(peers, step, what, move || {
        burn_collective::all_reduce::<I>(id, tensor, ReduceOperation::Sum)
    })?;
    Ok(Tensor::from_primitive(TensorPrimitive::Float(summed)))
}

/// Gathers, in the module's visiting order (the same on every peer: burn's parameter ids
/// are not, as each peer builds its own modules), each trainable float parameter's gradient
/// as a flat tensor; zeros where `grads` has none (a parameter this peer's run did not reach
/// still takes part).
struct FlattenGrads<'a, B: AutodiffBackend> {
    grads: &'a GradientsParams,
    flat: Vec<Tensor<B::InnerBackend, 1>>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for FlattenGrads<'_, B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let value = param.val();
        if !value.is_require_grad() {
            return;
        }
        let n = value.shape().num_elements();
        let grad = match self.grads.get::<B::InnerBackend, D>(param.id) {
            Some(g) => g.reshape([n]),
            None => Tensor::zeros([n], &value.inner().device()),
        };
        self.flat.push(grad);
    }
}

/// Splits the summed flat gradient back, in the same order, into gradients by parameter id.
struct SplitGrads<B: AutodiffBackend> {
    summed: Tensor<B::InnerBackend, 1>,
    offset: usize,
    grads: GradientsParams,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for SplitGrads<B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let value = param.val();
        if !value.is_require_grad() {
            return;
        }
        let shape = value.shape();
        let n = shape.num_elements();
        let part = self.summed.clone().slice(self.offset..self.offset + n).reshape(shape);
        self.offset += n;
        self.grads.register::<B::InnerBackend, D>(param.id, part);
    }
}

/// The sum over the peers of each peer's `grads` of `module`'s trainable parameters (one
/// all-reduce of all of them, flattened in visiting order).
///
/// # Errors
/// [`InferError::Peer`] (timeout, refusal).
pub(crate) fn all_reduce_grads<B: AutodiffBackend, M: AutodiffModule<B>>(
    peers: &Peers,
    step: usize,
    module: &M,
    grads: GradientsParams,
) -> Result<GradientsParams, InferError> {
    let mut flatten = FlattenGrads::<B> {
        grads: &grads,
        flat: Vec::new(),
    };
    module.visit(&mut flatten);
    if flatten.flat.is_empty() {
        return Ok(grads);
    }
    let summed = all_reduce_flat::<B::InnerBackend>(peers, step, "summing the gradients", flatten.flat)?;
    let mut split = SplitGrads::<B> {
        summed,
        offset: 0,
        grads: GradientsParams::new(),
    };
    module.visit(&mut split);
    Ok(split.grads)
}

/// Gathers each float parameter's value, flattened in visiting order: peer 0's own, zeros
/// on the other peers.
struct FlattenValues<B: AutodiffBackend> {
    leader: bool,
    flat: Vec<Tensor<B::InnerBackend, 1>>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for FlattenValues<B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let inner = param.val().inner();
        let n = inner.shape().num_elements();
        self.flat.push(match self.leader {
            true => inner.reshape([n]),
            false => Tensor::zeros([n], &inner.device()),
        });
    }
}

/// Puts the summed values back into the parameters, in the same order (same ids, same
/// gradient tracking).
struct PutValues<B: AutodiffBackend> {
    summed: Tensor<B::InnerBackend, 1>,
    offset: usize,
}

impl<B: AutodiffBackend> ModuleMapper<B> for PutValues<B> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let (id, tensor, mapper) = param.consume();
        let shape = tensor.shape();
        let n = shape.num_elements();
        let value = self.summed.clone().slice(self.offset..self.offset + n).reshape(shape);
        self.offset += n;
        let tracked = tensor.is_require_grad();
        let tensor = Tensor::<B, D>::from_inner(value).set_require_grad(tracked);
        Param::from_mapped_value(id, tensor, mapper)
    }
}

/// `module` with peer 0's parameter values on every peer (a sum in which the other peers
/// add zeros: exact).
///
/// # Errors
/// [`InferError::Peer`] (timeout, refusal).
pub(crate) fn take_leaders_values<B: AutodiffBackend, M: AutodiffModule<B>>(
    peers: &Peers,
    step: usize,
    module: M,
) -> Result<M, InferError> {
    let mut flatten = FlattenValues::<B> {
        leader: peers.is_leader(),
        flat: Vec::new(),
    };
    module.visit(&mut flatten);
    if flatten.flat.is_empty() {
        return Ok(module);
    }
    let summed = all_reduce_flat::<B::InnerBackend>(peers, step, "taking peer 0's parameters", flatten.flat)?;
    Ok(module.map(&mut PutValues::<B> { summed, offset: 0 }))
}

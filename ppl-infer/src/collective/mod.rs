//! Data-parallel SVI on [burn-collective](https://docs.rs/burn-collective/0.21.0) (feature
//! `collective`, on by default): several peers fit one model, each on its share of every
//! minibatch, and sum their gradients before every update.
//!
//! Every peer runs the same program — the same [`crate::Svi`] set-up, the same data, the
//! same seed — with its own [`Peers`] ([`crate::Svi::with_peers`]). The peers shuffle the
//! data alike (the same epoch key), so they agree on every minibatch; peer k of P evaluates
//! rows `⌊kM/P⌋..⌊(k+1)M/P⌋` of each minibatch of M rows, weights its surrogate loss by its
//! share of the rows, and the weighted gradients are summed by burn-collective's all-reduce:
//! the sum is the gradient a single process takes on the whole minibatch (global latents are
//! drawn alike on every peer; each peer draws its own rows' local latents, from the stream of
//! its first row, [`ppl_core::Ctx::with_local_stream`]). The update is then
//! the same on every peer, so the parameters stay identical; at the first step every peer
//! takes peer 0's parameters, so they also start identical.
//!
//! Peers are threads of one process ([`Peers::threads`], one per device; burn-collective's
//! all-reduce) or processes, on one machine or several ([`Peers::processes`]; peer 0 listens
//! at an address the others connect to, over burn-communication's websocket transport, and
//! sums what they send). A peer that stops makes the others fail with
//! [`crate::InferError::Peer`] — at once when its `Svi` is dropped or its process ends,
//! once the [timeout](Peers::with_timeout) passes when it hangs — rather than wait forever.
//!
//! Processes do not go through burn-collective 0.21.0's multi-node all-reduce: its node
//! synchronisation never forgets a finished round (`global/node/sync.rs` clears a copy of
//! the list of synced nodes, not the list), so a node's second all-reduce waits forever.
//!
//! ```no_run
//! # use burn::backend::{Autodiff, NdArray};
//! # use ppl_core::{Ctx, Data};
//! # use ppl_dist::{Constraint, Normal};
//! # use ppl_infer::{collective::Peers, Svi, SviConfig};
//! # type B = Autodiff<NdArray<f64>>;
//! # fn data() -> Data<B> { unimplemented!() }
//! // Two peers as threads of this process, each with the same model, data and seed.
//! let handles: Vec<_> = (0..2)
//!     .map(|k| {
//!         std::thread::spawn(move || {
//!             let dev = Default::default();
//!             let p = |ctx: &mut Ctx<B>| {
//!                 let z = ctx.sample("z", Normal::new(ctx.zeros([1]), 1.0));
//!                 ctx.datamodel(|ctx| { ctx.sample("x", Normal::new(z, 1.0)); });
//!             };
//!             let q = |ctx: &mut Ctx<B>| {
//!                 let loc = ctx.param("loc", ctx.zeros([1]), Constraint::Real);
//!                 ctx.sample("z", Normal::new(loc, 1.0));
//!             };
//!             let mut svi = Svi::from_fns(p, q, SviConfig::default(), &dev)
//!                 .with_peers(Peers::threads(k, 2))
//!                 .unwrap();
//!             svi.fit(&data()).unwrap();
//!         })
//!     })
//!     .collect();
//! for h in handles {
//!     h.join().unwrap();
//! }
//! ```

mod exchange;
mod peers;
mod processes;

pub(crate) use exchange::{all_reduce_grads, finish, peer_error, register, sum_scalars, take_leaders_values};
pub use peers::Peers;

//! Effect handlers: small, composable changes to what a model's sites do (NumPyro's design).
//!
//! A handler sees each site's [`Message`] before the default behaviour (drawing a value)
//! runs, and may set its value, mark it observed, rescale or mask its log-density, hide it
//! from the trace, or give it its own random key. Handlers run in the order they were pushed
//! on the context. Recording into the trace is the `trace` handler's job and is always on:
//! [`crate::run`] returns the trace.
//!
//! | handler | effect |
//! |---|---|
//! | [`Replay`] | latent sites take their value from another trace (how a guide feeds a model) |
//! | [`Condition`] | clamp sites to values and mark them observed (InferPy's `data=`) |
//! | [`Enumerate`] | one discrete site takes each value of its support in a stacked copy of the rows |
//! | [`Substitute`] | give sites values without observing them (param sites included) |
//! | [`Block`] | hide sites from the trace (and from handlers pushed after it) |
//! | [`Scale`] | multiply log-densities by a factor |
//! | [`Mask`] | zero log-densities where a mask is false |
//! | [`Seed`] | draw sites from a given key |
//! | [`Median`] | latent sites take their distribution's median instead of a draw |

mod block;
mod condition;
mod enumerate;
mod mask;
mod median;
mod replay;
mod scale;
mod seed;
mod substitute;

pub use block::Block;
pub use condition::Condition;
pub use enumerate::Enumerate;
pub use mask::Mask;
pub use median::Median;
pub use replay::Replay;
pub use scale::Scale;
pub use seed::Seed;
pub use substitute::Substitute;

use std::sync::Arc;

use burn::tensor::backend::Backend;
use ppl_dist::RngKey;

use crate::{ErasedDist, SiteKind, Value};

/// A site on its way through the handlers.
#[derive(Debug)]
pub struct Message<B: Backend> {
    /// Site name.
    pub name: String,
    /// Sample, param or deterministic.
    pub kind: SiteKind,
    /// The value, once a handler or the data has set it.
    pub value: Option<Value<B>>,
    /// Whether the value is observed.
    pub observed: bool,
    /// Log-density factor (plates multiply it in before handlers run).
    pub scale: f64,
    /// An element-wise mask on the log-density (1 keeps, 0 drops).
    pub mask: Option<Value<B>>,
    /// Hide the site from the trace.
    pub hidden: bool,
    /// The key the site draws from.
    pub key: RngKey,
    /// A sample site's distribution (`None` for other sites).
    pub dist: Option<Arc<dyn ErasedDist<B>>>,
    /// The shape a sample site's value takes inside the open plates (empty for other sites).
    pub shape: Vec<usize>,
}

/// One effect handler: it may change a site before (`process`) and after (`postprocess`) the
/// default behaviour.
pub trait Handler<B: Backend>: std::fmt::Debug {
    /// Called before the value is drawn.
    fn process(&mut self, msg: &mut Message<B>) {
        let _ = msg;
    }
    /// Called after the value is set, in reverse order.
    fn postprocess(&mut self, msg: &mut Message<B>) {
        let _ = msg;
    }
}

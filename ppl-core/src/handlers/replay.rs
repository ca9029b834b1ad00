use std::collections::HashMap;

use burn::tensor::backend::Backend;

use super::{Handler, Message};
use crate::{SiteKind, Trace, Value};

/// Latent sample sites take their value from a recorded trace (Pyro's `replay`): running a
/// model under `Replay::new(&guide_trace)` scores the guide's draws under the model. Values
/// keep their gradient history, so pathwise gradients flow from model to guide.
#[derive(Debug, Clone)]
pub struct Replay<B: Backend> {
    values: HashMap<String, Value<B>>,
}

impl<B: Backend> Replay<B> {
    /// Replay the sample sites of `trace`.
    pub fn new(trace: &Trace<B>) -> Self {
        let values = trace
            .sites()
            .iter()
            .filter(|s| s.kind == SiteKind::Sample)
            .map(|s| (s.name.clone(), s.value.clone()))
            .collect();
        Replay { values }
    }
}

impl<B: Backend> Handler<B> for Replay<B> {
    fn process(&mut self, msg: &mut Message<B>) {
        if msg.kind == SiteKind::Sample && !msg.observed {
            if let Some(v) = self.values.get(&msg.name) {
                msg.value = Some(v.clone());
            }
        }
    }
}

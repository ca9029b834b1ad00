use burn::tensor::backend::Backend;

use super::{Handler, Message};
use crate::{Data, SiteKind};

/// Clamp sample sites to given values and mark them observed (InferPy's `data=`, Pyro's
/// `condition`).
#[derive(Debug, Clone)]
pub struct Condition<B: Backend> {
    data: Data<B>,
}

impl<B: Backend> Condition<B> {
    /// Condition on every entry of `data`.
    pub fn new(data: Data<B>) -> Self {
        Condition { data }
    }
}

impl<B: Backend> Handler<B> for Condition<B> {
    fn process(&mut self, msg: &mut Message<B>) {
        if msg.kind == SiteKind::Sample {
            if let Some(v) = self.data.get(&msg.name) {
                msg.value = Some(v.clone());
                msg.observed = true;
            }
        }
    }
}

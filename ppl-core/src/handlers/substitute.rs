use burn::tensor::backend::Backend;

use super::{Handler, Message};
use crate::Data;

/// Give sites fixed values without observing them (NumPyro's `substitute`): latent sample
/// sites and param sites whose names are bound take those values.
#[derive(Debug, Clone)]
pub struct Substitute<B: Backend> {
    values: Data<B>,
}

impl<B: Backend> Substitute<B> {
    /// Substitute every entry of `values`.
    pub fn new(values: Data<B>) -> Self {
        Substitute { values }
    }
}

impl<B: Backend> Handler<B> for Substitute<B> {
    fn process(&mut self, msg: &mut Message<B>) {
        if !msg.observed {
            if let Some(v) = self.values.get(&msg.name) {
                msg.value = Some(v.clone());
            }
        }
    }
}

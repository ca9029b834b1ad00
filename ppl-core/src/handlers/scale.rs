use burn::tensor::backend::Backend;

use super::{Handler, Message};

/// Multiply every site's log-density by a positive factor (Pyro's `scale`, e.g. for KL
/// annealing).
#[derive(Debug, Clone, Copy)]
pub struct Scale(pub f64);

impl<B: Backend> Handler<B> for Scale {
    fn process(&mut self, msg: &mut Message<B>) {
        msg.scale *= self.0;
    }
}

use burn::tensor::backend::Backend;

use super::{Handler, Message};
use crate::Value;

/// Drop log-density terms where a mask is 0 (Pyro's `mask`): the mask (1 = keep, 0 = drop)
/// must broadcast against each affected site's log-density. Only the named sites are masked;
/// with no names, every sample site is.
#[derive(Debug, Clone)]
pub struct Mask<B: burn::tensor::backend::Backend> {
    mask: Value<B>,
    names: Vec<String>,
}

impl<B: Backend> Mask<B> {
    /// Mask the named sites (all sample sites if `names` is empty).
    pub fn new(mask: Value<B>, names: &[&str]) -> Self {
        Mask {
            mask,
            names: names.iter().map(|s| s.to_string()).collect(),
        }
    }
}

impl<B: Backend> Handler<B> for Mask<B> {
    fn process(&mut self, msg: &mut Message<B>) {
        if self.names.is_empty() || self.names.contains(&msg.name) {
            msg.mask = Some(self.mask.clone());
        }
    }
}

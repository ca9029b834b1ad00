use burn::tensor::backend::Backend;
use ppl_dist::RngKey;

use super::{Handler, Message};

/// Draw every site from `key` (each site from `key.fold_in(site name)`, so a site's draw does
/// not depend on the sites before it).
#[derive(Debug, Clone)]
pub struct Seed(pub RngKey);

impl<B: Backend> Handler<B> for Seed {
    fn process(&mut self, msg: &mut Message<B>) {
        msg.key = self.0.fold_in(&msg.name);
    }
}

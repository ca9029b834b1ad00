use burn::tensor::backend::Backend;

use super::{Handler, Message};

/// Hide sites from the trace (NumPyro's `block`): either the listed names, or every site but
/// the listed ones.
#[derive(Debug, Clone)]
pub struct Block {
    names: Vec<String>,
    expose: bool,
}

impl Block {
    /// Hide the named sites.
    pub fn hide(names: &[&str]) -> Self {
        Block {
            names: names.iter().map(|s| s.to_string()).collect(),
            expose: false,
        }
    }

    /// Hide every site except the named ones.
    pub fn expose(names: &[&str]) -> Self {
        Block {
            names: names.iter().map(|s| s.to_string()).collect(),
            expose: true,
        }
    }
}

impl<B: Backend> Handler<B> for Block {
    fn process(&mut self, msg: &mut Message<B>) {
        let listed = self.names.contains(&msg.name);
        if listed != self.expose {
            msg.hidden = true;
        }
    }
}

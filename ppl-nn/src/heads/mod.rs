//! Inference-network heads: turn a network's raw output into a distribution's parameters with
//! the right constraints, so an amortized Q-model is "encoder + head".
//!
//! Every head reads the **last** dimension of the network output; leading dimensions (plates,
//! rows) pass through. A head whose network output has the wrong width returns
//! [`ppl_dist::DistError::ShapeMismatch`] naming the expected width, which `ctx.sample` reports
//! with the site name.
//!
//! | head | network width | parameters |
//! |---|---|---|
//! | [`NormalHead`] (Normal, MVN-diag, LogNormal) | `2k` | loc = first k, scale = softplus(rest) + floor |
//! | [`LogitsHead`] (Bernoulli, Categorical) | `k` | logits = output |
//! | [`ConcentrationHead`] (Beta, Gamma: `2k`; Dirichlet: `k`) | see each | softplus(output) + floor |

mod concentration;
mod logits;
mod normal;

pub use concentration::ConcentrationHead;
pub use logits::LogitsHead;
pub use normal::NormalHead;

use burn::tensor::{backend::Backend, Tensor};
use ppl_dist::DistError;

/// Split the last dimension of `out` into `parts` equal pieces of width `k`, or a shape error
/// naming `dist` and the expected width.
fn split_last<B: Backend, const D: usize>(
    out: Tensor<B, D>,
    k: usize,
    parts: usize,
    dist: &'static str,
) -> Result<Vec<Tensor<B, D>>, DistError> {
    let dims = out.dims();
    if dims[D - 1] != k * parts {
        let mut expected = dims.to_vec();
        expected[D - 1] = k * parts;
        return Err(DistError::ShapeMismatch {
            dist,
            what: "network output (head input)",
            expected,
            actual: dims.to_vec(),
            hint: if parts == 1 {
                format!("; the head needs {k} outputs in the last dimension: size the network's last layer to it")
            } else {
                format!(
                    "; the head needs {parts} × {k} = {} outputs in the last dimension: size the network's last layer to it",
                    k * parts
                )
            },
        });
    }
    Ok((0..parts).map(|i| out.clone().narrow(D - 1, i * k, k)).collect())
}

/// `softplus(x) + floor`: positive and finite for every finite `x`, with finite gradients.
fn positive<B: Backend, const D: usize>(x: Tensor<B, D>, floor: f64) -> Tensor<B, D> {
    ppl_dist::special::softplus(x) + floor
}

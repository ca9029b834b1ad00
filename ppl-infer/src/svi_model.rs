//! [`SviModel`]: the one bound a model or guide needs to be fitted by [`crate::Svi`].

use burn::module::{AutodiffModule, ModuleDisplay};
use burn::tensor::backend::AutodiffBackend;
use ppl_core::Model;

/// A program [`crate::Svi`] can fit: a [`Model`] that is also a burn module with autodiff
/// (its parameters are what the optimizer updates) and whose modules print (checkpoints and
/// summaries show them). Implemented for every such type: derive `Module` on a struct that
/// implements `Model<B>`, or wrap closures with [`crate::model_fn`].
///
/// This is the single bound to write for a helper over an `Svi`:
///
/// ```
/// use burn::tensor::backend::AutodiffBackend;
/// use ppl_infer::{Svi, SviModel};
///
/// /// The loss of the last step of any fit.
/// fn last_loss<B: AutodiffBackend, P: SviModel<B>, Q: SviModel<B>>(svi: &Svi<B, P, Q>) -> Option<f64> {
///     svi.losses().last().copied()
/// }
/// ```
pub trait SviModel<B: AutodiffBackend>:
    Model<B> + AutodiffModule<B, InnerModule: ModuleDisplay> + ModuleDisplay
{
}

impl<B, M> SviModel<B> for M
where
    B: AutodiffBackend,
    M: Model<B> + AutodiffModule<B> + ModuleDisplay,
    M::InnerModule: ModuleDisplay,
{
}

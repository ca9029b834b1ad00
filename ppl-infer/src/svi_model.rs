//! [`SviModel`] and [`SviGuide`]: the one bound a model, and the one a guide, needs to be
//! fitted by [`crate::Svi`].

use burn::module::{AutodiffModule, ModuleDisplay};
use burn::tensor::backend::AutodiffBackend;
use ppl_core::Model;

use crate::VariationalFamily;

/// A program [`crate::Svi`] can fit: a [`Model`] that is also a burn module with autodiff
/// (its parameters are what the optimizer updates) and whose modules print (checkpoints and
/// summaries show them), and that threads can share (`Sync`: [`crate::SviConfig::batch_shares`]
/// evaluates shares of a minibatch on several threads at once). Implemented for every such
/// type: derive `Module` on a struct that implements `Model<B>`, or wrap closures with
/// [`crate::model_fn`].
///
/// With [`SviGuide`] for the guide, the one bound per program to write for a helper over an
/// `Svi`:
///
/// ```
/// use ppl_infer::{Svi, SviGuide, SviModel, TrainingBackend};
///
/// /// The loss of the last step of any fit.
/// fn last_loss<B: TrainingBackend, P: SviModel<B>, Q: SviGuide<B>>(svi: &Svi<B, P, Q>) -> Option<f64> {
///     svi.losses().last().copied()
/// }
/// ```
pub trait SviModel<B: AutodiffBackend>:
    Model<B> + AutodiffModule<B, InnerModule: ModuleDisplay> + ModuleDisplay + Sync
{
}

impl<B, M> SviModel<B> for M
where
    B: AutodiffBackend,
    M: Model<B> + AutodiffModule<B> + ModuleDisplay + Sync,
    M::InnerModule: ModuleDisplay,
{
}

/// A guide [`crate::Svi`] can fit: an [`SviModel`] that is a [`VariationalFamily`].
/// Implemented for every such type (a hand-written guide adds
/// `impl<B: Backend> VariationalFamily<B> for MyGuide<B> {}`).
pub trait SviGuide<B: AutodiffBackend>: SviModel<B> + VariationalFamily<B> {}

impl<B: AutodiffBackend, M: SviModel<B> + VariationalFamily<B>> SviGuide<B> for M {}

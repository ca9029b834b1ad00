use burn::tensor::backend::Backend;

use super::{Handler, Message};
use crate::SiteKind;

/// Latent sample sites take their distribution's median instead of a draw (NumPyro's
/// `guide.median`, Pyro's `AutoGuide.median`): a guide run under it gives a point estimate of
/// every latent. A site whose distribution depends on an earlier latent gets its median given
/// that latent's median — the exact marginal median for mean-field and full-rank guides and
/// for monotone chains. Sites whose distribution has no closed-form median (Gamma, Beta, …)
/// are drawn as usual; [`crate::Site::dist`] tells the caller which ones those were.
///
/// ```
/// use burn::backend::NdArray;
/// use ppl_core::{handlers::Median, run, Ctx, Data};
/// use ppl_dist::{LogNormal, RngKey};
/// type B = NdArray<f64>;
/// let guide = |ctx: &mut Ctx<B>| { ctx.sample("s", LogNormal::new(ctx.full([1], 0.5), 2.0)); };
/// let ctx = Ctx::<B>::new(Data::new(), RngKey::new(0), &Default::default()).with_handler(Median);
/// let s = run(&guide, ctx).unwrap().trace.value::<1>("s").unwrap().into_scalar();
/// assert!((s - 0.5f64.exp()).abs() < 1e-12);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Median;

impl<B: Backend> Handler<B> for Median {
    fn process(&mut self, msg: &mut Message<B>) {
        if msg.kind != SiteKind::Sample || msg.observed || msg.value.is_some() {
            return;
        }
        if let Some(median) = msg.dist.as_ref().and_then(|d| d.median()) {
            msg.value = median.expand(&msg.shape);
        }
    }
}

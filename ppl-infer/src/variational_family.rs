//! [`VariationalFamily`]: what makes a program a guide, and what SVI may know about it up front.

use burn::tensor::backend::Backend;
use ppl_core::Model;

/// Where a guide's latents live, which decides how [`crate::Svi`] evaluates several
/// particles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Locality {
    /// Not declared: SVI evaluates particles one after another, and vectorizes them only
    /// when [`crate::SviConfig::vectorize_particles`] asks (checked on the first step).
    #[default]
    Unknown,
    /// Every latent is local to the data plate (an amortized guide: an inference network
    /// outputs each row's variational parameters). K particles are then K stacked copies of
    /// the minibatch evaluated in one pass, chosen up front whenever `particles > 1`.
    Local,
    /// Some latent is global (one value shared by all rows, as in every autoguide): the
    /// particles run one after another, and asking to vectorize them is an error before the
    /// first step.
    Global,
    /// The guide draws its latents inside [`ppl_core::Ctx::particle_plate`], as the model
    /// does (a model written for vectorized particles; [`crate::AutoNormal`] of such a model
    /// declares it): with [`crate::Elbo::Trace`], K particles are drawn and scored in one pass
    /// of the model and the guide, a leading dimension of size K on every site inside the
    /// plate, chosen up front whenever `particles > 1`. Other objectives run the particles
    /// one after another (the plate then holds one), and asking them to vectorize is an
    /// error.
    ParticlePlate,
}

/// A variational family q(z | x): a guide program (any [`Model`], so any control flow,
/// closures and handlers) plus what [`crate::Svi`] and the queries can know about it
/// before running it. Every method has a default, so a hand-written guide declares itself
/// in one line; autoguides fill in what they know.
///
/// | method | used by |
/// |---|---|
/// | [`latent_sites`](VariationalFamily::latent_sites) | posterior-predictive checks that the guide's latents do not silently come from the prior, before the first step |
/// | [`locality`](VariationalFamily::locality) | the particle layout (vectorized for a local guide, or through the particle plate) |
///
/// Point estimates need nothing here: [`crate::Posterior::median`] runs the guide with every
/// latent at its distribution's median, which covers autoguides and hand-written guides alike.
///
/// ```
/// use burn::module::Module;
/// use burn::nn::Linear;
/// use burn::tensor::{backend::Backend, Tensor};
/// use ppl_core::{Ctx, Model};
/// use ppl_dist::Normal;
/// use ppl_infer::{Locality, VariationalFamily};
///
/// /// An inference network: each row's z from its x.
/// #[derive(Module, Debug)]
/// struct Encoder<B: Backend> { loc: Linear<B> }
///
/// impl<B: Backend> Model<B> for Encoder<B> {
///     fn model(&self, ctx: &mut Ctx<B>) {
///         ctx.datamodel(|ctx| {
///             let loc = self.loc.forward(ctx.data::<2>("x"));
///             ctx.sample("z", Normal::new(loc, 0.5));
///         });
///     }
/// }
///
/// impl<B: Backend> VariationalFamily<B> for Encoder<B> {
///     fn locality(&self) -> Locality {
///         Locality::Local
///     }
/// }
/// ```
pub trait VariationalFamily<B: Backend>: Model<B> {
    /// The names of the latent sites the guide samples, where it knows them without running
    /// (autoguides do); `None` (the default) lets SVI read them off the first step's trace.
    fn latent_sites(&self) -> Option<Vec<String>> {
        None
    }

    /// Where its latents live ([`Locality::Unknown`] by default).
    fn locality(&self) -> Locality {
        Locality::Unknown
    }
}

//! # ppl-core
//!
//! The modelling language: a model is one short method that declares named random
//! variables on a context; data bound by name decide what is observed; plates say which
//! variables repeat per instance; effect handlers change what sites do.
//!
//! Below, the InferPy digit classifier's P-model and Q-model (an encoder reads the observed
//! `x` and outputs each image's `z` posterior). Networks are plain burn modules.
//!
//! ```
//! use burn::backend::NdArray;
//! use burn::module::Module;
//! use burn::nn::Linear;
//! use burn::tensor::{activation::relu, backend::Backend, Tensor};
//! use ppl_core::{trace, Ctx, Data, Model};
//! use ppl_dist::{special::softplus, Categorical, Normal};
//!
//! #[derive(Module, Debug)]
//! struct DigitModel<B: Backend> { h: Linear<B>, x: Linear<B>, y: Linear<B>, k: usize }
//!
//! impl<B: Backend> Model<B> for DigitModel<B> {
//!     fn model(&self, ctx: &mut Ctx<B>) {
//!         ctx.datamodel(|ctx| {                      // one plate; its size comes from the data
//!             let z = ctx.sample("z", Normal::new(ctx.full([1, self.k], 0.1), 1.0));
//!             let h = relu(self.h.forward(z.clone()));
//!             ctx.sample("x", Normal::new(self.x.forward(h), 1.0));
//!             ctx.sample("y", Categorical::from_logits(self.y.forward(z)));
//!         });
//!     }
//! }
//!
//! #[derive(Module, Debug)]
//! struct DigitQ<B: Backend> { h: Linear<B>, out: Linear<B>, k: usize }
//!
//! impl<B: Backend> Model<B> for DigitQ<B> {
//!     fn model(&self, ctx: &mut Ctx<B>) {
//!         ctx.datamodel(|ctx| {
//!             let out = self.out.forward(relu(self.h.forward(ctx.data::<2>("x"))));
//!             let loc = out.clone().narrow(1, 0, self.k);
//!             let scale = softplus(out.narrow(1, self.k, self.k)) + 0.01;
//!             ctx.sample("z", Normal::new(loc, scale));
//!         });
//!     }
//! }
//!
//! type B = NdArray<f32>;
//! let dev = Default::default();
//! let (k, d0, dx) = (2, 100, 784);
//! // Seeded layers (burn's `LinearConfig::init` is unseeded): the same numbers every run.
//! let linear = |d_in, d_out, seed| ppl_nn::linear::<B>(d_in, d_out, seed, &dev);
//! let p = DigitModel::<B> { h: linear(k, d0, 1), x: linear(d0, dx, 2), y: linear(k, 3, 3), k };
//! let q = DigitQ::<B> { h: linear(dx, d0, 4), out: linear(d0, 2 * k, 5), k };
//! let data = Data::new().with("x", Tensor::<B, 2>::zeros([8, dx], &dev))
//!                       .with("y", Tensor::<B, 1, burn::tensor::Int>::zeros([8], &dev));
//! // The guide's z, replayed into the model: the ELBO's two traces.
//! let guide = trace(&q, &data, 0, &dev).unwrap();
//! let ctx = Ctx::new(data, ppl_dist::RngKey::new(0), &dev).with_handler(ppl_core::handlers::Replay::new(&guide));
//! let model = ppl_core::run(&p, ctx).unwrap().trace;
//! assert_eq!(model.value::<2>("z").unwrap().dims(), [8, 2]);
//! assert!(model.site("x").unwrap().observed && !model.site("z").unwrap().observed);
//! let elbo = model.log_joint().unwrap() - guide.log_joint().unwrap();
//! assert!(elbo.into_scalar().is_finite());
//! ```
#![warn(missing_docs)]

mod ctx;
mod data;
mod erased;
mod error;
pub mod handlers;
mod minibatch;
mod model;
mod param_store;
mod plate;
mod quiet_panic;
mod scorer;
mod site;
mod trace;
pub mod transform;
mod value;

pub use ctx::Ctx;
pub use data::Data;
pub use erased::{Erased, ErasedDist};
pub use error::CoreError;
pub use minibatch::epoch_order;
pub use model::{prior, run, trace, Model, RunResult};
pub use param_store::{ParamMeta, ParamStore};
pub use plate::{DataPlate, FixedPlate, Plate, PlateEnv, PlateRows, SubsampledPlate, DATA_PLATE, PARTICLE_PLATE};
pub use scorer::{
    fused_constrain, fused_site_rsample, fused_site_scorer, ConstrainHook, FusedLogProb, LogProbHook, RsampleHook,
    SiteScorer,
};
pub use site::{PlateInfo, Site, SiteKind};
pub use trace::{DataUse, Trace};
pub use value::Value;

/// Re-export of the pinned burn version, so user crates see the same types.
pub use burn;
/// Re-export of the distributions crate.
pub use ppl_dist;

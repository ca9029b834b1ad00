//! # ppl-infer
//!
//! Fit a P-model with a Q-model by stochastic variational inference and query the result:
//! InferPy's `p.fit(data, SVI)`, `posterior`, `posterior_predictive`.
//!
//! * [`Svi`]: the optimizer loop (`fit` over shuffled minibatches, or `step`), with a loss
//!   history, a progress bar and a non-finite-loss policy.
//! * [`Elbo`]: the Monte-Carlo ELBO (pathwise and score-function gradients), the mean-field
//!   ELBO with analytic KL terms, and the Rényi/IWAE bound.
//! * Queries: [`Svi::posterior`], [`Svi::posterior_predictive`], [`Svi::prior`], for any
//!   number of rows.
//! * [`Posterior`]: a fitted posterior as a value ([`Svi::to_posterior`]); [`export`] writes
//!   it to a directory and loads it back on a plain backend, for serving without autodiff.
#![warn(missing_docs)]

pub mod autoguide;
mod checkpoint;
#[cfg(feature = "collective")]
pub mod collective;
mod compute_pool;
mod data_plan;
mod early_stopping;
pub mod elbo;
mod error;
pub mod export;
mod fit_control;
pub mod mcmc;
mod optim;
mod posterior;
pub mod progress;
mod query;
pub mod render;
mod samples;
mod svi;
mod svi_model;
mod svi_posterior;
mod variational_family;

pub use autoguide::{AutoAmortizedNormal, AutoAmortizedNormalConfig, AutoDelta, AutoMultivariateNormal, AutoNormal};
#[doc(hidden)]
pub use checkpoint::SaveStage;
pub use compute_pool::{on_compute_pool, PoolWait};
pub use early_stopping::EarlyStopping;
pub use elbo::Elbo;
pub use error::InferError;
pub use export::Manifest;
pub use fit_control::{EpochInfo, FitControl, Flow, StepInfo, StopReason};
pub use optim::{LrSchedule, OptimizerKind};
pub use posterior::Posterior;
/// What [`Svi`] trains on: an autodiff backend whose inner backend has the fused kernels
/// (every backend this workspace builds; see [`ppl_dist::kernels`]).
pub use ppl_dist::kernels::TrainingBackend;
pub use ppl_dist::sampling::Sampling;
pub use query::Query;
pub use samples::Samples;
pub use svi::{
    model_fn, ElboSummary, FitReport, FnModel, ModelFn, NonFinitePolicy, Svi, SviConfig, SviModules, Undo, Validation,
};
pub use svi_model::{SviGuide, SviModel};
pub use variational_family::{Locality, VariationalFamily};

//! Markov chain Monte Carlo on the same models SVI fits: the No-U-Turn sampler of
//! [nuts-rs](https://github.com/pymc-devs/nuts-rs) on the latents in unconstrained space,
//! with the convergence diagnostics (split R-hat, bulk and tail ESS, divergences) people
//! check before they trust a posterior.
//!
//! Use it to check a variational fit against the exact posterior, or for models without a
//! good guide. Every latent must be continuous (discrete ones: sum them out or use SVI with a
//! guide) and the data are used whole in every step.

mod diagnostics;
mod draws;
mod guide;
mod layout;
mod nuts;
mod potential;

pub use diagnostics::{ess_bulk, ess_tail, quantile, split_rhat};
pub use draws::{ChainStats, McmcSamples, McmcSummary, SummaryRow};
pub use guide::DrawsGuide;
pub use layout::{constrained_values, dimension, latent_layout, LatentSlot};
pub use nuts::{ChainMethod, Nuts, NutsConfig};
pub use potential::{LogDensity, LogDensityError};

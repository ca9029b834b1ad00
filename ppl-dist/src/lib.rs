//! # ppl-dist
//!
//! Probability distributions for probabilistic programming on [burn]: differentiable
//! log-densities, seeded samplers with pathwise gradients, closed-form moments and KL
//! divergences, and the stable special functions they need.
//!
//! Every distribution implements [`Distribution<B, D>`](Distribution) for any burn backend
//! `B` and value rank `D`; see the [`distribution`] module for the shape convention.
//!
//! ```
//! use burn::backend::NdArray;
//! use burn::tensor::Tensor;
//! use ppl_dist::{Distribution, Gamma, RngKey};
//!
//! let dev = Default::default();
//! let alpha = Tensor::<NdArray<f64>, 1>::from_floats([2.0, 5.0], &dev);
//! let g = Gamma::new(alpha, 1.5).unwrap();
//! let x = g.sample(&mut RngKey::new(7));
//! let lp = g.log_prob(x);                  // [2], finite
//! assert_eq!(lp.dims(), [2]);
//! ```
#![warn(missing_docs)]

#[cfg(all(feature = "ndarray", feature = "testkit"))]
pub mod conformance;
pub mod constraint;
pub mod distribution;
pub mod error;
pub mod kernels;
pub mod param;
pub mod rng;
pub mod sampling;
pub mod special;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod transforms;
pub mod validation;

mod thread_setting;

mod bernoulli;
mod beta_binomial;
mod binomial;
mod categorical;
mod deterministic;
mod empirical;
mod expanded;
mod geometric;
mod independent;
pub mod kl;
mod macros;
mod mixture;
mod multinomial;
mod negative_binomial;
mod noise;
mod one_hot_categorical;
mod poisson;
pub mod probs;

mod beta;
mod cauchy;
mod chi2;
mod dirichlet;
mod exponential;
mod gamma;
mod gamma_device;
mod gumbel;
mod half_cauchy;
mod half_normal;
mod inverse_gamma;
mod laplace;
mod lkj_cholesky;
mod log_normal;
mod logistic;
mod logit_normal;
mod mvn;
mod mvn_diag;
mod normal;
mod pareto;
mod student_t;
mod truncated_normal;
mod uniform;
mod weibull;

pub use bernoulli::Bernoulli;
pub use beta::Beta;
pub use beta_binomial::BetaBinomial;
pub use binomial::Binomial;
pub use categorical::Categorical;
pub use cauchy::Cauchy;
pub use chi2::Chi2;
pub use constraint::Constraint;
pub use deterministic::Deterministic;
pub use dirichlet::Dirichlet;
pub use distribution::{Distribution, IntoDistribution};
pub use empirical::Empirical;
pub use error::DistError;
pub use expanded::Expanded;
pub use exponential::Exponential;
pub use gamma::Gamma;
pub use geometric::Geometric;
pub use gumbel::Gumbel;
pub use half_cauchy::HalfCauchy;
pub use half_normal::HalfNormal;
pub use independent::Independent;
pub use inverse_gamma::InverseGamma;
pub use kl::{kl_divergence, register_kl};
pub use laplace::Laplace;
pub use lkj_cholesky::LkjCholesky;
pub use log_normal::LogNormal;
pub use logistic::Logistic;
pub use logit_normal::LogitNormal;
pub use mixture::{MixtureGaussian, MixtureSameFamily};
pub use multinomial::Multinomial;
pub use mvn::MultivariateNormal;
pub use mvn_diag::MultivariateNormalDiag;
pub use negative_binomial::NegativeBinomial;
pub use normal::Normal;
pub use one_hot_categorical::OneHotCategorical;
pub use param::ParamArg;
pub use pareto::Pareto;
pub use poisson::Poisson;
pub use probs::BinaryParam;
pub use rng::{RngKey, RngState};
pub use student_t::StudentT;
pub use truncated_normal::TruncatedNormal;
pub use uniform::Uniform;
pub use weibull::Weibull;

impl_into_distribution!(Bernoulli<B, D>);
impl_into_distribution!(Beta<B, D>);
impl_into_distribution!(BetaBinomial<B, D>);
impl_into_distribution!(Binomial<B, D>);
impl_into_distribution!(Categorical<B, D>);
impl_into_distribution!(Cauchy<B, D>);
impl_into_distribution!(Deterministic<B, D>);
impl_into_distribution!(Dirichlet<B, D>);
impl_into_distribution!(Empirical<B, D>);
impl_into_distribution!(Exponential<B, D>);
impl_into_distribution!(Gamma<B, D>);
impl_into_distribution!(Chi2<B, D>);
impl_into_distribution!(Pareto<B, D>);
impl_into_distribution!(Weibull<B, D>);
impl_into_distribution!(Geometric<B, D>);
impl_into_distribution!(Gumbel<B, D>);
impl_into_distribution!(HalfCauchy<B, D>);
impl_into_distribution!(HalfNormal<B, D>);
impl_into_distribution!(InverseGamma<B, D>);
impl_into_distribution!(Laplace<B, D>);
impl_into_distribution!(LogNormal<B, D>);
impl_into_distribution!(LkjCholesky<B, D>);
impl_into_distribution!(Logistic<B, D>);
impl_into_distribution!(LogitNormal<B, D>);
impl_into_distribution!(Multinomial<B, D>);
impl_into_distribution!(MultivariateNormalDiag<B, D>);
impl_into_distribution!(NegativeBinomial<B, D>);
impl_into_distribution!(Normal<B, D>);
impl_into_distribution!(OneHotCategorical<B, D>);
impl_into_distribution!(Poisson<B, D>);
impl_into_distribution!(StudentT<B, D>);
impl_into_distribution!(TruncatedNormal<B, D>);
impl_into_distribution!(Uniform<B, D>);
impl_into_distribution!(MultivariateNormal<B>, 2);

impl<B: burn::tensor::backend::Backend, const D: usize, T: Distribution<B, D> + 'static> IntoDistribution<B, D>
    for Independent<T>
{
    type Dist = Self;
    fn into_distribution(self) -> Result<Self, DistError> {
        Ok(self)
    }
}

impl<B: burn::tensor::backend::Backend, const D: usize, T: Distribution<B, D> + 'static> IntoDistribution<B, D>
    for Expanded<T, D>
{
    type Dist = Self;
    fn into_distribution(self) -> Result<Self, DistError> {
        Ok(self)
    }
}

impl<B: burn::tensor::backend::Backend, const D: usize, C: Distribution<B, D> + 'static> IntoDistribution<B, D>
    for MixtureSameFamily<B, D, C>
{
    type Dist = Self;
    fn into_distribution(self) -> Result<Self, DistError> {
        Ok(self)
    }
}

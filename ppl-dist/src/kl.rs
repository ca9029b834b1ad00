//! Closed-form KL divergences and the registry that finds them.
//!
//! [`kl_divergence`] looks up `KL(p ‖ q)` for the concrete types behind two
//! `&dyn Distribution`s: first the built-in pairs, then pairs added with [`register_kl`].
//! The result has the `log_prob` shape of `p` (event dimensions summed, kept as size 1).
//!
//! ```
//! use burn::backend::NdArray;
//! use burn::tensor::Tensor;
//! use ppl_dist::{kl_divergence, Normal};
//! let dev = Default::default();
//! let p = Normal::<NdArray<f64>, 1>::new(Tensor::from_floats([0.0], &dev), 1.0).unwrap();
//! let q = Normal::<NdArray<f64>, 1>::new(Tensor::from_floats([1.0], &dev), 2.0).unwrap();
//! let kl: Vec<f64> = kl_divergence(&p, &q).unwrap().into_data().to_vec().unwrap();
//! assert!((kl[0] - (2f64.ln() + 2.0 / 8.0 - 0.5)).abs() < 1e-12);
//! ```

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{LazyLock, RwLock};

use burn::tensor::{backend::Backend, Tensor};

use crate::categorical::neg_entropy;
use crate::probs::BinaryParam;
use crate::special::{digamma, lgamma, log_beta, softplus};
use crate::{
    Bernoulli, Beta, Categorical, Dirichlet, DistError, Distribution, Exponential, Gamma, Independent, LogNormal,
    MultivariateNormalDiag, Normal, Uniform,
};

type DynKl<B, const D: usize> = fn(&dyn Any, &dyn Any) -> Option<Tensor<B, D>>;

/// A registered KL function behind type erasure (downcast by the pair's types).
type ErasedKl<B, const D: usize> = Box<dyn Fn(&dyn Any, &dyn Any) -> Option<Tensor<B, D>> + Send + Sync>;

/// `(TypeId of P, TypeId of Q)` → a boxed [`ErasedKl`] for the backend and rank of the pair.
type Registry = HashMap<(TypeId, TypeId), Box<dyn Any + Send + Sync>>;

static REGISTRY: LazyLock<RwLock<Registry>> = LazyLock::new(|| RwLock::new(HashMap::new()));

/// Register a closed-form `KL(P ‖ Q)` for a pair of distribution types; it takes precedence
/// over nothing (built-in pairs are looked up first) and replaces an earlier registration of
/// the same pair.
pub fn register_kl<B: Backend, const D: usize, P: 'static, Q: 'static>(f: fn(&P, &Q) -> Tensor<B, D>) {
    // Store a type-erased trampoline; `fn` pointers are 'static, so a closure over `f` is too.
    let boxed: ErasedKl<B, D> =
        Box::new(move |p: &dyn Any, q: &dyn Any| Some(f(p.downcast_ref::<P>()?, q.downcast_ref::<Q>()?)));
    REGISTRY
        .write()
        .expect("KL registry poisoned")
        .insert((TypeId::of::<P>(), TypeId::of::<Q>()), Box::new(boxed));
}

fn lookup_registered<B: Backend, const D: usize>(p: &dyn Any, q: &dyn Any) -> Option<Tensor<B, D>> {
    let reg = REGISTRY.read().expect("KL registry poisoned");
    let f = reg.get(&(p.type_id(), q.type_id()))?;
    let f = f.downcast_ref::<ErasedKl<B, D>>()?;
    f(p, q)
}

/// `KL(p ‖ q)` in closed form.
///
/// Built in: Normal–Normal, LogNormal–LogNormal, MultivariateNormalDiag–MultivariateNormalDiag,
/// Independent(Normal)–Independent(Normal), Bernoulli–Bernoulli, Categorical–Categorical,
/// Beta–Beta, Gamma–Gamma, Dirichlet–Dirichlet, Exponential–Exponential, Uniform–Uniform.
///
/// # Errors
/// [`DistError::NoAnalyticKl`] naming both distributions when no closed form is known.
pub fn kl_divergence<B: Backend, const D: usize>(
    p: &dyn Distribution<B, D>,
    q: &dyn Distribution<B, D>,
) -> Result<Tensor<B, D>, DistError> {
    let (pa, qa) = (p.as_any(), q.as_any());
    builtin::<B, D>(pa, qa)
        .or_else(|| lookup_registered::<B, D>(pa, qa))
        .ok_or(DistError::NoAnalyticKl {
            p: p.name(),
            q: q.name(),
        })
}

/// `KL(p ‖ q)` for two concrete distributions given as [`Any`] (the rank-erased path used by
/// `ppl-core`'s traces); `None` when no closed form is known.
pub fn kl_divergence_any<B: Backend, const D: usize>(p: &dyn Any, q: &dyn Any) -> Option<Tensor<B, D>> {
    builtin::<B, D>(p, q).or_else(|| lookup_registered::<B, D>(p, q))
}

fn pair<'a, P: 'static, Q: 'static>(p: &'a dyn Any, q: &'a dyn Any) -> Option<(&'a P, &'a Q)> {
    Some((p.downcast_ref::<P>()?, q.downcast_ref::<Q>()?))
}

fn builtin<B: Backend, const D: usize>(p: &dyn Any, q: &dyn Any) -> Option<Tensor<B, D>> {
    let table: [DynKl<B, D>; 11] = [
        |p, q| pair::<Normal<B, D>, Normal<B, D>>(p, q).map(|(p, q)| kl_normal(p, q)),
        |p, q| {
            pair::<LogNormal<B, D>, LogNormal<B, D>>(p, q)
                .map(|(p, q)| kl_normal_params(p.loc(), p.scale(), q.loc(), q.scale()))
        },
        |p, q| {
            pair::<MultivariateNormalDiag<B, D>, MultivariateNormalDiag<B, D>>(p, q)
                .map(|(p, q)| kl_normal_params(p.loc(), p.scale(), q.loc(), q.scale()).sum_dim(D - 1))
        },
        |p, q| {
            pair::<Independent<Normal<B, D>>, Independent<Normal<B, D>>>(p, q).map(|(p, q)| {
                let ev = Distribution::<B, D>::event_dims(p).max(Distribution::<B, D>::event_dims(q));
                let dims: Vec<usize> = (D - ev..D).collect();
                kl_normal(p.base(), q.base()).sum_dims(&dims)
            })
        },
        |p, q| pair::<Bernoulli<B, D>, Bernoulli<B, D>>(p, q).map(|(p, q)| kl_bernoulli(p, q)),
        |p, q| pair::<Categorical<B, D>, Categorical<B, D>>(p, q).map(|(p, q)| kl_categorical(p, q)),
        |p, q| pair::<Beta<B, D>, Beta<B, D>>(p, q).map(|(p, q)| kl_beta(p, q)),
        |p, q| pair::<Gamma<B, D>, Gamma<B, D>>(p, q).map(|(p, q)| kl_gamma(p, q)),
        |p, q| pair::<Dirichlet<B, D>, Dirichlet<B, D>>(p, q).map(|(p, q)| kl_dirichlet(p, q)),
        |p, q| pair::<Exponential<B, D>, Exponential<B, D>>(p, q).map(|(p, q)| kl_exponential(p, q)),
        |p, q| pair::<Uniform<B, D>, Uniform<B, D>>(p, q).map(|(p, q)| kl_uniform(p, q)),
    ];
    table.iter().find_map(|f| f(p, q))
}

fn kl_normal_params<B: Backend, const D: usize>(
    mp: &Tensor<B, D>,
    sp: &Tensor<B, D>,
    mq: &Tensor<B, D>,
    sq: &Tensor<B, D>,
) -> Tensor<B, D> {
    // ln(σq/σp) + (σp² + (μp − μq)²)/(2σq²) − ½
    let ratio = sp.clone() / sq.clone();
    let diff = (mp.clone() - mq.clone()) / sq.clone();
    ratio.clone().log().neg() + (ratio.powi_scalar(2) + diff.powi_scalar(2)) / 2.0 - 0.5
}

/// `KL(N(μp, σp²) ‖ N(μq, σq²))`.
pub fn kl_normal<B: Backend, const D: usize>(p: &Normal<B, D>, q: &Normal<B, D>) -> Tensor<B, D> {
    kl_normal_params(p.loc(), p.scale(), q.loc(), q.scale())
}

/// `KL(Bern(p) ‖ Bern(q))`, using logits where given (stable for extreme probabilities).
pub fn kl_bernoulli<B: Backend, const D: usize>(p: &Bernoulli<B, D>, q: &Bernoulli<B, D>) -> Tensor<B, D> {
    let (lp1, lp0) = p.param().log_p_and_log_1mp();
    let (lq1, lq0) = q.param().log_p_and_log_1mp();
    let (p1, p0) = match p.param() {
        BinaryParam::Logits(l) => (softplus(l.clone().neg()).neg().exp(), softplus(l.clone()).neg().exp()),
        BinaryParam::Probs(pr) => (pr.clone(), pr.clone().neg() + 1.0),
    };
    let t1 = (p1.clone() * (lp1 - lq1)).mask_fill(p1.equal_elem(0.0), 0.0);
    let t0 = (p0.clone() * (lp0 - lq0)).mask_fill(p0.equal_elem(0.0), 0.0);
    t1 + t0
}

/// `KL(Cat(p) ‖ Cat(q))` = `Σ p (ln p − ln q)` over the last dimension.
pub fn kl_categorical<B: Backend, const D: usize>(p: &Categorical<B, D>, q: &Categorical<B, D>) -> Tensor<B, D> {
    let cross = {
        let pr = p.probs();
        let zero = pr.clone().equal_elem(0.0);
        (pr * q.log_probs().clone()).mask_fill(zero, 0.0).sum_dim(D - 1)
    };
    neg_entropy(p.log_probs().clone()) - cross
}

/// `KL(Beta(a₁, b₁) ‖ Beta(a₂, b₂))`.
pub fn kl_beta<B: Backend, const D: usize>(p: &Beta<B, D>, q: &Beta<B, D>) -> Tensor<B, D> {
    let (a1, b1) = (p.concentration1().clone(), p.concentration0().clone());
    let (a2, b2) = (q.concentration1().clone(), q.concentration0().clone());
    let s1 = a1.clone() + b1.clone();
    log_beta(a2.clone(), b2.clone()) - log_beta(a1.clone(), b1.clone())
        + (a1.clone() - a2.clone()) * digamma(a1.clone())
        + (b1.clone() - b2.clone()) * digamma(b1.clone())
        + (a2 - a1 + b2 - b1) * digamma(s1)
}

/// `KL(Gamma(αp, βp) ‖ Gamma(αq, βq))` (rate parameterisation).
pub fn kl_gamma<B: Backend, const D: usize>(p: &Gamma<B, D>, q: &Gamma<B, D>) -> Tensor<B, D> {
    let (ap, bp) = (p.concentration().clone(), p.rate().clone());
    let (aq, bq) = (q.concentration().clone(), q.rate().clone());
    (ap.clone() - aq.clone()) * digamma(ap.clone()) - lgamma(ap.clone())
        + lgamma(aq.clone())
        + aq * (bp.clone().log() - bq.clone().log())
        + ap * (bq - bp.clone()) / bp
}

/// `KL(Dir(α) ‖ Dir(β))`, summed over the last dimension.
pub fn kl_dirichlet<B: Backend, const D: usize>(p: &Dirichlet<B, D>, q: &Dirichlet<B, D>) -> Tensor<B, D> {
    let (a, b) = (p.concentration().clone(), q.concentration().clone());
    let last = D - 1;
    let a0 = a.clone().sum_dim(last);
    lgamma(a0.clone()) - lgamma(a.clone()).sum_dim(last) - lgamma(b.clone().sum_dim(last))
        + lgamma(b.clone()).sum_dim(last)
        + ((a.clone() - b) * (digamma(a) - digamma(a0))).sum_dim(last)
}

/// `KL(Exp(λp) ‖ Exp(λq)) = ln(λp/λq) + λq/λp − 1`.
pub fn kl_exponential<B: Backend, const D: usize>(p: &Exponential<B, D>, q: &Exponential<B, D>) -> Tensor<B, D> {
    let r = q.rate().clone() / p.rate().clone();
    r.clone().log().neg() + r - 1.0
}

/// `KL(U[a₁, b₁] ‖ U[a₂, b₂]) = ln((b₂ − a₂)/(b₁ − a₁))` if `[a₁, b₁] ⊆ [a₂, b₂]`, else +∞.
pub fn kl_uniform<B: Backend, const D: usize>(p: &Uniform<B, D>, q: &Uniform<B, D>) -> Tensor<B, D> {
    let (a1, b1, a2, b2) = (p.low().clone(), p.high().clone(), q.low().clone(), q.high().clone());
    let kl = ((b2.clone() - a2.clone()) / (b1.clone() - a1.clone())).log();
    let dims = kl.dims();
    let outside = a1.lower(a2).expand(dims).bool_or(b1.greater(b2).expand(dims));
    kl.mask_fill(outside, f64::INFINITY)
}

//! Site statements on [`Ctx`]: `sample`, `param`, `deterministic`, `factor`, and the
//! message each site passes through the handlers into the trace.

use std::sync::Arc;

use burn::tensor::{backend::Backend, Tensor};
use ppl_dist::{Constraint, IntoDistribution, RngKey};

use super::Ctx;
use crate::erased::{Erased, ErasedDist};
use crate::handlers::Message;
use crate::{CoreError, Site, SiteKind, Value};

impl<B: Backend> Ctx<B> {
    /// A random variable named `name` with distribution `dist` (or the `Result` of a checked
    /// constructor). Returns its value: observed data when `name` is bound, otherwise what a
    /// handler supplies (replay, substitute, condition) or a draw — pathwise when the
    /// distribution allows.
    ///
    /// Stops the run on a duplicate name, invalid parameters, or a shape that does not fit
    /// the enclosing plates or the data.
    pub fn sample<const D: usize, T: IntoDistribution<B, D>>(&mut self, name: &str, dist: T) -> Tensor<B, D> {
        let dist = match dist.into_distribution() {
            Ok(d) => d,
            Err(source) => self.fail(CoreError::Distribution {
                site: name.to_string(),
                source: Box::new(source),
            }),
        };
        self.claim_name(name);
        let value_shape = ppl_dist::Distribution::value_shape(&dist);
        let expected = match self.plates.expected_shape(name, value_shape) {
            Ok(e) => e,
            Err(e) => self.fail(e),
        };
        let erased: Arc<dyn ErasedDist<B>> = Arc::new(Erased::<T::Dist, D>(dist));
        let mut msg = self.message(name, SiteKind::Sample);
        msg.dist = Some(erased.clone());
        msg.shape = expected.to_vec();
        if let Some(v) = self.bound_data(name) {
            msg.value = Some(self.over_particles(v, &expected));
            msg.observed = true;
        } else {
            // Partially observed (`Data::with_partial`): latent here; the objective reads the
            // known rows. Noted as read, so the data is not reported unused.
            let _ = self.bound_partial(name);
        }
        self.process(&mut msg);
        let (value, reparameterized) = match msg.value.take() {
            Some(v) => (self.conform::<D>(name, v, expected), false),
            None => {
                let shape = expected.to_vec();
                let fused = self
                    .scorer
                    .and_then(|sc| (sc.rsample)(erased.as_ref(), &shape, &mut msg.key));
                let drawn = match fused {
                    Some(v) => Ok(v),
                    None => erased.rsample(&shape, &mut msg.key),
                };
                match drawn {
                    Ok(v) => (v.tensor::<D>().expect("rank preserved"), true),
                    Err(_) => (
                        erased
                            .sample(&shape, &mut msg.key)
                            .tensor::<D>()
                            .expect("rank preserved"),
                        false,
                    ),
                }
            }
        };
        let value_v = Value::from_tensor(value.clone());
        // Unmasked, the scorer may sum the values itself (one operation whose gradient needs
        // no element-wise tensor).
        let unmasked = msg.mask.is_none();
        let fused = self
            .scorer
            .and_then(|sc| (sc.log_prob)(erased.as_ref(), &value_v, unmasked));
        let (mut lp, fused_sum) = match fused {
            Some(f) => (f.log_prob, f.sum),
            None => (erased.log_prob(&value_v).expect("rank preserved"), None),
        };
        if let Some(mask) = &msg.mask {
            lp = apply_mask(&lp, mask);
        }
        let lp_sum = scaled(fused_sum.unwrap_or_else(|| lp.sum()), msg.scale);
        msg.value = Some(value_v.clone());
        self.postprocess(&mut msg);
        self.record(msg, Some(erased), value_v, Some(lp), Some(lp_sum), reparameterized);
        value
    }

    /// An auxiliary sample site of a guide (Pyro's `is_auxiliary`): it contributes to the
    /// guide's density but has no counterpart in the model. Otherwise as [`Ctx::sample`].
    pub fn sample_auxiliary<const D: usize, T: IntoDistribution<B, D>>(&mut self, name: &str, dist: T) -> Tensor<B, D> {
        self.next_auxiliary = true;
        self.sample(name, dist)
    }

    /// A learnable parameter outside any network (Pyro's `pyro.param`): created from `init`
    /// on first use, stored unconstrained, returned mapped into `constraint`
    /// (`Constraint::Positive` uses softplus).
    pub fn param<const D: usize>(&mut self, name: &str, init: Tensor<B, D>, constraint: Constraint) -> Tensor<B, D> {
        self.claim_name(name);
        let mut msg = self.message(name, SiteKind::Param);
        self.process(&mut msg);
        let v = match msg.value.take() {
            Some(v) => v,
            None => self
                .params
                .get_or_init_scored(name, Value::from_tensor(init), constraint, self.scorer.as_ref())
                .unwrap_or_else(|e| self.fail(e)),
        };
        let t = self.conform::<D>(name, v.clone(), {
            let mut s = [0; D];
            s.copy_from_slice(&v.dims());
            s
        });
        msg.value = Some(v.clone());
        self.postprocess(&mut msg);
        self.record(msg, None, v, None, None, false);
        t
    }

    /// Record a deterministic function of other sites under `name` and return it.
    pub fn deterministic<const D: usize>(&mut self, name: &str, value: Tensor<B, D>) -> Tensor<B, D> {
        self.claim_name(name);
        let mut msg = self.message(name, SiteKind::Deterministic);
        msg.value = Some(Value::from_tensor(value.clone()));
        self.process(&mut msg);
        let v = msg.value.clone().expect("value set");
        self.postprocess(&mut msg);
        self.record(msg, None, v.clone(), None, None, false);
        v.tensor::<D>().unwrap_or(value)
    }

    /// Add `log_factor` (summed over all its elements) to this run's log-density under
    /// `name` (Pyro's `factor`): a site with no distribution and no value to infer, scaled like
    /// a sample site (N/M inside subsampled plates, `scale` handlers), hidden by `block`.
    /// Bayesian layers use it to add `−KL(q(w) ‖ p(w))` to the ELBO.
    ///
    /// ```
    /// use burn::backend::NdArray;
    /// use ppl_core::{trace, Ctx, Data};
    /// let model = |ctx: &mut Ctx<NdArray>| ctx.factor("penalty", ctx.full([2], -0.5));
    /// let t = trace(&model, &Data::new(), 0, &Default::default()).unwrap();
    /// assert_eq!(t.log_joint().unwrap().into_scalar(), -1.0);
    /// ```
    pub fn factor<const D: usize>(&mut self, name: &str, log_factor: Tensor<B, D>) {
        self.record_factor(name, log_factor, false);
    }

    /// As [`Ctx::factor`], but a global term: no plate scaling even when called inside plates
    /// (`scale` handlers still apply), and recorded outside them. A Bayesian layer called on
    /// a minibatch inside `datamodel` adds its weights' `−KL` once per step this way, while
    /// the likelihood of the rows is scaled by N/M.
    pub fn global_factor<const D: usize>(&mut self, name: &str, log_factor: Tensor<B, D>) {
        self.record_factor(name, log_factor, true);
    }

    fn record_factor<const D: usize>(&mut self, name: &str, log_factor: Tensor<B, D>, global: bool) {
        self.claim_name(name);
        let mut msg = self.message(name, SiteKind::Factor);
        if global {
            msg.scale = self.plates.particle_scale();
        }
        msg.value = Some(Value::from_tensor(log_factor.clone()));
        self.process(&mut msg);
        self.postprocess(&mut msg);
        let sum = scaled(log_factor.clone().sum(), msg.scale);
        let v = Value::from_tensor(log_factor);
        if global {
            let plates = self.plates.take();
            self.record(msg, None, v.clone(), Some(v), Some(sum), false);
            self.plates.restore(plates);
        } else {
            self.record(msg, None, v.clone(), Some(v), Some(sum), false);
        }
    }

    /// A random key for user code that draws its own noise inside the model (e.g. the weight
    /// noise of a Bayesian layer), derived from this run's key and `name`: same seed, same
    /// draws.
    pub fn rng(&self, name: &str) -> RngKey {
        self.site_key(&format!("rng:{name}"))
    }

    // ---- the path every site takes ----

    pub(super) fn claim_name(&mut self, name: &str) {
        if !self.names.insert(name.to_string()) {
            self.fail(CoreError::DuplicateSite(name.to_string()));
        }
    }

    fn message(&self, name: &str, kind: SiteKind) -> Message<B> {
        let scale = self.plates.scale();
        Message {
            name: name.to_string(),
            kind,
            value: None,
            observed: false,
            scale,
            mask: None,
            hidden: false,
            key: self.site_key(name),
            dist: None,
            shape: Vec::new(),
        }
    }

    fn process(&mut self, msg: &mut Message<B>) {
        for h in self.handlers.iter_mut() {
            h.process(msg);
        }
    }

    fn postprocess(&mut self, msg: &mut Message<B>) {
        for h in self.handlers.iter_mut().rev() {
            h.postprocess(msg);
        }
    }

    fn record(
        &mut self,
        msg: Message<B>,
        dist: Option<Arc<dyn ErasedDist<B>>>,
        value: Value<B>,
        log_prob: Option<Value<B>>,
        log_prob_sum: Option<Tensor<B, 1>>,
        reparameterized: bool,
    ) {
        self.last_site = Some(msg.name.clone());
        let auxiliary = std::mem::take(&mut self.next_auxiliary);
        if msg.hidden {
            return;
        }
        self.trace.push(Site {
            name: msg.name,
            kind: msg.kind,
            dist,
            value,
            observed: msg.observed,
            plates: self.plates.infos(),
            scale: msg.scale,
            log_prob,
            log_prob_sum,
            mask: msg.mask,
            reparameterized,
            auxiliary,
        });
    }
}

/// `sum · scale`, recording no multiplication when `scale` is 1 (x · 1 = x exactly).
fn scaled<B: Backend>(sum: Tensor<B, 1>, scale: f64) -> Tensor<B, 1> {
    if scale == 1.0 {
        sum
    } else {
        sum * scale
    }
}

/// `lp · mask` with the mask broadcast (1 keeps, 0 drops the term).
fn apply_mask<B: Backend>(lp: &Value<B>, mask: &Value<B>) -> Value<B> {
    crate::with_rank!(lp.rank(), D => {
        let t = lp.tensor::<D>().expect("D is the rank");
        let m = mask.tensor::<D>().expect("mask rank matches the site's log-density");
        let drop = m.equal_elem(0.0).expand(t.dims());
        Value::from_tensor(t.mask_fill(drop, 0.0))
    }, _ => unreachable!("a Value has rank 1 to 4"))
}

//! Vectorized particles (`SviConfig::vectorize_particles`): the batched estimator has the
//! expectation and variance of the particle loop, and refuses models with global latents;
//! the guide's declared [`Locality`] picks the layout up front.

use burn::module::Module;
use burn::tensor::backend::Backend;
use ppl_core::{Ctx, Data, Model};
use ppl_dist::testkit::t2;
use ppl_dist::{inference_suite, Constraint, Normal, RngKey};
use ppl_infer::elbo::{Batch, Objective, ObjectiveInput, TraceElbo};
use ppl_infer::TrainingBackend;
use ppl_infer::{model_fn, AutoNormal, Elbo, InferError, Locality, Svi, SviConfig, VariationalFamily};

inference_suite!(
    vectorized_particles_refuse_global_latents,
    a_local_guide_is_vectorized_without_asking,
    a_global_guide_refuses_vectorization_before_the_first_step,
    particle_plate_elbo_and_gradients_average_their_particles,
    the_particle_plate_is_chosen_for_trace_only,
);

/// The statistical checks (fits, many draws): NdArray f32 only with `slow-tests`.
mod fits {
    use super::*;
    ppl_dist::statistical_suite!(vectorized_particles_match_the_particle_loop,);

    /// One fit per estimator: the default backend only.
    mod plate {
        use super::super::*;
        ppl_dist::default_backend_suite!(particle_plate_fit_matches_the_particle_loop_fit,);
    }
}

/// zᵢ ~ N(0, 1), xᵢ ~ N(zᵢ, 0.5²): every latent is local.
fn local<B: TrainingBackend>(ctx: &mut Ctx<B>) {
    ctx.datamodel(|ctx| {
        let z = ctx.sample("z", Normal::new(ctx.zeros([1, 1]), 1.0));
        ctx.sample("x", Normal::new(z, 0.5));
    });
}

/// q(zᵢ | xᵢ) = N(w·xᵢ, s): an amortized guide off the exact posterior (w = 0.8, s = 0.447).
fn encoder<B: Backend>(ctx: &mut Ctx<B>) {
    let w = ctx.param("w", ctx.full([1, 1], 0.5), Constraint::Real);
    let s = ctx.param("s", ctx.full([1, 1], 0.7), Constraint::Positive);
    ctx.datamodel(|ctx| {
        let x = ctx.data::<2>("x");
        let loc = x * w;
        let scale = s.expand(loc.dims());
        ctx.sample("z", Normal::new(loc, scale));
    });
}

fn config(particles: usize, vectorize: bool) -> SviConfig {
    SviConfig {
        elbo: Elbo::Trace { particles },
        vectorize_particles: vectorize,
        progress: false,
        ..Default::default()
    }
}

/// Mean and standard error of `reps` ELBO evaluations with independent keys.
fn elbo_stats<B: TrainingBackend>(config: SviConfig, data: &Data<B>, reps: u64, dev: &B::Device) -> (f64, f64, f64) {
    let svi = Svi::from_fns(local::<B>, encoder::<B>, config, dev);
    let v: Vec<f64> = (0..reps)
        .map(|r| svi.evaluate(data, 16, &RngKey::new(500 + r)).unwrap().elbo)
        .collect();
    let m = v.iter().sum::<f64>() / v.len() as f64;
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64;
    (m, (var / v.len() as f64).sqrt(), var)
}

fn vectorized_particles_match_the_particle_loop<B: TrainingBackend>(dev: &B::Device) {
    // All 16 rows of the data set (8 copies per pass); 8 particles; 300 evaluations per
    // estimator. Means agree within 4 standard errors; variances agree within a factor 1.5
    // (both are averages of 8 independent particles) and are ≈ 8× below one particle's.
    let mut key = RngKey::new(9);
    let x = key.standard_normal(16).iter().map(|v| v * 1.1).collect::<Vec<_>>();
    let data = Data::new().with("x", t2::<B>(&x, 16, 1, dev));
    let (m_loop, se_loop, v_loop) = elbo_stats::<B>(config(8, false), &data, 300, dev);
    let (m_vec, se_vec, v_vec) = elbo_stats::<B>(config(8, true), &data, 300, dev);
    let (_, _, v_one) = elbo_stats::<B>(config(1, false), &data, 300, dev);
    let se = (se_loop * se_loop + se_vec * se_vec).sqrt();
    assert!(
        (m_loop - m_vec).abs() < 4.0 * se,
        "loop {m_loop} vs vectorized {m_vec} (se {se})"
    );
    let ratio = v_vec / v_loop;
    assert!(
        (1.0 / 1.5..1.5).contains(&ratio),
        "variance ratio vectorized/loop {ratio}"
    );
    assert!(v_vec < v_one / 4.0, "8 particles {v_vec} vs 1 particle {v_one}");
}

fn vectorized_particles_refuse_global_latents<B: TrainingBackend>(dev: &B::Device) {
    let p = |ctx: &mut Ctx<B>| {
        let mu = ctx.sample("mu", Normal::new(ctx.zeros([1, 1]), 1.0));
        ctx.datamodel(|ctx| {
            ctx.sample("x", Normal::new(mu, 1.0));
        });
    };
    let q = |ctx: &mut Ctx<B>| {
        let loc = ctx.param("loc", ctx.zeros([1, 1]), Constraint::Real);
        ctx.sample("mu", Normal::new(loc, 1.0));
    };
    let mut svi = Svi::from_fns(p, q, config(4, true), dev);
    let data = Data::new().with("x", t2::<B>(&[0.1, 0.2], 2, 1, dev));
    let err = svi.step(&data, 2).unwrap_err();
    assert!(
        matches!(&err, InferError::Config(m) if m.contains("`mu`") && m.contains("global")),
        "{err}"
    );
    assert_eq!(svi.steps(), 0);
}

/// [`encoder`] as a module that declares its locality.
#[derive(Module, Debug, Clone)]
struct DeclaredEncoder {
    #[module(skip)]
    locality: Locality,
}

impl<B: Backend> Model<B> for DeclaredEncoder {
    fn model(&self, ctx: &mut Ctx<B>) {
        encoder(ctx)
    }
}

impl<B: Backend> VariationalFamily<B> for DeclaredEncoder {
    fn locality(&self) -> Locality {
        self.locality
    }
}

fn a_local_guide_is_vectorized_without_asking<B: TrainingBackend>(dev: &B::Device) {
    // Deterministic: with the same key, a guide declared local under `vectorize_particles:
    // false` gives exactly the ELBO of the vectorized pass, and not the particle loop's.
    let data = Data::new().with("x", t2::<B>(&[0.3, -1.2, 0.8], 3, 1, dev));
    let elbo = |locality, vectorize| {
        let q = DeclaredEncoder { locality };
        let svi = Svi::new(model_fn(local::<B>), q, config(4, vectorize), dev);
        svi.evaluate(&data, 3, &RngKey::new(11)).unwrap().elbo
    };
    let declared_local = elbo(Locality::Local, false);
    assert_eq!(declared_local, elbo(Locality::Unknown, true));
    assert_ne!(declared_local, elbo(Locality::Unknown, false));
}

fn a_global_guide_refuses_vectorization_before_the_first_step<B: TrainingBackend>(dev: &B::Device) {
    let p = model_fn(|ctx: &mut Ctx<B>| {
        let mu = ctx.sample("mu", Normal::new(ctx.zeros([1, 1]), 1.0));
        ctx.datamodel(|ctx| {
            ctx.sample("x", Normal::new(mu, 1.0));
        });
    });
    let data = Data::new().with("x", t2::<B>(&[0.1, 0.2], 2, 1, dev));
    let q = AutoNormal::new(&p, &data, dev).unwrap();
    assert_eq!(VariationalFamily::<B>::locality(&q), Locality::Global);
    assert_eq!(VariationalFamily::<B>::latent_sites(&q), Some(vec!["mu".to_string()]));
    let mut svi = Svi::new(p, q, config(4, true), dev);
    let err = svi.step(&data, 2).unwrap_err();
    assert!(
        matches!(&err, InferError::Config(m) if m.contains("Locality::Global")),
        "{err}"
    );
    assert_eq!(svi.steps(), 0);
}

/// Logistic regression written for vectorized particles: w, b ~ N(0, 1) `[K, 1]` each,
/// yᵢ ~ Bernoulli(σ(xᵢ·w + b)) `[K, M]`.
fn logistic<B: Backend>(ctx: &mut Ctx<B>) {
    ctx.particle_plate(|ctx| {
        let w = ctx.sample("w", Normal::new(ctx.zeros([1, 1]), 1.0));
        let b = ctx.sample("b", Normal::new(ctx.zeros([1, 1]), 1.0));
        ctx.datamodel(|ctx| {
            let x = ctx.data::<1>("x").unsqueeze::<2>();
            ctx.sample("y", ppl_dist::Bernoulli::from_logits(x * w + b));
        });
    });
}

/// `rows` seeded rows of x ~ N(0, 1), y = [1.5·x − 0.3 + noise > 0].
fn logistic_data<B: Backend>(rows: usize, seed: u64, dev: &B::Device) -> (Vec<f64>, Vec<f64>, Data<B>) {
    let mut key = RngKey::new(seed);
    let x = key.standard_normal(rows);
    let noise = key.standard_normal(rows);
    let y: Vec<f64> = x
        .iter()
        .zip(&noise)
        .map(|(x, e)| f64::from(1.5 * x - 0.3 + e > 0.0))
        .collect();
    let data = Data::new()
        .with("x", ppl_dist::testkit::t1::<B>(&x, dev))
        .with("y", ppl_dist::testkit::t1::<B>(&y, dev));
    (x, y, data)
}

fn particle_plate_elbo_and_gradients_average_their_particles<B: TrainingBackend>(dev: &B::Device) {
    // One pass of K = 4 particles against the average of the four particles' terms computed
    // on the host from the drawn values (statrs densities): the ELBO, and its gradients with
    // respect to w's guide parameters — d/d loc = (1/K)·Σₖ gₖ and d/d s = (1/K)·Σₖ gₖ·εₖ + 1/s,
    // gₖ the model's d ln p/dw at wₖ (the guide's ln q has no loc gradient under the
    // reparameterization). Minibatch of M = 6 rows out of N = 12 (scale 2). f64 relative 1e−9.
    use statrs::distribution::{Continuous, Normal as SNormal};
    let (k, n, m) = (4, 12, 6);
    let (x, y, data) = logistic_data::<B>(m, 3, dev);
    let p = model_fn(logistic::<B>);
    let q = AutoNormal::new(&p, &data, dev).unwrap();
    assert_eq!(VariationalFamily::<B>::locality(&q), Locality::ParticlePlate);
    let key = RngKey::new(21);
    let batch = Batch {
        particles: k,
        ..Batch::new(&data, n)
    };
    let est = TraceElbo::new(1)
        .estimate(ObjectiveInput::new(&p, &q, batch, &key, dev))
        .unwrap();
    let (guide, model) = &est.traces;
    let values = |name: &str| guide.site(name).unwrap().value.to_vec();
    let (w, b) = (values("w"), values("b"));
    assert_eq!(guide.site("w").unwrap().value.dims(), vec![k, 1]);
    assert_eq!(model.site("y").unwrap().value.dims(), vec![k, m]);
    let param = |name: &str| est.params.get(name).unwrap().to_vec()[0];
    let (loc_w, s_w, loc_b, s_b) = (param("w.loc"), param("w.scale"), param("b.loc"), param("b.scale"));
    let sigmoid = |u: f64| 1.0 / (1.0 + (-u).exp());
    let (mut elbo, mut d_loc, mut d_s) = (0.0, 0.0, 0.0);
    let std = SNormal::new(0.0, 1.0).unwrap();
    for p in 0..k {
        let mut lik = 0.0;
        let mut g = -w[p]; // d ln N(w; 0, 1)/dw
        for i in 0..m {
            let pr = sigmoid(x[i] * w[p] + b[p]);
            lik += if y[i] == 1.0 { pr.ln() } else { (1.0 - pr).ln() };
            g += (n / m) as f64 * x[i] * (y[i] - pr);
        }
        let term = std.ln_pdf(w[p]) + std.ln_pdf(b[p]) + (n / m) as f64 * lik
            - SNormal::new(loc_w, s_w).unwrap().ln_pdf(w[p])
            - SNormal::new(loc_b, s_b).unwrap().ln_pdf(b[p]);
        elbo += term / k as f64;
        d_loc += g / k as f64;
        d_s += g * (w[p] - loc_w) / s_w / k as f64;
    }
    d_s += 1.0 / s_w;
    let close = |got: f64, want: f64, what: &str| {
        let tol = ppl_dist::testkit::tolerance::<B>(want, 64.0 * want.abs().max(1.0), 1e-9);
        assert!((got - want).abs() <= tol, "{what}: {got} vs {want}");
    };
    close(est.elbo, elbo, "ELBO");
    let loc_t = est.params.unconstrained("w.loc").unwrap();
    let rho_t = est.params.unconstrained("w.scale").unwrap();
    let grads = est.surrogate_loss.backward();
    let grad = |t: &burn::tensor::Tensor<B, 1>| -ppl_dist::testkit::host(t.grad(&grads).unwrap())[0];
    close(grad(&loc_t), d_loc, "d ELBO / d w.loc");
    // s = softplus(ρ): ds/dρ = σ(ρ).
    let rho = ppl_dist::testkit::host(rho_t.clone().inner())[0];
    close(grad(&rho_t), d_s * sigmoid(rho), "d ELBO / d w.scale (unconstrained)");
}

fn the_particle_plate_is_chosen_for_trace_only<B: TrainingBackend>(dev: &B::Device) {
    // Elbo::Trace with 4 particles draws them in one pass (w is [4, 1]) without being asked;
    // MeanField runs them one after another (w is [1, 1]) and refuses to vectorize them.
    let (_, _, data) = logistic_data::<B>(5, 4, dev);
    let p = model_fn(logistic::<B>);
    let svi_with = |elbo, vectorize| {
        let q = AutoNormal::new(&p, &data, dev).unwrap();
        let config = SviConfig {
            elbo,
            vectorize_particles: vectorize,
            progress: false,
            ..Default::default()
        };
        Svi::new(p.clone(), q, config, dev)
    };
    let dims = |svi: &Svi<B, _, AutoNormal>| {
        let est = svi.evaluate(&data, 5, &RngKey::new(1)).unwrap();
        est.traces.0.site("w").unwrap().value.dims()
    };
    assert_eq!(dims(&svi_with(Elbo::Trace { particles: 4 }, false)), vec![4, 1]);
    assert_eq!(dims(&svi_with(Elbo::Trace { particles: 4 }, true)), vec![4, 1]);
    assert_eq!(dims(&svi_with(Elbo::MeanField { particles: 4 }, false)), vec![1, 1]);
    let err = svi_with(Elbo::MeanField { particles: 4 }, true)
        .evaluate(&data, 5, &RngKey::new(1))
        .unwrap_err();
    assert!(
        matches!(&err, InferError::Config(m) if m.contains("particle plate") && m.contains("Elbo::Trace")),
        "{err}"
    );
}

fn particle_plate_fit_matches_the_particle_loop_fit<B: TrainingBackend>(dev: &B::Device) {
    // The same model and data fitted with 4 particles in one pass and with the loop (Elbo::
    // MeanField, which runs them one after another; with these Normal guides and priors its
    // analytic KL has the same optimum): 1500 full-batch Adam steps each, seeded. Both reach
    // the mean-field optimum, so their guide locations agree within 0.05 (≈ 0.1 posterior
    // standard deviations here) and their scales within 15 %.
    let (_, _, data) = logistic_data::<B>(60, 5, dev);
    let p = model_fn(logistic::<B>);
    let fit = |elbo| {
        let q = AutoNormal::new(&p, &data, dev).unwrap();
        let config = SviConfig {
            elbo,
            epochs: 1500,
            batch_size: 60,
            lr: 0.02,
            seed: 7,
            progress: false,
            ..Default::default()
        };
        let mut svi = Svi::new(p.clone(), q, config, dev);
        svi.fit(&data).unwrap();
        let get = |name: &str| svi.params().get(name).unwrap().to_vec()[0];
        [get("w.loc"), get("b.loc"), get("w.scale"), get("b.scale")]
    };
    let vectorized = fit(Elbo::Trace { particles: 4 });
    let looped = fit(Elbo::MeanField { particles: 4 });
    for i in 0..2 {
        assert!(
            (vectorized[i] - looped[i]).abs() < 0.05,
            "locations {vectorized:?} vs {looped:?}"
        );
        assert!(
            (vectorized[i + 2] / looped[i + 2] - 1.0).abs() < 0.15,
            "scales {vectorized:?} vs {looped:?}"
        );
    }
}

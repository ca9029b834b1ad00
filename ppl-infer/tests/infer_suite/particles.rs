//! Vectorized particles (`SviConfig::vectorize_particles`): the batched estimator has the
//! expectation and variance of the particle loop, and refuses models with global latents;
//! the guide's declared [`Locality`] picks the layout up front.

use burn::module::Module;
use burn::tensor::backend::Backend;
use ppl_core::{Ctx, Data, Model};
use ppl_dist::testkit::t2;
use ppl_dist::{backend_suite, Constraint, Normal, RngKey};
use ppl_infer::TrainingBackend;
use ppl_infer::{model_fn, AutoNormal, Elbo, InferError, Locality, Svi, SviConfig, VariationalFamily};

backend_suite!(
    vectorized_particles_refuse_global_latents,
    a_local_guide_is_vectorized_without_asking,
    a_global_guide_refuses_vectorization_before_the_first_step,
);

/// The statistical checks (fits, many draws): NdArray f32 only with `slow-tests`.
mod fits {
    use super::*;
    ppl_dist::statistical_suite!(vectorized_particles_match_the_particle_loop,);
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

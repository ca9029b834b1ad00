//! The fitted [`Posterior`]'s point and sample queries: `median`, `sample(n)` with its
//! summaries, and the guide's `log_prob`, on guides with known parameters (so the answers
//! are closed forms, not fits).

use ppl_core::{Ctx, Data, ParamStore};
use ppl_dist::testkit::{host, is_f64, t1, t2};
use ppl_dist::{inference_suite, Beta, Gamma, LogNormal, Normal};
use ppl_infer::TrainingBackend;
use ppl_infer::{model_fn, AutoNormal, InferError, Posterior};
use statrs::distribution::{Continuous, LogNormal as SLogNormal, Normal as SNormal};

inference_suite!(
    median_is_the_guide_at_its_distributions_medians,
    log_prob_is_the_guide_density_at_given_latents,
    median_refuses_a_guide_without_closed_form_medians,
    an_unfitted_auto_normal_sits_at_the_prior_mean,
    a_particle_plate_guide_draws_its_samples_in_passes,
    a_predictive_draw_shares_its_global_latents_across_chunks,
);

/// The statistical checks (fits, many draws): NdArray f32 only with `slow-tests`.
mod fits {
    use super::*;
    ppl_dist::statistical_suite!(samples_summarise_independent_guide_draws,);
}

/// z ~ N(0, 1), s ~ LogNormal(0, 1), x ~ N(z, s) per row.
fn model<B: TrainingBackend>(ctx: &mut Ctx<B>) {
    let z = ctx.sample("z", Normal::new(ctx.zeros([1]), 1.0));
    let s = ctx.sample("s", LogNormal::new(ctx.zeros([1]), 1.0));
    ctx.datamodel(|ctx| {
        ctx.sample("x", Normal::new(z, s));
    });
}

/// q(z) = N(1.5, 0.5), q(s) = LogNormal(0.3, 0.2); per row, q(uᵢ | xᵢ) = N(2·xᵢ, 0.1).
fn guide<B: TrainingBackend>(ctx: &mut Ctx<B>) {
    ctx.sample("z", Normal::new(ctx.full([1], 1.5), 0.5));
    ctx.sample("s", LogNormal::new(ctx.full([1], 0.3), 0.2));
    ctx.datamodel(|ctx| {
        let x = ctx.data::<1>("x");
        ctx.sample("u", Normal::new(x * 2.0, 0.1));
    });
}

type Closure<B> = fn(&mut Ctx<B>);

fn posterior<B: TrainingBackend>(dev: &B::Device) -> Posterior<B, Closure<B>, Closure<B>> {
    Posterior::new(
        model::<B> as Closure<B>,
        guide::<B> as Closure<B>,
        ParamStore::new(),
        7,
        dev,
    )
    .with_chunk(2)
}

fn rows<B: TrainingBackend>(dev: &B::Device) -> Data<B> {
    Data::new().with("x", t1::<B>(&[0.5, -1.0, 2.0, 0.25, 3.0], dev))
}

fn median_is_the_guide_at_its_distributions_medians<B: TrainingBackend>(dev: &B::Device) {
    let tol = if is_f64::<B>() { 1e-12 } else { 1e-6 };
    let m = posterior::<B>(dev).median(&["z", "s", "u"], &rows::<B>(dev)).unwrap();
    assert_eq!(host(m.tensor::<1>("z").unwrap()), vec![1.5]);
    assert!((host(m.tensor::<1>("s").unwrap())[0] - 0.3f64.exp()).abs() < tol);
    // Per row, across three chunks of at most 2 rows.
    assert_eq!(host(m.tensor::<1>("u").unwrap()), vec![1.0, -2.0, 4.0, 0.5, 6.0]);
}

fn samples_summarise_independent_guide_draws<B: TrainingBackend>(dev: &B::Device) {
    // n = 4000 draws. Means within 4 standard errors (α ≈ 6e−5 each); the sample median of s
    // within 4·se of exp(0.3), se of a median = 1/(2·f(m)·√n); the sd of z within 10 %.
    let n = 4000;
    let post = posterior::<B>(dev);
    let draws = post.sample(&["z", "s", "u"], &rows::<B>(dev), n).unwrap();
    assert_eq!(draws.len(), n);
    assert_eq!(draws.stack::<2>("u").unwrap().dims(), [n, 5]);
    let z_mean = draws.mean("z").unwrap()[0];
    assert!((z_mean - 1.5).abs() < 4.0 * 0.5 / (n as f64).sqrt(), "mean z {z_mean}");
    let z_sd = draws.std("z").unwrap()[0];
    assert!((z_sd / 0.5 - 1.0).abs() < 0.1, "sd z {z_sd}");
    let s_median = draws.quantile("s", 0.5).unwrap()[0];
    let exact = SLogNormal::new(0.3, 0.2).unwrap();
    let se = 1.0 / (2.0 * exact.pdf(0.3f64.exp()) * (n as f64).sqrt());
    assert!((s_median - 0.3f64.exp()).abs() < 4.0 * se, "median s {s_median}");
    let u_mean = draws.mean("u").unwrap();
    for (i, x) in [0.5, -1.0, 2.0, 0.25, 3.0].iter().enumerate() {
        assert!(
            (u_mean[i] - 2.0 * x).abs() < 4.0 * 0.1 / (n as f64).sqrt(),
            "u[{i}] {}",
            u_mean[i]
        );
    }
    // The same posterior gives the same draws.
    let again = post.sample(&["z"], &rows::<B>(dev), 3).unwrap();
    assert_eq!(
        host(again.stack::<2>("z").unwrap()),
        host(draws.stack::<2>("z").unwrap().narrow(0, 0, 3))
    );
}

fn log_prob_is_the_guide_density_at_given_latents<B: TrainingBackend>(dev: &B::Device) {
    let post = posterior::<B>(dev);
    let x = [0.5, -1.0, 2.0, 0.25, 3.0];
    let u = [1.1, -2.05, 3.9, 0.5, 6.2];
    let latents = Data::new()
        .with("z", t1::<B>(&[1.0], dev))
        .with("s", t1::<B>(&[1.2], dev))
        .with("u", t1::<B>(&u, dev));
    let ours = post.log_prob(&latents, &rows::<B>(dev)).unwrap();
    let mut exact = SNormal::new(1.5, 0.5).unwrap().ln_pdf(1.0) + SLogNormal::new(0.3, 0.2).unwrap().ln_pdf(1.2);
    for (xi, ui) in x.iter().zip(u) {
        exact += SNormal::new(2.0 * xi, 0.1).unwrap().ln_pdf(ui);
    }
    // f32: rounding of ~10 terms of magnitude ≤ 5.
    let tol = if is_f64::<B>() { 1e-10 } else { 1e-4 };
    assert!((ours - exact).abs() < tol, "log q {ours} vs {exact}");
    // Every latent needs a value, and every value must be a latent.
    let missing = Data::new().with("z", t1::<B>(&[1.0], dev)).with("u", t1::<B>(&u, dev));
    let err = post.log_prob(&missing, &rows::<B>(dev)).unwrap_err();
    assert!(
        matches!(&err, InferError::UnmatchedSite { site, .. } if site == "s"),
        "{err}"
    );
    let extra = latents.clone().with("w", t2::<B>(&[0.0], 1, 1, dev));
    let err = post.log_prob(&extra, &rows::<B>(dev)).unwrap_err();
    assert!(
        matches!(&err, InferError::UnmatchedSite { site, .. } if site == "w"),
        "{err}"
    );
}

fn median_refuses_a_guide_without_closed_form_medians<B: TrainingBackend>(dev: &B::Device) {
    let q = |ctx: &mut Ctx<B>| {
        ctx.sample("s", Gamma::new(ctx.full([1], 2.0), 1.0));
    };
    let post = Posterior::new(model::<B> as Closure<B>, q, ParamStore::new(), 0, dev);
    let err = post.median(&["s"], &Data::new()).unwrap_err();
    assert!(
        matches!(&err, InferError::Config(m) if m.contains("`s`") && m.contains("Gamma")),
        "{err}"
    );
    // The sample query still answers.
    assert_eq!(post.sample(&["s"], &Data::new(), 10).unwrap().len(), 10);
}

fn an_unfitted_auto_normal_sits_at_the_prior_mean<B: TrainingBackend>(dev: &B::Device) {
    // AutoNormal starts each latent at its prior mean: its median before any step is that
    // mean, for a positive latent (LogNormal family) and a unit-interval one (LogitNormal).
    let p = model_fn(|ctx: &mut Ctx<B>| {
        ctx.sample("s", Gamma::new(ctx.full([1], 2.0), 1.0));
        ctx.sample("r", Beta::new(ctx.full([1], 2.0), 6.0));
    });
    let q = AutoNormal::new(&p, &Data::new(), dev).unwrap();
    let m = Posterior::new(p, q, ParamStore::new(), 0, dev)
        .median(&["s", "r"], &Data::new())
        .unwrap();
    let tol = if is_f64::<B>() { 1e-12 } else { 1e-6 };
    let s = host(m.tensor::<1>("s").unwrap())[0];
    let r = host(m.tensor::<1>("r").unwrap())[0];
    assert!((s - 2.0).abs() < tol * 2.0, "s starts at {s}, not the prior mean 2");
    assert!((r - 0.25).abs() < tol, "r starts at {r}, not the prior mean 0.25");
}

thread_local! {
    /// How many times [`plate_guide`] ran on this thread (each test has its own).
    static PLATE_GUIDE_RUNS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// w ~ N(0, 1) written for vectorized particles, x ~ N(w, 1) per row.
fn plate_model<B: TrainingBackend>(ctx: &mut Ctx<B>) {
    ctx.particle_plate(|ctx| {
        let w = ctx.sample("w", Normal::new(ctx.zeros([1, 1]), 1.0));
        ctx.datamodel(|ctx| {
            let x = ctx.data::<1>("x").unsqueeze::<2>();
            ctx.sample("x", Normal::new(w.expand(x.dims()), 1.0));
        });
    });
}

/// q(w) = N(1.5, 0.5) inside the particle plate; counts its runs.
fn plate_guide<B: TrainingBackend>(ctx: &mut Ctx<B>) {
    PLATE_GUIDE_RUNS.with(|c| c.set(c.get() + 1));
    ctx.particle_plate(|ctx| {
        ctx.sample("w", Normal::new(ctx.full([1, 1], 1.5), 0.5));
    });
}

fn a_particle_plate_guide_draws_its_samples_in_passes<B: TrainingBackend>(dev: &B::Device) {
    // n = 3000 draws in three passes (1024 + 1024 + 952), each draw [1, 1] as in a plain run;
    // mean within 4 standard errors (α ≈ 6e−5), sd within 10 %; the seed fixes the draws.
    let n = 3000;
    let post = Posterior::new(
        plate_model::<B> as Closure<B>,
        plate_guide::<B> as Closure<B>,
        ParamStore::new(),
        7,
        dev,
    );
    let runs = || PLATE_GUIDE_RUNS.with(|c| c.get());
    let before = runs();
    let draws = post.sample(&["w"], &rows::<B>(dev), n).unwrap();
    assert_eq!(runs() - before, 3, "one guide run per pass");
    assert_eq!(draws.len(), n);
    assert!(draws.draws("w").unwrap().iter().all(|v| v.dims() == [1, 1]));
    let w = host(draws.stack::<3>("w").unwrap());
    let mean = w.iter().sum::<f64>() / n as f64;
    let sd = (w.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
    assert!((mean - 1.5).abs() < 4.0 * 0.5 / (n as f64).sqrt(), "mean {mean}");
    assert!((sd / 0.5 - 1.0).abs() < 0.1, "sd {sd}");
    let mut distinct = w.clone();
    distinct.sort_by(f64::total_cmp);
    distinct.dedup();
    assert_eq!(distinct.len(), n, "every draw is its own");
    let again = post.sample(&["w"], &rows::<B>(dev), n).unwrap();
    assert_eq!(host(again.stack::<3>("w").unwrap()), w);
}

/// z ~ N(0, 1); per row u ~ N(0, 1) and y ~ N(z, 10⁻³): every y sits on the draw's z.
fn shared_model<B: TrainingBackend>(ctx: &mut Ctx<B>) {
    let z = ctx.sample("z", Normal::new(ctx.zeros([1]), 1.0));
    ctx.datamodel(|ctx| {
        let x = ctx.data::<1>("x");
        ctx.sample("u", Normal::new(x.zeros_like(), 1.0));
        ctx.sample("y", Normal::new(x * 0.0 + z, 1e-3));
    });
}

/// q(z) = N(1.5, 0.5); per row q(u) = N(0, 1).
fn shared_guide<B: TrainingBackend>(ctx: &mut Ctx<B>) {
    ctx.sample("z", Normal::new(ctx.full([1], 1.5), 0.5));
    ctx.datamodel(|ctx| {
        let x = ctx.data::<1>("x");
        ctx.sample("u", Normal::new(x.zeros_like(), 1.0));
    });
}

fn a_predictive_draw_shares_its_global_latents_across_chunks<B: TrainingBackend>(dev: &B::Device) {
    // Six rows in three chunks of two: one predictive draw has one z for every row (the y of
    // every chunk sits within 10⁻² = 10 sd of the z returned), and each chunk draws its own
    // rows' local noise (chunks of equal length do not repeat each other's u).
    let post = Posterior::new(
        shared_model::<B> as Closure<B>,
        shared_guide::<B> as Closure<B>,
        ParamStore::new(),
        11,
        dev,
    )
    .with_chunk(2);
    let data = Data::new().with("x", t1::<B>(&[0.0; 6], dev));
    let repeated = |u: &[f64]| u[0..2] == u[2..4] || u[2..4] == u[4..6];
    let draw = post.posterior_predictive(&["z", "u", "y"], &data).unwrap();
    let z = host(draw.tensor::<1>("z").unwrap());
    assert_eq!(z.len(), 1);
    let u = host(draw.tensor::<1>("u").unwrap());
    assert!(u.len() == 6 && !repeated(&u), "chunks repeated their noise: {u:?}");
    for (i, y) in host(draw.tensor::<1>("y").unwrap()).into_iter().enumerate() {
        assert!(
            (y - z[0]).abs() < 1e-2,
            "row {i}: y = {y} drawn with another z than {}",
            z[0]
        );
    }
    // Guide draws too: one z per draw, each chunk its own u.
    let samples = post.sample(&["z", "u"], &data, 2).unwrap();
    assert_eq!(samples.stack::<2>("z").unwrap().dims(), [2, 1]);
    let u = host(samples.stack::<2>("u").unwrap());
    assert!(
        !repeated(&u[0..6]) && !repeated(&u[6..12]),
        "chunks repeated their noise: {u:?}"
    );
}

//! AutoAmortizedNormal (issue 19): an encoder built from the model alone recovers per-row
//! exact posteriors, says what it reads, and refuses what it does not cover.

use burn::tensor::backend::AutodiffBackend;
use ppl_core::{Ctx, Data};
use ppl_dist::testkit::t2;
use ppl_dist::{backend_suite, Normal, RngKey};
use ppl_infer::{model_fn, AutoAmortizedNormalConfig, InferError, LrSchedule, Svi, SviConfig};

backend_suite!(
    auto_amortized_normal_recovers_a_per_row_gaussian_posterior,
    auto_amortized_normal_says_what_it_reads_and_refuses_global_latents,
);

/// Per row: z ~ N(0, 1), x ~ N(2z + 1, 0.5). Exact posterior: z | x ~ N(8(x − 1)/17, 1/√17).
fn model<B: AutodiffBackend>(ctx: &mut Ctx<B>) {
    ctx.datamodel(|ctx| {
        let z = ctx.sample("z", Normal::new(ctx.zeros([1, 1]), 1.0));
        ctx.sample("x", Normal::new(z * 2.0 + 1.0, 0.5));
    });
}

fn rows<B: AutodiffBackend>(x: &[f64], dev: &B::Device) -> Data<B> {
    Data::new().with("x", t2::<B>(x, x.len(), 1, dev))
}

fn auto_amortized_normal_recovers_a_per_row_gaussian_posterior<B: AutodiffBackend>(dev: &B::Device) {
    // 512 rows drawn from the model (seeded), minibatches of 64, 1200 steps.
    let mut key = RngKey::new(5);
    let z = key.standard_normal(512);
    let eps = key.standard_normal(512);
    let x: Vec<f64> = z.iter().zip(&eps).map(|(z, e)| 2.0 * z + 1.0 + 0.5 * e).collect();
    let data = rows::<B>(&x, dev);
    let p = model_fn(model::<B>);
    let q = AutoAmortizedNormalConfig::new()
        .with_hidden(&[32])
        .with_seed(3)
        .init(&p, &data, dev)
        .unwrap();
    assert_eq!(q.input(), "x");
    let config = SviConfig {
        epochs: 150,
        batch_size: 64,
        lr: 0.01,
        // The step size decays to a tenth over the run, so the last steps settle.
        schedule: LrSchedule::Exponential {
            gamma: 0.1f64.powf(1.0 / 1200.0),
        },
        seed: 9,
        progress: false,
        ..Default::default()
    };
    let mut svi = Svi::new(p, q, config, dev);
    svi.fit(&data).unwrap();
    // Posterior at new rows: the median is the guide's loc, the sd from 4000 draws (its
    // relative standard error ≈ 1/√8000 ≈ 1.1 %). Tolerances: the loc within 0.08 (a third
    // of the exact sd 0.243; f64 lands within 0.025), the sd within 20 % (what amortization and
    // 1200 noisy steps leave).
    let probe = [-1.0, 0.5, 1.0, 2.0, 3.0];
    let post = svi.to_posterior();
    let new = rows::<B>(&probe, dev);
    let median = post.median(&["z"], &new).unwrap();
    let loc = median.sample("z").unwrap().to_vec();
    let draws = post.sample(&["z"], &new, 4000).unwrap();
    let sd = draws.std("z").unwrap();
    let exact_sd = 1.0 / 17f64.sqrt();
    for (i, &xi) in probe.iter().enumerate() {
        let exact = 8.0 * (xi - 1.0) / 17.0;
        assert!(
            (loc[i] - exact).abs() < 0.08,
            "x = {xi}: loc {} vs exact {exact}",
            loc[i]
        );
        assert!(
            (sd[i] / exact_sd - 1.0).abs() < 0.2,
            "x = {xi}: sd {} vs exact {exact_sd}",
            sd[i]
        );
    }
}

fn auto_amortized_normal_says_what_it_reads_and_refuses_global_latents<B: AutodiffBackend>(dev: &B::Device) {
    let data = rows::<B>(&[0.5, 1.5, 2.0], dev);
    let p = model_fn(model::<B>);
    let q = AutoAmortizedNormalConfig::new().init(&p, &data, dev).unwrap();
    let notice = ppl_core::Model::<B>::notice(&q).unwrap();
    assert!(notice.contains("`x`") && notice.contains("z[1]"), "{notice}");

    // A global latent (outside the data plate) is named.
    let global = model_fn(|ctx: &mut Ctx<B>| {
        let mu = ctx.sample("mu", Normal::new(ctx.zeros([1]), 1.0));
        ctx.datamodel(|ctx| {
            let z = ctx.sample("z", Normal::new(ctx.zeros([1, 1]), 1.0));
            ctx.sample("x", Normal::new(z + mu.clone().unsqueeze::<2>(), 0.5));
        });
    });
    match AutoAmortizedNormalConfig::new().init(&global, &data, dev) {
        Err(InferError::Config(m)) => assert!(m.contains("\"mu\""), "{m}"),
        other => panic!("expected a config error, got {:?}", other.map(|_| ())),
    }

    // Two [N, d] entries read in the data plate: the input must be chosen.
    let two = model_fn(|ctx: &mut Ctx<B>| {
        ctx.datamodel(|ctx| {
            let z = ctx.sample("z", Normal::new(ctx.zeros([1, 1]), 1.0));
            ctx.sample("x", Normal::new(z.clone(), 0.5));
            ctx.sample("w", Normal::new(z, 0.5));
        });
    });
    let both = rows::<B>(&[0.5, 1.5, 2.0], dev).with("w", t2::<B>(&[0.1, 0.2, 0.3], 3, 1, dev));
    match AutoAmortizedNormalConfig::new().init(&two, &both, dev) {
        Err(InferError::Config(m)) => assert!(m.contains("with_input") && m.contains("\"w\""), "{m}"),
        other => panic!("expected a config error, got {:?}", other.map(|_| ())),
    }
    let q = AutoAmortizedNormalConfig::new()
        .with_input("w")
        .init(&two, &both, dev)
        .unwrap();
    assert_eq!(q.input(), "w");
}

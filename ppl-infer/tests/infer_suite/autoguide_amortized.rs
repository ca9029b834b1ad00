//! AutoAmortizedNormal (issue 19): an encoder built from the model alone recovers per-row
//! exact posteriors, says what it reads, and refuses what it does not cover.

use ppl_core::{Ctx, Data};
use ppl_dist::testkit::t2;
use ppl_dist::{inference_suite, Normal, RngKey};
use ppl_infer::TrainingBackend;
use ppl_infer::{model_fn, AutoAmortizedNormalConfig, InferError, LrSchedule, Svi, SviConfig};

inference_suite!(auto_amortized_normal_says_what_it_reads_and_what_it_cannot_choose,);

/// The statistical checks (fits, many draws): NdArray f32 only with `slow-tests`.
mod fits {
    use super::*;
    ppl_dist::statistical_suite!(
        auto_amortized_normal_recovers_a_per_row_gaussian_posterior,
        auto_amortized_normal_fits_global_and_per_row_latents_in_one_guide,
    );
}

/// Per row: z ~ N(0, 1), x ~ N(2z + 1, 0.5). Exact posterior: z | x ~ N(8(x − 1)/17, 1/√17).
fn model<B: TrainingBackend>(ctx: &mut Ctx<B>) {
    ctx.datamodel(|ctx| {
        let z = ctx.sample("z", Normal::new(ctx.zeros([1, 1]), 1.0));
        ctx.sample("x", Normal::new(z * 2.0 + 1.0, 0.5));
    });
}

fn rows<B: TrainingBackend>(x: &[f64], dev: &B::Device) -> Data<B> {
    Data::new().with("x", t2::<B>(x, x.len(), 1, dev))
}

fn auto_amortized_normal_recovers_a_per_row_gaussian_posterior<B: TrainingBackend>(dev: &B::Device) {
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

/// μ ~ N(0, 10) global; per row z ~ N(0, 1), x ~ N(μ + z, 0.5). Given x, μ's exact
/// posterior is normal with precision N/1.25 + 1/100 and mean (Σx/1.25)/precision (x_i ~
/// N(μ, √1.25) marginally); z_i | x_i, μ ~ N(0.8 (x_i − μ), √0.2).
fn auto_amortized_normal_fits_global_and_per_row_latents_in_one_guide<B: TrainingBackend>(dev: &B::Device) {
    let model = |ctx: &mut Ctx<B>| {
        let mu = ctx.sample("mu", Normal::new(ctx.zeros([1]), 10.0));
        ctx.datamodel(|ctx| {
            let z = ctx.sample("z", Normal::new(ctx.zeros([1, 1]), 1.0));
            ctx.sample("x", Normal::new(z + mu.clone().unsqueeze::<2>(), 0.5));
        });
    };
    let n = 512;
    let mut key = RngKey::new(8);
    let (z, eps) = (key.standard_normal(n), key.standard_normal(n));
    let x: Vec<f64> = z.iter().zip(&eps).map(|(z, e)| 3.0 + z + 0.5 * e).collect();
    let data = rows::<B>(&x, dev);
    let p = model_fn(model);
    let q = AutoAmortizedNormalConfig::new()
        .with_hidden(&[32])
        .with_seed(4)
        .init(&p, &data, dev)
        .unwrap();
    assert_eq!(q.global_sites().len(), 1);
    let notice = ppl_core::Model::<B>::notice(&q).unwrap();
    assert!(notice.contains("AutoNormal for the global mu[1]"), "{notice}");
    // μ and the z's trade off along the ridge x ≈ μ + z, held only by z's prior, so μ moves
    // slowly: a larger step, decaying to a twentieth over 2400 steps.
    let config = SviConfig {
        epochs: 300,
        batch_size: 64,
        lr: 0.05,
        schedule: LrSchedule::Exponential {
            gamma: 0.05f64.powf(1.0 / 2400.0),
        },
        seed: 9,
        progress: false,
        ..Default::default()
    };
    let mut svi = Svi::new(p, q, config, dev);
    svi.fit(&data).unwrap();
    let precision = n as f64 / 1.25 + 0.01;
    let mu_exact = x.iter().sum::<f64>() / 1.25 / precision;
    let post = svi.to_posterior();
    let probe = [1.0, 3.0, 5.0];
    let median = post.median(&["mu", "z"], &rows::<B>(&probe, dev)).unwrap();
    let mu = median.sample("mu").unwrap().to_vec()[0];
    // μ within 0.1 (its exact posterior sd is √(1.25/512) ≈ 0.05); each z's loc within 0.1 of
    // 0.8 (x − μ̂) (a quarter of its exact sd 0.447).
    assert!((mu - mu_exact).abs() < 0.1, "mu {mu} vs exact {mu_exact}");
    let z_loc = median.sample("z").unwrap().to_vec();
    for (i, &xi) in probe.iter().enumerate() {
        let exact = 0.8 * (xi - mu);
        assert!(
            (z_loc[i] - exact).abs() < 0.1,
            "x = {xi}: z loc {} vs {exact}",
            z_loc[i]
        );
    }
}

fn auto_amortized_normal_says_what_it_reads_and_what_it_cannot_choose<B: TrainingBackend>(dev: &B::Device) {
    let data = rows::<B>(&[0.5, 1.5, 2.0], dev);
    let p = model_fn(model::<B>);
    let q = AutoAmortizedNormalConfig::new().init(&p, &data, dev).unwrap();
    let notice = ppl_core::Model::<B>::notice(&q).unwrap();
    assert!(notice.contains("`x`") && notice.contains("z[1]"), "{notice}");

    // A model whose latents are all global is pointed to AutoNormal.
    let global = model_fn(|ctx: &mut Ctx<B>| {
        let mu = ctx.sample("mu", Normal::new(ctx.zeros([1]), 1.0));
        ctx.datamodel(|ctx| {
            ctx.sample("x", Normal::new(mu.clone().unsqueeze::<2>(), 0.5));
        });
    });
    match AutoAmortizedNormalConfig::new().init(&global, &data, dev) {
        Err(InferError::Config(m)) => assert!(m.contains("\"mu\"") && m.contains("AutoNormal"), "{m}"),
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

    // A floor that would give invalid scales is refused.
    for floor in [-0.1, f64::NAN] {
        match AutoAmortizedNormalConfig::new().with_floor(floor).init(&p, &data, dev) {
            Err(InferError::Config(m)) => assert!(m.contains("floor"), "{m}"),
            other => panic!("floor {floor}: expected a config error, got {:?}", other.map(|_| ())),
        }
    }
    // `encode` gives what the guide samples from: z's loc and scale per row, the scale at
    // least the floor.
    let q = AutoAmortizedNormalConfig::new()
        .with_floor(0.25)
        .init(&p, &data, dev)
        .unwrap();
    let params = q.encode(data.get("x").unwrap().tensor::<2>().unwrap());
    assert_eq!(params.len(), 1);
    let (loc, scale) = &params[0];
    assert_eq!((loc.dims(), scale.dims()), ([3, 1], [3, 1]));
    let scale = ppl_dist::param::host_values(scale);
    assert!(scale.iter().all(|s| *s >= 0.25), "{scale:?}");
}

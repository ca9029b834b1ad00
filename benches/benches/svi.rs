//! One SVI step (forward, ELBO, backward, Adam) of the digit classifier and of Edward's VAE at
//! batch 128 and of a small logistic regression, and posterior sampling of 10 000 rows through
//! the digit classifier's encoder, on the backend chosen by the Cargo feature (`flex` by
//! default).
//!
//! `cargo bench -p benches --bench svi` (add `--features tch` after `source .venv/torch/env.sh`).

// `criterion_group!` generates an undocumented `pub fn`.
#![allow(missing_docs)]

use benches::workloads::{bench_config, logistic_regression, synthetic_mnist, StepRunner, Workload, DX};
use burn::tensor::{Tensor, TensorData};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ppl_core::Data;
use ppl_examples::backend::{default_device, DefaultAutodiffBackend as B};
use ppl_examples::digits;
use ppl_infer::Svi;

fn svi_step(c: &mut Criterion) {
    let dev = default_device().expect("backend available");
    let mut group = c.benchmark_group("svi_step_batch128");
    group.sample_size(30);
    for workload in Workload::ALL {
        let mut runner = StepRunner::<B>::new(workload, 0, &dev);
        for _ in 0..5 {
            runner.step().expect("warm-up step");
        }
        group.bench_function(BenchmarkId::from_parameter(workload.name()), |b| {
            b.iter(|| runner.step().expect("SVI step"))
        });
    }
    group.finish();
}

/// One step timed right after `k` untimed `Svi::evaluate` calls (k = 0 and 20): an evaluation
/// that recorded an autodiff graph made the next backward pass walk it (before issue 15 a step
/// after 100 evaluations cost 28–48× a plain one).
fn step_after_evaluates(c: &mut Criterion) {
    let dev = default_device().expect("backend available");
    let mut group = c.benchmark_group("step_after_evaluates");
    group.sample_size(10);
    for evaluates in [0, 20] {
        let mut runner = StepRunner::<B>::new(Workload::Digits, 0, &dev);
        for _ in 0..5 {
            runner.step().expect("warm-up step");
        }
        group.bench_function(BenchmarkId::new("digits", evaluates), |b| {
            b.iter_custom(|iters| {
                let mut total = std::time::Duration::ZERO;
                for _ in 0..iters {
                    for _ in 0..evaluates {
                        runner.evaluate().expect("evaluate");
                    }
                    let start = std::time::Instant::now();
                    runner.step().expect("SVI step");
                    total += start.elapsed();
                }
                total
            })
        });
    }
    // A small model, where the step is short and a leftover graph weighs most: Bayesian
    // logistic regression (2 latents, 200 rows, AutoNormal, 4 particles).
    for evaluates in [0, 100] {
        let (mut svi, data) = logistic_regression::<B>(5, &dev);
        let key = ppl_dist::RngKey::new(3);
        for _ in 0..5 {
            svi.step(&data, 200).expect("warm-up step");
        }
        group.bench_function(BenchmarkId::new("logistic_regression", evaluates), |b| {
            b.iter_custom(|iters| {
                let mut total = std::time::Duration::ZERO;
                for _ in 0..iters {
                    for _ in 0..evaluates {
                        svi.evaluate(&data, 200, &key).expect("evaluate");
                    }
                    let start = std::time::Instant::now();
                    svi.step(&data, 200).expect("SVI step");
                    total += start.elapsed();
                }
                total
            })
        });
    }
    group.finish();
}

fn posterior_sampling(c: &mut Criterion) {
    const ROWS: usize = 10_000;
    let dev = default_device().expect("backend available");
    let (pixels, _) = synthetic_mnist(Workload::Digits, ROWS, 1);
    let x = Tensor::<B, 2>::from_data(TensorData::new(pixels, [ROWS, DX]), &dev);
    let data = Data::new().with("x", x);
    let (p, q) = digits::build::<B>(0, &dev);
    let svi = Svi::new(p, q, bench_config(0), &dev);
    let mut group = c.benchmark_group("posterior");
    group.sample_size(20);
    group.throughput(Throughput::Elements(ROWS as u64));
    group.bench_function("encoder_z_10k_rows", |b| {
        b.iter(|| {
            let query = svi.posterior(&["z"], &data).expect("posterior query");
            // Bring the draws to the host so the measurement includes finishing the work.
            query.tensor::<2>("z").expect("z drawn").into_data()
        })
    });
    // Many draws of a model with global latents: 1000 posterior predictive draws of the
    // logistic regression's weight (each redraws w and b from the AutoNormal guide).
    const DRAWS: usize = 1000;
    let (mut svi, data) = logistic_regression::<B>(5, &dev);
    for _ in 0..20 {
        svi.step(&data, 200).expect("fit step");
    }
    group.throughput(Throughput::Elements(DRAWS as u64));
    group.sample_size(10);
    group.bench_function("logistic_1000_draws", |b| {
        b.iter(|| {
            let draws = svi
                .posterior_predictive_samples(&["w"], &data, DRAWS)
                .expect("posterior predictive draws");
            draws
                .last()
                .and_then(|q| q.tensor::<2>("w"))
                .expect("w drawn")
                .into_data()
        })
    });
    // 10 000 posterior samples of the same fit's w and b: drawn in passes of the particle
    // plate (the workload's model is written for it), against one guide run per draw (the
    // same model and guide without the plate).
    const SAMPLES: usize = 10_000;
    group.throughput(Throughput::Elements(SAMPLES as u64));
    let posterior = svi.to_posterior();
    group.bench_function("logistic_10000_samples_in_passes", |b| {
        b.iter(|| {
            let s = posterior.sample(&["w", "b"], &data, SAMPLES).expect("samples");
            s.mean("w").expect("w drawn")
        })
    });
    let looped = logistic_without_particle_plate::<B>(&svi, &dev);
    group.bench_function("logistic_10000_samples_one_run_each", |b| {
        b.iter(|| {
            let s = looped.sample(&["w", "b"], &data, SAMPLES).expect("samples");
            s.mean("w").expect("w drawn")
        })
    });
    group.finish();
}

/// The fitted logistic regression's posterior with the particle plate taken out: the same
/// model, and an AutoNormal guide of it with the fit's parameters (`[1]`-shaped instead of
/// `[1, 1]`), so every draw is a run of the guide.
fn logistic_without_particle_plate<Bk: ppl_infer::TrainingBackend>(
    svi: &benches::workloads::LogisticSvi<Bk>,
    dev: &Bk::Device,
) -> ppl_infer::Posterior<Bk, fn(&mut ppl_core::Ctx<Bk>), ppl_infer::AutoNormal> {
    fn plain<Bk: burn::tensor::backend::Backend>(ctx: &mut ppl_core::Ctx<Bk>) {
        let w = ctx.sample("w", ppl_dist::Normal::new(ctx.zeros([1]), 1.0));
        let b = ctx.sample("b", ppl_dist::Normal::new(ctx.zeros([1]), 1.0));
        ctx.datamodel(|ctx| {
            let x = ctx.data::<1>("x");
            ctx.sample("y", ppl_dist::Bernoulli::from_logits(x * w + b));
        });
    }
    let data = benches::workloads::logistic_data::<Bk>(5, dev);
    let model: fn(&mut ppl_core::Ctx<Bk>) = plain::<Bk>;
    let guide = ppl_infer::AutoNormal::new(&model, &data, dev).expect("autoguide");
    let mut params = ppl_core::ParamStore::new();
    for name in ["w.loc", "w.scale", "b.loc", "b.scale"] {
        let v = svi.params().get(name).expect("fitted parameter").reshape([1]);
        let constraint = if name.ends_with("scale") {
            ppl_dist::Constraint::Positive
        } else {
            ppl_dist::Constraint::Real
        };
        params
            .get_or_init(name, ppl_core::Value::from_tensor(v), constraint)
            .expect("a fitted parameter is valid");
    }
    ppl_infer::Posterior::new(model, guide, params, 0, dev)
}

criterion_group!(benches, svi_step, step_after_evaluates, posterior_sampling);
criterion_main!(benches);

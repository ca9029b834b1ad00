//! Throughput of `log_prob` and `rsample`/`sample` at 10⁶ elements for Normal, Gamma and
//! Categorical, on the backend chosen by the Cargo feature (`flex` by default); Normal and
//! Categorical draws also in device-sampling mode (`ppl_dist::sampling`).
//!
//! `cargo bench -p benches --bench dist_throughput`

// `criterion_group!` generates an undocumented `pub fn`.
#![allow(missing_docs)]

use burn::tensor::{backend::Backend, Tensor};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ppl_dist::param::float_options;
use ppl_dist::sampling::{with_sampling, Sampling};
use ppl_dist::{Categorical, Distribution, Gamma, Normal, RngKey};
use ppl_examples::backend::{default_device, DefaultBackend};

type B = DefaultBackend;
const N: usize = 1_000_000;

/// Wait for the device to finish (a no-op on CPU backends, a sync on GPU ones).
fn sync<const D: usize>(t: Tensor<B, D>) {
    let _ = t.sum().into_data();
}

fn bench(c: &mut Criterion) {
    let dev = default_device().expect("backend available");
    let mut group = c.benchmark_group("dist_1e6");
    group.throughput(Throughput::Elements(N as u64));
    group.sample_size(10);

    let loc = Tensor::<B, 1>::zeros([N], float_options::<B>(&dev));
    let normal = Normal::new(loc.clone(), 1.3).unwrap();
    let x = normal.sample(&mut RngKey::new(1));
    group.bench_function(BenchmarkId::new("log_prob", "Normal"), |b| {
        b.iter(|| sync(normal.log_prob(x.clone())))
    });
    group.bench_function(BenchmarkId::new("rsample", "Normal"), |b| {
        let mut key = RngKey::new(2);
        b.iter(|| sync(normal.rsample(&mut key).unwrap()))
    });
    group.bench_function(BenchmarkId::new("rsample_device", "Normal"), |b| {
        let mut key = RngKey::new(2);
        b.iter(|| sync(with_sampling(Sampling::Device, || normal.rsample(&mut key).unwrap())))
    });

    let alpha = Tensor::<B, 1>::full([N], 2.5, float_options::<B>(&dev));
    let gamma = Gamma::new(alpha, 1.5).unwrap();
    let g = gamma.sample(&mut RngKey::new(3));
    group.bench_function(BenchmarkId::new("log_prob", "Gamma"), |b| {
        b.iter(|| sync(gamma.log_prob(g.clone())))
    });
    group.bench_function(BenchmarkId::new("rsample", "Gamma"), |b| {
        let mut key = RngKey::new(4);
        b.iter(|| sync(gamma.rsample(&mut key).unwrap()))
    });
    group.bench_function(BenchmarkId::new("rsample_device", "Gamma"), |b| {
        let mut key = RngKey::new(4);
        b.iter(|| sync(with_sampling(Sampling::Device, || gamma.rsample(&mut key).unwrap())))
    });

    // 10⁶ elements of logits: 10⁵ rows × 10 classes.
    let logits = Tensor::<B, 2>::zeros([N / 10, 10], float_options::<B>(&dev));
    let cat = Categorical::from_logits(logits).unwrap();
    let y = cat.sample(&mut RngKey::new(5));
    group.bench_function(BenchmarkId::new("log_prob", "Categorical"), |b| {
        b.iter(|| sync(cat.log_prob(y.clone())))
    });
    group.bench_function(BenchmarkId::new("sample", "Categorical"), |b| {
        let mut key = RngKey::new(6);
        b.iter(|| sync(cat.sample(&mut key)))
    });
    group.bench_function(BenchmarkId::new("sample_device", "Categorical"), |b| {
        let mut key = RngKey::new(6);
        b.iter(|| sync(with_sampling(Sampling::Device, || cat.sample(&mut key))))
    });
    group.finish();
    let _ = <B as Backend>::name(&dev);
}

criterion_group!(benches, bench);
criterion_main!(benches);

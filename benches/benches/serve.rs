//! Throughput of the digit classifier's posterior predictive (images/s, 32 draws of z per
//! image, 3147 images as in the main job's test set): in process on the Autodiff backend the
//! main job trains on, and on the plain backend after `Posterior::export` → `Posterior::load`
//! (what `digits-serve` runs). Backend by Cargo feature (`flex` by default; NdArray with
//! `--no-default-features --features ndarray`).
//!
//! `cargo bench -p benches --bench serve`

// `criterion_group!` generates an undocumented `pub fn`.
#![allow(missing_docs)]

use burn::backend::Autodiff;
use burn::module::Module;
use burn::tensor::Tensor;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ppl_core::{Data, ParamStore};
use ppl_dist::param::float_options;
use ppl_examples::backend::{default_device, DefaultBackend, BACKEND_NAME};
use ppl_examples::digits::{build, classify, DigitModel, DigitQ};
use ppl_infer::Posterior;

type B = DefaultBackend;
type AB = Autodiff<DefaultBackend>;
const IMAGES: usize = 3147;

fn bench(c: &mut Criterion) {
    let dev = default_device().expect("backend available");
    // In process: the modules as `Svi::to_posterior` hands them over (on the Autodiff
    // backend, gradient tracking off), and as `Svi` holds them (tracked: every forward pass
    // records an autodiff graph).
    let (p, q) = build::<AB>(0, &dev);
    let tracked = (p.clone(), q.clone());
    let fitted = Posterior::new(p.no_grad(), q.no_grad(), ParamStore::new(), 0, &dev);
    let dir = std::env::temp_dir().join(format!("ppl-bench-serve-{}", std::process::id()));
    let example = Data::new().with("x", Tensor::<AB, 2>::zeros([1, 784], float_options::<AB>(&dev)));
    fitted.export(&dir, &example).expect("export");
    let (p, q) = build::<B>(1, &dev);
    let served: Posterior<B, DigitModel<B>, DigitQ<B>> = Posterior::load(&dir, p, q, &dev).expect("load");
    let _ = std::fs::remove_dir_all(&dir);

    // Pixels in [0, 1], a fixed pattern (throughput does not depend on the values).
    let pixels: Vec<f32> = (0..IMAGES * 784).map(|i| ((i * 37) % 256) as f32 / 255.0).collect();
    let x_ad = Tensor::<AB, 1>::from_data(pixels.as_slice(), float_options::<AB>(&dev)).reshape([IMAGES, 784]);
    let x = Tensor::<B, 1>::from_data(pixels.as_slice(), float_options::<B>(&dev)).reshape([IMAGES, 784]);

    let mut group = c.benchmark_group(format!("digits_predictive_{BACKEND_NAME}"));
    group.throughput(Throughput::Elements(IMAGES as u64));
    group.sample_size(20);
    group.bench_function(BenchmarkId::new("in_process_autodiff_tracked", IMAGES), |b| {
        b.iter(|| classify(&tracked.0, &tracked.1, x_ad.clone(), 0, &dev))
    });
    group.bench_function(BenchmarkId::new("in_process_to_posterior", IMAGES), |b| {
        b.iter(|| classify(fitted.model(), fitted.guide(), x_ad.clone(), 0, &dev))
    });
    group.bench_function(BenchmarkId::new("exported_plain", IMAGES), |b| {
        b.iter(|| classify(served.model(), served.guide(), x.clone(), 0, &dev))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! Loading MNIST (all 60 000 + 10 000 images: read the IDX files, scale to [0, 1], upload) onto
//! the backend chosen by the Cargo feature, and the digit classifier's 0/1/2 subset.
//!
//! Needs the data: `bash scripts/fetch-mnist.sh data/mnist` (or `PPL_DATA_DIR`). Without it the
//! bench prints where it looked and measures nothing.
//!
//! `cargo bench -p benches --bench mnist_load`

// `criterion_group!` generates an undocumented `pub fn`.
#![allow(missing_docs)]

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ppl_data::{load_data, MnistOptions};
use ppl_examples::backend::{default_device, DefaultBackend as B};

fn data_dir() -> PathBuf {
    match std::env::var_os("PPL_DATA_DIR") {
        Some(d) => PathBuf::from(d).join("mnist"),
        None => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/mnist")),
    }
}

fn mnist_load(c: &mut Criterion) {
    let dev = default_device().expect("backend available");
    let dir = data_dir();
    if !dir.join("train-images-idx3-ubyte").exists() && !dir.join("train-images-idx3-ubyte.gz").exists() {
        eprintln!(
            "mnist_load: no MNIST in {} (run `bash scripts/fetch-mnist.sh data/mnist`); skipped",
            dir.display()
        );
        return;
    }
    let mut group = c.benchmark_group("mnist_load");
    group.sample_size(10);
    for (name, digits, rows) in [("all_70k", vec![], 70_000u64), ("digits_012", vec![0u8, 1, 2], 21_770)] {
        let opts = MnistOptions {
            digits,
            dir: Some(dir.clone()),
            ..Default::default()
        };
        group.throughput(Throughput::Elements(rows));
        group.bench_function(name, |b| {
            b.iter(|| {
                let (train, test) = load_data::<B>(&opts, &dev).expect("MNIST loads");
                train.len() + test.len()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, mnist_load);
criterion_main!(benches);

//! Criterion benchmarks for the ppl-* workspace (`cargo bench -p benches`).

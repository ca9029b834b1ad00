//! Benchmarks for the ppl-* workspace: criterion benches (`cargo bench -p benches`), the peer
//! comparison runner's Rust side (`svi_steps`), and the amortized-memory check.

pub mod workloads;

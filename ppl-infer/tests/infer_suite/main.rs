//! The ppl-infer test suite (testing.md sections G, S, R, C), generic over the backend.

mod conjugate;
mod gradients;
mod robustness;

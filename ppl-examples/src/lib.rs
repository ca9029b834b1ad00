//! Runnable examples for the `ppl-*` workspace.
//!
//! * [`digits`]: the InferPy digit classifier on real MNIST (the README's main job:
//!   `bash scripts/run-digits.sh`).
#![warn(missing_docs)]

pub mod digits;
pub mod plot;

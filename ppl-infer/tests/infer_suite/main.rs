//! The ppl-infer test suite (testing.md sections G, S, R, C), generic over the backend.

mod autoguide_amortized;
mod autoguide_mvn;
mod autoguides;
mod bayesian_layers;
mod checkpoint;
mod conjugate;
mod discrete;
mod enumeration;
mod export;
mod gradients;
mod particles;
mod posterior_queries;
mod reliability;
mod robustness;
mod training_control;
mod validation;

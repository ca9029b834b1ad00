//! The InferPy digit classifier on real MNIST (not built yet: see the examples issue).

fn main() {
    eprintln!(
        "digits: not built yet — the digit classifier lands with ppl-core/ppl-infer/ppl-data (backend: {})",
        ppl_dist::backend::BACKEND_NAME
    );
    std::process::exit(2);
}

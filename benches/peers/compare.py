#!/usr/bin/env python3
"""Side-by-side SVI speed: ppl-rs (ndarray, and tch when set up) against Pyro, NumPyro and a
plain-PyTorch floor, on the same machine, in one run, interleaved A B A B so drift cancels.

    bash benches/peers/setup.sh            # once: Pyro, NumPyro, torch in .venv/peers
    bash scripts/setup-torch.sh            # once, optional: libtorch for the tch rows
    python3 benches/peers/compare.py       # builds svi_steps (release) and runs everything

Each process runs one (implementation, workload) pair: warm-up, then --reps repetitions of
--steps steps (see common.py). --rounds rounds visit every implementation in turn; an
implementation's steps/s is the median of all its repetitions over all rounds. Prints the
machine, a results table and the ratios ours / theirs as Markdown, and writes the raw reports
to out/peers/results.json. Standard library only (the peers run in their own venv).
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PEERS = Path(__file__).resolve().parent
BIN_DIR = ROOT / "target" / "peers"
TORCH_ENV = ROOT / ".venv" / "torch" / "env.sh"


def sh_env(script):
    """The environment after `source script`."""
    out = subprocess.run(["bash", "-c", f"source '{script}' && env -0"], check=True, capture_output=True).stdout
    return dict(line.split("=", 1) for line in out.decode().split("\0") if "=" in line)


def build(feature):
    """Build svi_steps for one backend feature; returns the copied binary."""
    env = sh_env(TORCH_ENV) if feature == "tch" else dict(os.environ)
    cmd = ["cargo", "build", "--release", "--quiet", "-p", "benches", "--bin", "svi_steps"]
    if feature == "ndarray":
        cmd += ["--no-default-features", "--features", "ndarray"]  # flex is the default backend
    elif feature == "flex-mimalloc":
        cmd += ["--features", "flex,mimalloc"]  # the same code, mimalloc as the global allocator
    else:
        cmd += ["--features", feature]
    print(f"# building: {' '.join(cmd)}", file=sys.stderr, flush=True)
    subprocess.run(cmd, check=True, cwd=ROOT, env=env)
    BIN_DIR.mkdir(parents=True, exist_ok=True)
    dst = BIN_DIR / f"svi_steps-{feature}"
    shutil.copy2(ROOT / "target" / "release" / "svi_steps", dst)
    return dst


def machine():
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return f"{cpu}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.release()}, commit {commit.stdout.strip()}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="digits,vae,logistic,eight_schools")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--threads", type=int, default=2, help="CPU threads for every implementation")
    ap.add_argument("--tch-threads", type=int, default=None, help="override --threads for the tch rows")
    ap.add_argument("--torch-threads", default="1,2",
                    help="thread counts for the torch-based peers (pyro, torch) and for flex (rayon), one row "
                         "each: on a loaded 2-core machine torch's 2-thread step can collapse, and flex's small "
                         "kernels pay for waking a second thread, so both are reported")
    ap.add_argument("--python", default=str(ROOT / ".venv" / "peers" / "bin" / "python"))
    ap.add_argument("--no-build", action="store_true", help="reuse target/peers/svi_steps-*")
    ap.add_argument("--skip", default="", help="comma-separated implementations to leave out")
    ap.add_argument("--batch-shares", default="2",
                    help="comma-separated share counts for extra flex rows at each thread count above 1 (digits and "
                         "vae: SviConfig::batch_shares, suffix -Nsh); empty for none")
    ap.add_argument("--undo-off", action="store_true",
                    help="extra flex and tch rows with --undo off (digits and vae: SviConfig::undo = Undo::Off, "
                         "Adam in place; suffix -inplace)")
    a = ap.parse_args()

    base_env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "PEER_THREADS", "RAYON_NUM_THREADS"):
        base_env[var] = str(a.threads)
    impls = {}
    thread_counts = [int(t) for t in a.torch_threads.split(",") if t]
    features = ["flex", "flex-mimalloc", "ndarray"] + (["tch"] if TORCH_ENV.exists() else [])
    if not TORCH_ENV.exists():
        print(f"# no {TORCH_ENV}: tch rows left out (bash scripts/setup-torch.sh)", file=sys.stderr)
    for f in features:
        binary = BIN_DIR / f"svi_steps-{f}" if a.no_build else build(f)
        env = dict(base_env)
        if f == "tch":
            env.update(sh_env(TORCH_ENV))
            # libtorch's MKL takes MKL_NUM_THREADS apart from its OpenMP pool: both follow the
            # tch thread count, or a "1 thread" tch row would run its products on two.
            env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(a.tch_threads or a.threads)
        if f in ("flex", "flex-mimalloc"):
            # flex runs on rayon's pool: like the torch peers, reported at each thread count; the
            # same code with mimalloc as the global allocator (what ppl-examples' binaries link)
            # gets the suffix -mi
            name = "ppl-rs-flex-mi" if f == "flex-mimalloc" else "ppl-rs-flex"
            for t in thread_counts:
                env_t = dict(env)
                env_t["RAYON_NUM_THREADS"] = str(t)
                impls[f"{name}-{t}t"] = ([str(binary)], env_t)
                for sh in (int(x) for x in a.batch_shares.split(",") if x):
                    if t > 1 and sh > 1:
                        impls[f"{name}-{t}t-{sh}sh"] = ([str(binary), "--batch-shares", str(sh)], env_t)
            continue
        impls[f"ppl-rs-{f}"] = ([str(binary)], env)
    if Path(a.python).exists():
        for name, script in (("pyro", "pyro_svi.py"), ("numpyro", "numpyro_svi.py"), ("torch", "torch_floor.py")):
            if name == "numpyro":
                impls[name] = ([a.python, str(PEERS / script)], base_env)
                continue
            for t in thread_counts:
                env = dict(base_env)
                for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "PEER_THREADS"):
                    env[var] = str(t)
                impls[f"{name}-{t}t"] = ([a.python, str(PEERS / script)], env)
    else:
        print(f"# no {a.python}: Python peers left out (bash benches/peers/setup.sh)", file=sys.stderr)
    if a.undo_off:
        for name, (cmd, env) in list(impls.items()):
            if name.startswith(("ppl-rs-flex", "ppl-rs-tch")):
                impls[f"{name}-inplace"] = (cmd + ["--undo", "off"], env)
    for s in filter(None, a.skip.split(",")):
        impls.pop(s, None)

    models = a.models.split(",")
    reports = []
    for r in range(a.rounds):
        for model in models:
            for name, (cmd, env) in impls.items():
                if model in ("logistic", "eight_schools") and (name.startswith("torch") or name.endswith(("sh", "inplace"))):
                    continue  # the hand-written floor has only the two networks; small models take no shares or undo setting
                full = cmd + ["--model", model, "--steps", str(a.steps), "--reps", str(a.reps),
                              "--warmup", str(a.warmup)]
                res = subprocess.run(full, cwd=PEERS, env=env, capture_output=True, text=True)
                line = next((l for l in res.stdout.splitlines() if l.startswith("{")), None)
                if res.returncode != 0 or line is None:
                    print(f"# {name} {model} failed ({res.returncode}): {res.stderr.strip()[-2000:]}", file=sys.stderr)
                    continue
                rep = json.loads(line)
                rep["impl"], rep["round"] = name, r
                reports.append(rep)
                print(f"# round {r + 1} {model:6} {name:15} {rep['steps_per_s']:9.1f} steps/s", file=sys.stderr,
                      flush=True)

    out = ROOT / "out" / "peers"
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(reports, indent=1))

    def summary(model, name):
        rs = [r for r in reports if r["model"] == model and r["impl"] == name]
        if not rs:
            return None
        return {
            "sps": statistics.median([v for r in rs for v in r["reps"]]),
            "rss": max(r["peak_rss_mib"] for r in rs),
            "loss": statistics.median(r["final_loss_per_row"] for r in rs),
        }

    print(f"Machine: {machine()}; {a.threads} threads everywhere"
          + (f" (tch: {a.tch_threads})" if a.tch_threads else "")
          + f", except the torch-based peers and flex: {a.torch_threads} (suffix -Nt)."
          + f" Load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}.")
    print(f"Command: python3 benches/peers/compare.py {' '.join(sys.argv[1:])}".rstrip())
    print()
    print("| workload | implementation | steps/s | ms/step | peak RSS MiB | loss/row (last 50) |")
    print("|---|---|---:|---:|---:|---:|")
    for model in models:
        for name in impls:
            s = summary(model, name)
            if s:
                print(f"| {model} | {name} | {s['sps']:.1f} | {1000 / s['sps']:.2f} | {s['rss']:.0f} | {s['loss']:.2f} |")
    ours = [n for n in impls if n.startswith("ppl-rs")]
    theirs = [n for n in impls if not n.startswith("ppl-rs")]
    print()
    print("Ratios of steps/s, ours / theirs (> 1: ours is faster); peak RSS ours / theirs in brackets:")
    print()
    print("| workload | ours | " + " | ".join(f"vs {t}" for t in theirs) + " |")
    print("|---|---|" + "---:|" * len(theirs))
    for model in models:
        for o in ours:
            so = summary(model, o)
            if not so:
                continue
            cells = []
            for t in theirs:
                st = summary(model, t)
                cells.append(f"{so['sps'] / st['sps']:.2f} ({so['rss'] / st['rss']:.2f})" if st else "–")
            print(f"| {model} | {o} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()

"""Shared pieces of the peer benchmarks: arguments, synthetic data, the timing loop, the report.

Every peer script measures one workload the same way as `cargo run -p benches --bin svi_steps`:
`--warmup` steps, then `--reps` timed repetitions of `--steps` steps, and prints one JSON line
with the median steps/s, every repetition, the peak resident set size and the mean loss per row
of the last 50 steps.

The workloads (identical in every implementation; see benches/src/workloads.rs):
  digits: z ~ N(0.1, I_2); x ~ N(NN1(z), I), NN1 = 2-100(relu)-784; y ~ Cat(logits = NN2(z)),
          NN2 = 2-3; guide z ~ N(loc, softplus(s) + 0.01) from a 784-100(relu)-4 encoder; N = 18 000.
  vae:    z ~ N(0, I_10); x ~ Bernoulli(logits = 10-256(relu)-784 decoder(z)); guide
          z ~ N(loc, softplus(s) + 0.001) from a 784-256(relu)-20 encoder; N = 60 000.
  logistic: w, b ~ N(0, 1); y ~ Bernoulli(logits = w x + b), 200 rows (x ~ N(0, 1), y drawn with
          w = 2, b = -0.5); AutoNormal guide, Monte-Carlo ELBO with 4 particles, Adam lr 0.01, full
          batch (the fixed cost of a step, not arithmetic, dominates).
  eight_schools: mu ~ N(0, 5), tau ~ HalfCauchy(5), theta_j ~ N(mu, tau), y_j ~ N(theta_j, sigma_j) in
          a plate of 8 (Rubin 1981's data, centred form); AutoNormal guide, Monte-Carlo ELBO with 1
          particle, Adam lr 0.01, all 8 schools every step.
  digits and vae: float32, mean-field ELBO with analytic KL, one particle, Adam lr 1e-3, minibatches of 128
  rows scaled by N/128, 16 distinct synthetic minibatches (81 % zero pixels, the rest uniform in
  (0, 1); binarized for the VAE; labels 0, 1, 2 in turn) uploaded once and used in a cycle.
"""

import argparse
import json
import os
import resource
import statistics
import time

import numpy as np

DX = 784
BATCH = 128
DISTINCT_BATCHES = 16
FULL_SIZE = {"digits": 18_000, "vae": 60_000, "logistic": 200, "eight_schools": 8}
EIGHT_SCHOOLS_Y = [28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0]
EIGHT_SCHOOLS_SIGMA = [15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0]
SMALL = ("logistic", "eight_schools")
SCALE_FLOOR = {"digits": 0.01, "vae": 0.001}
LATENT = {"digits": 2, "vae": 10}
HIDDEN = {"digits": 100, "vae": 256}
THREADS = int(os.environ.get("PEER_THREADS", "2"))


def parse_args(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--model", choices=list(FULL_SIZE), default="digits")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--warmup", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args()


def workload(model):
    """(latent size k, hidden width, guide scale floor, likelihood scale N/128) of a workload."""
    return LATENT[model], HIDDEN[model], SCALE_FLOOR[model], FULL_SIZE[model] / BATCH


def synthetic_batches(model, seed):
    """[DISTINCT_BATCHES] pairs (x [128, 784] float32, y [128] int64)."""
    rng = np.random.default_rng(seed)
    rows = DISTINCT_BATCHES * BATCH
    on = rng.random((rows, DX)) < 0.19
    level = rng.random((rows, DX))
    x = np.where(on, 1.0 if model == "vae" else level, 0.0).astype(np.float32)
    y = (np.arange(rows) % 3).astype(np.int64)
    return [(x[b * BATCH:(b + 1) * BATCH], y[b * BATCH:(b + 1) * BATCH]) for b in range(DISTINCT_BATCHES)]


def logistic_data(seed):
    """(x [200] float32, y [200] float32) of the logistic-regression workload."""
    rng = np.random.default_rng(seed)
    n = FULL_SIZE["logistic"]
    x = rng.standard_normal(n).astype(np.float32)
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-(2.0 * x - 0.5)))).astype(np.float32)
    return x, y


def measure(name, args, step, finish=lambda loss: float(loss)):
    """Run `step(i) -> loss` for warm-up and timed repetitions; print the JSON report.

    `finish(loss)` turns the last loss of a repetition into a float and so waits for pending
    work (JAX dispatches asynchronously)."""
    losses = []
    for i in range(args.warmup):
        losses.append(step(i))
    if losses:
        finish(losses[-1])
    rates = []
    i = args.warmup
    for _ in range(args.reps):
        start = time.perf_counter()
        for _ in range(args.steps):
            losses.append(step(i))
            i += 1
        finish(losses[-1])
        rates.append(args.steps / (time.perf_counter() - start))
    tail = [finish(v) for v in losses[-50:]]
    report = {
        "impl": name,
        "model": args.model,
        "steps_per_s": round(statistics.median(rates), 3),
        "reps": [round(r, 2) for r in rates],
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1),
        "final_loss_per_row": round(sum(tail) / len(tail) / FULL_SIZE[args.model], 4),
    }
    print(json.dumps(report), flush=True)

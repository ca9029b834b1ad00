"""NumPyro peer of `cargo run --release -p benches --bin nuts_run`: NUTS on the non-centred
eight schools (mu ~ N(0, 5), tau ~ HalfCauchy(5), theta_tilde_j ~ N(0, 1),
y_j ~ N(mu + tau * theta_tilde_j, sigma_j)), 4 chains x 1000 draws after 1000 warm-up, target
acceptance 0.9, in float32 (numpyro's default and our default flex backend's dtype; --x64
for float64).

Prints one JSON line: wall seconds of the whole `mcmc.run` (jit compilation included, as a user
waits for it) and of a second run with the compiled kernel (`seconds_warm`), the smallest bulk
ESS over mu, tau, theta_tilde (ArviZ's, as our `ess_bulk`), ESS per second, divergences, the
means of mu and tau, peak RSS.

    python benches/peers/numpyro_nuts.py [--seed 0] [--chain-method sequential|vectorized] [--x64]
"""

import argparse
import json
import os
import resource
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np  # noqa: E402

Y = [28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0]
SIGMA = [15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--warmup", type=int, default=1000)
    ap.add_argument("--chain-method", default="sequential")
    ap.add_argument("--x64", action="store_true", help="float64 instead of numpyro's default float32")
    args = ap.parse_args()

    import jax
    import numpyro

    if args.x64:
        numpyro.enable_x64()
    import jax.numpy as jnp
    import numpyro.distributions as dist
    from numpyro.infer import MCMC, NUTS
    from numpyro.diagnostics import summary as _  # noqa: F401  (import cost outside the timing)
    import arviz as az

    y, sigma = jnp.array(Y), jnp.array(SIGMA)

    def model():
        mu = numpyro.sample("mu", dist.Normal(0.0, 5.0))
        tau = numpyro.sample("tau", dist.HalfCauchy(5.0))
        with numpyro.plate("schools", 8):
            tt = numpyro.sample("theta_tilde", dist.Normal(0.0, 1.0))
            numpyro.sample("y", dist.Normal(mu + tau * tt, sigma), obs=y)

    def run(seed):
        mcmc = MCMC(
            NUTS(model, target_accept_prob=0.9),
            num_warmup=args.warmup,
            num_samples=args.draws,
            num_chains=args.chains,
            chain_method=args.chain_method,
            progress_bar=False,
        )
        t0 = time.perf_counter()
        mcmc.run(jax.random.PRNGKey(seed), extra_fields=("diverging",))
        samples = mcmc.get_samples(group_by_chain=True)
        jax.block_until_ready(samples)
        return mcmc, samples, time.perf_counter() - t0

    mcmc, samples, seconds = run(args.seed)
    _, _, seconds_warm = run(args.seed + 1)
    columns = [np.asarray(samples["mu"]), np.asarray(samples["tau"])]
    tt = np.asarray(samples["theta_tilde"])  # [chains, draws, 8]
    columns += [tt[:, :, j] for j in range(tt.shape[-1])]
    ess = min(float(az.ess(c, method="bulk")) for c in columns)
    divergences = int(np.sum(np.asarray(mcmc.get_extra_fields()["diverging"])))
    print(json.dumps({
        "impl": "numpyro" + ("-x64" if args.x64 else ""),
        "seconds": seconds,
        "seconds_warm": seconds_warm,
        "min_ess_bulk": ess,
        "ess_per_second": ess / seconds,
        "ess_per_second_warm": ess / seconds_warm,
        "divergences": divergences,
        "mu_mean": float(np.mean(np.asarray(samples["mu"]))),
        "tau_mean": float(np.mean(np.asarray(samples["tau"]))),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }))


if __name__ == "__main__":
    main()

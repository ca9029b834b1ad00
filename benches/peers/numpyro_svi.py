"""NumPyro peer: one SVI step (jit-compiled `SVI.update`) of the digit classifier or the VAE
(see common.py); dense layers as `numpyro.param` weights (torch's default uniform init)."""

import os

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=true")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpyro  # noqa: E402
import numpyro.distributions as dist  # noqa: E402
from numpyro import handlers  # noqa: E402
from numpyro.infer import SVI, Trace_ELBO, TraceMeanField_ELBO  # noqa: E402
from numpyro.infer.autoguide import AutoNormal  # noqa: E402

import common  # noqa: E402


def mlp(name, sizes):
    """A dense network with relu between layers, its weights registered as params."""
    layers = []
    for i, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        bound = 1.0 / d_in ** 0.5

        def init(shape, bound=bound):
            return lambda key: jax.random.uniform(key, shape, jnp.float32, -bound, bound)

        w = numpyro.param(f"{name}.{i}.w", init((d_in, d_out)))
        b = numpyro.param(f"{name}.{i}.b", init((d_out,)))
        layers.append((w, b))

    def forward(x):
        for i, (w, b) in enumerate(layers):
            x = x @ w + b
            if i + 1 < len(layers):
                x = jax.nn.relu(x)
        return x

    return forward


def logistic(args):
    """The logistic-regression workload: AutoNormal, 4 particles, Adam 0.01, jit-compiled step."""
    x, y = (jnp.asarray(v) for v in common.logistic_data(args.seed))

    def model(x, y):
        w = numpyro.sample("w", dist.Normal(0.0, 1.0))
        b = numpyro.sample("b", dist.Normal(0.0, 1.0))
        with numpyro.plate("data", x.shape[0]):
            numpyro.sample("y", dist.Bernoulli(logits=w * x + b), obs=y)

    svi = SVI(model, AutoNormal(model), numpyro.optim.Adam(0.01), Trace_ELBO(num_particles=4))
    holder = {"state": svi.init(jax.random.PRNGKey(args.seed), x, y)}
    update = jax.jit(svi.update)

    def step(i):
        holder["state"], loss = update(holder["state"], x, y)
        return loss

    common.measure("numpyro", args, step, finish=lambda loss: float(loss.block_until_ready()))


def eight_schools(args):
    """Eight schools: AutoNormal, 1 particle, Adam 0.01, jit-compiled step."""
    y = jnp.asarray(common.EIGHT_SCHOOLS_Y, jnp.float32)
    sigma = jnp.asarray(common.EIGHT_SCHOOLS_SIGMA, jnp.float32)

    def model(sigma, y):
        mu = numpyro.sample("mu", dist.Normal(0.0, 5.0))
        tau = numpyro.sample("tau", dist.HalfCauchy(5.0))
        with numpyro.plate("schools", y.shape[0]):
            theta = numpyro.sample("theta", dist.Normal(mu, tau))
            numpyro.sample("y", dist.Normal(theta, sigma), obs=y)

    svi = SVI(model, AutoNormal(model), numpyro.optim.Adam(0.01), Trace_ELBO())
    holder = {"state": svi.init(jax.random.PRNGKey(args.seed), sigma, y)}
    update = jax.jit(svi.update)

    def step(i):
        holder["state"], loss = update(holder["state"], sigma, y)
        return loss

    common.measure("numpyro", args, step, finish=lambda loss: float(loss.block_until_ready()))


def main():
    args = common.parse_args(__doc__)
    if args.model == "logistic":
        return logistic(args)
    if args.model == "eight_schools":
        return eight_schools(args)
    k, hidden, floor, scale = common.workload(args.model)

    def model(x, y):
        n = x.shape[0]
        if args.model == "digits":
            nn1 = mlp("nn1", [k, hidden, common.DX])
            nn2 = mlp("nn2", [k, 3])
        else:
            dec = mlp("dec", [k, hidden, common.DX])
        with handlers.scale(scale=scale), numpyro.plate("data", n):
            if args.model == "digits":
                z = numpyro.sample("z", dist.Normal(jnp.full((n, k), 0.1), 1.0).to_event(1))
                numpyro.sample("x", dist.Normal(nn1(z), 1.0).to_event(1), obs=x)
                numpyro.sample("y", dist.Categorical(logits=nn2(z)), obs=y)
            else:
                z = numpyro.sample("z", dist.Normal(jnp.zeros((n, k)), 1.0).to_event(1))
                numpyro.sample("x", dist.Bernoulli(logits=dec(z)).to_event(1), obs=x)

    def guide(x, y):
        n = x.shape[0]
        enc = mlp("enc", [common.DX, hidden, 2 * k])
        with handlers.scale(scale=scale), numpyro.plate("data", n):
            out = enc(x)
            numpyro.sample("z", dist.Normal(out[:, :k], jax.nn.softplus(out[:, k:]) + floor).to_event(1))

    batches = [(jnp.asarray(x), jnp.asarray(y)) for x, y in common.synthetic_batches(args.model, args.seed)]
    svi = SVI(model, guide, numpyro.optim.Adam(1e-3), TraceMeanField_ELBO())
    state = svi.init(jax.random.PRNGKey(args.seed), *batches[0])
    update = jax.jit(svi.update)
    holder = {"state": state}

    def step(i):
        x, y = batches[i % len(batches)]
        holder["state"], loss = update(holder["state"], x, y)
        return loss

    common.measure("numpyro", args, step, finish=lambda loss: float(loss.block_until_ready()))


if __name__ == "__main__":
    main()

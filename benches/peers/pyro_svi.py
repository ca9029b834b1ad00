"""Pyro peer: one SVI step of the digit classifier or the VAE (see common.py)."""

import pyro
import pyro.distributions as dist
import torch
import torch.nn.functional as F
from pyro import poutine
from torch import nn

import common


def networks(model):
    k, h, _, _ = common.workload(model)
    if model == "digits":
        p = nn.ModuleDict({
            "nn1": nn.Sequential(nn.Linear(k, h), nn.ReLU(), nn.Linear(h, common.DX)),
            "nn2": nn.Linear(k, 3),
        })
    else:
        p = nn.ModuleDict({"dec": nn.Sequential(nn.Linear(k, h), nn.ReLU(), nn.Linear(h, common.DX))})
    q = nn.Sequential(nn.Linear(common.DX, h), nn.ReLU(), nn.Linear(h, 2 * k))
    return p, q


def logistic(args):
    """The logistic-regression workload: AutoNormal, 4 vectorized particles, Adam 0.01."""
    x, y = (torch.from_numpy(v) for v in common.logistic_data(args.seed))

    def model(x, y):
        w = pyro.sample("w", dist.Normal(0.0, 1.0))
        b = pyro.sample("b", dist.Normal(0.0, 1.0))
        with pyro.plate("data", x.shape[0]):
            pyro.sample("y", dist.Bernoulli(logits=w * x + b), obs=y)

    elbo = pyro.infer.Trace_ELBO(num_particles=4, vectorize_particles=True)
    svi = pyro.infer.SVI(model, pyro.infer.autoguide.AutoNormal(model), pyro.optim.Adam({"lr": 0.01}), elbo)
    common.measure("pyro", args, lambda i: svi.step(x, y))


def eight_schools(args):
    """Eight schools: AutoNormal, 1 particle, Adam 0.01."""
    y = torch.tensor(common.EIGHT_SCHOOLS_Y)
    sigma = torch.tensor(common.EIGHT_SCHOOLS_SIGMA)

    def model(sigma, y):
        mu = pyro.sample("mu", dist.Normal(0.0, 5.0))
        tau = pyro.sample("tau", dist.HalfCauchy(5.0))
        with pyro.plate("schools", y.shape[0]):
            theta = pyro.sample("theta", dist.Normal(mu, tau))
            pyro.sample("y", dist.Normal(theta, sigma), obs=y)

    svi = pyro.infer.SVI(model, pyro.infer.autoguide.AutoNormal(model), pyro.optim.Adam({"lr": 0.01}),
                         pyro.infer.Trace_ELBO())
    common.measure("pyro", args, lambda i: svi.step(sigma, y))


def main():
    args = common.parse_args(__doc__)
    torch.set_num_threads(common.THREADS)
    torch.manual_seed(args.seed)
    pyro.set_rng_seed(args.seed)
    if args.model == "logistic":
        return logistic(args)
    if args.model == "eight_schools":
        return eight_schools(args)
    p, q = networks(args.model)
    k, _, floor, scale = common.workload(args.model)

    def model(x, y):
        pyro.module("p", p)
        with poutine.scale(scale=scale), pyro.plate("data", x.shape[0]):
            if args.model == "digits":
                z = pyro.sample("z", dist.Normal(x.new_full((x.shape[0], k), 0.1), 1.0).to_event(1))
                pyro.sample("x", dist.Normal(p["nn1"](z), 1.0).to_event(1), obs=x)
                pyro.sample("y", dist.Categorical(logits=p["nn2"](z)), obs=y)
            else:
                z = pyro.sample("z", dist.Normal(x.new_zeros((x.shape[0], k)), 1.0).to_event(1))
                pyro.sample("x", dist.Bernoulli(logits=p["dec"](z)).to_event(1), obs=x)

    def guide(x, y):
        pyro.module("q", q)
        with poutine.scale(scale=scale), pyro.plate("data", x.shape[0]):
            out = q(x)
            pyro.sample("z", dist.Normal(out[:, :k], F.softplus(out[:, k:]) + floor).to_event(1))

    batches = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in common.synthetic_batches(args.model, args.seed)]
    svi = pyro.infer.SVI(model, guide, pyro.optim.Adam({"lr": 1e-3}), pyro.infer.TraceMeanField_ELBO())

    def step(i):
        x, y = batches[i % len(batches)]
        return svi.step(x, y)

    common.measure("pyro", args, step)


if __name__ == "__main__":
    main()

"""Plain-PyTorch floor: the same networks and the same loss (the negative mean-field ELBO with
analytic KL, written out by hand), forward + backward + torch.optim.Adam, no PPL in between."""

import math

import torch
import torch.nn.functional as F

import common
from pyro_svi import networks


def main():
    args = common.parse_args(__doc__)
    torch.set_num_threads(common.THREADS)
    torch.manual_seed(args.seed)
    p, q = networks(args.model)
    k, _, floor, scale = common.workload(args.model)
    prior_loc = 0.1 if args.model == "digits" else 0.0
    half_log_2pi = 0.5 * math.log(2 * math.pi)
    opt = torch.optim.Adam(list(p.parameters()) + list(q.parameters()), lr=1e-3)
    batches = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in common.synthetic_batches(args.model, args.seed)]

    def step(i):
        x, y = batches[i % len(batches)]
        out = q(x)
        loc, sd = out[:, :k], F.softplus(out[:, k:]) + floor
        z = loc + sd * torch.randn_like(loc)
        # KL(N(loc, sd) || N(prior_loc, 1)) per row.
        kl = (0.5 * (sd ** 2 + (loc - prior_loc) ** 2 - 1.0) - torch.log(sd)).sum(1)
        if args.model == "digits":
            log_lik = (-0.5 * (x - p["nn1"](z)) ** 2 - half_log_2pi).sum(1)
            log_lik = log_lik - F.cross_entropy(p["nn2"](z), y, reduction="none")
        else:
            log_lik = -F.binary_cross_entropy_with_logits(p["dec"](z), x, reduction="none").sum(1)
        loss = scale * (kl - log_lik).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    common.measure("torch", args, step)


if __name__ == "__main__":
    main()

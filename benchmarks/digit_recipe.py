"""Which training recipe makes chapter 1's digit networks pass their convergence certificate soonest?

Chapter 1's digit UNets (bias-free, width 16, 2 levels, batch 64, σ = U² on [0, 1], the paper's unweighted
residual loss, Adam 1e-3 with cosine decay, 400 steps) lose to doing nothing at small σ. This script trains
the same network on the same N digits of half A (the chapter's split) with each recipe of ``--recipes``
and prints its certificate (:func:`gendiff.certificate.certify`) on the last 256 digits of half B: the
network's held-out MSE divided by doing nothing's and by the Gaussian denoiser's of its training digits,
per σ of the chapter's grid (< 1 beats it), the verdict with the Gaussian bar at σ < 0.5
(:func:`gendiff.certificate.gaussian_bar`), the loss plateau and the training time. Every loss weighting
has the same minimiser (the MMSE denoiser at each σ), so the weighting and the rate change how fast the
network gets there, not where.

A recipe is ``name:weight:lr:warmup:steps``; ``--n`` the training-set size, ``--seed`` the run's seed.

Usage: python benchmarks/digit_recipe.py [--n 2500] [--seed 0]
           [--recipes paper:none:1e-3:0:400 inv_sigma:inv_sigma:1e-2:40:400 ...]
"""
import argparse
import time

import torch

from gendiff import certificate, data, runtime, train
from gendiff.configs import ch01

DEFAULT = ["paper:none:1e-3:0:400", "lr1e-2:none:1e-2:40:400", "inv_sigma:inv_sigma:1e-3:0:400",
           "inv_sigma+lr1e-2:inv_sigma:1e-2:40:400", "inv_sigma+lr1e-2:inv_sigma:1e-2:40:1500"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--recipes", nargs="+", default=DEFAULT)
    a = ap.parse_args()
    torch.set_num_threads(1)
    cfg = ch01.PROFILES["ci"]
    digits, labels = data.mnist(cfg.digit_size)
    ia, ib = data.balanced_halves(labels, generator=runtime.generator(20))   # the chapter's halves
    x, held = digits[ia][:a.n], digits[ib][-256:]
    print(f"N = {a.n}, seed {a.seed}; σ = {', '.join(f'{s:g}' for s in cfg.sigmas)}")
    base = None
    for recipe in a.recipes:
        name, weight, lr, warmup, steps = recipe.split(":")
        tc = train.DenoiserTrainConfig(
            fit=train.FitConfig(steps=int(steps), lr=float(lr), warmup=int(warmup), seed=a.seed),
            noise=train.NoiseLaw("quadratic", sigma_max=1.0), weight=weight, batch_size=cfg.batch)
        t = time.time()
        run = train.train_denoiser(ch01.network(cfg)(), x, tc, progress=False)
        sec = time.time() - t
        base = base or sec / int(steps)
        c = certificate.certify(run.model, held, x, cfg.sigmas,
                                gaussian_at=certificate.gaussian_bar(cfg.sigmas, 1.0), losses=run.history["loss"])
        print(f"\n{name}, {steps} steps: {sec:.0f} s ({sec / int(steps) / base:.2f}× the first recipe's time per step); "
              f"{'passes' if c.passed else c.shortfall()}; Δ loss over the last fifth {c.plateau[0]:+.2f}")
        print("  MSE / doing nothing:", " ".join(f"{m / i:5.2f}" for m, i in zip(c.mse, c.identity)))
        print("  MSE / Gaussian:     ", " ".join(f"{m / g:5.2f}" for m, g in zip(c.mse, c.gaussian)))


if __name__ == "__main__":
    main()

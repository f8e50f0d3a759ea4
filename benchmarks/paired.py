"""Training K same-shape models: one after the other vs one vectorised pass (torch.func.vmap).

Chapter 1 trains pairs (and triples) of identical bias-free UNets on different data. Issue 4 asked whether
training them in one vectorised pass is faster. This script measures it: K chapter-1-sized models
(width 16, 2 levels, 16×16 images, batch 64, Adam, the residual denoising loss with σ = U²), stepped
(a) one after the other and (b) as one model whose parameters are stacked
(``torch.func.stack_module_state``) and called under ``vmap(functional_call)``, with one Adam over the
stacked tensors (Adam is elementwise, so this is K independent Adams). Prints ms per model-step and the
ratio, measured in one run. Torch threads: BOOK_THREADS (default 1).

Usage: python benchmarks/paired.py [--models 2 6] [--steps 30]
"""
import argparse
import copy
import os
import time
import warnings

import torch
from torch.func import functional_call, stack_module_state, vmap

from gendiff import models, runtime

SIZE, BATCH, N = 16, 64, 1024


def _batch(data, gen):
    k = data.shape[0]
    idx = torch.randint(N, (k, BATCH), generator=gen)
    x = data[torch.arange(k)[:, None], idx]                          # (K, B, 1, S, S)
    sigma = torch.rand(k, BATCH, 1, 1, 1, generator=gen) ** 2
    return x, x + sigma * torch.randn(x.shape, generator=gen)


def _time(step, steps):
    for _ in range(3):                                               # warm-up
        step()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - t) / steps


def measure(k: int, steps: int) -> tuple[float, float]:
    """Seconds per step of all K models: (one after the other, one vmapped pass)."""
    torch.manual_seed(0)
    nets = [models.BiasFreeUNet(1, 16, 2).train() for _ in range(k)]
    data = torch.rand(k, N, 1, SIZE, SIZE)
    gen = torch.Generator().manual_seed(0)

    opts = [torch.optim.Adam(n.parameters(), 1e-3) for n in nets]

    def sequential():
        x, y = _batch(data, gen)
        for i, (net, opt) in enumerate(zip(nets, opts)):
            loss = (net(y[i]) - x[i]).pow(2).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    base = copy.deepcopy(nets[0]).to("meta")
    params, buffers = stack_module_state(nets)
    params = {n: p.detach().requires_grad_() for n, p in params.items()}
    opt = torch.optim.Adam(params.values(), 1e-3)
    forward = vmap(lambda p, b, y: functional_call(base, (p, b), (y,)))

    def vectorised():
        x, y = _batch(data, gen)
        loss = (forward(params, buffers, y) - x).pow(2).mean(dim=(1, 2, 3, 4)).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return _time(sequential, steps), _time(vectorised, steps)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", type=int, nargs="+", default=[2, 6])
    ap.add_argument("--steps", type=int, default=30)
    args = ap.parse_args()
    torch.set_num_threads(runtime.threads())
    torch.set_flush_denormal(True)
    warnings.filterwarnings("ignore", message=".*batching rule.*")  # BF batch norm's lerp_ has no vmap rule
    print(f"{os.cpu_count()} cores, {runtime.threads()} torch thread(s), {args.steps} timed steps, "
          f"width-16 UNet, {SIZE}×{SIZE}, batch {BATCH}")
    for k in args.models:
        seq, vec = measure(k, args.steps)
        print(f"K = {k}: one after the other {seq / k * 1e3:6.1f} ms per model-step, vmapped {vec / k * 1e3:6.1f}; "
              f"speed-up of the vectorised pass {seq / vec:.2f}×")


if __name__ == "__main__":
    main()

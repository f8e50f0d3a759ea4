"""Speed of the Jacobian routes of gendiff.jacobian, measured in one run; prints ratios.

1. Batched Jacobian (torch.func.jacrev, chunked) vs one backward pass per output pixel, at d = 256, 1024.
2. Matrix-free top-k eigenpairs (Lanczos on jvp/vjp) vs full Jacobian + eigh, with the largest eigenvalue
   difference, at 48×48 (d = 2304); then the matrix-free route alone at 80×80 (d = 6400, the paper's size).
   The full route's peak memory grows like d² with torch 2.13 on the CPU (≈1.5 GB at d = 1024, 6.4 GB at
   d = 2304, whatever the chunk size): at d = 6400 it was killed for exceeding 24 GB on the test machine.

Usage: python benchmarks/jacobian.py [--k 32] [--skip-full]   (BOOK_THREADS sets torch threads)
"""
import argparse
import time

import torch

from gendiff import jacobian, models, runtime


def timed(fn, repeat=1):
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter(); out = fn(); best = min(best, time.perf_counter() - t)
    return best, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--k", type=int, default=32)
    ap.add_argument("--skip-full", action="store_true", help="skip the full-Jacobian reference")
    ap.add_argument("--full-side", type=int, default=48, help="image side for the full-vs-matrix-free comparison")
    args = ap.parse_args()
    runtime.setup(0)
    torch.manual_seed(0)
    net = models.BiasFreeUNet(1, 16, 2).eval()
    print("| d | batched jacrev (s) | per-pixel loop (s) | loop / batched | max |ΔJ| |")
    print("|---|---|---|---|---|")
    for side in (16, 32):
        y = torch.randn(1, 1, side, side, generator=runtime.generator(1))
        tb, Jb = timed(lambda: jacobian.jacobian(net, y, chunk=256)[0], repeat=2)
        tl, Jl = timed(lambda: jacobian.jacobian_loop(net, y))
        print(f"| {side * side} | {tb:.2f} | {tl:.2f} | {tl / tb:.1f}× | {float((Jb - Jl).abs().max()):.1e} |")
    y = torch.randn(1, 1, args.full_side, args.full_side, generator=runtime.generator(2))
    d = args.full_side**2
    tm, (lam_k, _) = timed(lambda: jacobian.top_eigs(net, y, k=args.k))
    print(f"\nd = {d}, top-{args.k} matrix-free (Lanczos): {tm:.1f} s")
    if not args.skip_full:
        tf, lam_full = timed(lambda: jacobian.eig_shrinkage(jacobian.jacobian(net, y, chunk=64)[0])[0])
        diff = float((lam_full[: args.k].double() - lam_k).abs().max())
        print(f"d = {d}, full Jacobian + eigh: {tf:.1f} s  →  matrix-free is {tf / tm:.1f}× faster; "
              f"max |Δλ| over the top {args.k} = {diff:.1e}")
    y = torch.randn(1, 1, 80, 80, generator=runtime.generator(3))
    tm, _ = timed(lambda: jacobian.top_eigs(net, y, k=args.k))
    print(f"d = 6400, top-{args.k} matrix-free (Lanczos): {tm:.1f} s (full Jacobian: > 24 GB, not run)")


if __name__ == "__main__":
    main()

"""Training several models: one process vs `--workers` worker processes (gendiff.train.train_many).

Trains the same `--jobs` chapter-1-sized models (bias-free UNet, width 16, 16×16 Cα images, batch 64)
once in this process and once with worker processes, each into a fresh cache, and prints the wall
times and their ratio, measured in one run. `--busy K` starts K busy-looping processes first, to see
what happens on a loaded machine. Torch threads per process: BOOK_THREADS (default 1).

Usage: python benchmarks/workers.py [--jobs 4] [--steps 150] [--workers 2] [--busy 0]
"""
import argparse
import functools
import multiprocessing as mp
import os
import tempfile
import time

import torch

from gendiff import data, models, runtime, train


def _spin():
    while True:
        pass


def _jobs(n_jobs: int, steps: int) -> dict:
    x = data.calpha_images(512, 16, 2.0, generator=runtime.generator(0))
    make = functools.partial(models.BiasFreeUNet, 1, 16, 2)
    return {f"job{i}": train.Job(make, x, train.DenoiserTrainConfig(fit=train.FitConfig(steps=steps, seed=i),
                                                                   batch_size=64), f"bench-{i}")
            for i in range(n_jobs)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=4)
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--busy", type=int, default=0)
    args = ap.parse_args()
    os.environ["TQDM_DISABLE"] = "1"
    torch.set_num_threads(runtime.threads())
    torch.set_flush_denormal(True)
    spinners = [mp.get_context("spawn").Process(target=_spin, daemon=True) for _ in range(args.busy)]
    for p in spinners:
        p.start()
    times = {}
    try:
        for w in (1, args.workers):
            with tempfile.TemporaryDirectory() as d:
                os.environ["BOOK_CACHE"] = d
                t = time.perf_counter()
                train.train_many(_jobs(args.jobs, args.steps), workers=w)
                times[w] = time.perf_counter() - t
    finally:
        for p in spinners:
            p.terminate()
    print(f"{os.cpu_count()} cores, {args.busy} busy-looping processes, {runtime.threads()} torch thread(s) per "
          f"process, {args.jobs} jobs × {args.steps} steps")
    print("| processes | wall time (s) | time of 1 process / this |")
    print("|---|---|---|")
    for w, t in times.items():
        print(f"| {w} | {t:.1f} | {times[1] / t:.2f} |")


if __name__ == "__main__":
    main()

"""How long chapter 1's `full` profile would train on this machine: time a few steps of each distinct model.

The `full` profile (one GPU) trains dozens of paper-scale networks; no machine that ran this book so far
had a GPU, so its run time is unknown. This script times `--steps` training steps (after 3 warm-up
steps) of each distinct network × image size × batch of chapter 1's `full` config on the book's device
(`BOOK_DEVICE`, default cuda → mps → cpu) and multiplies by the number of models and steps the chapter
trains, mirroring its training cells (§1–§5 up front, §6's controls). It also counts the floating-point
operations of one training step (`torch.utils.flop_counter`), so the total is known without timing. It
prints one row per kind and the projected total as a ratio to `--budget-hours`. Run it first on a GPU to
decide what to run there; `--steps 0` only counts (a CPU needs ≈ 13 s per 40×40 step).

Usage: python benchmarks/full_profile.py [--steps 20] [--budget-hours 2]
"""
import argparse
import dataclasses
import time

import torch

from gendiff import data, runtime, train
from gendiff.configs import ch01


def plan(cfg):
    """(label, network factory, image side, steps per model, number of models), as the chapter trains them."""
    rows = [
        ("§1–§3 rich data, groups A and B", ch01.network(cfg), cfg.size, cfg.steps, 2 * len(cfg.n_train)),
        ("§2 LFW faces, groups A and B", ch01.network(cfg), cfg.size, cfg.face_steps, 2),
        ("§4 Cα rates, one per α", ch01.network(cfg), cfg.size, cfg.calpha_steps, len(cfg.alphas)),
        ("§1 photo patches", ch01.network(cfg), cfg.size, cfg.steps, len(cfg.n_train)),
        ("§5 disks", ch01.network(cfg, blocks=cfg.disk_blocks), cfg.disk_size, cfg.disk_steps, 1),
    ]
    rows.append(("§3 longer-trained generalizing net", ch01.network(cfg), cfg.size, cfg.spectrum_steps, 1))
    if cfg.contour_steps != cfg.calpha_steps:
        rows.append(("§4 longer-trained α network (contour)", ch01.network(cfg), cfg.size, cfg.contour_steps, 1))
    if cfg.run_full_only:
        rows.append(("§6 shuffled pixels", ch01.network(cfg), cfg.size, cfg.steps, 1))
        rows += [(f"§6 gap vs N, {s}×{s}", ch01.network(cfg, blocks=ch01.gap_blocks(s)), s, cfg.gap_steps,
                  len(cfg.gap_ns)) for s in cfg.gap_sizes]
    return rows


def step_cost(make, size: int, cfg, steps: int) -> tuple[float, float]:
    """(floating-point operations of one training step, measured seconds per step or nan if steps = 0)."""
    from torch.utils.flop_counter import FlopCounterMode

    x = data.calpha_images(max(cfg.batch, 64), size, cfg.alpha, generator=runtime.generator(0))
    model = make().to(runtime.device())
    tc = ch01.train_config(cfg, steps=1)
    with FlopCounterMode(display=False) as fc:
        train.train_denoiser(model, x, tc, progress=False)                   # also warms up cudnn
    flops = float(fc.get_total_flops())
    if steps == 0:
        return flops, float("nan")
    tc = dataclasses.replace(tc, fit=dataclasses.replace(tc.fit, steps=steps))
    if runtime.device().type == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    train.train_denoiser(model, x, tc, progress=False)
    if runtime.device().type == "cuda":
        torch.cuda.synchronize()
    return flops, (time.perf_counter() - t) / steps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--budget-hours", type=float, default=2.0)
    args = ap.parse_args()
    runtime.setup(verbose=False)
    cfg = ch01.PROFILES["full"]
    print(f"chapter 1, profile full, on {runtime.device()} ({runtime.threads()} CPU thread(s)): batch {cfg.batch}, "
          f"{cfg.workers} worker process(es)")
    print("| models | image | steps × models | TFLOP/step | s/step | projected hours |")
    print("|---|---|---|---|---|---|")
    hours, pflop, cache = 0.0, 0.0, {}
    for label, make, size, steps, count in plan(cfg):
        key = (repr(make()), size)
        if key not in cache:
            cache[key] = step_cost(make, size, cfg, args.steps)
        flops, sec = cache[key]
        pflop += flops * steps * count / 1e15
        hours += sec * steps * count / 3600
        print(f"| {label} | {size}×{size} | {steps} × {count} | {flops / 1e12:.3f} | {sec:.4f} | "
              f"{sec * steps * count / 3600:.2f} |")
    hours /= cfg.workers
    print(f"training: {pflop:.0f} PFLOP in all; at 100 TFLOP/s sustained {pflop * 10 / 3600:.2f} h")
    if args.steps:
        print(f"projected training time here: {hours:.2f} h with {cfg.workers} worker(s) = "
              f"{hours / args.budget_hours:.2f} × the {args.budget_hours:g} h budget (analyses not included)")


if __name__ == "__main__":
    main()

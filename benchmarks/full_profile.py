"""How long chapter 1's `full` profile would train on this machine: time a few steps of each distinct model.

The `full` profile (one GPU) trains dozens of paper-scale networks; no machine that ran this book so far
had a GPU, so its run time is unknown. This script times `--steps` training steps (after 3 warm-up
steps) of each distinct network × image size × batch of chapter 1's `full` config on the book's device
(`BOOK_DEVICE`, default cuda → mps → cpu) and multiplies by the number of models and steps the chapter
trains, mirroring its training cells (§1–§5 up front, §6's controls). It also counts the floating-point
operations of one training step (`torch.utils.flop_counter`), so the total is known without timing. It
prints one row per kind and the projected total as a ratio to `--budget-hours`. Run it first on a GPU to
decide what to run there; `--steps 0` only counts (a CPU needs ≈ 13 s per 40×40 step).

``--profile gpu`` instead prints an ESTIMATE of every chapter's training time at the ``gpu`` profile (the whole
book on one GPU in ≤ 15 minutes, each chapter ≤ 5): per kind of model, the FLOP of one step (counted on the
CPU at batch 2 and scaled to the config's batch) and the number of steps the chapter trains, converted at
``--tflops`` sustained (default 100) with a floor of ``--floor-ms`` per step (default 3: kernel launches and
the loop's per-step loss read dominate small models on a GPU; ``--small-ms``, default 1, for the shallow nets,
low-rank DAEs and MLPs of chapters 2 and 4). Analyses and sampling are not included.

Usage: python benchmarks/full_profile.py [--steps 20] [--budget-hours 2] [--profile gpu]
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


def _unet_flops(make, shape, batch: int) -> float:
    """FLOP of one training step of ``make()`` on ``batch`` images of ``shape``, counted at batch 2."""
    from torch.utils.flop_counter import FlopCounterMode

    x = torch.rand((2,) + tuple(shape))
    tc = train.DenoiserTrainConfig(fit=train.FitConfig(steps=1, amp=False), batch_size=2)
    with FlopCounterMode(display=False) as fc:
        train.train_denoiser(make(), x, tc, progress=False)
    return float(fc.get_total_flops()) * batch / 2


def gpu_plan() -> dict:
    """{chapter: [(label, FLOP per step, steps per model, models)]} at the ``gpu`` profile, as the chapters
    train (small nets: FLOP 0, i.e. the per-step floor)."""
    import functools

    from gendiff import models
    from gendiff.configs import ch00, ch02, ch03, ch04
    from gendiff.molrg import MLPDenoiser

    c0, c1, c2, c3, c4 = (m.PROFILES["gpu"] for m in (ch00, ch01, ch02, ch03, ch04))
    multi = len(c1.digit_multi) * c1.digit_seeds + len(c1.digit_ns) - len(c1.digit_multi)
    u1 = _unet_flops(ch01.network(c1), (1, c1.size, c1.size), c1.batch)
    edm = _unet_flops(functools.partial(models.edm_unet, 1, max(c3.widths), c3.channel_mult),
                      (1, c3.image_size, c3.image_size), c3.batch_size)     # the widest model: an upper bound
    mlp = _unet_flops(functools.partial(MLPDenoiser, 48, width=c4.mlp_width), (48,), 256)
    gl = _unet_flops(functools.partial(models.edm_unet, 1, c4.gl_channels, (1, 2)), (1, c4.gl_side, c4.gl_side),
                     c4.gl_batch)
    return {
        "ch00": [("bias-free UNet, 8×8 digits", _unet_flops(lambda: ch00.network(c0), (1, 8, 8), c0.batch_size),
                  c0.steps, c0.seeds)],
        "ch01": [("UNet, digits A and B", u1, c1.digit_steps, 2 * multi),
                 ("UNet, rich data A and B", u1, c1.steps, 2 * len(c1.n_train)),
                 ("UNet, faces / patches", u1, c1.face_steps, 2 + len(c1.n_train)),
                 ("UNet, Cα and contour", u1, c1.calpha_steps, len(c1.alphas)),
                 ("UNet, contour + spectrum + disks", u1, c1.contour_steps + c1.spectrum_steps + c1.disk_steps, 1)],
        "ch02": [("shallow nets (batched), 1D/width/tri/subspace/rays/digits/gen", 0.0,
                  c2.one_d.steps * (2 + len(c2.width_sweep)) + 3 * c2.tri.steps + c2.digits.steps, 1)],
        "ch03": [("EDM UNet (widest width, upper bound)", edm, c3.steps,
                  len(c3.sizes) * len(c3.seeds) + len(c3.widths) + 1)],
        "ch04": [("low-rank DAE sweeps (batched)", 0.0, c4.dae.steps, len(c4.dae_d) + len(c4.dae_wide_d) + 2),
                 ("EDM MLPs: MoLRG, digits", mlp, c4.mlp_steps, c4.jac_seeds),
                 ("EDM MLPs: digits", mlp, c4.digits_steps, c4.jac_seeds + 1),
                 ("EDM U-Nets: GL sweep", gl, c4.gl_steps, len(c4.gl_d) * len(c4.gl_ratios))],
        "ch05": [("none (chapter 1's digit networks load from the cache)", 0.0, 0, 0)],
    }


def gpu_estimate(tflops: float, floor_ms: float, small_ms: float) -> None:
    print(f"ESTIMATE of the gpu profile's training time: FLOP counted on the CPU, {tflops:g} TFLOP/s sustained, "
          f"≥ {floor_ms:g} ms per step (≥ {small_ms:g} ms for nets under 0.01 TFLOP/step); analyses and "
          "sampling not included")
    print("| chapter | models | TFLOP/step | steps × models | estimated s |")
    print("|---|---|---|---|---|")
    total = 0.0
    for chapter, rows in gpu_plan().items():
        sec_ch = 0.0
        for label, flops, steps, count in rows:
            small = flops < 0.01e12                   # shallow nets, low-rank DAEs, MLPs: a few kernels per step
            sec = steps * count * max(flops / (tflops * 1e12), (small_ms if small else floor_ms) / 1e3)
            sec_ch += sec
            print(f"| {chapter} | {label} | {flops / 1e12:.3f} | {steps} × {count} | {sec:.0f} |")
        print(f"| {chapter} | **chapter total (estimate)** | | | **{sec_ch:.0f}** |")
        total += sec_ch
    print(f"book training, estimate: {total:.0f} s = {total / 60:.1f} min on one GPU at the gpu profile")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--budget-hours", type=float, default=2.0)
    ap.add_argument("--profile", choices=("full", "gpu"), default="full")
    ap.add_argument("--tflops", type=float, default=100.0)
    ap.add_argument("--floor-ms", type=float, default=3.0)
    ap.add_argument("--small-ms", type=float, default=1.0)
    args = ap.parse_args()
    runtime.setup(verbose=False)
    if args.profile == "gpu":
        return gpu_estimate(args.tflops, args.floor_ms, args.small_ms)
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

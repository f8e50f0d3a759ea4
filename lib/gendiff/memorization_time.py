"""When memorization starts along training (Bonnaire, Urfin, Biroli & Mézard, NeurIPS 2025).

A generated sample x is *memorized* when its nearest training image a₁ is much closer than the second
nearest a₂: ‖x − a₁‖ / ‖x − a₂‖ < k = 1/3 (their criterion, after Yoon et al. 2023). f_mem(τ) is the share of
memorized samples drawn, from fixed initial noise, with the network's weights after τ training steps.
The paper finds that f_mem stays ≈ 0 until a time τ_mem that grows linearly with the training-set size N
(while sample quality settles at a time τ_gen that does not depend on N), so a larger N leaves a longer
window of training in which the network generalizes.

Here τ_mem is read off the snapshots a training run kept: the first snapshot step at which f_mem reaches
``level`` (∞ when no snapshot does). With a handful of snapshots the onset is known only up to the
spacing of the grid, so the book tests its *order* in N, not its slope.

Sample quality along training is the Fréchet distance of the same samples to held-out digits
(:func:`gendiff.metrics.frechet_pca`); τ_gen is the first snapshot step at which that distance has made
``share`` of its fall from the first snapshot to its lowest value along the run.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .gaussian_edm import copy_fraction
from .memo import memoized
from .metrics import frechet_pca
from .sampling import edm_sample
from .train import load_snapshot


def along_training(make_model, snapshots: dict, final, train_set: torch.Tensor, xT: torch.Tensor,
                   heldout: torch.Tensor, *, final_step: int, sample_steps: int,
                   ratio: float = 1 / 3) -> dict[str, dict[int, float]]:
    """{"f_mem": step → f_mem, "fd": step → Fréchet distance}: Heun samples (``sample_steps`` steps) from the
    initial noise ``xT`` with each snapshot (``snapshots``: step → state dict) and the ``final`` model (at
    ``final_step``); f_mem is the share of them that copy a training image (ratio test,
    :func:`gendiff.gaussian_edm.copy_fraction`), fd their distance to the ``heldout`` images
    (:func:`gendiff.metrics.frechet_pca`).

    A non-finite sample raises: a diverged run is reported, not averaged in."""
    models = {step: load_snapshot(make_model, state) for step, state in snapshots.items()}
    models[final_step] = final
    out = {"f_mem": {}, "fd": {}}
    for step in sorted(models):
        with torch.no_grad():
            x = edm_sample(models[step], xT, num_steps=sample_steps).x
        if not torch.isfinite(x).all():
            raise RuntimeError(f"non-finite samples at training step {step}: the run diverged")
        out["f_mem"][step] = copy_fraction(x, train_set, ratio)
        out["fd"][step] = frechet_pca(x, heldout)
    return out


@memoized
def chapter3_curves(cfg3, *, n_samples: int, seed: int = 7) -> dict:
    """(N, seed) → {"f_mem": {step: f_mem}, "fd": {step: Fréchet distance}} for every run of chapter 3's size
    sweep (``cfg3``: its config), from the snapshots those runs kept and their final weights — chapter 3's cached models (the same jobs, so
    nothing is trained twice; run alone, this trains them). Samples: ``n_samples`` from one fixed noise."""
    from . import gaussian_study as GS
    from . import runtime
    from .configs import ch03
    from .gaussian_edm import train_edm_many

    pool, pool2, heldout = ch03.load_data(cfg3)
    names = {GS.model_key(n, s, channels=cfg3.channels): (n, s) for n in cfg3.sizes for s in cfg3.seeds}
    runs = {k: v for k, v in GS.model_jobs(cfg3, pool, pool2).items() if k in names}
    trained = train_edm_many({k: (x, ch03.recipe(cfg3, c, sn, s)) for k, (x, c, sn, s) in runs.items()},
                             name="ch03-edm", workers=cfg3.workers)
    xT = 80.0 * torch.randn((n_samples,) + tuple(pool.shape[1:]), generator=runtime.generator(seed))
    make = lambda: ch03.recipe(cfg3).make_model(pool.shape[1])  # noqa: E731
    return {names[k]: along_training(make, trained[k].snapshots, trained[k].model, runs[k][0], xT, heldout,
                                     final_step=cfg3.steps, sample_steps=cfg3.sample_steps)
            for k in runs}


def slope_tolerance(steps, ns) -> float:
    """How far a log-log slope of onset against N can sit from the true one when each onset is known only
    up to the snapshot grid: an onset read off the grid is off by at most the largest ratio r between
    neighbouring snapshot steps, so over N_max/N_min the slope is off by at most 2·log r / log(N_max/N_min)."""
    steps = sorted(steps)
    r = max(b / a for a, b in zip(steps, steps[1:]))
    return 2 * math.log(r) / math.log(max(ns) / min(ns))


def onset_step(fractions: dict[int, float], level: float) -> float:
    """The first step whose memorized share is ≥ ``level`` (``math.inf`` if none)."""
    if not 0 < level <= 1:
        raise ValueError(f"level must lie in (0, 1], got {level}")
    return next((float(s) for s in sorted(fractions) if fractions[s] >= level), math.inf)


def settle_step(fd: dict[int, float], share: float = 0.9) -> float:
    """τ_gen: the first step at which the Fréchet distance has made ``share`` of its fall from the first
    snapshot to the run's lowest value (the first step if it never falls)."""
    if not 0 < share <= 1:
        raise ValueError(f"share must lie in (0, 1], got {share}")
    steps = sorted(fd)
    first, low = fd[steps[0]], min(fd.values())
    return float(next(s for s in steps if first - fd[s] >= share * (first - low)))


def plot_fractions(curves: dict, *, level: float):
    """Two panels against training step, one line per (N, seed) coloured by N: the memorized share f_mem
    with the onset level dashed (left), the samples' Fréchet distance to held-out digits (right, log)."""
    from .plots import OKABE_ITO, subplots

    fig, (ax, bx) = subplots(1, 2, height=3.0)
    ns = sorted({n for n, _ in curves})
    for (n, seed), c in sorted(curves.items()):
        steps = sorted(c["f_mem"])
        first = seed == min(s for m, s in curves if m == n)
        kw = dict(marker="o", ms=3, color=OKABE_ITO[ns.index(n) % 8], alpha=0.9)
        ax.plot(steps, [c["f_mem"][s] for s in steps], label=f"N = {n}" if first else None, **kw)
        bx.plot(steps, [c["fd"][s] for s in steps], **kw)
    ax.axhline(level, color="0.4", ls="--", lw=1, label=f"onset level {level:g}")
    ax.set(xlabel="training step", ylabel="memorized share f_mem", ylim=(-0.03, 1.03))
    bx.set(xlabel="training step", ylabel="Fréchet distance to held-out", yscale="log")
    fig.legend(loc="outside lower center", ncol=len(ns) + 1)
    return fig

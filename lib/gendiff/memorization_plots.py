"""Figures of the memorization → generalization transition (Kadkhodaie et al. 2024, Figs. 1–2), as drawn
in chapter 1.

* :func:`data_overview` — the two disjoint digit halves and the synthetic images of §3–§5;
* :func:`psnr_grid` — output PSNR against input PSNR, PSNR = −10 log₁₀(‖f(x + σz) − x‖²/d), on training
  and held-out images, one panel per training-set size N (paper Fig. 1);
* :func:`gap_vs_n` — the train − test gap averaged over σ against N, with the 2 SE level of
  :func:`gendiff.memorization.train_test_gap`;
* :func:`cosine_histograms` — the mean-removed cosines cos(A, B) of same-noise samples of two networks and
  of each sample with its nearest training image (paper Fig. 2);
* :func:`sample_grid` — those samples and the nearest training digits, one panel per N.

Every figure is at most :data:`gendiff.plots.FIG_WIDTH` wide with at most three panels per row; legends
that several panels share sit once below the panels. Nothing here calls ``plt.show()``.
"""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import torch

from . import plots


def _grid(n_panels: int, *, height: float, ncols: int = 3):
    """A grid of ``n_panels`` axes, ``ncols`` per row, the unused ones switched off."""
    nrows = math.ceil(n_panels / ncols)
    fig, axes = plots.subplots(nrows, ncols, height=height, squeeze=False)
    axes = list(axes.flat)
    for ax in axes[n_panels:]:
        ax.axis("off")
    return fig, axes[:n_panels]


def _image_panels(n_panels: int, *, height: float, ncols: int):
    """A figure of ``n_panels`` sub-figures (``ncols`` per row), one axes each, for image grids whose
    titles go in the sub-figure's own title row (so they never cover the images)."""
    nrows = math.ceil(n_panels / ncols)
    fig = plt.figure(figsize=(plots.FIG_WIDTH, height * nrows))
    subs = list(fig.subfigures(nrows, ncols, squeeze=False).flat)[:n_panels]
    return fig, [(sf, sf.subplots()) for sf in subs]


def data_overview(halves: dict, calpha: torch.Tensor, disks: torch.Tensor, *, n: int = 12):
    """Twelve digits of each half, Cα images (rows α = 1, 2, 4) and disks: a 2 × 2 grid of image grids."""
    fig, panels = _image_panels(4, height=2.5, ncols=2)
    images = ((halves["A"][:n], "digits, half A"), (halves["B"][:n], "digits, half B"),
              (calpha, "Cα images, rows α = 1, 2, 4"), (disks[:n], "disks (5 parameters)"))
    for (sf, ax), (x, title) in zip(panels, images):
        plots.show_images(x, nrow=3, ax=ax)
        sf.suptitle(title, fontsize=10)
    return fig


def psnr_grid(gaps: dict, ns, in_psnr, *, pair: int = 0):
    """Output vs input PSNR on training (blue) and held-out (vermillion) digits, models A (solid) and B
    (dashed) of seed pair ``pair``, one panel per N. ``gaps[(n, pair, g)]`` is a
    :class:`gendiff.memorization.Gap`."""
    fig, axes = _grid(len(ns), height=2.1)
    for ax, n in zip(axes, ns):
        for g, ls in (("A", "-"), ("B", "--")):
            r = gaps[n, pair, g]
            for curve, role in ((r.train, "train"), (r.test, "test")):
                ax.plot(in_psnr, curve, ls, marker="o", ms=3, color=plots.COLORS[role],
                        label=f"{role} ({g})")
        plots.psnr_axes(ax, lo=0, hi=40)
        ax.set_title(f"N = {n}")
        ax.label_outer()
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=3)
    return fig


def gap_vs_n(mean_gap: dict, tol_gap: dict, ns):
    """Mean train − test PSNR over σ against N (log–log; values below 0.01 dB drawn at 0.01), one marker
    per model (circle A, square B; colour: seed pair), and the 2 SE level of seed pair 0."""
    fig, ax = plots.subplots(1, 1, width=5.0, height=3.2)
    for (n, k, g), v in mean_gap.items():
        ax.plot(n, max(v, 1e-2), "o" if g == "A" else "s", ms=4, color=plots.OKABE_ITO[k], alpha=0.8)
    level = [max(np.mean([tol_gap[n, 0, g] for g in "AB"]), 1e-2) for n in ns]
    ax.plot(ns, level, "k:", label="2 SE (pair 0)")
    ax.set(xscale="log", yscale="log", xlabel="training set size N",
           ylabel="mean train − test PSNR (dB)", title="gap vs N (colour: seed pair)")
    ax.legend()
    return fig


def cosine_histograms(pst: dict, ns, *, pair: int = 0):
    """Per N, histograms of cos(A, B) and of the cosine of each sample with its nearest training digit
    (seed pair ``pair``), medians dashed. ``pst[(n, pair)]`` is a :class:`gendiff.memorization.PairStats`."""
    fig, axes = _grid(len(ns), height=1.9)
    colors = {"cos(A, B)": plots.COLORS["model_a"], "nearest training": plots.COLORS["nearest"]}
    for ax, n in zip(axes, ns):
        p = pst[n, pair]
        samples = {"cos(A, B)": p.cos_ab, "nearest training": torch.cat([p.near_a, p.near_b])}
        plots.histograms(samples, xlabel="cosine (mean removed)", ax=ax, bins=24,
                         range=(-0.2, 1), colors=colors)
        ax.get_legend().remove()
        ax.set_title(f"N = {n}")
        ax.label_outer()
    handles = [plt.Rectangle((0, 0), 1, 1, color=c, alpha=0.35) for c in colors.values()]
    fig.legend(handles, list(colors), loc="outside lower center", ncol=2)
    return fig


def _own_range(x: torch.Tensor) -> torch.Tensor:
    """Each image rescaled to [0, 1] by its own min and max."""
    flat = x.flatten(1)
    lo, hi = flat.min(1, keepdim=True).values, flat.max(1, keepdim=True).values
    return ((flat - lo) / (hi - lo).clamp_min(1e-8)).reshape(x.shape)


def sample_grid(pst: dict, train_a: torch.Tensor, ns, *, pair: int = 0, n_show: int = 10):
    """Per N (two panels per row): ``n_show`` samples of model A (top row), of model B from the same
    noise (middle) and A's nearest training digit (bottom), each image on its own grey range (the
    bias-free sampler returns digits of any contrast). Non-finite pairs are skipped."""
    fig, panels = _image_panels(len(ns), height=1.45, ncols=2)
    for (sf, ax), n in zip(panels, ns):
        p = pst[n, pair]
        ok = torch.nonzero(p.ok).flatten()[:n_show]
        near = train_a[:n][p.idx_a[: len(ok)]]
        ims = _own_range(torch.cat([p.x_a[ok], p.x_b[ok], near]))
        plots.show_images(ims, nrow=3, ax=ax)
        sf.suptitle(f"N = {n}", fontsize=10)
    fig.suptitle("Same noise, networks trained on disjoint digits: rows A, B, A's nearest "
                 "training digit")
    return fig

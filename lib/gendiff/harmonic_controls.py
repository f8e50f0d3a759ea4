"""The two controls of chapter 1 that run only with the ``full`` profile (Kadkhodaie et al. 2024):

* **shuffled pixels** (paper Fig. 21): one fixed permutation of the pixels keeps every statistic that
  ignores the image geometry and destroys the contours, so a geometry-adaptive basis cannot be learned;
  :func:`shuffled_figure` draws the PSNR curves of :func:`gendiff.harmonic.shuffle_control` and the
  shuffled network's leading eigenvectors with the permutation undone;
* **gap against N and image size** (paper Fig. 15): the train − test output PSNR averaged over σ,
  gap(N) = mean_σ [PSNR_train(σ) − PSNR_test(σ)], for several image sides (:func:`gap_sweep`,
  :func:`gap_figure`), and the smallest N of the sweep whose gap is below 1 dB (:func:`n_to_generalize`).

Figures are at most 7 in wide; nothing here calls ``plt.show()``.
"""
from __future__ import annotations

import matplotlib.pyplot as plt

from . import data, plots, runtime
from .memorization import mean_gap


def shuffled_figure(sc, in_psnr):
    """PSNR curves of the networks trained on original and on shuffled pixels (top) and the shuffled
    network's leading eigenvectors shown un-shuffled (bottom). ``sc``: a
    :class:`gendiff.harmonic.ShuffleControl`."""
    fig = plt.figure(figsize=(plots.FIG_WIDTH, 5.0))
    top, bottom = fig.add_gridspec(2, 1, height_ratios=[2.3, 1.4])
    ax = fig.add_subplot(top)
    ax.plot(in_psnr, sc.psnr_plain, "o-", ms=3, label=f"original pixels (slope {sc.slope_plain:.2f})")
    ax.plot(in_psnr, sc.psnr_shuffled, "o-", ms=3,
            label=f"shuffled pixels (slope {sc.slope_shuffled:.2f})")
    plots.psnr_axes(ax)
    ax.legend()
    v = plots.symmetric_range(sc.vectors)
    plots.show_images(sc.vectors, nrow=1, vmin=-v, vmax=v, cmap="RdBu_r", ax=fig.add_subplot(bottom),
                      titles=[f"λ={float(lam):.2f}" for lam in sc.lam],
                      title="shuffled model: eigenvectors (un-shuffled)")
    return fig


def gap_sweep(cfg, sigmas, *, seed: int = 13):
    """Train (or load) one network per image side in ``cfg.gap_sizes`` and N in ``cfg.gap_ns`` on Cα
    images and return {(side, N): mean train − test PSNR over ``sigmas``} (paper Fig. 15)."""
    from .configs import ch01

    n_pool = 2 * max(cfg.gap_ns) + cfg.n_test
    pools = {s: data.calpha_images(n_pool, s, cfg.alpha, generator=runtime.generator(seed))
             for s in cfg.gap_sizes}
    jobs = {(s, n): ch01.job(cfg, pools[s][:n], f"gap{s}-N{n}", steps=cfg.gap_steps,
                             blocks=ch01.gap_blocks(s))
            for s in cfg.gap_sizes for n in cfg.gap_ns}
    nets = ch01.train_all(cfg, jobs)
    return {(s, n): mean_gap(nets[s, n].model, pools[s][:n][: cfg.n_eval], pools[s][-cfg.n_test:],
                             sigmas, seed=2)
            for s in cfg.gap_sizes for n in cfg.gap_ns}


def gap_figure(gaps: dict, sizes, ns):
    """The mean gap against N (log–log, values below 10⁻³ dB drawn at 10⁻³), one curve per image side."""
    fig, ax = plots.subplots(1, 1, width=5.5, height=3.4)
    for s in sizes:
        ax.loglog(ns, [max(gaps[s, n], 1e-3) for n in ns], "o-", label=f"{s}×{s}")
    ax.set(xlabel="training set size N", ylabel="train − test PSNR, mean over σ (dB)",
           title="generalization gap (Fig. 15)")
    ax.legend()
    return fig


def n_to_generalize(gaps: dict, sizes, ns, *, level: float = 1.0) -> dict:
    """Per image side, the smallest N of the sweep whose mean gap is below ``level`` dB (inf if none)."""
    return {s: min((n for n in ns if gaps[s, n] < level), default=float("inf")) for s in sizes}


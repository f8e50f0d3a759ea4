"""Which theory predicts what a trained denoiser does? Measurements behind chapter 5 (the synthesis).

For a network ``D_θ`` trained on ``x_train`` and the predictors of :mod:`gendiff.predictors` built from the same
``x_train``, :func:`explained` denoises the same held-out noisy images ``y = x + σz`` with each and returns the
per-image r² of every predictor against the network (Kamb & Ganguli's comparison), together with each one's MSE
to the clean images. :func:`sample_agreement` runs the sampler of paper 1 (Alg. 1) with each predictor from the
network's initial noise and noise stream and returns the mean-removed cosine of each final sample with the
network's. :func:`plot_heatmaps` draws r² (predictor × σ) for each training-set size.
"""
from __future__ import annotations

import math
from typing import Callable, Mapping

import numpy as np
import torch

from . import metrics, predictors, runtime, sampling


@torch.no_grad()
def explained(net: Callable, preds: Mapping[str, Callable], x_test: torch.Tensor, sigmas, *, seed: int = 0) -> dict:
    """r² of every predictor against ``net`` on ``x_test`` + σz for each σ (the same z for all).

    Returns ``{"r2": {name: (S, n) array}, "mse": {name | "network": (S,) array}}``; a non-finite output is an
    error naming the predictor and σ (never averaged in).
    """
    g = runtime.generator(seed)
    z = torch.randn(x_test.shape, generator=g)
    r2 = {k: np.zeros((len(sigmas), len(x_test))) for k in preds}
    mse = {k: np.zeros(len(sigmas)) for k in ["network", *preds]}
    for i, s in enumerate(sigmas):
        y = x_test + s * z
        out_net = net(y, s).float()
        mse["network"][i] = float(metrics.mse(out_net, x_test).mean())
        for k, p in preds.items():
            out = p(y, s).float()
            if not torch.isfinite(out).all():
                raise FloatingPointError(f"predictor {k!r} returned non-finite values at σ = {s}")
            r2[k][i] = predictors.r2(out, out_net).numpy()
            mse[k][i] = float(metrics.mse(out, x_test).mean())
    return {"r2": r2, "mse": mse}


def with_network_sigma(pred: Callable, net: Callable) -> Callable:
    """A σ-blind version of ``pred`` for paper 1's sampler: it is told the noise level the *network* estimates
    from the current image, σ̂(y) = ‖D_θ(y) − y‖/√d (the sampler's own effective σ_t)."""
    def D(y, _sigma=None):
        d = math.prod(y.shape[1:])
        s = ((net(y, None) - y).flatten(1).norm(dim=1) / math.sqrt(d)).clamp_min(1e-4)
        return pred(y, s)
    return D


@torch.no_grad()
def sample_agreement(net: Callable, preds: Mapping[str, Callable], n: int, shape: tuple, *, mean, seed: int = 0,
                     **sampler_kw) -> dict:
    """Samples of the network and of each predictor from the same initial noise and stream (paper 1, Alg. 1);
    returns ``{"network": x, name: x, …}`` and ``{name: cosines (n,)}`` with the network's samples."""
    ref = sampling.ascent_sample(net, (n,) + tuple(shape), mean=mean, seed=seed, **sampler_kw).x
    samples, cos = {"network": ref}, {}
    for k, p in preds.items():
        x = sampling.ascent_sample(with_network_sigma(p, net), (n,) + tuple(shape), mean=mean, seed=seed,
                                   **sampler_kw).x
        if not torch.isfinite(x).all():
            raise FloatingPointError(f"the sampler diverged with predictor {k!r}")
        samples[k], cos[k] = x, metrics.cosine(x, ref).numpy()
    return samples, cos


def plot_heatmaps(tables: Mapping[int, Mapping[str, np.ndarray]], sigmas, *, title: str = "median r²",
                  suptitle: str = ""):
    """One panel per training-set size N: median r² of each predictor (rows) against the network at each σ
    (columns), from ``{N: {name: (S, n) r²}}``; colour scale fixed to [0, 1] (below 0 shown as 0); a predictor
    not built at some N (the costly patch machine) is left blank there."""
    import matplotlib.pyplot as plt

    ns = list(tables)
    names = list(dict.fromkeys(k for t in tables.values() for k in t))
    cols = min(3, len(ns))
    rows = math.ceil(len(ns) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.4 * cols + 1.6, 0.45 * len(names) * rows + 1.2), squeeze=False,
                             layout="constrained")
    for ax, N in zip(axes.flat, ns):
        M = np.array([np.median(tables[N][k], 1) if k in tables[N] else np.full(len(sigmas), np.nan)
                      for k in names])
        im = ax.imshow(np.ma.masked_invalid(np.clip(M, 0, 1)), vmin=0, vmax=1, cmap="viridis", aspect="auto")
        for (r, c), v in np.ndenumerate(M):
            if np.isfinite(v):
                ax.text(c, r, f"{v:.2f}", ha="center", va="center", fontsize=7, color="w" if v < 0.6 else "k")
        ax.set_xticks(range(len(sigmas)), [f"{s:g}" for s in sigmas], fontsize=8)
        ax.set_yticks(range(len(names)), names if ax in axes[:, 0] else [""] * len(names), fontsize=8)
        ax.set_title(f"N = {N}", fontsize=9)
        ax.set_xlabel("σ", fontsize=8)
    for ax in list(axes.flat)[len(ns):]:
        ax.axis("off")
    fig.colorbar(im, ax=axes, shrink=0.8, label=title)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    return fig


def best_predictor(tables: Mapping[int, Mapping[str, np.ndarray]]) -> dict:
    """``{(N, σ index): name}`` of the predictor with the highest median r² in each region."""
    return {(N, i): max(t, key=lambda k: float(np.median(t[k][i])))
            for N, t in tables.items() for i in range(next(iter(t.values())).shape[0])}


__all__ = ["explained", "with_network_sigma", "sample_agreement", "plot_heatmaps", "best_predictor"]

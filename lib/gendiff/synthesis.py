"""Which theory predicts what a trained denoiser does? Measurements behind chapter 5 (the synthesis).

For a network ``D_θ`` trained on ``x_train`` and the predictors of :mod:`gendiff.predictors` built from the same
``x_train``, :func:`explained` denoises the same held-out noisy images ``y = x + σz`` with each and returns the
per-image r² of every predictor against the network (Kamb & Ganguli's comparison), together with each one's MSE
to the clean images. :func:`sample_agreement` runs the sampler of paper 1 (Alg. 1) with each predictor from the
network's initial noise and noise stream and returns the mean-removed cosine of each final sample with the
network's. :func:`plot_heatmaps` draws r² (predictor × σ) for each training-set size,
:func:`plot_best_predictor` the summary map (which predictor has the highest median r² in each (N, σ) region),
:func:`plot_outputs` one noisy digit denoised by the network and by every predictor, and :func:`plot_samples`
the samples of :func:`sample_agreement`.
"""
from __future__ import annotations

import math
from typing import Callable, Mapping

import numpy as np
import torch

from . import metrics, predictors, runtime, sampling
from .memo import memoized


@torch.no_grad()
@memoized
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
    cols = min(2, len(ns))
    rows = math.ceil(len(ns) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(7.0, 0.5 * len(names) * rows + 1.2), squeeze=False,
                             layout="constrained")
    for ax, N in zip(axes.flat, ns):
        M = np.array([np.median(tables[N][k], 1) if k in tables[N] else np.full(len(sigmas), np.nan)
                      for k in names])
        im = ax.imshow(np.ma.masked_invalid(np.clip(M, 0, 1)), vmin=0, vmax=1, cmap="viridis", aspect="auto")
        for (r, c), v in np.ndenumerate(M):
            if np.isfinite(v):
                ax.text(c, r, f"{v:.2f}", ha="center", va="center", fontsize=9, color="w" if v < 0.6 else "k")
        ax.set_xticks(range(len(sigmas)), [f"{s:g}" for s in sigmas], fontsize=9)
        ax.set_yticks(range(len(names)), names if ax in axes[:, 0] else [""] * len(names), fontsize=9)
        ax.set_title(f"N = {N}", fontsize=9)
        ax.set_xlabel("σ", fontsize=9)
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


def median_r2(res: Mapping, n: int, k: int, name: str, i: int) -> float:
    """Median over held-out images of the r² of predictor ``name`` against network ``(n, k)`` at σ index ``i``
    (``res`` maps ``(N, seed)`` to the output of :func:`explained`)."""
    return float(np.median(res[n, k]["r2"][name][i]))


def best_table(best: Mapping, sizes, sigmas) -> str:
    """The map of :func:`best_predictor` as a text table (rows N, columns σ)."""
    head = f"{'':>9}" + "".join(f"{'σ = ' + format(s, 'g'):>19}" for s in sigmas)
    rows = [f"{'N = ' + str(n):>9}" + "".join(f"{best[n, i]:>19}" for i in range(len(sigmas))) for n in sizes]
    return "\n".join([head, *rows])


#: one colour per predictor in every figure of the synthesis (Okabe–Ito; the first two as in gendiff.plots)
PREDICTOR_COLORS = {"empirical": "#D55E00", "Gaussian": "#009E73", "low-rank mixture": "#CC79A7",
                    "DCT shrinkage": "#E69F00", "patch machine": "#56B4E9", "network": "#0072B2"}
SHORT_NAMES = {"empirical": "empirical", "Gaussian": "Gaussian", "low-rank mixture": "mixture",
               "DCT shrinkage": "DCT", "patch machine": "patch"}


def _family(name: str) -> str:
    return "patch machine" if name.startswith("patch") else name


def plot_best_predictor(tables: Mapping[int, Mapping[str, np.ndarray]], sigmas):
    """The summary map: one cell per (N, σ), coloured by the predictor with the highest median r² against the
    network (:func:`best_predictor`), with that r² written in; ``tables`` as in :func:`plot_heatmaps`."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    best = best_predictor(tables)
    ns = list(tables)
    fams = list(dict.fromkeys(_family(k) for t in tables.values() for k in t))
    idx = np.array([[fams.index(_family(best[n, i])) for i in range(len(sigmas))] for n in ns])
    fig, ax = plt.subplots(figsize=(7.0, 0.5 * len(ns) + 1.6), layout="constrained")
    ax.imshow(idx, cmap=ListedColormap([PREDICTOR_COLORS[f] for f in fams]), vmin=-0.5,
              vmax=len(fams) - 0.5, aspect="auto")
    for (r, c), _ in np.ndenumerate(idx):
        name = best[ns[r], c]
        ax.text(c, r, f"{SHORT_NAMES[_family(name)]}\nr² = {np.median(tables[ns[r]][name][c]):.2f}",
                ha="center", va="center", fontsize=9)
    ax.set_xticks(range(len(sigmas)), [f"{s:g}" for s in sigmas])
    ax.set_yticks(range(len(ns)), [f"N = {n}" for n in ns])
    ax.set_xlabel("noise level σ")
    ax.set_ylabel("training-set size")
    ax.grid(False)
    fig.legend(handles=[Patch(color=PREDICTOR_COLORS[f], label=f) for f in fams], loc="outside lower center",
               ncols=min(len(fams), 3), title="best predictor of the network (median r²)")
    return fig


def plot_outputs(net: Callable, preds: Mapping[str, Callable], x: torch.Tensor, sigma: float, *, seed: int = 0):
    """One held-out image ``x`` (1, C, H, W): clean, noisy at ``sigma``, the network's output and every
    predictor's, each predictor titled with its r² against the network (two rows, shared [0, 1] scale)."""
    from .plots import show_images

    g = runtime.generator(seed)
    y = x + sigma * torch.randn(x.shape, generator=g)
    out_net = net(y, sigma).float()
    imgs, titles = [x, y, out_net], ["clean", f"noisy, σ = {sigma:g}", "network"]
    for k, p in preds.items():
        out = p(y, sigma).float()
        imgs.append(out)
        titles.append(f"{SHORT_NAMES[_family(k)]}\nr² = {float(predictors.r2(out, out_net)[0]):.2f}")
    ncol = math.ceil(len(imgs) / 2)
    return show_images(torch.cat(imgs).clamp(-0.5, 1.5), nrow=2, titles=titles, scale=min(1.6, 7.0 / ncol))


def plot_samples(agree: Mapping[int, tuple], *, per_row: int = 6):
    """The samples of :func:`sample_agreement` for each N: one block per N, one row per denoiser (the
    network first), ``per_row`` samples from the same noise across each block's rows; [0, 1] grey scale."""
    import matplotlib.pyplot as plt

    sizes = list(agree)
    names = list(agree[sizes[0]][0])
    side = 0.75
    fig = plt.figure(figsize=(min(7.0, side * per_row + 1.0), (side * len(names) + 0.35) * len(sizes)),
                     layout="constrained")
    for sub, n in zip(np.atleast_1d(fig.subfigures(len(sizes), 1)), sizes):
        samples, _ = agree[n]
        axes = sub.subplots(len(names), per_row, squeeze=False)
        for r, k in enumerate(names):
            for c in range(per_row):
                a = axes[r, c]
                a.imshow(samples[k][c].float().squeeze(0).numpy(), vmin=0, vmax=1, cmap="gray")
                a.set_xticks([])
                a.set_yticks([])
                a.grid(False)
                for sp in a.spines.values():
                    sp.set_visible(False)
            axes[r, 0].set_ylabel(SHORT_NAMES.get(k, k), fontsize=9, rotation=0, ha="right", va="center")
        sub.suptitle(f"N = {n}", fontsize=10)
    return fig


__all__ = ["explained", "with_network_sigma", "sample_agreement", "plot_heatmaps", "best_predictor", "median_r2",
           "best_table", "plot_best_predictor", "plot_outputs", "plot_samples", "PREDICTOR_COLORS"]

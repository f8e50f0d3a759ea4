"""The figures of chapter 3 (Li, Dai & Qu, NeurIPS 2024): each function draws one figure from measured
arrays and returns it, sized for the page column (:func:`gendiff.plots.subplots`, ≤ 3 panels per row,
no text below 9 pt). Seed spreads are drawn as bands (min–max over seeds) around the median.
"""
from __future__ import annotations

import numpy as np
import torch

from . import plots
from .gaussian_linear import alignment_matrix

C = plots.COLORS


def theorem1(history: dict, sigmas) -> object:
    """‖W − W_G‖_F/‖W_G‖_F of the DSM-trained affine denoisers against the Adam step, one curve per σ."""
    fig, ax = plots.subplots(height=3.0, width=5.5)
    h = np.array(history["weight_nmse"])
    for k, s in enumerate(sigmas):
        ax.plot(history["step"], h[:, k], label=f"σ = {s:.3g}")
    ax.set_yscale("log"); ax.set_xlabel("Adam step"); ax.set_ylabel("‖W − W_G‖_F / ‖W_G‖_F")
    ax.legend()
    return fig


def _band(ax, x, Y, **kw):
    """Median over the rows of Y (seeds) as a line, min–max as a band."""
    line, = ax.plot(x, np.median(Y, 0), "o-", ms=3, **kw)
    ax.fill_between(x, Y.min(0), Y.max(0), alpha=0.2, color=line.get_color())
    return line


def size_sweep(sizes, GL, CP, rmse, sig, d: int, gl_gauss: float) -> object:
    """Three panels against N: GL score and copy share (median and seed range; dotted line N = d), and
    RMSE(D_θ, D_G) against σ for each N. ``GL``, ``CP``: (sizes, seeds); ``rmse``: N → (seeds, σ)."""
    fig, axes = plots.subplots(1, 3, height=2.9)
    for ax, Y, lab in ((axes[0], GL, "GL score (eq. 14)"), (axes[1], CP, "share of copies")):
        med = np.median(Y, 1)
        ax.errorbar(sizes, med, yerr=[med - Y.min(1), Y.max(1) - med], fmt="o-", capsize=3,
                    color=C["network"], label="network")
        ax.axvline(d, color="0.6", ls=":", lw=1)
        ax.set_xscale("log"); ax.set_xlabel("training-set size N"); ax.set_ylabel(lab)
    axes[0].axhline(gl_gauss, color=C["gaussian"], ls="--", lw=1, label="Gaussian model")
    axes[0].legend(loc="lower right")
    for n in sizes:
        _band(axes[2], sig, np.asarray(rmse[n]), label=f"N = {n}")
    axes[2].set_xscale("log"); axes[2].set_xlabel("noise level σ"); axes[2].set_ylabel("RMSE(D_θ, D_G)")
    axes[2].legend(loc="upper left")
    return fig


def linearity(sig, ls: dict) -> object:
    """Linearity score against σ, one band per training-set size (``ls``: N → (seeds, σ))."""
    fig, ax = plots.subplots(height=3.0, width=5.5)
    for n, L in ls.items():
        _band(ax, sig, np.asarray(L), label=f"N = {n}")
    ax.set_xscale("log"); ax.set_xlabel("noise level σ"); ax.set_ylabel("linearity score")
    ax.legend()
    return fig


def distances(sig, rmse: dict) -> object:
    """The score-field distances between network θ, linear L, Gaussian G and multi-delta M against σ."""
    styles = {"θ vs G": dict(color=C["gaussian"]), "θ vs L": dict(color=C["linear"]),
              "L vs G": dict(color="k", ls="--"), "θ vs M": dict(color=C["empirical"])}
    fig, ax = plots.subplots(height=3.0, width=5.5)
    plots.curves(sig, rmse, xlabel="noise level σ", ylabel="RMSE (pixel units, range 2)", logx=True,
                 styles=styles, ax=ax)
    return fig


def linear_vs_gaussian(sig, LG: dict, colors: dict, bound: float = 0.05) -> object:
    """RMSE(D_L, D_G) against σ for every seed of each N (``LG``: N → (seeds, σ)), the paper's bound and
    the intermediate regime 0.1 < σ < 20 shaded."""
    fig, ax = plots.subplots(height=3.0, width=5.5)
    for n, Y in LG.items():
        for j, y in enumerate(Y):
            ax.plot(sig, y, "o-", ms=3, color=colors[n], alpha=0.8, label=f"N = {n}" if j == 0 else None)
    ax.axhline(bound, color="0.4", ls=":", lw=1, label=f"paper's bound {bound}")
    ax.axvspan(0.1, 20, color="0.9", zorder=0, label="intermediate σ")
    ax.set_xscale("log"); ax.set_xlabel("noise level σ"); ax.set_ylabel("RMSE(D_L, D_G)")
    ax.legend()
    return fig


def weights(adam: dict, lstsq_nmse: dict, sig, WN, OV) -> object:
    """Left: Adam distillation ‖W − W_G‖/‖W_G‖ against the step (``adam``: σ → DistillResult), dotted
    the exact least-squares value (``lstsq_nmse``: σ → value). Right: weight similarity and top-5
    subspace overlap against σ, every seed (``WN``, ``OV``: (seeds, σ))."""
    fig, axes = plots.subplots(1, 2, height=3.0)
    for s, r in adam.items():
        line, = axes[0].plot(r.history["step"], r.history["weight_nmse"], label=f"σ = {s:.3g}")
        axes[0].axhline(lstsq_nmse[s], color=line.get_color(), ls=":", lw=1)
    axes[0].set_xlabel("Adam step"); axes[0].set_ylabel("‖W − W_G‖_F / ‖W_G‖_F")
    axes[0].set_ylim(0, 1.05); axes[0].legend()
    for j in range(len(WN)):
        axes[1].plot(sig, WN[j], "o-", ms=3, color=C["linear"], label="‖W − W_G‖/‖W_G‖" if j == 0 else None)
        axes[1].plot(sig, OV[j], "s-", ms=3, color=C["gaussian"], label="top-5 overlap" if j == 0 else None)
    axes[1].axhline(0.2, color="0.4", ls=":", lw=1)
    axes[1].set_xscale("log"); axes[1].set_yscale("log"); axes[1].set_xlabel("noise level σ")
    axes[1].legend(loc="lower left")
    return fig


def alignment(fits: dict, DG, show_sig, k_show: int = 20) -> object:
    """Top row: |U_Lᵀ U| of the distilled W_σ against the principal components; bottom row: singular
    values of W_σ against the shrinkage profile λ_k/(λ_k + σ²), one column per σ of ``show_sig``."""
    fig, axes = plots.subplots(2, len(show_sig), height=2.4)
    for j, s in enumerate(show_sig):
        W = fits[s].W
        axes[0, j].imshow(alignment_matrix(W, DG.eigvecs, k_show), vmin=0, vmax=1, cmap="viridis")
        axes[0, j].grid(False); axes[0, j].set_title(f"σ = {s:.3g}"); axes[0, j].set_xlabel("PC k")
        axes[1, j].plot(DG.shrinkage(s)[:k_show], "k-", label="λ/(λ+σ²)")
        axes[1, j].plot(torch.linalg.svdvals(W)[:k_show], "o", ms=3, color=C["linear"], label="s.v. of W")
        axes[1, j].set_xlabel("index k"); axes[1, j].set_ylim(-0.05, 1.05)
    axes[0, 0].set_ylabel("singular vector"); axes[1, 0].set_ylabel("gain")
    axes[1, -1].legend(loc="lower left")
    return fig


def width_sweep(sig, curves: dict, gl: dict, mark_sigma: float) -> object:
    """RMSE(D_θ, D_G) against σ for each width c (``curves``: c → per-σ values, ``gl``: c → GL)."""
    fig, ax = plots.subplots(height=3.0, width=5.5)
    for c, r in curves.items():
        ax.plot(sig, r, "o-", ms=3, label=f"c = {c} (GL {gl[c]:.2f})")
    ax.axvline(mark_sigma, color="0.6", lw=0.8, ls=":")
    ax.set_xscale("log"); ax.set_xlabel("noise level σ"); ax.set_ylabel("RMSE(D_θ, D_G)")
    ax.legend()
    return fig


def dynamics(steps, D_R, D_GL, early_step: int) -> object:
    """RMSE(D_θ, D_G) at σ = 0.47 (median and seed range) and the GL score (median, right axis) against
    the training step; dotted: the step of the median curve's minimum."""
    fig, ax = plots.subplots(height=3.0, width=5.5)
    line = _band(ax, steps, D_R, color=C["gaussian"], label="RMSE at σ = 0.47")
    ax.axvline(early_step, color="0.6", ls=":", lw=1)
    ax.set_xscale("log"); ax.set_xlabel("training step"); ax.set_ylabel("RMSE(D_θ, D_G) at σ = 0.47")
    ax2 = ax.twinx()
    gl, = ax2.plot(steps, np.median(D_GL, 0), "s--", color=C["empirical"], label="GL score (right)")
    ax2.set_ylabel("GL score"); ax2.grid(False); ax2.spines["right"].set_visible(True)
    ax.legend(handles=[line, gl], loc="upper center")
    return fig


def breaks(sizes, low_net, low_pred, rank, draws, p20: float) -> object:
    """Left: RMSE to D_G at σ = 0.002 against N, network (median of seeds) and the identity's prediction,
    annotated with rank Σ. Right: histogram of log₁₀ σ under the EDM training law."""
    fig, axes = plots.subplots(1, 2, height=3.0)
    axes[0].plot(sizes, low_pred, "k--", label="identity (prediction)")
    axes[0].plot(sizes, low_net, "o", color=C["gaussian"], label="network")
    for n, v, r in zip(sizes, low_net, rank):
        axes[0].annotate(f"rank {r}", (n, v), textcoords="offset points", xytext=(4, 4), fontsize=9)
    axes[0].set_xscale("log"); axes[0].set_xlabel("training-set size N")
    axes[0].set_ylabel("RMSE(D, D_G) at σ = 0.002"); axes[0].legend(loc="lower left")
    axes[1].hist(np.log10(np.asarray(draws)), bins=80, range=(-3, 2), histtype="step", density=True,
                 label=f"P(σ > 20) = {p20:.1e}")
    axes[1].set_xlabel("log₁₀ σ of training draws"); axes[1].set_ylabel("density")
    axes[1].legend(loc="upper left")
    return fig


def denoiser_panel(x, z, denoisers: dict, sigma: float, reference: str = "network") -> object:
    """The clean image ``x`` (1, C, H, W), its noisy version x + σz and each denoiser's output, titled with
    its RMSE to the ``reference`` denoiser's output."""
    y = x + sigma * z
    with torch.no_grad():
        outs = {k: D(y, sigma) for k, D in denoisers.items()}
    err = {k: float((v - outs[reference]).pow(2).mean().sqrt()) for k, v in outs.items()}
    titles = ["clean", f"noisy\nσ = {sigma:.3g}"] + [f"{k}\nRMSE {err[k]:.3f}" for k in outs]
    return plots.show_images(torch.cat([x, y.clamp(-1, 1)] + list(outs.values())), nrow=1, vmin=-1,
                             vmax=1, titles=titles, scale=1.4)

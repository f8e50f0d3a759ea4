"""MoLRG, Chapter 4: the chapter's figures.

Every function returns a figure sized for the page column (:func:`gendiff.plots.subplots`, at most
:data:`gendiff.plots.FIG_WIDTH` inches wide, three panels a row, no text below 9 pt) and never calls
``plt.show()``. Success means a subspace error below 0.5 (§3 of the chapter); the figures draw what
:mod:`gendiff.molrg_checks` measured.
"""
from __future__ import annotations

import itertools

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.lines import Line2D

from . import plots
from .molrg_checks import success


def mc_check(mc: dict, energy: torch.Tensor, off: torch.Tensor):
    """§1: closed form vs Monte Carlo (error and 4 standard errors per σ); the exact-score samples'
    energy in the two subspaces; their distance to the union of subspaces."""
    fig, ax = plots.subplots(1, 3, height=2.6)
    sig = [str(s) for s in mc["err"]]
    ax[0].bar(sig, list(mc["err"].values()), color="C0", label="error")
    ax[0].plot(sig, [4 * v for v in mc["se"].values()], "k_", ms=16, mew=2, label="4 s.e.")
    ax[0].set(xlabel="noise level σ", ylabel="max relative error", yscale="log",
              title="closed form vs MC")
    ax[0].legend()
    comp = energy.argmax(1)
    ax[1].scatter(energy[:, 0].sqrt(), energy[:, 1].sqrt(), s=5, c=comp, cmap="coolwarm")
    ax[1].set(xlabel="‖U₁ᵀx‖", ylabel="‖U₂ᵀx‖", title=f"{len(off)} exact-score samples")
    ax[2].hist(off.clamp_min(1e-16).log10().numpy(), bins=30, color="C2")
    ax[2].set(xlabel="log₁₀ off-subspace ratio", ylabel="samples", title="distance to the union")
    return fig


def thm1(sigmas, rel: np.ndarray, names):
    """§2, Theorem 1: Monte-Carlo vs closed-form loss (ch04-thm1) for each basis; the weight 2a − a²."""
    fig, ax = plots.subplots(1, 2, height=3.0)
    for j, lab in enumerate(names):
        ax[0].semilogx(sigmas, 100 * rel[:, j], "o-", label=lab)
    ax[0].axhline(1, color="k", ls="--", lw=1, label="1 %")
    ax[0].set(xlabel="noise level σ", ylabel="|MC − closed form| / closed form (%)",
              title="Thm 1 identity (ch04-thm1)")
    ax[0].legend()
    ss = np.logspace(-2, 1, 40)
    ax[1].semilogx(ss, 2 / (1 + ss**2) - 1 / (1 + ss**2) ** 2)
    ax[1].set(xlabel="noise level σ", ylabel="2a − a²", title="weight of ‖Uᵀx‖² (> 0 for all σ)",
              ylim=(0, 1.05))
    return fig


def soft_hard_gap(sigmas, gap: dict):
    """§2, Theorem 3: relative gap between the soft-gate loss and the hard-max surrogate (ch04-thm3)."""
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    for name, v in gap.items():
        ax.semilogx(sigmas, 100 * np.abs(v), "o-", label=name)
    ax.axhline(1, color="k", ls="--", lw=1, label="1 %")
    ax.set(xlabel="noise level σ", ylabel="|soft − hard| / hard (%)",
           title="soft-gate loss vs hard-max surrogate")
    ax.legend()
    return fig


def heatmap(ax, err: torch.Tensor, d_list, N_list, title: str, xlabel: str = "N_k"):
    """Success rate of a (d, N, trials) sweep as an image, with the diagonal N = d."""
    im = ax.imshow(success(err).numpy(), origin="lower", aspect="auto", cmap="viridis", vmin=0, vmax=1,
                   extent=(N_list[0] - 0.5, N_list[-1] + 0.5, d_list[0] - 0.5, d_list[-1] + 0.5))
    ax.plot([d_list[0], d_list[-1]], [d_list[0], d_list[-1]], "w--", lw=1, label="N = d")
    ax.set(xlabel=xlabel, ylabel="subspace dimension d", title=title)
    ax.grid(False)
    return im


def phase(err_pca, err_km, err_km_rand, pca_d, pca_N, km_d, km_N, restarts: int):
    """§3: success heatmaps of PCA (K = 1) and K-subspaces (K = 2, spectral and random starts)."""
    fig, ax = plots.subplots(1, 3, height=2.8)
    heatmap(ax[0], err_pca, pca_d, pca_N, "K = 1: PCA", "N (samples)")
    heatmap(ax[1], err_km, km_d, km_N, "K = 2: spectral init", "N_k (per component)")
    im = heatmap(ax[2], err_km_rand, km_d, km_N, f"K = 2: best of {restarts} random",
                 "N_k (per component)")
    fig.colorbar(im, ax=ax, label="success rate")
    return fig


def dae_success(dae1: dict, dae_wide: dict, dae2: dict, dae2_single: dict, *, narrow, wide, d2: int,
                restarts: int):
    """§3: success rate of trained low-rank DAEs; K = 1 against N/d (colour = d, line style = σ range
    of training) and K = 2 against N_k (best of restarts vs a single start)."""
    fig, ax = plots.subplots(1, 2, height=3.0)
    for i, (d, r) in enumerate(dae1.items()):
        N = np.array(r["N"])
        ax[0].plot(N / d, success(r["err"]).numpy(), "o-", color=f"C{i}", label=f"d = {d}")
        if d in dae_wide:
            ax[0].plot(N / d, success(dae_wide[d]["err"]).numpy(), "x--", color=f"C{i}")
    ax[0].axvline(1, color="k", ls=":", lw=1)
    ax[0].set(xlabel="N / d", ylabel="success rate", title="K = 1: trained low-rank DAE")
    styles = [Line2D([], [], color="0.4", marker="o", ls="-"),
              Line2D([], [], color="0.4", marker="x", ls="--")]
    labels = [f"σ ∈ [{c.sigma_min:g}, {c.sigma_max:g}]" for c in (narrow, wide)]
    h, lab = ax[0].get_legend_handles_labels()
    ax[0].legend(h + styles, lab + labels, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    for r, lab in [(dae2, f"best of {restarts} restarts"), (dae2_single, "single random init")]:
        ax[1].plot(r["N"], success(r["err"]).numpy(), "o-", label=lab)
    ax[1].axvline(d2, color="k", ls=":", lw=1, label="N_k = d")
    ax[1].set(xlabel="N_k (per component)", ylabel="success rate", title=f"K = 2, d = {d2}")
    ax[1].legend()
    return fig


def noisy_rate(Ns, mean_err, far, eta: float, d: int):
    """§3: PCA error on noisy data against N, with the N^(−1/2) reference line."""
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    ax.loglog(Ns, mean_err, "o-", label="PCA error (mean)")
    ax.loglog(Ns[far], mean_err[far][0] * (Ns[far] / Ns[far][0]) ** -0.5, "k--", label="∝ N^(−1/2)")
    ax.set(xlabel="N (samples)", ylabel="‖ÛÛᵀ − U*U*ᵀ‖_F", title=f"noisy data, η = {eta}, d = {d}")
    ax.legend()
    return fig


def jacobian_rank(snr, rank: dict, n: int, K: int, d: int):
    """§4: numerical rank / n of each denoiser's Jacobian against SNR, with d/n and Kd/n marked."""
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    for (name, r), style in zip(rank.items(), ["o-", "x--", "s-"]):
        ax.semilogx(snr, r.numpy() / n, style, label=name, ms=6)
    for v, lab in [(d / n, "d/n"), (K * d / n, "Kd/n")]:
        ax.axhline(v, color="gray", ls=":", lw=1)
        ax.text(snr[-1], v + 0.01, lab, color="gray")
    ax.set(xlabel="SNR = 1/σ", ylabel="numerical rank / n",
           title=f"MoLRG (n = {n}, K = {K}, d = {d}): Jacobian rank")
    ax.invert_xaxis()
    ax.legend()
    return fig


def digit_rank(snr, rank_dig: dict):
    """§4: numerical rank / n of the digits MLPs' Jacobians, one curve per σ_data."""
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    for sd, r in rank_dig.items():
        ax.semilogx(snr, r.numpy(), "o-", label=f"σ_d = {sd}")
    ax.set(xlabel="SNR = 1/σ", ylabel="numerical rank / n", ylim=(0, 1.05),
           title="digits (n = 64): trained MLP denoisers")
    ax.invert_xaxis()
    ax.legend()
    return fig


def gl_curves(gl: dict, d_list, ratios, n: int):
    """§5: our GL score and the memorised fraction against N_k/d, one curve per d."""
    fig, ax = plots.subplots(1, 2, height=3.0)
    for d in d_list:
        ax[0].semilogx(ratios, [gl[d, r]["gl"] for r in ratios], "o-", label=f"d = {d}")
        ax[1].semilogx(ratios, [gl[d, r]["memorized"] for r in ratios], "o-", label=f"d = {d}")
    ax[0].set(xlabel="N_k / d", ylabel="GL score (ours)", title=f"U-Net on MoLRG (n = {n}, K = 2)",
              ylim=(-0.02, 1.02))
    ax[1].set(xlabel="N_k / d", ylabel="fraction memorised", title="memorisation", ylim=(-0.02, 1.02))
    ax[0].legend()
    return fig


def edits(D, y0: torch.Tensor, dirs: dict, sigma: float, alpha: float, title: str):
    """§6: D(y0 + c·v, σ) as 8×8 images, one row per direction v of ``dirs``, c ∈ {−α, 0, α}."""
    fig, ax = plt.subplots(len(dirs), 3, figsize=(4.5, 1.5 * len(dirs) + 0.5))
    for row, (name, v) in enumerate(dirs.items()):
        for col, c in enumerate((-alpha, 0.0, alpha)):
            with torch.no_grad():
                img = D(y0[None] + c * v[None], sigma)[0].reshape(8, 8)
            ax[row, col].imshow(img, cmap="gray", vmin=-1, vmax=1)
            ax[row, col].set_xticks([])
            ax[row, col].set_yticks([])
            if row == 0:
                ax[row, col].set_title(f"α = {c:+.0f}")
        ax[row, 0].set_ylabel(name)
    fig.suptitle(title)
    return fig


def explorer(U: torch.Tensor, Uh: torch.Tensor, err: float, heat, d_list, N_list, N: int, d: int):
    """§7: cosines of the principal angles between the recovered and the true subspaces (components
    matched by the permutation with the largest overlap), next to the success heatmap with (N, d)."""
    K = U.shape[1]
    fig, ax = plots.subplots(1, 2, height=2.9)
    ov = torch.stack([torch.stack([(U[0, k].T @ Uh[0, m]).norm() for m in range(K)])
                      for k in range(K)])
    perm = max(itertools.permutations(range(K)),
               key=lambda p: sum(float(ov[k, p[k]]) for k in range(K)))
    for k in range(K):
        cos = torch.linalg.svdvals(U[0, k].T @ Uh[0, perm[k]]).numpy()
        ax[0].bar(np.arange(d) + 0.4 * k, cos, width=0.4, label=f"component {k + 1}")
    verdict = "success" if err < 0.5 else "failure"
    ax[0].set(xlabel="principal angle index", ylabel="cos θ", ylim=(0, 1.05),
              title=f"K = {K}, N_k = {N}, d = {d}\nerror {err:.2f} ({verdict})")
    if K > 1:
        ax[0].set_ylim(0, 1.3)
        ax[0].legend(loc="upper center", ncol=K)
    inside = d in d_list and N in N_list
    heatmap(ax[1], heat, d_list, N_list, "success rate" + ("" if inside else " (outside)"),
            "N_k (per component)")
    if inside:
        ax[1].plot([N], [d], "rs", ms=12, mfc="none", mew=2)
    return fig

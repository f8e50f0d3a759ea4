"""Plot helpers of chapter 1's harmonic analysis (:mod:`gendiff.harmonic`, which re-exports them): the
Jacobian spectrum λ_k with the clean image's coefficients |⟨x, e_k⟩| (paper Fig. 3, eq. 4), eigenvectors as
images, the one-image shrinkage view behind the chapter's explorer, and the figures of the chapter's
§3–§4: spectra and effective dimension, the negative tail of a briefly trained network, the PSNR slopes
on Cα images (optimal slope α/(α+1), paper §3.2) and the edge-band energy of eigenvectors. ``ax=None``
makes a figure; every figure is at most 7 in wide with at most three panels per row, it is returned, and
nothing calls ``plt.show()``.
"""
from __future__ import annotations

import numpy as np
import torch

from . import plots


# ----------------------------------------------------------------------------------------------------
# plots
# ----------------------------------------------------------------------------------------------------
def plot_spectrum(lam, coef_x=None, *, ax=None, label: str = "", color=None, sigma: float | None = None):
    """λ_k (left axis) and, if given, the clean image's |⟨x, e_k⟩| (dots, right axis) against k (Fig. 3)."""
    import matplotlib.pyplot as plt

    fig, ax = (plt.subplots() if ax is None else (ax.figure, ax))
    lam = plots._np(lam)
    k = np.arange(len(lam))
    ax.plot(k, lam, color=color, lw=1.5, label=f"λ_k {label}".strip())
    ax.set_xlabel("k (eigenvector index)")
    ax.set_ylabel("eigenvalue λ_k")
    ax.axhline(0.5, color="0.6", lw=0.8, ls=":")
    if coef_x is not None:
        ax2 = ax.twinx()
        ax2.plot(k, np.abs(plots._np(coef_x)), ".", ms=2, color=color or "0.3", alpha=0.5)
        ax2.set_ylabel("|⟨x, e_k⟩|")
        ax2.set_yscale("log")
        ax2.grid(False)
    if sigma is not None:
        ax.set_title(f"σ = {sigma:g}")
    return fig


def plot_eigvecs(E: torch.Tensor, ks, size: int, *, lam=None, ax=None, title: str | None = None,
                 notes=None):
    """Eigenvectors e_k (columns of ``E`` (d, d)) for k in ``ks``, as images on one symmetric scale;
    ``notes`` adds one more title line per image."""
    vecs = torch.stack([E[:, k] for k in ks]).reshape(len(ks), 1, size, size)
    titles = [f"k={k}" + (f"\nλ={float(lam[k]):.2f}" if lam is not None else "") for k in ks]
    if notes is not None:
        titles = [f"{t}\n{n}" for t, n in zip(titles, notes)]
    v = plots.symmetric_range(vecs)
    fig = plots.show_images(vecs, titles=titles, vmin=-v, vmax=v, ax=ax, nrow=1, title=title, cmap="RdBu_r")
    if ax is not None and title:
        lines = 1 + (lam is not None) + (notes is not None)
        ax.set_title(title, pad=13 * lines)  # above the per-image titles
    return fig


def plot_shrinkage(D, x: torch.Tensor, sigma: float, *, seed: int = 0, n_vec: int = 6):
    """One noisy image: clean, noisy and denoised images, λ_k with |⟨x, e_k⟩|, and the top ``n_vec``
    eigenvectors: the static figure behind the chapter's explorer. ``x`` (1, C, H, W)."""
    import matplotlib.pyplot as plt
    from . import runtime

    from .harmonic import shrinkage_analysis

    res = shrinkage_analysis(D, x, sigma, generator=runtime.generator(seed))
    size = x.shape[-1]
    fig = plt.figure(figsize=(7.0, 3.0))
    gs = fig.add_gridspec(2, max(n_vec, 6))
    for j, (im, t) in enumerate([(x, "clean x"), (res.y, "noisy y"), (res.f, "f(y)")]):
        a = fig.add_subplot(gs[0, j])
        a.imshow(plots._np(im)[0, 0], vmin=0, vmax=1, cmap="gray")
        a.set_title(t, fontsize=9); a.set_xticks([]); a.set_yticks([]); a.grid(False)
    a = fig.add_subplot(gs[0, 3:])
    plot_spectrum(res.lam[0], res.coef_x[0], ax=a)
    a.set_title(f"σ = {sigma:g}: tr J = {float(res.trace[0]):.1f}, "
                f"#λ>0.5 = {int(res.n_above()[0])} of {res.lam.shape[1]}", fontsize=9)
    ev = res.E[0][:, :n_vec].T.reshape(n_vec, size, size)
    v = plots.symmetric_range(ev)
    for j in range(n_vec):
        a = fig.add_subplot(gs[1, j])
        a.imshow(plots._np(ev[j]), vmin=-v, vmax=v, cmap="RdBu_r")
        a.set_title(f"e_{j}, λ={float(res.lam[0, j]):.2f}", fontsize=9)
        a.set_xticks([]); a.set_yticks([]); a.grid(False)
    return fig


def _legend_below(fig, axes, ncol: int = 3):
    """One legend for several panels, below them (each label once)."""
    seen = {}
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(lab, h)
    fig.legend(list(seen.values()), list(seen), loc="outside lower center", ncol=ncol)


def spectra(res: dict, dims: dict, dim_sigmas, colors: dict, *, sigma: float):
    """Paper Fig. 3 in three panels, one colour per network (``res``: name → :class:`Shrinkage`):
    the mean λ_k, the first clean image's |⟨x, e_k⟩| (log scale) and tr J = Σ λ_k against σ."""
    fig, axes = plots.subplots(1, 3, height=2.6)
    for name, r in res.items():
        axes[0].plot(r.lam.mean(0).numpy(), color=colors[name], label=name)
        axes[1].semilogy(r.coef_x[0].abs().numpy(), ".", ms=3, color=colors[name], alpha=0.7)
        axes[2].plot(dim_sigmas, dims[name], "o-", color=colors[name])
    axes[0].axhline(0.5, color="0.6", ls=":", lw=1)
    axes[0].set(xlabel="k", ylabel="λ_k (mean over images)", title=f"shrinkage, σ = {sigma}")
    axes[1].set(xlabel="k", ylabel="|⟨x, e_k⟩|", title="clean image's coefficients")
    axes[2].set(xlabel="σ", ylabel="tr J = Σ λ_k", xscale="log", title="effective dimension")
    axes[2].set_xticks(dim_sigmas, [f"{s:g}" for s in dim_sigmas], minor=False)
    axes[2].xaxis.set_minor_formatter("")
    _legend_below(fig, axes, ncol=2)
    return fig


def eigvec_rows(rows, ks, size: int, *, height: float = 1.6):
    """One row of eigenvector images per ``(E (d, d), lam (d,), title)`` in ``rows``, at indices ``ks``."""
    fig, axes = plots.subplots(len(rows), 1, height=height, squeeze=False)
    for ax, (E, lam, title) in zip(axes[:, 0], rows):
        plot_eigvecs(E, ks, size, lam=lam, ax=ax, title=title)
    return fig


def negative_tail(curves: dict, *, sigma: float):
    """Mean λ_k against k for several networks (``curves``: label → (λ (B, d), colour)), with the band
    [−0.05, 1.3] that the chapter's claim allows shaded."""
    fig, ax = plots.subplots(1, 1, width=6.0, height=3.2)
    for label, (lam, color) in curves.items():
        ax.plot(lam.mean(0).numpy(), color=color, label=label)
    ax.axhspan(-0.05, 1.3, color="0.92", zorder=0, label="[−0.05, 1.3]")
    ax.axhline(0, color="0.5", lw=0.8)
    ax.set(xlabel="k", ylabel="λ_k (mean over images)",
           title=f"the negative tail shrinks with training (σ = {sigma})")
    ax.legend()
    return fig


def psnr_slopes(in_psnr, out: dict, slopes: dict, slope_range):
    """Output vs input PSNR of one network per α (``out``: α → curve), each with a dashed line of the
    optimal slope α/(α+1) through the centre of the fit range (shaded)."""
    from .harmonic import optimal_calpha_slope

    fig, ax = plots.subplots(1, 1, width=7.0, height=3.4)
    lo, hi = slope_range
    m = (in_psnr >= lo) & (in_psnr <= hi)
    for i, (a, curve) in enumerate(out.items()):
        c, opt = plots.OKABE_ITO[i], optimal_calpha_slope(a)
        ax.plot(in_psnr, curve, "o-", ms=3, color=c, label=f"α={a:g}: slope {slopes[a]:.2f}")
        xc, yc = in_psnr[m].mean(), curve[m].mean()
        ax.plot(in_psnr[m], yc + opt * (in_psnr[m] - xc), "--", color=c, lw=1,
                label=f"optimal {opt:.2f}")
    plots.psnr_axes(ax, lo=0, hi=40)
    ax.axvspan(lo, hi, color="0.9", zorder=0)
    ax.set_title("PSNR slopes (grey: fit range)")
    fig.legend(*ax.get_legend_handles_labels(), loc="outside right upper")
    return fig


def band_ratios(curves, *, level: float, sigma: float, top: int = 20):
    """Edge-band energy over band area of e_k against k (:func:`gendiff.harmonic.band_energy_ratio`):
    ``curves`` is a list of ``(label, ratios (B, K), plot keywords)``; the random-basis level 1 and the
    claim's ``level`` as lines, the first ``top`` eigenvectors shaded. Legend below the axes."""
    fig, ax = plots.subplots(1, 1, width=7.0, height=4.2)
    for label, ratio, kw in curves:
        ax.plot(ratio.mean(0).numpy(), ms=3, label=label, **kw)
    ax.axhline(1, color="0.5", ls=":", label="random basis")
    ax.axhline(level, color="0.3", ls="--", lw=1, label=f"(1 + oracle)/2, the claim's level (top {top})")
    ax.axvspan(-0.5, top - 0.5, color="0.93", zorder=0)
    ax.set(xlabel="k", ylabel="edge-band energy / band area",
           title=f"how much e_k lives on the contour (σ = {sigma})")
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=2)
    return fig


def disk_spectra(res: dict, overlaps: dict, in_psnr, out_psnr, d: int, *, n_lam: int = 30):
    """Paper Fig. 5 in three panels: the mean λ_k of the disk network at each σ (``res``: σ →
    :class:`Shrinkage`), the overlap ‖P_T e_k‖² of e_k with the true 5-dimensional tangent space
    (``overlaps``: σ → (B, K)), and output PSNR against the manifold optimum PSNR_in + 10 log₁₀(d/5)."""
    from .harmonic import manifold_optimal_psnr

    fig, axes = plots.subplots(1, 3, height=2.6)
    for i, (s, r) in enumerate(res.items()):
        kw = {"ms": 3, "color": plots.OKABE_ITO[i], "label": f"σ = {s}"}
        axes[0].plot(np.arange(1, n_lam + 1), r.lam[:, :n_lam].mean(0).numpy(), "o-", **kw)
        ov = overlaps[s].mean(0).numpy()
        axes[1].plot(np.arange(1, len(ov) + 1), ov, "o-", **kw)
    for ax in axes[:2]:
        ax.axvline(5.5, color="0.6", ls=":")
    axes[1].axhline(5 / d, color="0.6", ls="--", label="random direction")
    axes[0].set(xlabel="k", ylabel="λ_k", title="eigenvalues")
    axes[1].set(xlabel="k", ylabel="‖P_T e_k‖²", title="overlap with tangent space")
    axes[2].plot(in_psnr, out_psnr, "o-", ms=3, color=plots.COLORS["network"], label="network")
    axes[2].plot(in_psnr, manifold_optimal_psnr(in_psnr, 5, d), "--", color=plots.COLORS["theory"],
                 label="manifold optimum")
    plots.psnr_axes(axes[2], lo=0, hi=40)
    axes[2].set_title("denoising disks")
    _legend_below(fig, axes, ncol=4)
    return fig

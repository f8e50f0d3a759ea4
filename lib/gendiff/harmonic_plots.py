"""Plot helpers of chapter 1's harmonic analysis (:mod:`gendiff.harmonic`, which re-exports them): the
Jacobian spectrum λ_k with the clean image's coefficients |⟨x, e_k⟩| (paper Fig. 3, eq. 4), eigenvectors as
images, and the one-image shrinkage view behind the chapter's explorer. ``ax=None`` makes a figure; the
figure is returned and nothing calls ``plt.show()``.
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


def plot_eigvecs(E: torch.Tensor, ks, size: int, *, lam=None, ax=None, title: str | None = None):
    """Eigenvectors e_k (columns of ``E`` (d, d)) for k in ``ks``, as images on one symmetric scale."""
    vecs = torch.stack([E[:, k] for k in ks]).reshape(len(ks), 1, size, size)
    titles = [f"k={k}" + (f"\nλ={float(lam[k]):.2f}" if lam is not None else "") for k in ks]
    v = plots.symmetric_range(vecs)
    fig = plots.show_images(vecs, titles=titles, vmin=-v, vmax=v, ax=ax, nrow=1, title=title, cmap="RdBu_r")
    if ax is not None and title:
        ax.set_title(title, pad=26)          # above the per-image titles
    return fig


def plot_shrinkage(D, x: torch.Tensor, sigma: float, *, seed: int = 0, n_vec: int = 6):
    """One noisy image: clean, noisy and denoised images, λ_k with |⟨x, e_k⟩|, and the top ``n_vec``
    eigenvectors: the static figure behind the chapter's explorer. ``x`` (1, C, H, W)."""
    import matplotlib.pyplot as plt
    from . import runtime

    from .harmonic import shrinkage_analysis

    res = shrinkage_analysis(D, x, sigma, generator=runtime.generator(seed))
    size = x.shape[-1]
    fig = plt.figure(figsize=(10, 4.2))
    gs = fig.add_gridspec(2, max(n_vec, 3) + 3)
    for j, (im, t) in enumerate([(x, "clean x"), (res.y, f"noisy y (σ={sigma:g})"), (res.f, "f(y)")]):
        a = fig.add_subplot(gs[0, j])
        a.imshow(plots._np(im)[0, 0], vmin=0, vmax=1, cmap="gray")
        a.set_title(t, fontsize=8); a.set_xticks([]); a.set_yticks([]); a.grid(False)
    a = fig.add_subplot(gs[0, 3:])
    plot_spectrum(res.lam[0], res.coef_x[0], ax=a)
    a.set_title(f"tr J = {float(res.trace[0]):.1f},  #λ>0.5 = {int(res.n_above()[0])} of {res.lam.shape[1]}")
    ev = res.E[0][:, :n_vec].T.reshape(n_vec, size, size)
    v = plots.symmetric_range(ev)
    for j in range(n_vec):
        a = fig.add_subplot(gs[1, j])
        a.imshow(plots._np(ev[j]), vmin=-v, vmax=v, cmap="RdBu_r")
        a.set_title(f"e_{j}  λ={float(res.lam[0, j]):.2f}", fontsize=8); a.set_xticks([]); a.set_yticks([])
        a.grid(False)
    return fig

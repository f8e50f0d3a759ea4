"""The book's figure style and plot helpers.

Every helper takes ``ax=None`` (a new figure is made if none is given) and returns the figure; none calls
``plt.show()``. Colours come from the Okabe–Ito palette (colour-blind safe); :data:`COLORS` maps the
book's recurring roles to one colour each, so the same colour means the same thing in every chapter.
Image grids share one intensity scale (``vmin``/``vmax``), stated in the colour bar or caption.

Sizing for the page column: figures are at most :data:`FIG_WIDTH` inches wide and are drawn at
``figure.dpi`` = 150, with no text below 9 pt. The book's column is about 750 CSS px wide at a desktop
width, so a 7-inch figure (1,050 px) is shown at ≈ 0.7 of its natural size and its smallest label at
≈ 9 × 150/72 × 0.7 ≈ 13 px ≈ 10 pt. The browser test fails any figure shown below
``tests/test_browser.py``'s ``MIN_FIGURE_SCALE`` (0.6, i.e. 9-pt labels at ≥ 8 pt on screen). Use
:func:`subplots` for a row of panels: it always makes the figure :data:`FIG_WIDTH` wide.
"""
from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import torch

from . import runtime

OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
COLORS = {
    "train": "#0072B2", "test": "#D55E00", "network": "#0072B2", "gaussian": "#009E73",
    "empirical": "#D55E00", "linear": "#E69F00", "theory": "#000000", "model_a": "#0072B2",
    "model_b": "#E69F00", "nearest": "#CC79A7",
}
FIG_WIDTH = 7.0          # inches: the widest figure the page column shows at a legible scale
MAX_PANELS_PER_ROW = 3   # more panels per row than this shrink labels below legibility at FIG_WIDTH
STYLE = {
    "figure.figsize": (FIG_WIDTH * 0.75, 3.2), "figure.dpi": 150, "savefig.dpi": 150,
    "figure.constrained_layout.use": True, "xtick.labelsize": 9, "ytick.labelsize": 9,
    "axes.prop_cycle": mpl.cycler(color=OKABE_ITO), "axes.grid": True, "grid.alpha": 0.3,
    "axes.spines.top": False, "axes.spines.right": False, "font.size": 10, "axes.titlesize": 10,
    "axes.labelsize": 10, "legend.fontsize": 9, "legend.frameon": False, "image.cmap": "gray",
    "image.interpolation": "nearest",
}


def use_style() -> None:
    """Apply the book's matplotlib style (call once in a chapter's setup cell)."""
    mpl.rcParams.update(STYLE)


def subplots(nrows: int = 1, ncols: int = 1, *, height: float | None = None, width: float = FIG_WIDTH,
             **kw):
    """``plt.subplots`` sized for the page column: ``width`` ≤ :data:`FIG_WIDTH` inches, ``height`` per row
    (default: square-ish panels, at most 3 in). More than :data:`MAX_PANELS_PER_ROW` columns is an error:
    split the figure into rows instead."""
    if ncols > MAX_PANELS_PER_ROW:
        raise ValueError(f"{ncols} panels in a row: at most {MAX_PANELS_PER_ROW} stay legible in the page "
                         f"column; use nrows")
    width = min(width, FIG_WIDTH)
    height = height if height is not None else min(3.0, 0.85 * width / ncols)
    return plt.subplots(nrows, ncols, figsize=(width, height * nrows), **kw)


def _np(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().float().numpy()
    return np.asarray(x)


def show_images(images, *, nrow: int | None = None, titles=None, vmin: float | None = 0.0, vmax: float | None = 1.0,
                ax=None, cmap: str = "gray", title: str | None = None, scale: float = 1.1, colorbar: bool = False,
                row_labels=None):
    """A grid of images ``(B, C, H, W)`` / ``(B, H, W)`` with one shared intensity scale.

    ``vmin``/``vmax`` default to [0, 1] (the book's intensity range); pass ``None`` for both to use the
    images' joint min/max (still shared). Eigenvectors and other signed images: use a symmetric range.
    """
    imgs = _np(images)
    if imgs.ndim == 4:
        imgs = imgs[:, 0] if imgs.shape[1] == 1 else imgs.transpose(0, 2, 3, 1)
    B = imgs.shape[0]
    nrow = nrow or int(np.ceil(B / min(B, 8)))
    ncol = int(np.ceil(B / nrow))
    if vmin is None and vmax is None:
        vmin, vmax = float(imgs.min()), float(imgs.max())
    if ax is None:
        scale = min(scale, FIG_WIDTH / ncol)            # the grid fits the page column
        fig, axes = plt.subplots(nrow, ncol, figsize=(scale * ncol, scale * nrow + (0.3 if title else 0)),
                                 squeeze=False)
    else:
        fig = ax.figure
        ax.axis("off")
        gs = ax.get_subplotspec().subgridspec(nrow, ncol, wspace=0.05, hspace=0.05)
        axes = np.array([[fig.add_subplot(gs[i, j]) for j in range(ncol)] for i in range(nrow)])
    im = None
    for k, a in enumerate(axes.flat):
        a.set_xticks([]); a.set_yticks([]); a.grid(False)
        for s in a.spines.values():
            s.set_visible(False)
        if k < B:
            im = a.imshow(imgs[k], vmin=vmin, vmax=vmax, cmap=cmap)
            if titles is not None:
                a.set_title(str(titles[k]), fontsize=9, pad=2)
    if row_labels is not None:
        for i, lab in enumerate(row_labels):
            axes[i, 0].set_ylabel(str(lab), fontsize=9)
    if title:
        (fig.suptitle if ax is None else ax.set_title)(title)
    if colorbar and im is not None:
        fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.8)
    return fig


def curves(x, ys: dict, *, xlabel: str, ylabel: str, ax=None, title: str | None = None, logx: bool = False,
           logy: bool = False, styles: dict | None = None, markers: bool = True, legend: bool = True):
    """Several curves y(x) with a legend: ``ys`` maps label → values (or label → (x, values))."""
    fig, ax = (plt.subplots() if ax is None else (ax.figure, ax))
    for i, (label, y) in enumerate(ys.items()):
        xx, yy = (y if isinstance(y, tuple) else (x, y))
        kw = dict(marker="o" if markers else None, ms=3, lw=1.5)
        kw.update((styles or {}).get(label, {}))
        ax.plot(_np(xx), _np(yy), label=label, **kw)
    ax.set_xlabel(xlabel); ax.set_ylabel(ylabel)
    if logx: ax.set_xscale("log")
    if logy: ax.set_yscale("log")
    if title: ax.set_title(title)
    if legend: ax.legend()
    return fig


def histograms(data: dict, *, xlabel: str, ax=None, bins=30, range=None, title: str | None = None,
               colors: dict | None = None, density: bool = True):
    """Overlaid step histograms of several samples (label → values), with their medians marked."""
    fig, ax = (plt.subplots() if ax is None else (ax.figure, ax))
    for i, (label, v) in enumerate(data.items()):
        v = _np(v).ravel()
        c = (colors or {}).get(label, OKABE_ITO[i % len(OKABE_ITO)])
        ax.hist(v, bins=bins, range=range, histtype="stepfilled", alpha=0.35, color=c, density=density,
                label=f"{label} (median {np.median(v):.2f})")
        ax.axvline(np.median(v), color=c, lw=1.2, ls="--")
    ax.set_xlabel(xlabel); ax.set_ylabel("density" if density else "count")
    if title: ax.set_title(title)
    ax.legend()
    return fig


def psnr_axes(ax, *, identity: bool = True, lo: float = 0, hi: float = 40):
    """Label an output-vs-input PSNR plot and draw the identity line (no denoising)."""
    if identity:
        ax.plot([lo, hi], [lo, hi], color="0.6", lw=1, ls=":", label="identity (no denoising)")
    ax.set_xlabel("input PSNR (dB)")
    ax.set_ylabel("output PSNR (dB)")
    return ax


def symmetric_range(x) -> float:
    """max |x|, for a symmetric colour range of signed images (eigenvectors)."""
    return float(np.abs(_np(x)).max())


def compare_denoisers(x: torch.Tensor, sigma: float, denoisers: dict, *, seed: int = 0, vmin: float = 0.0,
                      vmax: float = 1.0, scale: float = 1.4):
    """One clean image ``x`` (1, C, H, W), its noisy version at ``sigma`` and each denoiser's output, with
    the PSNR of each (dB) in the titles. ``denoisers`` maps a name to ``D(y, sigma)``. The noise comes from
    ``seed``, so moving a σ slider changes only the noise level, not the noise pattern."""
    from .metrics import psnr

    g = runtime.generator(seed)
    y = x + sigma * torch.randn(x.shape, generator=g)
    imgs, titles = [x, y], ["clean", f"noisy σ={sigma:.3g}\n{float(psnr(y, x, vmax - vmin)):.1f} dB"]
    for name, D in denoisers.items():
        with torch.no_grad():
            out = D(y, sigma).detach().cpu().to(x.dtype)
        imgs.append(out)
        titles.append(f"{name}\n{float(psnr(out, x, vmax - vmin)):.1f} dB")
    return show_images(torch.cat(imgs), nrow=1, titles=titles, vmin=vmin, vmax=vmax, scale=scale)

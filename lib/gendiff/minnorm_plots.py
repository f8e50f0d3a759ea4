"""Figures of chapter 2 (min-norm shallow denoisers): pure functions that take ``ax=None`` and return the
figure, never calling ``plt.show()``; kink lines of trained nets and of the closed forms."""
from __future__ import annotations

import numpy as np

from .minnorm_1d import emmse, minnorm_1d, repr_cost_1d
from .minnorm_multi import facet_geometry


def relu_lines(w: np.ndarray, b: np.ndarray, ax, lim, **kw):
    """Draw the lines w_k^T y + b_k = 0 (2D) within the square [−lim, lim]² on ``ax``."""
    t = np.linspace(-lim, lim, 2)
    for wk, bk in zip(np.asarray(w), np.asarray(b)):
        if abs(wk[1]) > abs(wk[0]):
            ax.plot(t, -(bk + wk[0] * t) / wk[1], **kw)
        else:
            ax.plot(-(bk + wk[1] * t) / wk[0], t, **kw)


def ramp_lines(X, rho, kind: str):
    """Kink lines (w, b) of a 2D closed form: 'edge' (obtuse at X[0]) or 'face' (facet normals)."""
    X = np.asarray(X, float)
    ws, bs = [], []
    if kind == "edge":
        for xi in X[1:]:
            u = (xi - X[0]) / np.linalg.norm(xi - X[0])
            L = np.linalg.norm(xi - X[0])
            for t in (rho, L - rho):
                ws.append(u), bs.append(-(u @ X[0]) - t)
    elif kind == "face":
        nu, H, c = facet_geometry(X)
        for n in range(len(X)):
            for t in (rho, H[n] - rho):
                ws.append(nu[n]), bs.append(-(nu[n] @ c[n]) - t)
    else:
        raise ValueError("kind must be 'edge' or 'face'")
    return np.array(ws), np.array(bs)


# ====================================================================================================
# figures (pure functions: take ax=None, return the figure, never call plt.show())
# ====================================================================================================

def plot_explorer(x, rho, sigma=None, *, ax=None, lim=None):
    """1D closed form h*_ρ against the eMMSE denoiser (σ = ρ unless given), the identity and the balls."""
    import matplotlib.pyplot as plt

    x = np.sort(np.asarray(x, float))
    sigma = rho if sigma is None else sigma
    fig = ax.figure if ax is not None else plt.subplots(figsize=(6.4, 4.2))[0]
    ax = ax or fig.axes[0]
    lo, hi = (x[0] - 0.6, x[-1] + 0.6) if lim is None else lim
    y = np.linspace(lo, hi, 2000)
    ax.plot(y, y, color="0.7", lw=1, ls=":", label="identity $h(y)=y$")
    ok = x.size < 2 or 2 * rho < np.diff(x).min()
    if ok:
        ax.plot(y, minnorm_1d(y, x, rho), color="C0", lw=2,
                label=f"min-norm $h^*_\\rho$ (cost {repr_cost_1d(x, rho):.2f})")
    ax.plot(y, emmse(y, x, sigma), color="C3", lw=1.5, ls="--", label=f"eMMSE, $\\sigma$={sigma:g}")
    for xn in x:
        ax.axvspan(xn - rho, xn + rho, color="C0", alpha=0.12, lw=0)
    ax.plot(x, x, "ko", ms=5, label="clean points $x_n$")
    ax.set(xlabel="noisy input $y$", ylabel="denoised output $h(y)$", xlim=(lo, hi),
           title=f"$\\rho$ = {rho:g}" + ("" if ok else "  (balls overlap: no interpolant)"))
    ax.legend(fontsize=8, loc="upper left")
    return fig


def simplex_colors(H, X):
    """RGB colours of outputs H (B, 2) by their barycentric coordinates in the triangle X (clipped)."""
    X = np.asarray(X, float)
    T = np.vstack([(X[1:] - X[0]).T])                          # (2, 2)
    lam12 = np.linalg.solve(T, (np.asarray(H) - X[0]).T).T     # (B, 2)
    lam = np.clip(np.column_stack([1 - lam12.sum(1), lam12]), 0, None)
    lam /= lam.sum(1, keepdims=True).clip(1e-12)
    cols = np.array([[0.85, 0.2, 0.2], [0.2, 0.6, 0.2], [0.2, 0.3, 0.85]])
    return lam @ cols


def plot_triangle_map(h, X, rho, *, lines=None, ax=None, lim=1.6, n=201, title=""):
    """Map of a 2D denoiser: colour = barycentric position of h(y); dashed = ReLU boundary lines (w, b)."""
    import matplotlib.pyplot as plt

    fig = ax.figure if ax is not None else plt.subplots(figsize=(4, 4))[0]
    ax = ax or fig.axes[0]
    g = np.linspace(-lim, lim, n)
    Y = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
    img = simplex_colors(h(Y), X).reshape(n, n, 3)
    ax.imshow(img, origin="lower", extent=(-lim, lim, -lim, lim), interpolation="nearest")
    if lines is not None:
        relu_lines(*lines, ax, lim, color="k", lw=0.7, ls="--", alpha=0.7)
    X = np.asarray(X, float)
    ax.fill(X[:, 0], X[:, 1], fill=False, color="w", lw=1.2)
    for xn in X:
        ax.add_patch(plt.Circle(xn, rho, fill=False, color="w", lw=1))
    ax.set(xlim=(-lim, lim), ylim=(-lim, lim), xlabel="$y_1$", ylabel="$y_2$", title=title, aspect="equal")
    return fig

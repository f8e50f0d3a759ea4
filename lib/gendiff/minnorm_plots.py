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

def plot_explorer(x, rho, sigma=None, *, ax=None, lim=None, legend=True):
    """1D closed form h*_ρ against the eMMSE denoiser (σ = ρ unless given), the identity and the balls.

    The title gives ρ and the representation cost R(h*_ρ) = Σ_n 2Δ_n/(Δ_n − 2ρ) (eq. ``ch02-1d``)."""
    import matplotlib.pyplot as plt

    x = np.sort(np.asarray(x, float))
    sigma = rho if sigma is None else sigma
    fig = ax.figure if ax is not None else plt.subplots(figsize=(6.4, 3.0))[0]
    ax = ax or fig.axes[0]
    lo, hi = (x[0] - 0.6, x[-1] + 0.6) if lim is None else lim
    y = np.linspace(lo, hi, 2000)
    ax.plot(y, y, color="0.6", lw=1, ls=":", label="identity $h(y)=y$")
    ok = x.size < 2 or 2 * rho < np.diff(x).min()
    if ok:
        ax.plot(y, minnorm_1d(y, x, rho), color="C0", lw=2, label="min-norm $h^*_\\rho$")
    ax.plot(y, emmse(y, x, sigma), color="C3", lw=1.5, ls="--", label=f"eMMSE, $\\sigma$ = {sigma:g}")
    for xn in x:
        ax.axvspan(xn - rho, xn + rho, color="C0", alpha=0.12, lw=0)
    ax.plot(x, x, "ko", ms=5, label="clean points $x_n$")
    cost = f", $R$ = {repr_cost_1d(x, rho):.2f}" if ok else ": balls overlap"
    ax.set(xlabel="noisy input $y$", ylabel="denoised output $h(y)$", xlim=(lo, hi),
           title=f"$\\rho$ = {rho:g}{cost}")
    if legend:
        ax.legend(loc="upper left")
    return fig


def plot_closed_form_rhos(x, rhos):
    """One panel of :func:`plot_explorer` per ρ (at most 3), one legend below the row."""
    import matplotlib.pyplot as plt

    fig, axs = plt.subplots(1, len(rhos), figsize=(7, 3.1), sharey=True)
    for ax, r in zip(axs, rhos):
        plot_explorer(x, r, ax=ax, legend=False)
        ax.label_outer()
    h, lab = axs[0].get_legend_handles_labels()
    lab = [s.replace(f" = {rhos[0]:g}", " = ρ") for s in lab]
    fig.legend(h, lab, loc="outside lower center", ncol=4)
    return fig


def plot_cost_vs_rho(x, n=200):
    """R(h*_ρ) = Σ_n 2Δ_n/(Δ_n − 2ρ) against ρ up to 0.95 of the largest radius, with its ρ → 0 limit
    2(N − 1) (eq. ``ch02-1d``)."""
    import matplotlib.pyplot as plt

    x = np.sort(np.asarray(x, float))
    rr = np.linspace(0, 0.95 * np.diff(x).min() / 2, n)
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.plot(rr, [repr_cost_1d(x, r) for r in rr], color="C0", lw=2,
            label=r"$\sum_n 2\Delta_n/(\Delta_n-2\rho)$")
    ax.axhline(2 * (len(x) - 1), color="0.5", ls=":", label=r"$2(N-1)$, the $\rho\to0$ limit")
    ax.set(xlabel=r"ball radius $\rho$", ylabel=r"cost $R(h^*_\rho)$", yscale="log")
    ax.legend(loc="upper left")
    return fig


def plot_trained_1d(ygrid, x, rho, hs, H, n_offline):
    """Left: trained nets ``H`` (G, grid) (the first ``n_offline`` offline, blue; the rest online, green)
    over the closed form ``hs`` and the eMMSE staircase; right: |h_θ − h*_ρ| per net (log scale)."""
    import matplotlib.pyplot as plt

    fig, axs = plt.subplots(1, 2, figsize=(7, 3.2))
    ax = axs[0]
    ax.plot(ygrid, emmse(ygrid, x, rho), color="C3", ls="--", lw=1.2, label="eMMSE (σ = ρ)")
    ax.plot(ygrid, hs, color="k", lw=3, alpha=0.35, label=r"closed form $h^*_\rho$")
    for g, h in enumerate(H):
        lab = "offline" if g == 0 else "online" if g == n_offline else None
        ax.plot(ygrid, h, color="C0" if g < n_offline else "C2", lw=0.8, label=lab)
    for xn in x:
        ax.axvspan(xn - rho, xn + rho, color="C0", alpha=0.12, lw=0)
    ax.set(xlabel="noisy input $y$", ylabel="denoised output $h(y)$", title="trained vs closed form")
    ax.legend(loc="upper left")
    for g, h in enumerate(H):
        axs[1].semilogy(ygrid, np.abs(h - hs) + 1e-6, color="C0" if g < n_offline else "C2", lw=0.7)
    axs[1].set(xlabel="noisy input $y$", ylabel=r"$|h_\theta(y)-h^*_\rho(y)|$", title="error per seed")
    return fig


def plot_generalization(gen):
    """Left: test MSE on fresh points of h*_{ρ=σ} and of eMMSE against σ, with σ² and σ² + ρ²/3;
    right: their ratio eMMSE/NN (eq. ``ch02-gen``). ``gen`` from :func:`mse_generalization`."""
    import matplotlib.pyplot as plt

    s = gen["sigma"]
    fig, axs = plt.subplots(1, 2, figsize=(7, 3.2))
    axs[0].loglog(s, gen["nn"], "o-", color="C0", label=r"min-norm $h^*_{\rho=\sigma}$")
    axs[0].loglog(s, gen["emmse"], "s--", color="C3", label="eMMSE")
    axs[0].loglog(s, s**2, ":", color="0.5", label=r"$\sigma^2$")
    axs[0].loglog(s, 4 / 3 * s**2, "-.", color="0.5", lw=0.8, label=r"$\sigma^2+\rho^2/3$")
    axs[0].set(xlabel="noise level σ", ylabel="test MSE, fresh points", title="N = 10")
    axs[0].legend(loc="lower right")
    axs[1].loglog(s, gen["emmse"] / gen["nn"], "o-", color="k")
    axs[1].axhline(1, color="0.5", ls=":")
    axs[1].set(xlabel="noise level σ", ylabel="MSE eMMSE / MSE NN", title="advantage of min-norm")
    return fig


def plot_trained_vs_closed_ratio(tg):
    """eMMSE/NN test-MSE ratio of the trained net against that of h*_{ρ=σ}, one point per training set
    and σ (``tg`` from :func:`gendiff.minnorm_gen.trained_generalization`)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.4))
    for j, s_ in enumerate(tg["sigma"]):
        ax.scatter(tg["ratio_closed"][j], tg["ratio_trained"][j], s=18, label=f"σ = {s_:g}")
    lim = [0.5, 2 * max(tg["ratio_closed"].max(), tg["ratio_trained"].max())]
    ax.plot(lim, lim, color="0.5", ls=":", lw=1, label="trained = closed form")
    ax.axhline(1, color="C3", ls="--", lw=1, label="eMMSE as good as NN")
    ax.set(xscale="log", yscale="log", xlim=lim, ylim=lim, ylabel="eMMSE / NN, trained net",
           xlabel="eMMSE / NN, closed form $h^*_{\\rho=\\sigma}$")
    ax.legend(loc="upper left")
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


def plot_triangle_maps(theory, Xt, rho, net, cost_th, path_cost):
    """The paper's Fig. 2 setting: closed forms (top; ramp lines dashed) and trained nets of groups 0
    and 1 (bottom; their active ReLU lines) for the obtuse and the equilateral triangle."""
    import matplotlib.pyplot as plt

    fig, axs = plt.subplots(2, 2, figsize=(6.4, 6.6))
    for j, (kind, lk) in enumerate([("obtuse", "edge"), ("equilateral", "face")]):
        X = Xt[j]
        plot_triangle_map(theory[j], X, rho, lines=ramp_lines(X, rho, lk), ax=axs[0, j],
                          title=f"{kind}: closed form, R = {cost_th[kind]:.2f}")
        nr = net.neurons(j)
        plot_triangle_map(net.numpy_fn(j), X, rho, lines=(nr["w"], nr["b"]), ax=axs[1, j],
                          title=f"{kind}: trained, cost {path_cost[j]:.2f}")
    return fig


def plot_alignment_hists(tri, bins=None):
    """Path-cost-weighted histograms of max |cos| of each active neuron (seed 0): obtuse triangle with
    the edges at x_0; equilateral triangle with the facet normals and with the edges."""
    import matplotlib.pyplot as plt

    bins = np.linspace(0.5, 1, 26) if bins is None else bins
    fig, axs = plt.subplots(1, 2, figsize=(7, 3))
    r = tri["obtuse"][0]
    axs[0].hist(r["cos"], bins, weights=r["mag"], color="C0", label="to edges at $x_0$")
    axs[0].set(title="obtuse", xlabel="max |cos| of $w_k$", ylabel="path cost in bin")
    axs[0].legend(loc="upper left")
    r = tri["equilateral"][0]
    axs[1].hist(r["cos"], bins, weights=r["mag"], color="C1", alpha=0.8, label="to facet normals")
    axs[1].hist(r["cos_edge"], bins, weights=r["mag"], color="0.5", alpha=0.6, label="to edges")
    axs[1].set(title="equilateral", xlabel="max |cos| of $w_k$", ylabel="path cost in bin")
    axs[1].legend(loc="upper left")
    return fig


def plot_construction_costs(vals, kinds=("obtuse", "equilateral")):
    """Bars per triangle: predicted construction, its competitor, trained net (``vals[i]`` = those three
    costs for ``kinds[i]``)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3))
    labels = ["predicted (edges / faces at centroid)",
              "competitor (best face-aligned / barycentric)", "trained net (median seed)"]
    for i, lab in enumerate(labels):
        ax.bar(np.arange(len(kinds)) + (i - 1) * 0.27, [v[i] for v in vals], 0.27, label=lab,
               color=["C0", "C3", "C2"][i])
    ax.set(xticks=range(len(kinds)), xticklabels=kinds, ylabel="path cost")
    fig.legend(loc="outside right upper")
    return fig


def plot_digit_span(span, E_rand, D, w_top):
    """Left: path-cost-weighted histogram of the span energy ‖P w_k‖²/‖w_k‖² per neuron for each entry
    of ``span`` {label: (energies, path costs)}, with the random-direction value; right: the clean
    digits ``D`` (4, 64) above the 4 largest neurons' weights ``w_top`` (4, 64), each scaled to [−1, 1]."""
    import matplotlib.pyplot as plt

    from .minnorm_train import weighted_mean

    fig, axs = plt.subplots(1, 2, figsize=(7, 3.2))
    for (lab, (e, m)), c in zip(span.items(), ["C2", "C0"]):
        axs[0].hist(e, np.linspace(0, 1, 26), weights=m / m.sum(), alpha=0.6, color=c,
                    label=f"{lab} ({weighted_mean(e, m):.2f})")
    axs[0].axvline(E_rand, color="k", ls=":", label=f"random ({E_rand:.3f})")
    axs[0].set(xlabel=r"span energy $\|P w_k\|^2/\|w_k\|^2$", ylabel="share of path cost",
               title="digits 0–3, d = 64")
    axs[0].legend()
    w = w_top / np.abs(w_top).max(1, keepdims=True)
    imgs = np.concatenate([np.asarray(D).reshape(-1, 8, 8), w.reshape(-1, 8, 8)])
    n = len(imgs) // 2
    grid = np.concatenate([np.concatenate(list(imgs[:n]), 1), np.concatenate(list(imgs[n:]), 1)], 0)
    axs[1].imshow(grid, cmap="RdBu_r", vmin=-1, vmax=1)
    axs[1].set(title="clean digits (top), top-4 $w_k$", xticks=[], yticks=[])
    axs[1].grid(False)
    return fig

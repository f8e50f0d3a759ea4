"""Measurements and figures of the background chapter (chapters/00-denoisers-and-generalization.md).

Three facts that the four papers build on, each computed here so the chapter's cells read as steps:

* Miyasawa/Tweedie (Miyasawa 1961; Efron 2011; the starting point of paper 1, Kadkhodaie et al. 2024, §1):
  for ``y = x + σz``, z ~ N(0, I), the MMSE denoiser is a gradient step on the log noisy density,
  ``E[x | y] = y + σ² ∇_y log p_σ(y)``. :func:`tweedie_check` compares both sides on closed-form
  Gaussian mixtures, and a Monte-Carlo posterior mean (the empirical denoiser of M prior draws) with them.
* The optimal denoiser of N training images is ``D_N(y; σ) = Σ_i softmax_i(−‖y − x_i‖²/2σ²) x_i``
  (Li et al. 2024, §3.1): it memorizes. :func:`psnr_comparison` measures it, a trained network and the
  Gaussian (Wiener) denoiser ``μ + U diag(λ_k/(λ_k + σ²)) Uᵀ(y − μ)`` on training and held-out images.
* A bias-free ReLU network is positively homogeneous, ``f(ay) = a f(y)`` and ``f(y) = J(y) y``
  (paper 1, §2); :func:`spectrum_summary` reads the eigenvalues λ_k of the symmetrised Jacobian.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import torch

from . import metrics, plots, runtime
from .denoisers import EmpiricalDenoiser, GaussianMixture


def example_priors() -> dict[str, GaussianMixture]:
    """The chapter's two priors in d = 2: one correlated Gaussian and a three-component mixture."""
    gauss = GaussianMixture(torch.tensor([[0.5, -0.2]]), torch.tensor([[[1.0, 0.6], [0.6, 0.5]]]))
    covs = torch.stack([torch.diag(torch.tensor(v)) for v in ([0.3, 0.1], [0.1, 0.4], [0.5, 0.5])])
    mixture = GaussianMixture(torch.tensor([[-2.0, 0.0], [2.0, 1.0], [0.0, 3.0]]), covs,
                              torch.tensor([0.5, 0.3, 0.2]))
    return {"Gaussian": gauss, "mixture": mixture}


def tweedie_check(priors: Mapping[str, GaussianMixture], sigmas, *, mc_samples: int,
                  generator: torch.Generator, n_points: int = 64) -> list[dict]:
    """For each prior and σ: the largest relative error of ``y + σ²∇log p_σ(y)`` against the exact
    posterior mean (Tweedie, exact up to round-off) and the mean relative error of a Monte-Carlo posterior
    mean from ``mc_samples`` prior draws (the empirical denoiser of those draws), both relative to
    mean ‖E[x|y]‖ over ``n_points`` noisy points y = x + σz."""
    rows = []
    for name, prior in priors.items():
        mc = EmpiricalDenoiser(prior.sample(mc_samples, generator=generator), chunk=50_000)
        for s in sigmas:
            x = prior.sample(n_points, generator=generator)
            y = x + s * torch.randn(n_points, x.shape[1], generator=generator, dtype=torch.float64)
            exact = prior(y, s)
            tweedie = y + s**2 * prior.score(y, s)
            scale = exact.norm(dim=1).mean()
            rows.append(dict(prior=name, sigma=s,
                             tweedie_err=float((tweedie - exact).norm(dim=1).max() / scale),
                             mc_err=float((mc(y, s) - exact).norm(dim=1).mean() / scale)))
    return rows


def tweedie_table(rows: list[dict]) -> str:
    """The rows of :func:`tweedie_check` as a small text table."""
    lines = [f"{'prior':9s} {'σ':>4s}  {'Tweedie − E[x|y]':>16s}  {'Monte-Carlo − E[x|y]':>20s}"]
    lines += [f"{r['prior']:9s} {r['sigma']:>4g}  {r['tweedie_err']:>16.1e}  {r['mc_err']:>20.1e}"
              for r in rows]
    return "\n".join(lines + ["(errors relative to the mean |E[x|y]|)"])


def plot_score_fields(priors: Mapping[str, GaussianMixture], sigma: float, *, seed: int = 2):
    """One panel per prior: samples of p (grey) and the denoiser's correction E[x|y] − y = σ²∇log p_σ(y)
    (arrows) on a grid of y."""
    xs, ys = torch.linspace(-4, 4, 15), torch.linspace(-2, 5, 13)
    grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), -1).reshape(-1, 2).double()
    fig, axes = plots.subplots(1, len(priors), height=3.3)
    for ax, (name, prior) in zip(np.atleast_1d(axes), priors.items()):
        pts = prior.sample(3000, generator=runtime.generator(seed))
        ax.scatter(pts[:, 0], pts[:, 1], s=2, color="0.7", label="samples of p")
        step = prior(grid, sigma) - grid
        ax.quiver(grid[:, 0], grid[:, 1], step[:, 0], step[:, 1], angles="xy", scale_units="xy",
                  scale=1, color=plots.COLORS["network"], width=0.004,
                  label=r"$E[x|y]-y = \sigma^2\nabla\log p_\sigma$")
        ax.set_title(f"{name}, σ = {sigma:g}")
        ax.set_xlabel("$y_1$")
        ax.set_ylabel("$y_2$")
        ax.set_aspect("equal")
    fig.legend(*np.atleast_1d(axes)[0].get_legend_handles_labels(), loc="outside lower center", ncols=2)
    return fig


def spectrum_summary(lam: torch.Tensor, J: torch.Tensor) -> dict[str, float]:
    """Means over images of: eigenvalues of sym J above 0.9 (passed), within 0.1 of 0 (suppressed),
    below 0 (flipped), the largest and smallest eigenvalue, and the effective dimension tr J."""
    from .jacobian import effective_dim

    lam = lam.double().numpy()
    return {"n-pass": float((lam > 0.9).sum(1).mean()), "n-zero": float((np.abs(lam) < 0.1).sum(1).mean()),
            "n-neg": float((lam < 0).sum(1).mean()), "lam-max": float(lam[:, 0].mean()),
            "lam-min": float(lam[:, -1].mean()), "eff-dim": float(effective_dim(J).mean())}


def plot_spectrum_and_loss(lam: torch.Tensor, history: Mapping, *, sigma: float, n_curves: int = 4):
    """Left: eigenvalues λ_k of sym J(y) (descending) for a few noisy images; right: the training loss."""
    fig, axes = plots.subplots(1, 2, height=3.0)
    k = np.arange(1, lam.shape[1] + 1)
    plots.curves(k, {f"image {i}": lam[i] for i in range(n_curves)}, xlabel="index k", markers=False,
                 ylabel=r"eigenvalue $\lambda_k$ of sym. $J(y)$", ax=axes[0],
                 title=f"Jacobian spectrum, σ = {sigma:g}")
    axes[1].plot(history["step"], history["loss"], color=plots.COLORS["network"])
    axes[1].set_xlabel("training step")
    axes[1].set_ylabel("loss (per-pixel MSE)")
    axes[1].set_yscale("log")
    axes[1].set_title("training loss")
    return fig


def psnr_comparison(denoisers: Mapping, splits: Mapping[str, torch.Tensor], sigmas, *, n: int = 300,
                    seed: int = 5) -> dict:
    """``{(name, split): output PSNR per σ}`` on the first ``n`` images of each split; every denoiser
    sees the same noisy images (one generator seed per curve)."""
    return {(name, split): metrics.psnr_curve(D, xs[:n], sigmas, generator=runtime.generator(seed))
            for name, D in denoisers.items() for split, xs in splits.items()}


def psnr_table(res: Mapping, sigmas) -> str:
    """The curves of :func:`psnr_comparison` as a text table (dB), one row per denoiser and split."""
    head = f"{'':16s}" + "".join(f"{'σ = ' + format(s, 'g'):>10s}" for s in sigmas)
    rows = [f"{name + ' ' + split:16s}" + "".join(f"{p:10.1f}" for p in v) for (name, split), v in res.items()]
    return "\n".join([head, *rows, "(output PSNR, dB)"])


def crossing_text(sigmas, gain) -> str:
    """Where ``gain`` (network − empirical, dB, per σ) first turns negative, in words."""
    sigmas, neg = np.asarray(sigmas), np.asarray(gain) < 0
    if not neg.any():
        return f"at none of the σ up to {sigmas[-1]:g}"
    k = int(np.argmax(neg))
    return f"already at σ = {sigmas[0]:g}" if k == 0 else f"between σ = {sigmas[k - 1]:g} and σ = {sigmas[k]:g}"


def plot_psnr_train_test(res: Mapping, sigmas, names, *, off_scale: float = 50.0):
    """Output PSNR against input PSNR on training (left) and held-out (right) images, one curve per
    denoiser; the empirical denoiser's exact copies of training images (> ``off_scale`` dB) are marked."""
    fig, axes = plots.subplots(1, 2, height=3.2, sharey=True)
    styles = {n: {"color": plots.COLORS[c]} for n, c in
              (("network", "network"), ("empirical", "empirical"), ("Gaussian", "gaussian"))}
    for ax, split in zip(axes, ["train", "test"]):
        plots.curves(metrics.input_psnr(sigmas), {n: res[(n, split)] for n in names}, ax=ax,
                     xlabel="input PSNR (dB)", ylabel="output PSNR (dB)", title=f"{split} digits",
                     styles=styles, legend=False)
        plots.psnr_axes(ax, lo=8, hi=34)
    axes[0].set_ylim(5, off_scale)
    off = np.asarray(sigmas)[res[("empirical", "train")] > off_scale]
    if off.size:
        axes[0].annotate(f"empirical: exact\ncopy, > {off_scale:g} dB\nfor σ ≤ {off.max():g}",
                         xy=(22, off_scale), xytext=(22, 36), ha="center", fontsize=9,
                         color=plots.COLORS["empirical"],
                         arrowprops=dict(arrowstyle="->", color=plots.COLORS["empirical"]))
    axes[1].legend(loc="lower right")
    return fig


__all__ = ["example_priors", "tweedie_check", "tweedie_table", "plot_score_fields", "spectrum_summary",
           "plot_spectrum_and_loss", "psnr_comparison", "psnr_table", "crossing_text",
           "plot_psnr_train_test"]

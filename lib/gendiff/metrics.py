"""Metrics used across the chapters (Kadkhodaie et al. 2024 §2 and code ``quality_metrics_func``)."""
from __future__ import annotations

import numpy as np
import torch


def mse(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-image mean squared error, shape (B,)."""
    return (a - b).flatten(1).double().pow(2).mean(1)


def psnr(x_hat: torch.Tensor, x: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Per-image PSNR = 10·log₁₀(range²/MSE) in dB, shape (B,)."""
    return 10 * torch.log10(data_range**2 / mse(x_hat, x).clamp_min(1e-20))


def input_psnr(sigma, data_range: float = 1.0):
    """PSNR of the noisy input y = x + σz: −10·log₁₀(σ²/range²) dB."""
    return -10 * np.log10(np.asarray(sigma, dtype=float) ** 2 / data_range**2)


@torch.no_grad()
def psnr_curve(D, x: torch.Tensor, sigmas, *, generator: torch.Generator | None = None, batch: int = 512,
               data_range: float = 1.0) -> np.ndarray:
    """Mean output PSNR (dB) of ``D`` on images ``x`` at each noise level: array of len(sigmas).

    Noise is drawn from ``generator``: pass generators with equal seeds to compare two denoisers on the
    same noisy images.
    """
    out = []
    for s in sigmas:
        vals = []
        for i in range(0, x.shape[0], batch):
            xb = x[i:i + batch]
            y = xb + s * torch.randn(xb.shape, generator=generator).to(xb)
            vals.append(psnr(D(y, s).to(xb), xb, data_range))
        out.append(float(torch.cat(vals).mean()))
    return np.array(out)


def cosine(a: torch.Tensor, b: torch.Tensor, *, center: bool = True) -> torch.Tensor:
    """Row-wise cosine similarity of images a, b (B, ...); ``center`` removes each image's mean first
    (the official ``im_set_corr`` with remove_mean=True). Shape (B,)."""
    fa, fb = a.flatten(1).double(), b.flatten(1).double()
    if center:
        fa = fa - fa.mean(1, keepdim=True)
        fb = fb - fb.mean(1, keepdim=True)
    return (fa * fb).sum(1) / (fa.norm(dim=1) * fb.norm(dim=1)).clamp_min(1e-12)


def nearest_train(samples: torch.Tensor, train: torch.Tensor, *, center: bool = True, chunk: int = 4096):
    """For each sample, the most similar training image by (centred) cosine: ``(values (B,), idx (B,))``.
    Training images are processed ``chunk`` at a time."""
    fs = samples.flatten(1).double()
    if center:
        fs = fs - fs.mean(1, keepdim=True)
    fs = fs / fs.norm(dim=1, keepdim=True).clamp_min(1e-12)
    best = torch.full((fs.shape[0],), -2.0, dtype=torch.float64)
    idx = torch.zeros(fs.shape[0], dtype=torch.long)
    for i in range(0, train.shape[0], chunk):
        ft = train[i:i + chunk].flatten(1).double().to(fs.device)
        if center:
            ft = ft - ft.mean(1, keepdim=True)
        ft = ft / ft.norm(dim=1, keepdim=True).clamp_min(1e-12)
        v, j = (fs @ ft.T).max(1)
        better = v > best
        best = torch.where(better, v.cpu(), best)
        idx = torch.where(better, j.cpu() + i, idx)
    return best, idx


def nearest_l2(samples: torch.Tensor, train: torch.Tensor, *, chunk: int = 4096):
    """Nearest training image in pixel L2: ``(distances (B,), idx (B,))``."""
    fs = samples.flatten(1).double()
    best = torch.full((fs.shape[0],), torch.inf, dtype=torch.float64)
    idx = torch.zeros(fs.shape[0], dtype=torch.long)
    for i in range(0, train.shape[0], chunk):
        ft = train[i:i + chunk].flatten(1).double()
        d = torch.cdist(fs, ft)
        v, j = d.min(1)
        better = v < best
        best = torch.where(better, v, best)
        idx = torch.where(better, j + i, idx)
    return best, idx


def fit_slope(x, y, lo: float = -np.inf, hi: float = np.inf) -> float:
    """Least-squares slope of y against x over the points with lo ≤ x ≤ hi (e.g. output vs input PSNR)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    m = (x >= lo) & (x <= hi)
    if m.sum() < 2:
        raise ValueError(f"need at least 2 points in [{lo}, {hi}] to fit a slope, have {int(m.sum())}")
    return float(np.polyfit(x[m], y[m], 1)[0])


def trend(values) -> tuple[float, float]:
    """How a measurement moves along an ordered sweep (e.g. over training-set sizes N):
    ``(ρ, change)`` with ρ the Spearman rank correlation of the values with their position (+1: increasing
    at every step, −1: decreasing) and ``change = values[-1] − values[0]``. Among six sizes, ρ ≥ 0.8 still
    allows one swap of neighbours (ρ = 0.94), e.g. two sizes that both memorize, in chance order."""
    from scipy.stats import spearmanr

    v = np.asarray(values, dtype=float)
    if v.ndim != 1 or v.size < 2 or not np.isfinite(v).all():
        raise ValueError(f"trend needs at least two finite values in a 1-D sequence, got {values!r}")
    if np.ptp(v) == 0:
        return 0.0, 0.0                                    # constant: no trend (Spearman's ρ is undefined)
    return float(spearmanr(np.arange(v.size), v).statistic), float(v[-1] - v[0])


def frechet_pca(samples: torch.Tensor, reference: torch.Tensor, k: int = 10) -> float:
    """Fréchet distance between Gaussians fitted to ``samples`` and ``reference`` in the top-``k`` principal
    coordinates of ``reference`` (pixels, flattened): ‖μ₁ − μ₂‖² + tr(C₁ + C₂ − 2 (C₂^{1/2} C₁ C₂^{1/2})^{1/2}),
    the formula of the FID (Heusel et al. 2017, Eq. 6) with PCA coordinates standing in for Inception
    features, which this offline book does not have. Blurred or noisy samples move the covariance, copies
    of training images do not: it measures quality, not novelty."""
    from scipy.linalg import sqrtm

    ref = reference.reshape(reference.shape[0], -1).double()
    if ref.shape[0] <= k or samples.shape[0] < 2:
        raise ValueError(f"need more than k = {k} reference images and ≥ 2 samples")
    mu = ref.mean(0)
    basis = torch.linalg.svd(ref - mu, full_matrices=False).Vh[:k].T
    a = ((samples.reshape(samples.shape[0], -1).double() - mu) @ basis).numpy()
    b = ((ref - mu) @ basis).numpy()
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root_b = np.real(sqrtm(cb))
    cross = np.real(sqrtm(root_b @ ca @ root_b))
    return float(((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(ca + cb - 2 * cross))

"""The hidden Gaussian structure of diffusion denoisers (Li, Dai & Qu, NeurIPS 2024; arXiv:2410.24060).

Measurements that compare a trained denoiser D_θ(y; σ) with the Gaussian (Wiener) denoiser
D_G(y; σ) = μ + W_G(σ)(y − μ), W_G = Σ(Σ + σ²I)⁻¹ (paper eq. 6, :class:`gendiff.denoisers.GaussianDenoiser`):

* :func:`linearity_score`  |cos| between D(αy₁ + βy₂) and αD(y₁) + βD(y₂) (eq. 11, App. A).
* :func:`distill_linear`   the best affine approximation W·y + b of a denoiser at one σ (eqs. 8–9, Alg. 1),
  exactly by least squares or by Adam (through :func:`gendiff.train.fit`) with a tracked weight error.
* :func:`fit_affine_dsm`   affine denoisers trained by denoising score matching on data (Theorem 1: their
  optimum is the Wiener filter), vectorised over several σ.
* :class:`AffineDenoiser`  a per-σ affine denoiser with the book's interface ``D(y, sigma)``.
* :func:`score_rmse`       score-field error RMSE(σ) = E √(‖D₁(y) − D₂(y)‖²/d) (eq. 10).
* :func:`weight_nmse`, :func:`alignment_matrix`, :func:`top_alignment`, :func:`subspace_overlap`: weight
  similarity and singular-vector alignment of W against the principal components (Fig. 4).
* :func:`gl_score`         generalisation score (eq. 14): mean ‖x − NN_Y(x)‖/‖x‖ over generated samples.
* :func:`sample_distance`  mean ‖a − b‖/‖b‖ between samples drawn from the same initial noise.
* :func:`train_edm`, :func:`train_edm_many`: the chapter's EDM-preconditioned UNet (``gendiff.models.edm_unet``)
  trained with the EDM loss through the book's cached loop, several runs in parallel processes if asked;
  :func:`copy_fraction` (samples that copy a training image) and :func:`seed_stats`.

The affine part lives in :mod:`gendiff.gaussian_linear`, the networks in :mod:`gendiff.gaussian_edm`; both are
re-exported here, so ``from gendiff import gaussian as G`` reaches every function above. Chapter 3's
measurement of every trained network (and their runs in parallel processes) is :mod:`gendiff.gaussian_study`,
its figures :mod:`gendiff.gaussian_plots`.

Every function takes denoisers with the book's interface ``D(y, sigma) -> x_hat`` and draws its noise from
a ``torch.Generator``; σ may be a list, and the σ's are then evaluated in one batch (the EDM network
accepts a per-sample σ).
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch

from . import metrics
from .gaussian_linear import _apply, _flat, _noisy, _sigmas


# ----------------------------------------------------------------------------------------------------
# linearity (eq. 11)
# ----------------------------------------------------------------------------------------------------
def linearity_score(D: Callable, x: torch.Tensor, sigma, *, alpha: float = 2**-0.5, n_pairs: int = 100,
                    metric: str = "cos", generator: torch.Generator | None = None) -> np.ndarray:
    """LS(σ) = E |cos(D(αy₁ + βy₂; σ), αD(y₁; σ) + βD(y₂; σ))|, β = √(1 − α²) (Li et al. eq. 11).

    y₁ = x_i + σε₁, y₂ = x_j + σε₂ with images x_i ≠ x_j drawn from ``x`` (held-out images, (N, ...)), so
    αy₁ + βy₂ again carries noise of level σ. ``metric="nmse"`` returns instead
    E ‖D(αy₁+βy₂) − αD(y₁) − βD(y₂)‖/‖D(αy₁+βy₂)‖ (App. A; 0 for a linear D). Returns one value per σ.
    An affine D scores slightly below 1 because its bias enters as (α + β)b ≠ b.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    if metric not in ("cos", "nmse"):
        raise ValueError(f"metric must be 'cos' or 'nmse', got {metric!r}")
    sig = _sigmas(sigma)
    beta = math.sqrt(1 - alpha**2)
    N = x.shape[0]
    if N < 2:
        raise ValueError(f"the linearity score mixes two different images; x holds {N}")
    if n_pairs < 1:
        raise ValueError(f"n_pairs must be at least 1, got {n_pairs}")
    S = len(sig)
    i = torch.randint(N, (S * n_pairs,), generator=generator)
    j = (i + 1 + torch.randint(N - 1, (S * n_pairs,), generator=generator)) % N     # j ≠ i
    s = torch.tensor(sig, dtype=torch.float64).repeat_interleave(n_pairs)
    sv = s.view((-1,) + (1,) * (x.dim() - 1))
    xd = x.double().cpu()
    y1 = xd[i] + sv * torch.randn(xd[i].shape, generator=generator, dtype=torch.float64)
    y2 = xd[j] + sv * torch.randn(xd[j].shape, generator=generator, dtype=torch.float64)
    out = _apply(D, torch.cat([alpha * y1 + beta * y2, y1, y2]), s.repeat(3))
    mix, d1, d2 = (_flat(t) for t in out.split(S * n_pairs))
    lin = alpha * d1 + beta * d2
    if metric == "cos":
        v = ((mix * lin).sum(1) / (mix.norm(dim=1) * lin.norm(dim=1)).clamp_min(1e-12)).abs()
    else:
        v = (mix - lin).norm(dim=1) / mix.norm(dim=1).clamp_min(1e-12)
    return v.view(S, n_pairs).mean(1).numpy()


# ----------------------------------------------------------------------------------------------------
# score-field error (eq. 10) and sample metrics (eq. 14)
# ----------------------------------------------------------------------------------------------------
def score_rmse(D1: Callable, D2: Callable, x: torch.Tensor, sigma, *, n_noise: int = 1,
               metric: str = "rmse", generator: torch.Generator | None = None) -> np.ndarray:
    """RMSE(σ) = E_{x,ε} √(‖D₁(y; σ) − D₂(y; σ)‖²/d), y = x + σε (Li et al. eq. 10), one value per σ.

    Both denoisers see the same noisy images. ``metric="nmse"``: E ‖D₁ − D₂‖/‖D₁‖ (eq. 53). Since the
    score is (D(y) − y)/σ², this is σ² times the distance between the two score fields.
    """
    if metric not in ("rmse", "nmse"):
        raise ValueError(f"metric must be 'rmse' or 'nmse', got {metric!r}")
    sig = _sigmas(sigma)
    _, y, s = _noisy(x, sig, n_noise, generator)
    a, b = _flat(_apply(D1, y, s)), _flat(_apply(D2, y, s))
    if metric == "rmse":
        v = (a - b).pow(2).mean(1).sqrt()
    else:
        v = (a - b).norm(dim=1) / a.norm(dim=1).clamp_min(1e-12)
    return v.view(len(sig), -1).mean(1).numpy()


def gl_score(samples: torch.Tensor, train_set: torch.Tensor) -> float:
    """GL = (1/k) Σ_i ‖x_i − NN_Y(x_i)‖/‖x_i‖, nearest neighbour in pixel L2 (Li et al. eq. 14).

    0 when every sample is a copy of a training image; the paper reads > 0.6 as generalisation on its data.
    """
    dist, _ = metrics.nearest_l2(samples, train_set)
    return float((dist / _flat(samples).double().norm(dim=1).clamp_min(1e-12)).mean())


def sample_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean ‖a_i − b_i‖/‖b_i‖ over paired samples (same initial noise, Li et al. Figs. 3 and 9)."""
    fa, fb = _flat(a).double(), _flat(b).double()
    return float(((fa - fb).norm(dim=1) / fb.norm(dim=1).clamp_min(1e-12)).mean())


from .gaussian_edm import (EDMTrain, copy_fraction, seed_stats, train_edm, train_edm_many,  # noqa: E402,F401
                          train_edm_uncached)
from .gaussian_linear import (AffineDenoiser, DistillResult, alignment_matrix, distill_linear,  # noqa: E402,F401
                              fit_affine_dsm, subspace_overlap, top_alignment, weight_nmse)

"""MoLRG and trained networks: Jacobian rank and editing directions, the EDM MLP denoiser, the GL score.

Chapter 4 §4–6. Re-exported by :mod:`gendiff.molrg`.
"""
from __future__ import annotations

import itertools

import torch

from . import jacobian as _jacobian
from . import models as _models
from .molrg_exact import off_subspace_ratio


# ----------------------------------------------------------------------------------------------------
# Jacobians: numerical rank and editing directions
# ----------------------------------------------------------------------------------------------------


def numerical_rank(s: torch.Tensor, energy: float = 0.99) -> torch.Tensor:
    """Smallest r with √(Σ_{i≤r} s_i²) > energy·‖s‖₂ (official ``jacobian.py``); s (..., m) descending."""
    c = torch.sqrt(torch.cumsum(s.pow(2), -1))
    return (c <= energy * c[..., -1:]).sum(-1) + 1


def jacobians(D, y: torch.Tensor, sigma) -> torch.Tensor:
    """J_i = ∂D(y_i, σ)/∂y_i for every row of y ``(B, n)``: :func:`gendiff.jacobian.jacobian` (vmap ∘ jacrev)."""
    return _jacobian.jacobian(D, y, sigma, chunk=None)


def rank_vs_sigma(D, x0: torch.Tensor, sigmas, *, generator: torch.Generator, energy: float = 0.99,
                  dtype=None) -> torch.Tensor:
    """Mean numerical rank of the denoiser Jacobian at y = x0 + σε, for each σ; ``(len(sigmas),)``."""
    out = []
    for s in sigmas:
        y = x0 + s * torch.randn(x0.shape, generator=generator, dtype=x0.dtype)
        if dtype is not None:
            y = y.to(dtype)
        J = jacobians(D, y, float(s)).detach().double()
        out.append(numerical_rank(torch.linalg.svdvals(J), energy).double().mean())
    return torch.stack(out)


def editing_directions(D, y: torch.Tensor, sigma: float, k: int = 3):
    """Top-k right singular vectors v_i of J = ∂D(y, σ)/∂y at one point y ``(n,)`` and their values s_i.

    Moving y along v_i changes the denoised output the most (LOCO-Edit's pull-back directions; exact SVD
    here instead of their subspace iteration, as n is small). Returns (J, s (n,), V (n, k)).
    """
    J = jacobians(D, y.unsqueeze(0), sigma)[0].double()
    _, s, Vh = torch.linalg.svd(J)
    return J, s, Vh[:k].T


# ----------------------------------------------------------------------------------------------------
# a small trained network: an EDM-preconditioned MLP denoiser
# ----------------------------------------------------------------------------------------------------


def MLPDenoiser(n: int, width: int = 256, depth: int = 3, sigma_data: float = 0.5):
    """Our stand-in for the paper's U-Net on vectors (n = 48 MoLRG or 64-pixel digits): the EDM-preconditioned
    MLP :func:`gendiff.models.mlp_denoiser`, D(y, σ) = c_skip y + c_out F(c_in y, ¼ ln σ) (Karras et al. 2022)."""
    return _models.mlp_denoiser(n, width, depth, sigma_data)


# ----------------------------------------------------------------------------------------------------
# generalization score on MoLRG and the collapse of GL curves
# ----------------------------------------------------------------------------------------------------


def gl_score_molrg(samples: torch.Tensor, train: torch.Tensor, U: torch.Tensor, *, mem_ratio: float = 1 / 3,
                   off_tol: float = 0.2) -> dict:
    """Our stand-in for the paper's MoLRG GL score (its eq. 48/49 could not be retrieved).

    A sample x̂ is *memorised* if ‖x̂ − NN₁‖ < ``mem_ratio``·‖x̂ − NN₂‖ (nearest and second-nearest training
    points) and *on-manifold* if min_k ‖(I − U_kU_kᵀ)x̂‖/‖x̂‖ < ``off_tol``. GL = fraction of samples that are
    on-manifold and not memorised. Returns GL and the two fractions. Needs at least two training points.
    """
    if train.shape[0] < 2:
        raise ValueError(f"the memorisation test compares the two nearest training points; train holds {train.shape[0]}")
    dist = torch.cdist(samples.double(), train.double())
    two = dist.topk(2, largest=False).values
    mem = two[:, 0] < mem_ratio * two[:, 1]
    on = off_subspace_ratio(U.double(), samples.double()) < off_tol
    return {"gl": float((on & ~mem).double().mean()), "memorized": float(mem.double().mean()),
            "on_manifold": float(on.double().mean())}


def curve_gap(curves: dict) -> float:
    """Mean distance between score curves, to test a collapse: ``curves`` maps a label (e.g. d) to ``(x, y)``
    with x > 0 increasing. For every pair of curves, |y₁ − y₂| is averaged over a uniform grid of log x on the
    overlap of their x ranges (linear interpolation in log x); the result is the mean over pairs (NaN if no pair
    overlaps). Curves that collapse when plotted against x give a small gap."""
    import numpy as np

    gaps = []
    for (x1, y1), (x2, y2) in itertools.combinations([(np.log(np.asarray(x, float)), np.asarray(y, float))
                                                       for x, y in curves.values()], 2):
        lo, hi = max(x1.min(), x2.min()), min(x1.max(), x2.max())
        if hi <= lo:
            continue
        grid = np.linspace(lo, hi, 50)
        gaps.append(float(np.abs(np.interp(grid, x1, y1) - np.interp(grid, x2, y2)).mean()))
    return float(np.mean(gaps)) if gaps else float("nan")


# ----------------------------------------------------------------------------------------------------
# §5: the EDM U-Net on MoLRG images, generalization against N_k/d
# ----------------------------------------------------------------------------------------------------

def gl_data(side: int, d: int, ratio: int, *, generator: torch.Generator, K: int = 2):
    """MoLRG data in image form: N_k = ``ratio``·d samples of each of K mutually orthogonal d-dimensional
    subspaces of R^n, n = side², reshaped to (K·N_k, 1, side, side) float32 images (eq. ch04-molrg, μ = 0,
    Λ = I). Returns (images, U (K, n, d) float64)."""
    from .molrg_exact import random_bases, sample_molrg

    U = random_bases(side * side, K, d, generator=generator)
    x, _ = sample_molrg(U, ratio * d, generator=generator)
    return x.float().reshape(-1, 1, side, side), U


def gl_unet_sweep(side: int, ds, ratios, *, steps: int, channels: int, batch: int, samples: int,
                  workers: int = 1, name: str = "ch04-unet-gl",
                  cert_sigmas=(0.02, 0.1, 0.5, 2.0)) -> tuple[dict, dict]:
    """(d, ratio) → :func:`gl_score_molrg` of ``samples`` Heun samples (18 steps, EDM's) of the book's EDM
    U-Net (``edm_unet(1, channels)``, σ_data = the data's std) trained ``steps`` Adam steps with EDM's noise
    law and weighting on :func:`gl_data` (seed 300 + 10d + ratio, which also draws the sampler's noise).
    All runs go through :func:`gendiff.train.train_many` (cached; ``workers`` processes).

    Returns ``(gl, certificates)``: the scores, and each network's :func:`gendiff.certificate.certify` on
    its training images (which a memorizing network reproduces) against doing nothing, at ``cert_sigmas``
    inside the EDM law's training range, with the plateau of its loss."""
    import functools

    from . import certificate, runtime, sampling
    from . import train as T

    cells = {}
    for d in ds:
        for r in ratios:
            g = runtime.generator(300 + 10 * d + r)
            x, U = gl_data(side, d, r, generator=g)
            sd = float(x.std())
            fit = T.FitConfig(steps=steps, lr=2e-3, ema_decay=0.995, warmup=100, seed=r)
            tc = T.DenoiserTrainConfig(fit=fit, batch_size=min(batch, 4 * len(x)), noise=T.NoiseLaw("edm"),
                                       weight="edm", sigma_data=sd)
            make = functools.partial(_models.edm_unet, 1, channels, (1, 2), sd)
            cells[d, r] = (T.Job(make, x, tc, name), g, x, U)
    nets = T.train_many({c: v[0] for c, v in cells.items()}, workers=workers)
    out, certs = {}, {}
    lo, hi = certificate.training_range(T.NoiseLaw("edm"))
    at = [s for s in cert_sigmas if lo <= s <= hi]
    for c, (_, g, x, U) in cells.items():
        certs[c] = certificate.certify(nets[c].model.cpu(), x, x, at, losses=nets[c].history["loss"])
        z = 80 * torch.randn(samples, 1, side, side, generator=g)
        with torch.no_grad():
            s = sampling.edm_sample(nets[c].model.cpu(), z, num_steps=18).x
        if not torch.isfinite(s).all():
            raise RuntimeError(f"non-finite samples for d = {c[0]}, N_k/d = {c[1]}: the run diverged")
        out[c] = gl_score_molrg(s.flatten(1), x.flatten(1), U.float())
    return out, certs

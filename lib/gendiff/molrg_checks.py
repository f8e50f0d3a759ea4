"""MoLRG, Chapter 4: the measurements behind the chapter's checks and claims.

Each function is one step of the chapter's argument run over a grid (noise levels, sample sizes, test
points); the mathematics is in :mod:`gendiff.molrg_exact` (exact denoiser, eqs. ch04-weights and
ch04-denoiser; the DAE loss, ch04-thm1), :mod:`gendiff.molrg_solvers` (PCA, K-subspaces, ch04-thm3) and
:mod:`gendiff.molrg_nets` (Jacobians). Random draws come from the ``generator`` passed in, in a fixed
order, so a result depends only on its seed. Re-exported by :mod:`gendiff.molrg`.
"""
from __future__ import annotations

import dataclasses
import math
import textwrap

import numpy as np
import torch

from . import runtime
from .molrg_exact import (MoLRGDenoiser, dae_loss_closed_form, dae_loss_mc, mc_posterior_mean,
                          random_bases, sample_molrg)
from .molrg_nets import editing_directions
from .molrg_solvers import k_subspaces, pca_subspace, single_subspace_distance, subspace_distance


def config_lines(cfg, width: int = 88) -> str:
    """A config dataclass as text, one field per line; nested dataclasses as wrapped ``name=value`` lists."""
    rows = []
    for f in dataclasses.fields(cfg):
        v = getattr(cfg, f.name)
        if dataclasses.is_dataclass(v):
            v = ", ".join(f"{g.name}={getattr(v, g.name)!r}" for g in dataclasses.fields(v))
        rows.append(textwrap.fill(f"{f.name:<18} {v}", width, subsequent_indent=" " * 19))
    return "\n".join(rows)


# ----------------------------------------------------------------------------------------------------
# §1: the exact denoiser against Monte Carlo
# ----------------------------------------------------------------------------------------------------


def mc_check(U: torch.Tensor, sigmas, *, points: int, draws: int, generator: torch.Generator) -> dict:
    """Compare the closed form (ch04-denoiser) with :func:`mc_posterior_mean` at ``points`` noisy draws
    y = x + σε per σ.

    Returns, per σ, the largest relative error ‖MC − exact‖/‖exact‖ (``err``), the sampler's own relative
    standard error (``se``) and the error in units of that standard error (``z``).
    """
    den = MoLRGDenoiser(U)
    out = {"err": {}, "se": {}, "z": {}}
    for s in sigmas:
        x0, _ = den.sample(points, generator=generator)
        y = x0 + s * torch.randn(x0.shape, generator=generator, dtype=x0.dtype)
        mc, se = mc_posterior_mean(U, y, s, n_draws=draws, generator=generator, return_se=True)
        ex = den(y, s)
        out["err"][s] = ((mc - ex).norm(dim=1) / ex.norm(dim=1)).max().item()
        out["se"][s] = (se.norm(dim=1) / ex.norm(dim=1)).max().item()
        out["z"][s] = ((mc - ex).norm(dim=1) / se.norm(dim=1)).max().item()
    return out


def subspace_energy(U: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """‖U_kᵀx‖² for every point and component, ``(B, K)``."""
    return torch.einsum("knd,bn->bkd", U, x).pow(2).sum(-1)


# ----------------------------------------------------------------------------------------------------
# §2: Theorem 1 (ch04-thm1) and the hard-max surrogate of Theorem 3 (ch04-thm3)
# ----------------------------------------------------------------------------------------------------


def thm1_relative_errors(x: torch.Tensor, sigmas, bases: dict, *, draws: int,
                         generator: torch.Generator) -> np.ndarray:
    """|MC loss − closed form (ch04-thm1)| / closed form, ``(len(sigmas), len(bases))``.

    ``bases`` maps a name to an (n, d) basis or to a zero-argument function that returns one (called
    afresh at every σ, e.g. a randomised PCA that draws from ``generator``).
    """
    rel = []
    for s in sigmas:
        Vs = [V() if callable(V) else V for V in bases.values()]  # all bases first, then the losses
        for V in Vs:
            cf = dae_loss_closed_form(V, x, float(s))
            mc = dae_loss_mc(V, x, float(s), draws=draws, generator=generator)
            rel.append(float(abs(mc - cf) / cf))
    return np.array(rel).reshape(len(sigmas), len(bases))


def rotated_bases(U: torch.Tensor, angle: float, *, generator: torch.Generator) -> torch.Tensor:
    """Each basis U_k (K, n, d) turned by ``angle`` towards a random direction orthogonal to every U_k."""
    K, n, d = U.shape
    W = random_bases(n, 2 * K, d, generator=generator)[K:]
    W = W - U @ (U.transpose(1, 2) @ W)
    return torch.linalg.qr(math.cos(angle) * U + math.sin(angle) * W).Q


def soft_hard_gap(U: torch.Tensor, x: torch.Tensor, sigmas, *, draws: int,
                  generator: torch.Generator) -> np.ndarray:
    """(soft-gate loss by Monte Carlo − hard-max closed form) / hard-max closed form, per σ."""
    out = []
    for s in sigmas:
        cf = dae_loss_closed_form(U, x, float(s))
        out.append(float((dae_loss_mc(U, x, float(s), draws=draws, generator=generator) - cf) / cf))
    return np.array(out)


# ----------------------------------------------------------------------------------------------------
# §3: success rates of the phase-transition sweeps (success = subspace error < 0.5)
# ----------------------------------------------------------------------------------------------------


def success(err: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """Success rate over the last axis (trials): the fraction of errors below ``threshold``."""
    return (err < threshold).double().mean(-1)


def split_rates(err: torch.Tensor, d_list, N_list) -> tuple[float, float, float]:
    """Success rates of a (d, N, trials) sweep below the diagonal (max over N < d) and on or above it
    (min and mean over N ≥ d)."""
    succ = success(err)
    cells = [(float(succ[i, j]), N < d) for i, d in enumerate(d_list) for j, N in enumerate(N_list)]
    below = [s for s, b in cells if b]
    above = [s for s, b in cells if not b]
    return max(below), min(above), float(np.mean(above))


def rate_by_N(r: dict) -> dict:
    """N ↦ success rate over trials, for a :func:`gendiff.molrg_dae.sweep_dae` result."""
    return dict(zip(r["N"], success(r["err"]).tolist()))


def first_all(rates: dict) -> float:
    """The smallest N from which every trial succeeds at every larger N (NaN if none)."""
    ok = [N for N in rates if all(rates[m] == 1 for m in rates if m >= N)]
    return min(ok, default=float("nan"))


def recover_one(n: int, N: int, d: int, K: int, *, seed: int):
    """One noiseless problem (N points per component) solved by PCA (K = 1) or K-subspaces from a
    spectral start (K > 1); returns the truth U, the estimate Û (both (1, K, n, d)) and the error."""
    g = runtime.generator(seed)
    U = random_bases(n, K, d, generator=g, trials=1)
    x, _ = sample_molrg(U, N, generator=g)
    if K == 1:
        Uh = pca_subspace(x, d, generator=g)[:, None]
        return U, Uh, float(single_subspace_distance(Uh[0, 0], U[0, 0]))
    Uh = k_subspaces(x, K, d, generator=g)
    return U, Uh, float(subspace_distance(Uh[0], U[0]))


# ----------------------------------------------------------------------------------------------------
# §6: editing directions
# ----------------------------------------------------------------------------------------------------


def edit_stats(D, X: torch.Tensor, labels: torch.Tensor, U_class: torch.Tensor, sigmas, *,
               points: int, generator: torch.Generator, dtype=torch.float64) -> dict:
    """Medians over ``points`` noisy images y = x_i + σε of ‖U_kᵀv₁‖ (v₁ inside the class subspace k of
    x_i) and of ‖Jv₁‖/‖Jr‖ for a random unit r; ``{σ: (in-subspace, ratio)}``.

    J = ∂D(y, σ)/∂y and v₁ its top right singular vector (:func:`editing_directions`); ``D`` sees y in
    ``dtype``.
    """
    out = {}
    n = X.shape[1]
    for s in sigmas:
        ins, rat = [], []
        for i in range(points):
            yi = X[i].double() + s * torch.randn(n, generator=generator, dtype=torch.float64)
            J, S, V = editing_directions(D, yi.to(dtype), s, 3)
            ins.append(float((U_class[labels[i]].T @ V[:, 0]).norm()))
            r = random_unit(n, generator)
            rat.append(float(S[0] / (J @ r).norm()))
        out[s] = (float(np.median(ins)), float(np.median(rat)))
    return out


def random_unit(n: int, generator: torch.Generator) -> torch.Tensor:
    """A uniformly random unit vector in R^n (float64)."""
    r = torch.randn(n, generator=generator, dtype=torch.float64)
    return r / r.norm()

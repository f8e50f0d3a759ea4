"""MoLRG, closed-form solvers: PCA (K = 1) and K-subspaces (K > 1), subspace distances, phase-transition sweeps.

Chapter 4 §3 (Wang et al., arXiv:2409.02426, Thms 2–4). Bases ``U`` are ``(..., K, n, d)``, data ``(..., N, n)``;
re-exported by :mod:`gendiff.molrg`.
"""
from __future__ import annotations

import itertools

import torch
from torch import nn

from . import runtime
from .molrg_exact import random_bases, sample_molrg


# ----------------------------------------------------------------------------------------------------
# closed-form solvers: PCA and K-subspaces
# ----------------------------------------------------------------------------------------------------


def top_directions(x: torch.Tensor, d: int, *, generator: torch.Generator) -> torch.Tensor:
    """Top-d right singular directions of x ``(..., N, n)`` → ``(..., n, d)``, batched.

    When the rows span r < d directions the optimum is not unique: the missing d − r directions are drawn
    at random orthogonal to the span (the honest tie-break; LAPACK's choice would be deterministic).
    """
    *batch, N, n = x.shape
    _, S, Vh = torch.linalg.svd(x, full_matrices=False)                   # S (..., r), Vh (..., r, n)
    r = S.shape[-1]
    rank = (S > 1e-9 * S[..., :1].clamp_min(1e-300)).sum(-1)            # (...)
    V = Vh.transpose(-1, -2)                                            # (..., n, r)
    if r < d:
        V = torch.cat([V, V.new_zeros(*batch, n, d - r)], -1)
    cand = V[..., :d]
    keep = torch.arange(d) < rank.unsqueeze(-1)                          # (..., d)
    Vs = V[..., :min(r, d)] * keep[..., :min(r, d)].unsqueeze(-2)
    G = torch.randn(*batch, n, d, generator=generator, dtype=x.dtype)
    G = G - Vs @ (Vs.transpose(-1, -2) @ G)
    Q = torch.linalg.qr(torch.where(keep.unsqueeze(-2), cand, G)).Q
    return Q


def pca_subspace(x: torch.Tensor, d: int, *, generator: torch.Generator, mask: torch.Tensor | None = None):
    """Top-d principal subspace (uncentred) of x ``(..., N, n)``: argmax_{UᵀU=I} Σ_i ‖Uᵀx_i‖² (Thm 1).

    ``mask`` (..., N) excludes padded points; random tie-break below rank d (:func:`top_directions`).
    Returns ``(..., n, d)``.
    """
    if mask is not None:
        x = x * mask.unsqueeze(-1)
    return top_directions(x, d, generator=generator)


def sc_objective(U: torch.Tensor, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Σ_i max_k ‖U_kᵀx_i‖², the subspace-clustering objective (SC) of Thm 3; U (..., K, n, d), x (..., N, n)."""
    v = torch.einsum("...knd,...bn->...bkd", U, x).pow(2).sum(-1).max(-1).values
    if mask is not None:
        v = v * mask
    return v.sum(-1)


def spectral_labels(x: torch.Tensor, K: int) -> torch.Tensor:
    """Spectral clustering of the cosine affinity |⟨x_i, x_j⟩|/(‖x_i‖‖x_j‖), batched: x (T, N, n) -> (T, N).

    For mutually orthogonal subspaces the affinity is block diagonal, so the top-K eigenvectors of the
    normalised affinity give the components exactly (rows are then clustered by farthest-point k-means).
    """
    xn = x / x.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    A = (xn @ xn.transpose(-1, -2)).abs()
    A = A - torch.diag_embed(torch.diagonal(A, dim1=-2, dim2=-1))
    deg = A.sum(-1).clamp_min(1e-12)
    L = A / torch.sqrt(deg.unsqueeze(-1) * deg.unsqueeze(-2))
    _, V = torch.linalg.eigh(L)
    E = V[..., -K:]
    E = E / E.norm(dim=-1, keepdim=True).clamp_min(1e-12)             # (T, N, K)
    T, N, _ = E.shape
    # farthest-point initialisation, then a few Lloyd steps
    centers = [E[:, 0]]
    for _ in range(1, K):
        dist = torch.stack([(E - c.unsqueeze(1)).pow(2).sum(-1) for c in centers], -1).min(-1).values
        centers.append(E[torch.arange(T), dist.argmax(-1)])
    C = torch.stack(centers, 1)                                        # (T, K, K)
    for _ in range(10):
        lab = torch.cdist(E, C).argmin(-1)
        oh = nn.functional.one_hot(lab, K).to(E.dtype)                 # (T, N, K)
        C = (oh.transpose(1, 2) @ E) / oh.sum(1).unsqueeze(-1).clamp_min(1)
    return torch.cdist(E, C).argmin(-1)


def k_subspaces(x: torch.Tensor, K: int, d: int, *, generator: torch.Generator, init: str = "spectral",
                restarts: int = 1, iters: int = 30) -> torch.Tensor:
    """K-subspaces (alternating assignment / per-cluster PCA) for the SC objective, batched over trials.

    x ``(T, N, n)``. ``init="spectral"``: start from :func:`spectral_labels`; ``init="random"``: random
    bases, ``restarts`` of them per trial, keeping the run with the largest SC objective. Returns
    ``(T, K, n, d)``.
    """
    if init not in ("spectral", "random"):
        raise ValueError(f"init must be 'spectral' or 'random', got {init!r}")
    T, N, n = x.shape
    R = 1 if init == "spectral" else restarts
    xr = x.repeat_interleave(R, 0)                                     # (T·R, N, n)

    def fit_clusters(lab):                                             # per-cluster PCA, (T·R, K, n, d)
        oh = nn.functional.one_hot(lab, K).to(x.dtype)                 # (TR, N, K)
        return top_directions(xr.unsqueeze(1) * oh.transpose(1, 2).unsqueeze(-1), d, generator=generator)

    def assign(U):
        return torch.einsum("tknd,tbn->tbkd", U, xr).pow(2).sum(-1).argmax(-1)

    if init == "spectral":
        lab = spectral_labels(xr, K)
        U = fit_clusters(lab)
    else:
        U = random_bases(n, K, d, generator=generator, trials=T * R, orthogonal=False, dtype=x.dtype)
        lab = assign(U)
        U = fit_clusters(lab)
    for _ in range(iters):
        new = assign(U)
        if torch.equal(new, lab):
            break
        lab = new
        U = fit_clusters(lab)
    obj = sc_objective(U, xr).reshape(T, R)
    best = obj.argmax(-1)
    return U.reshape(T, R, K, n, d)[torch.arange(T), best]


def subspace_distance(U_hat: torch.Tensor, U_star: torch.Tensor) -> torch.Tensor:
    """max_k ‖Û_{π(k)}Û_{π(k)}ᵀ − U*_kU*_kᵀ‖_F for the permutation π minimising the sum of squares.

    Accepts ``(..., n, d)`` (one subspace) or ``(..., K, n, d)``; returns ``(...)``. Equals
    √2‖sin Θ‖_F (principal angles Θ). A whole missing direction costs √2 ≈ 1.41; success is < 0.5.
    """
    if U_hat.shape[-3:] != U_star.shape[-3:] and U_star.dim() > 2:
        raise ValueError(f"shape mismatch {tuple(U_hat.shape)} vs {tuple(U_star.shape)}")
    if U_star.dim() == 2:
        return single_subspace_distance(U_hat, U_star)
    P_h = U_hat @ U_hat.transpose(-1, -2)
    P_s = U_star @ U_star.transpose(-1, -2)
    K = U_star.shape[-3]
    # pairwise squared distances (..., K_hat, K_star)
    D2 = (P_h.unsqueeze(-3) - P_s.unsqueeze(-4)).pow(2).flatten(-2).sum(-1)
    best_sum, best_max = None, None
    for perm in itertools.permutations(range(K)):
        parts = torch.stack([D2[..., perm[k], k] for k in range(K)], -1)
        s, m = parts.sum(-1), parts.max(-1).values
        if best_sum is None:
            best_sum, best_max = s, m
        else:
            better = s < best_sum
            best_sum = torch.where(better, s, best_sum)
            best_max = torch.where(better, m, best_max)
    return best_max.sqrt()


def single_subspace_distance(U_hat: torch.Tensor, U_star: torch.Tensor) -> torch.Tensor:
    """‖ÛÛᵀ − U*U*ᵀ‖_F for single bases ``(..., n, d)``."""
    return (U_hat @ U_hat.transpose(-1, -2) - U_star @ U_star.transpose(-1, -2)).flatten(-2).norm(dim=-1)


# ----------------------------------------------------------------------------------------------------
# phase-transition sweeps and the noisy-data rate
# ----------------------------------------------------------------------------------------------------


def sweep_closed_form(n: int, K: int, d_list, N_list, trials: int, *, seed: int, init: str = "spectral",
                      restarts: int = 1, noise: float = 0.0) -> torch.Tensor:
    """Subspace errors of PCA (K = 1) or K-subspaces (K > 1), ``(len(d_list), len(N_list), trials)``.

    ``N_list`` counts samples per component (N_k). All trials of a cell are solved in one batch.
    """
    gen = runtime.generator(seed)
    err = torch.full((len(d_list), len(N_list), trials), float("nan"), dtype=torch.float64)
    for i, d in enumerate(d_list):
        for j, Nk in enumerate(N_list):
            U = random_bases(n, K, d, generator=gen, trials=trials)
            x, _ = sample_molrg(U, Nk, generator=gen, noise=noise)
            if K == 1:
                err[i, j] = single_subspace_distance(pca_subspace(x, d, generator=gen), U[:, 0])
            else:
                Uh = k_subspaces(x, K, d, generator=gen, init=init, restarts=restarts)
                err[i, j] = subspace_distance(Uh, U)
    return err


def noisy_pca_errors(n: int, d: int, N_list, trials: int, eta: float, *, seed: int) -> torch.Tensor:
    """PCA subspace error on noisy samples x = U*a + e, e ~ N(0, η²I/n): ``(len(N_list), trials)``.

    Thm 2 (as reported): error ≲ c‖E‖_F/(√N − √(d−1)), E = [e_1 … e_N]. Since ‖E‖_F ≈ η√N, this bound tends
    to the constant cη and predicts no decay. Our own prediction: the sample second-moment matrix
    (1/N)Σ x_ix_iᵀ deviates from its expectation by O(1/√N), and by Davis–Kahan the subspace error is at most
    a constant times that deviation over the eigengap, so for N ≫ d it falls like N^(−1/2).
    """
    gen = runtime.generator(seed)
    out = torch.empty(len(N_list), trials, dtype=torch.float64)
    for j, N in enumerate(N_list):
        U = random_bases(n, 1, d, generator=gen, trials=trials)
        x, _ = sample_molrg(U, N, generator=gen, noise=eta)
        out[j] = single_subspace_distance(pca_subspace(x, d, generator=gen), U[:, 0])
    return out


def loglog_slope(N, err) -> float:
    """Least-squares slope of log err against log N."""
    lx = torch.log(torch.as_tensor(N, dtype=torch.float64))
    ly = torch.log(torch.as_tensor(err, dtype=torch.float64))
    lx = lx - lx.mean()
    return float((lx * (ly - ly.mean())).sum() / (lx * lx).sum())

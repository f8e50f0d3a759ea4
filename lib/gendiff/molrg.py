"""Mixtures of low-rank Gaussians (MoLRG): data, exact denoiser, low-rank DAE, subspace clustering.

Reimplements, from the mathematics, Wang, Zhang, Zhang, Chen, Ma & Qu, *Diffusion models learn
low-dimensional distributions via subspace clustering* (arXiv:2409.02426). The paper's body and its
low-rank-DAE code were not available; every formula below is re-derived (book spec, paper 4 §2) and the
equation numbers refer to Chapter 4 of this book, ``(ch04-…)``.

Conventions. ``U`` holds K orthonormal bases as a tensor ``(..., K, n, d)``; data ``x`` are ``(..., N, n)``.
Noise is variance-exploding, ``y = x + σ ε`` (a VP process ``x_t = s x + γ ε`` is the same after dividing
by ``s``, with ``σ = γ/s``). Every denoiser is a callable ``D(y, sigma) -> x_hat``.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import torch
from torch import nn

from . import jacobian as _jacobian
from .denoisers import posterior_mean_stream
from . import models as _models
from . import train as _train

# ----------------------------------------------------------------------------------------------------
# data
# ----------------------------------------------------------------------------------------------------


def random_bases(n: int, K: int, d: int, *, generator: torch.Generator, trials: int | None = None,
                 orthogonal: bool = True, dtype=torch.float64) -> torch.Tensor:
    """K orthonormal bases U*_k ∈ O^{n×d}, ``(K, n, d)`` or ``(trials, K, n, d)``.

    ``orthogonal=True`` takes disjoint column blocks of one n×Kd orthonormal matrix, so the subspaces are
    mutually orthogonal, as in the official ``MoLRG`` dataset (which uses blocks of an SVD). Otherwise
    each basis is drawn independently (Haar).
    """
    if orthogonal and K * d > n:
        raise ValueError(f"K·d = {K * d} orthogonal directions do not fit in n = {n} dimensions")
    if d < 1 or K < 1 or n < d:
        raise ValueError(f"need 1 <= d <= n and K >= 1, got n={n}, K={K}, d={d}")
    T = 1 if trials is None else trials
    if orthogonal:
        G = torch.randn(T, n, K * d, generator=generator, dtype=dtype)
        Q = torch.linalg.qr(G).Q                                   # (T, n, K·d)
        U = Q.reshape(T, n, K, d).permute(0, 2, 1, 3).contiguous() # (T, K, n, d)
    else:
        U = torch.linalg.qr(torch.randn(T, K, n, d, generator=generator, dtype=dtype)).Q
    return U[0] if trials is None else U


def sample_molrg(U: torch.Tensor, n_per: int, *, generator: torch.Generator, noise: float = 0.0,
                 mu: torch.Tensor | None = None, lam: torch.Tensor | None = None):
    """``n_per`` samples of each component: x = μ_k + U_k Λ_k^{1/2} a + e, a ~ N(0, I_d), e ~ N(0, η²I/n).

    Eq. (ch04-molrg). ``U``: ``(..., K, n, d)``. Balanced classes (N_k = ``n_per``), the setting of the
    sample-complexity theorems. Returns ``x`` ``(..., K·n_per, n)`` and labels ``(K·n_per,)``.
    """
    *batch, K, n, d = U.shape
    a = torch.randn(*batch, K, n_per, d, generator=generator, dtype=U.dtype)
    if lam is not None:
        a = a * lam.sqrt().unsqueeze(-2)
    x = torch.einsum("...knd,...kpd->...kpn", U, a)
    if mu is not None:
        x = x + mu.unsqueeze(-2)
    x = x.reshape(*batch, K * n_per, n)
    if noise > 0:
        x = x + noise / math.sqrt(n) * torch.randn(x.shape, generator=generator, dtype=U.dtype)
    labels = torch.arange(K).repeat_interleave(n_per)
    return x, labels


# ----------------------------------------------------------------------------------------------------
# the exact denoiser (posterior weights, mean, score)
# ----------------------------------------------------------------------------------------------------


def _sig(sigma, like: torch.Tensor) -> torch.Tensor:
    """σ as a tensor broadcastable against ``like`` (..., B, n): a scalar or (..., B) -> (..., B, 1)."""
    s = torch.as_tensor(sigma, dtype=like.dtype, device=like.device)
    return s.unsqueeze(-1) if s.dim() else s


def _parts(U, y, sigma, mu, lam):
    """Shared pieces of eqs. (ch04-weights)/(ch04-denoiser): z = y − μ_k, c = U_kᵀz, σ², λ."""
    *_, K, n, d = U.shape
    s2 = _sig(sigma, y) ** 2                                          # () or (..., B, 1)
    s2k = s2.unsqueeze(-1) if s2.dim() else s2                       # () or (..., B, 1, 1) vs (..., B, K, d)
    lam = torch.ones(K, d, dtype=y.dtype, device=y.device) if lam is None else lam.to(y.dtype)
    z = y.unsqueeze(-2) if mu is None else y.unsqueeze(-2) - mu.to(y.dtype).unsqueeze(-3)   # (..., B, K, n)
    c = torch.einsum("...knd,...bkn->...bkd", U, z)                  # (..., B, K, d)
    lam_b = lam.unsqueeze(-3)                                        # (..., 1, K, d)
    return z, c, s2, s2k, lam_b


def posterior_logits(U, y, sigma, *, pi=None, mu=None, lam=None) -> torch.Tensor:
    """log p(k | y) up to a constant, ``(..., B, K)``; eq. (ch04-weights).

    Given k, y ~ N(μ_k, U_k Λ_k U_kᵀ + σ²I). With c = U_kᵀ(y − μ_k):
    log w_k = log π_k − [‖y−μ_k‖² − Σ_i λ_i c_i²/(λ_i+σ²)]/(2σ²) − ½Σ_i log(λ_i+σ²) − (n−d)/2·log σ².
    For μ = 0, λ = 1 this is log π_k + ‖U_kᵀy‖²/(2σ²(1+σ²)) + terms equal for all k (equal d).
    U ``(..., K, n, d)``, y ``(..., B, n)``, sigma a float or ``(..., B)``.
    """
    *_, K, n, d = U.shape
    z, c, s2, s2k, lam_b = _parts(U, y, sigma, mu, lam)
    quad = z.pow(2).sum(-1) - (lam_b / (lam_b + s2k) * c.pow(2)).sum(-1)       # (..., B, K)
    logdet = torch.log(lam_b + s2k).sum(-1) + (n - d) * torch.log(s2)
    out = -0.5 * quad / s2 - 0.5 * logdet
    if pi is not None:
        out = out + torch.log(torch.as_tensor(pi, dtype=y.dtype, device=y.device))
    return out


def posterior_weights(U, y, sigma, **kw) -> torch.Tensor:
    """w_k(y) = p(k | y) = softmax_k of :func:`posterior_logits`, ``(..., B, K)``."""
    return torch.softmax(posterior_logits(U, y, sigma, **kw), dim=-1)


def posterior_mean(U, y, sigma, *, pi=None, mu=None, lam=None, hard: bool = False) -> torch.Tensor:
    """The exact MoLRG denoiser E[x | y], eq. (ch04-denoiser), ``(..., B, n)``.

    E[x | y] = Σ_k w_k(y) [μ_k + U_k diag(λ/(λ+σ²)) U_kᵀ (y − μ_k)]; with μ = 0, λ = 1:
    Σ_k w_k(y) · 1/(1+σ²) · U_k U_kᵀ y. ``hard=True`` replaces w by the one-hot argmax (Thm 3's hard-max).
    """
    K = U.shape[-3]
    logits = posterior_logits(U, y, sigma, pi=pi, mu=mu, lam=lam)
    w = (nn.functional.one_hot(logits.argmax(-1), K).to(y.dtype) if hard else torch.softmax(logits, -1))
    z, c, s2, s2k, lam_b = _parts(U, y, sigma, mu, lam)
    m = torch.einsum("...knd,...bkd->...bkn", U, c * (lam_b / (lam_b + s2k)))
    if mu is not None:
        m = m + mu.to(y.dtype).unsqueeze(-3)
    return (w.unsqueeze(-1) * m).sum(-2)


def score(U, y, sigma, **kw) -> torch.Tensor:
    """∇ log p_σ(y) = (E[x|y] − y)/σ² (Tweedie), ``(..., B, n)``."""
    return (posterior_mean(U, y, sigma, **kw) - y) / _sig(sigma, y) ** 2


@dataclass
class MoLRGDenoiser:
    """The exact denoiser as a callable ``D(y, sigma)``; holds U (K, n, d) and optional π, μ (K, n), λ (K, d)."""

    U: torch.Tensor
    pi: torch.Tensor | None = None
    mu: torch.Tensor | None = None
    lam: torch.Tensor | None = None

    def __call__(self, y, sigma):
        return posterior_mean(self.U, y, sigma, pi=self.pi, mu=self.mu, lam=self.lam)

    def sample(self, m: int, *, generator: torch.Generator):
        """Exact draws from the mixture (labels drawn from π)."""
        K, n, d = self.U.shape
        pi = torch.full((K,), 1.0 / K, dtype=self.U.dtype) if self.pi is None else self.pi
        k = torch.multinomial(pi, m, replacement=True, generator=generator)
        a = torch.randn(m, d, generator=generator, dtype=self.U.dtype)
        if self.lam is not None:
            a = a * self.lam[k].sqrt()
        x = torch.einsum("bnd,bd->bn", self.U[k], a)
        return (x if self.mu is None else x + self.mu[k]), k


def mc_posterior_mean(U, y, sigma, *, n_draws: int, generator: torch.Generator, chunk: int = 100_000,
                      pi=None, mu=None, lam=None, return_se: bool = False):
    """Monte-Carlo E[x | y] by self-normalised importance sampling from the prior, ``(B, n)``.

    x^(j) ~ MoLRG, weights ∝ exp(−‖y − x^(j)‖²/(2σ²)); each draw is paired with its reflection 2μ_k − x^(j)
    (antithetic variates: the prior is symmetric about μ_k, which removes the leading error at large σ);
    computed in chunks with a running log-sum-exp.
    Independent of the closed form, so it checks eq. (ch04-denoiser). ``n_draws`` and ``chunk`` must be
    even (≥ 2): the draws come in antithetic pairs. ``return_se=True`` also returns the estimate's standard
    error per coordinate (:func:`gendiff.denoisers.posterior_mean_stream`).
    """
    if n_draws < 2 or n_draws % 2:
        raise ValueError(f"n_draws must be even and at least 2 (antithetic pairs), got {n_draws}")
    if chunk < 2 or chunk % 2:
        raise ValueError(f"chunk must be even and at least 2 (antithetic pairs), got {chunk}")
    den = MoLRGDenoiser(U, pi, mu, lam)

    def draws():
        done = 0
        while done < n_draws:
            m = min(chunk, n_draws - done) // 2
            x, k = den.sample(m, generator=generator)                # (m, n)
            centre = 0.0 if mu is None else mu.to(x.dtype)[k]
            yield torch.cat([x, 2 * centre - x]).to(y.dtype)         # antithetic pairs: the prior is symmetric
            done += 2 * m

    return posterior_mean_stream(y, float(sigma), draws(), return_se=return_se)


def off_subspace_ratio(U: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """min_k ‖(I − U_kU_kᵀ)x‖/‖x‖, ``(B,)``: 0 on the union of subspaces."""
    proj = torch.einsum("knd,bn->bkd", U, x)
    res = (x.pow(2).sum(-1, keepdim=True) - proj.pow(2).sum(-1)).clamp_min(0).sqrt()
    return res.min(-1).values / x.norm(dim=-1).clamp_min(1e-12)


# ----------------------------------------------------------------------------------------------------
# Thm 1 and Thm 3: the DAE loss in closed form
# ----------------------------------------------------------------------------------------------------


def dae_loss_closed_form(U: torch.Tensor, x: torch.Tensor, sigma: float) -> torch.Tensor:
    """K = 1: E_ε‖a·UUᵀ(x + σε) − x‖² = ‖x‖² − (2a − a²)‖Uᵀx‖² + a²σ²d, a = 1/(1+σ²); eq. (ch04-thm1).

    ``U`` (n, d), ``x`` (N, n); returns the mean over the N points. The same formula with ‖U_{k̂}ᵀx‖ for
    the best component k̂ = argmax_k ‖U_kᵀx‖ is the hard-max loss of Thm 3 (``U`` (K, n, d)).
    """
    a = 1.0 / (1.0 + sigma**2)
    if U.dim() == 3:
        sq = torch.einsum("knd,bn->bkd", U, x).pow(2).sum(-1).max(-1).values
        d = U.shape[-1]
    else:
        sq = (x @ U).pow(2).sum(-1)
        d = U.shape[-1]
    return (x.pow(2).sum(-1) - (2 * a - a * a) * sq + a * a * sigma**2 * d).mean()


def dae_loss_mc(U: torch.Tensor, x: torch.Tensor, sigma: float, *, draws: int, generator: torch.Generator,
                hard: bool = False) -> torch.Tensor:
    """Monte-Carlo E_ε‖x*_U(x + σε) − x‖² of the MoLRG-form DAE with bases ``U`` (K, n, d), mean over x.

    ``hard=False``: softmax gate (the DAE); ``hard=True``: argmax gate. For K = 1 both equal
    :func:`dae_loss_closed_form` in expectation.
    """
    U = U if U.dim() == 3 else U.unsqueeze(0)
    eps = torch.randn(draws, *x.shape, generator=generator, dtype=x.dtype)
    y = (x + sigma * eps).reshape(-1, x.shape[-1])
    xh = posterior_mean(U, y, sigma, hard=hard).reshape(draws, *x.shape)
    return (xh - x).pow(2).sum(-1).mean()


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
# the low-rank DAE and its training (projected Adam; no backpropagation through QR)
# ----------------------------------------------------------------------------------------------------


class LowRankDAE(nn.Module):
    """The MoLRG-form DAE with learnable bases, eq. (ch04-lowrank), for ``trials`` independent models.

    x_θ(y, σ) = Σ_k w_k(y; θ) · 1/(1+σ²) · U_kU_kᵀ y,  w = softmax_k(‖U_kᵀy‖²/(2σ²(1+σ²))),
    θ = {U_k ∈ O^{n×d}}: U_kᵀ is an encoder, U_k a decoder and the softmax a gate. Parameter ``U``:
    ``(trials, K, n, d)``; inputs ``y`` ``(trials, B, n)``. Orthonormality is restored by
    :meth:`retract_` (a QR *outside* the autograd graph) before every step: the forward pass uses U as is.
    """

    def __init__(self, n: int, K: int, d: int, *, trials: int = 1, generator: torch.Generator,
                 dtype=torch.float32, hard: bool = False):
        super().__init__()
        U0 = random_bases(n, K, d, generator=generator, trials=trials, orthogonal=False)
        self.U = nn.Parameter(U0.to(dtype))
        self.hard = hard

    def forward(self, y: torch.Tensor, sigma) -> torch.Tensor:
        return posterior_mean(self.U, y, sigma, hard=self.hard)

    @torch.no_grad()
    def retract_(self) -> None:
        """U ← qf(U): the QR retraction onto the Stiefel manifold, applied in place, outside autograd."""
        self.U.copy_(torch.linalg.qr(self.U.double()).Q.to(self.U.dtype))

    def bases(self) -> torch.Tensor:
        self.retract_()
        return self.U.detach().double()


@dataclass(frozen=True)
class DAETrainConfig:
    """Training of the low-rank DAE (ours; the paper's recipe was not released).

    The defaults are the recipe Chapter 4 uses (σ log-uniform on [0.02, 0.2], lr 0.05): with σ up to 1 the
    gradient noise (∝ σ²) kept runs of a few hundred steps from converging.
    """

    steps: int = 600
    lr: float = 0.05
    draws: int = 4                 # noise draws per training point and step
    sigma_min: float = 0.02        # σ ~ log-uniform [sigma_min, sigma_max]
    sigma_max: float = 0.2
    lr_final: float = 0.003        # cosine schedule end, as a fraction of lr
    restarts: int = 1              # independent random initialisations per trial; best DAE loss kept
    eval_draws: int = 64
    seed: int = 0


def dae_batch_loss(model: LowRankDAE, x: torch.Tensor, mask: torch.Tensor, sigma: torch.Tensor,
                   eps: torch.Tensor) -> torch.Tensor:
    """Per-model DAE loss (1/N)Σ_i mean_draws ‖x_θ(x_i + σε) − x_i‖², ``(trials,)``.

    x ``(T, N, n)`` padded, mask ``(T, N)``, sigma ``(T, M·N)``, eps ``(T, M, N, n)``.
    """
    T, N, n = x.shape
    M = eps.shape[1]
    y = (x.unsqueeze(1) + sigma.view(T, M, N, 1) * eps).reshape(T, M * N, n)
    err = (model(y, sigma) - x.repeat(1, M, 1)).pow(2).sum(-1).view(T, M, N).mean(1)
    return (err * mask).sum(-1) / mask.sum(-1).clamp_min(1)


def train_low_rank_dae(x: torch.Tensor, mask: torch.Tensor, K: int, d: int, cfg: DAETrainConfig, *,
                       name: str = "lowrank-dae", progress: bool = False) -> torch.Tensor:
    """Train T·R low-rank DAEs at once with :func:`gendiff.train.fit`; return the best of R per trial.

    x ``(T, N, n)`` (padded), mask ``(T, N)``. The loss closure first retracts U onto the Stiefel manifold
    (QR without gradient), then returns Σ_models of :func:`dae_batch_loss` (models are independent, so
    Adam updates each separately). Restarts are ranked by the DAE loss on common noise draws.
    Returns bases ``(T, K, n, d)`` float64.
    """
    T, N, n = x.shape
    R = cfg.restarts
    xr = x.repeat_interleave(R, 0).float()
    mr = mask.repeat_interleave(R, 0).float()
    gen = torch.Generator().manual_seed(cfg.seed)
    model = LowRankDAE(n, K, d, trials=T * R, generator=gen)
    lo, hi = math.log(cfg.sigma_min), math.log(cfg.sigma_max)

    def draw(g, M):
        # antithetic pairs (ε, −ε) at the same σ cancel the term linear in ε of the loss's noise
        sig = torch.exp(lo + (hi - lo) * torch.rand(T * R, M // 2, N, generator=g)).repeat(1, 2, 1)
        eps = torch.randn(T * R, M // 2, N, n, generator=g)
        return sig.reshape(T * R, -1), torch.cat([eps, -eps], 1)

    def loss_fn(step, g):
        model.retract_()
        sig, eps = draw(g, cfg.draws)
        return dae_batch_loss(model, xr, mr, sig, eps).sum()

    fit_cfg = _train.FitConfig(steps=cfg.steps, lr=cfg.lr, schedule="cosine", lr_final=cfg.lr_final, seed=cfg.seed,
                               amp=False, diverge_factor=1e6)
    _train.fit(model, loss_fn, fit_cfg, name=name, progress=progress, log_every=max(1, cfg.steps))
    U = model.bases()                                                  # (T·R, K, n, d)
    if R == 1:
        return U
    with torch.no_grad():
        g = torch.Generator().manual_seed(cfg.seed + 1)
        sig, eps = draw(g, cfg.eval_draws)
        # common random numbers: the same noise for every restart of a trial
        sig = sig.view(T, R, -1)[:, :1].expand(T, R, -1).reshape(T * R, -1)
        eps = eps.view(T, R, *eps.shape[1:])[:, :1].expand(T, R, *eps.shape[1:]).reshape(eps.shape)
        model.U.data = U.float()
        ev = dae_batch_loss(model, xr, mr, sig, eps).view(T, R)
    best = ev.argmin(-1)
    return U.view(T, R, K, n, d)[torch.arange(T), best]


# ----------------------------------------------------------------------------------------------------
# phase-transition sweeps
# ----------------------------------------------------------------------------------------------------


def sweep_closed_form(n: int, K: int, d_list, N_list, trials: int, *, seed: int, init: str = "spectral",
                      restarts: int = 1, noise: float = 0.0) -> torch.Tensor:
    """Subspace errors of PCA (K = 1) or K-subspaces (K > 1), ``(len(d_list), len(N_list), trials)``.

    ``N_list`` counts samples per component (N_k). All trials of a cell are solved in one batch.
    """
    gen = torch.Generator().manual_seed(seed)
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


def sweep_dae(n: int, K: int, d: int, N_list, trials: int, cfg: DAETrainConfig, *, seed: int,
              progress: bool = False) -> dict:
    """Train low-rank DAEs for every N_k in ``N_list`` and ``trials`` datasets, all in one :func:`fit`.

    Datasets of different sizes are padded to the largest and masked. Returns the errors
    ``(len(N_list), trials)`` and the truth/estimates.
    """
    gen = torch.Generator().manual_seed(seed)
    L = len(N_list)
    Nmax = max(N_list)
    U = random_bases(n, K, d, generator=gen, trials=L * trials)
    x, _ = sample_molrg(U, Nmax, generator=gen)                        # (L·T, K·Nmax, n)
    per = torch.arange(Nmax).repeat(K)                                 # index within component
    Ns = torch.tensor(N_list).repeat_interleave(trials)
    mask = per.unsqueeze(0) < Ns.unsqueeze(1)                          # (L·T, K·Nmax)
    Uh = train_low_rank_dae(x, mask, K, d, cfg, name=f"lowrank-dae K={K} d={d}", progress=progress)
    err = (single_subspace_distance(Uh[:, 0], U[:, 0]) if K == 1 else subspace_distance(Uh, U))
    return {"err": err.view(L, trials), "N": list(N_list)}


def noisy_pca_errors(n: int, d: int, N_list, trials: int, eta: float, *, seed: int) -> torch.Tensor:
    """PCA subspace error on noisy samples x = U*a + e, e ~ N(0, η²I/n): ``(len(N_list), trials)``.

    Thm 2 (as reported): error ≲ c‖E‖_F/(√N − √(d−1)), E = [e_1 … e_N]. Since ‖E‖_F ≈ η√N, this bound tends
    to the constant cη and predicts no decay. Our own prediction: the sample second-moment matrix
    (1/N)Σ x_ix_iᵀ deviates from its expectation by O(1/√N), and by Davis–Kahan the subspace error is at most
    a constant times that deviation over the eigengap, so for N ≫ d it falls like N^(−1/2).
    """
    gen = torch.Generator().manual_seed(seed)
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
# generalization score on MoLRG
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


# ----------------------------------------------------------------------------------------------------
# helpers for Thm 1 and for real data
# ----------------------------------------------------------------------------------------------------


def projected_gradient_minimize(loss, U0: torch.Tensor, *, steps: int = 200, lr: float = 10.0) -> torch.Tensor:
    """Minimise ``loss(U)`` over {UᵀU = I} by normalised projected gradient descent: U ← qf(U − lr·G/‖G‖_F).

    G = ∇loss(U) by autograd; qf (the Q factor of QR) retracts onto the Stiefel manifold *outside* autograd.
    For the Thm-1 loss, whose gradient is −2(2a − a²)(XᵀX/N)U, this is subspace iteration on
    I + c·XᵀX/N (c > 0) and converges for every lr > 0; it is told nothing about PCA.
    """
    U = U0.clone()
    for _ in range(steps):
        U.requires_grad_(True)
        G, = torch.autograd.grad(loss(U), U)
        with torch.no_grad():
            U = torch.linalg.qr(U - lr * G / G.norm().clamp_min(1e-300)).Q
    return U.detach()


def fit_class_molrg(x: torch.Tensor, labels: torch.Tensor, d: int) -> MoLRGDenoiser:
    """A class-conditional MoLRG fitted to labelled data: μ_k = class mean, U_k, λ_k = top-d PCA of the class.

    π_k = class frequency. Returns the exact denoiser of this mixture (eq. ch04-denoiser with means).
    """
    classes = labels.unique()
    mus, Us, lams, pis = [], [], [], []
    for c in classes.tolist():
        xc = x[labels == c].double()
        mu = xc.mean(0)
        _, S, Vh = torch.linalg.svd(xc - mu, full_matrices=False)
        mus.append(mu)
        Us.append(Vh[:d].T)
        lams.append(S[:d] ** 2 / (len(xc) - 1))
        pis.append(len(xc) / len(x))
    return MoLRGDenoiser(torch.stack(Us), torch.tensor(pis, dtype=torch.float64), torch.stack(mus),
                         torch.stack(lams))

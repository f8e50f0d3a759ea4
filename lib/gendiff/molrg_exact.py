"""Mixtures of low-rank Gaussians (MoLRG): data, the exact denoiser and the DAE loss in closed form.

Reimplements, from the mathematics, Wang, Zhang, Zhang, Chen, Ma & Qu, *Diffusion models learn
low-dimensional distributions via subspace clustering* (arXiv:2409.02426). The paper's body and its
low-rank-DAE code were not available; every formula below is re-derived (book spec, paper 4 §2) and the
equation numbers refer to Chapter 4 of this book, ``(ch04-…)``.

Conventions. ``U`` holds K orthonormal bases as a tensor ``(..., K, n, d)``; data ``x`` are ``(..., N, n)``.
Noise is variance-exploding, ``y = x + σ ε`` (a VP process ``x_t = s x + γ ε`` is the same after dividing
by ``s``, with ``σ = γ/s``). Every denoiser is a callable ``D(y, sigma) -> x_hat``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from .denoisers import posterior_mean_stream


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

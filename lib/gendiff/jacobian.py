"""Jacobians of denoisers and their eigen-analysis (Kadkhodaie et al. 2024 §2–3; Li et al. App. H).

For the MMSE denoiser, ∇f(y) = Cov[x | y]/σ² is symmetric positive semi-definite (Miyasawa), and for a
bias-free network f(y) = J(y)·y exactly. Diagonalising the symmetrised Jacobian,

    f(y) = Σ_k λ_k(y) ⟨y, e_k(y)⟩ e_k(y)                                     (paper eq. 4)

shows the denoiser as an adaptive shrinkage in the basis e_k(y) (the "GAHB"). Its trace Σλ_k is the
effective dimension of the local subspace the denoiser projects onto, and by SURE,

    MSE = E[‖y − f(y)‖² + 2σ² tr J(y) − σ²d]                                (paper §3.1).

Routes, by size (see ``benchmarks/jacobian.py``): :func:`jacobian` builds full Jacobians with a chunked
``torch.func.jacrev`` vmapped over the batch (fast up to d ≈ 1–2k); :func:`top_eigs` finds the leading
eigenpairs of the symmetrised Jacobian matrix-free (Lanczos via ``scipy.sparse.linalg.eigsh`` on jvp/vjp
products), never forming the d×d matrix — the right choice at d = 6400.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch.func import jacrev, jvp, vjp, vmap

from . import runtime
from .memo import memoized


def _single(D, y_shape, sigma):
    def f(v):
        return D(v.reshape((1,) + tuple(y_shape)), sigma).reshape(-1)
    return f


def jacobian(D, y: torch.Tensor, sigma=None, *, chunk: int | None = 256) -> torch.Tensor:
    """∂D(y; σ)/∂y for each image of the batch: ``(B, d, d)`` with J[b, i, j] = ∂D_i/∂y_j.

    ``jacrev`` with ``chunk_size`` rows at a time, vmapped over the batch. Peak memory on the CPU grows
    like d² (torch 2.13, a width-16 UNet: ≈1.5 GB at d = 1024, 6.4 GB at d = 2304, > 24 GB at d = 6400, for
    any chunk size; ``benchmarks/jacobian.py``): beyond d ≈ 2500 use :func:`top_eigs`. Modules are put in eval mode
    (batch-norm statistics must not depend on the batch). ``sigma`` is a float (same for the batch).
    """
    if hasattr(D, "eval"):
        D.eval()
    shape = y.shape[1:]
    f = _single(D, shape, sigma)
    J = vmap(jacrev(f, chunk_size=chunk))(y.reshape(y.shape[0], -1))
    return J.detach()


def jacobian_loop(D, y: torch.Tensor, sigma=None) -> torch.Tensor:
    """Reference implementation: one backward pass per output pixel (the official ``calc_jacobian``).
    Slow; kept for tests and the benchmark. ``y`` is a single image ``(1, ...)``; returns ``(d, d)``."""
    if hasattr(D, "eval"):
        D.eval()
    v = y.detach().reshape(-1).clone().requires_grad_(True)
    out = D(v.reshape(y.shape), sigma).reshape(-1)
    rows = [torch.autograd.grad(out[i], v, retain_graph=True)[0] for i in range(out.numel())]
    return torch.stack(rows).detach()


def eig_shrinkage(J: torch.Tensor, *, symmetrize: bool = True):
    """Eigenvalues (descending) and eigenvectors (columns) of (J + Jᵀ)/2 for ``J`` (d, d) or (B, d, d).

    Returns ``(lam, E)`` with ``lam`` (…, d) and ``E`` (…, d, d), E[..., :, k] = e_k.
    """
    A = 0.5 * (J + J.transpose(-1, -2)) if symmetrize else J
    lam, E = torch.linalg.eigh(A.double())
    return lam.flip(-1).to(J.dtype), E.flip(-1).to(J.dtype)


def asymmetry(J: torch.Tensor) -> torch.Tensor:
    """‖J − Jᵀ‖_F/‖J‖_F (0 for the exact MMSE denoiser, whose Jacobian is a covariance)."""
    return torch.linalg.matrix_norm(J - J.transpose(-1, -2)) / torch.linalg.matrix_norm(J)


def effective_dim(J: torch.Tensor) -> torch.Tensor:
    """tr J(y) = Σ_k λ_k: the effective dimension of the denoiser at y."""
    return torch.diagonal(J, dim1=-2, dim2=-1).sum(-1)


def homogeneity_error(D, y: torch.Tensor, J: torch.Tensor | None = None) -> torch.Tensor:
    """‖J(y)·y − D(y)‖/‖D(y)‖ per image: 0 (to rounding) for a bias-free network (paper eq. 3)."""
    J = jacobian(D, y) if J is None else J
    with torch.no_grad():
        fy = D(y, None).reshape(y.shape[0], -1)
    Jy = torch.einsum("bij,bj->bi", J, y.reshape(y.shape[0], -1))
    return (Jy - fy).norm(dim=1) / fy.norm(dim=1)


def top_eigs(D, y: torch.Tensor, sigma=None, *, k: int = 32, tol: float = 1e-8):
    """Leading ``k`` eigenpairs of the symmetrised Jacobian at one image ``y`` (1, ...), matrix-free.

    The operator v ↦ ½(Jv + Jᵀv) is applied with one ``jvp`` and one ``vjp`` (float64 numpy in, the model's
    dtype inside); ``eigsh`` (implicitly restarted Lanczos) finds the largest algebraic eigenvalues. Returns
    ``(lam (k,), E (d, k))`` sorted descending.

    Where the Jacobian vanishes (a locally constant denoiser, e.g. the empirical denoiser at a noisy image
    whose posterior sits on one training image), the operator maps two independent starting vectors to
    zero: the ``k`` eigenvalues are then 0, returned with the first ``k`` standard basis vectors (any
    orthonormal set is an eigenbasis of the zero map) and a one-line warning.
    """
    import warnings

    from scipy.sparse.linalg import LinearOperator, eigsh

    if hasattr(D, "eval"):
        D.eval()
    f = _single(D, y.shape[1:], sigma)
    y0 = y.detach().reshape(-1)
    _, pullback = vjp(f, y0)
    d = y0.numel()

    def matvec(v):
        t = torch.as_tensor(np.asarray(v).reshape(-1), dtype=y0.dtype, device=y0.device)
        jv = jvp(f, (y0,), (t,))[1]
        jtv = pullback(t)[0]
        return (0.5 * (jv + jtv)).detach().cpu().double().numpy()

    v0 = np.ones(d) / math.sqrt(d)
    if not np.any(matvec(v0)):                       # ARPACK cannot start from a vector the map sends to 0
        v0 = np.random.default_rng(0).standard_normal(d)
        v0 /= np.linalg.norm(v0)
        if not np.any(matvec(v0)):
            warnings.warn(f"top_eigs: the Jacobian is zero at this input (the denoiser is locally constant at "
                          f"sigma={sigma}); returning {k} zero eigenvalues", stacklevel=2)
            return torch.zeros(k, dtype=torch.float64), torch.eye(d, k, dtype=torch.float64)
    op = LinearOperator((d, d), matvec=matvec, dtype=np.float64)
    lam, E = eigsh(op, k=k, which="LA", tol=tol, v0=v0)
    order = np.argsort(lam)[::-1]
    return torch.tensor(lam[order].copy()), torch.tensor(E[:, order].copy())


@memoized
def sure_mse(D, x: torch.Tensor, sigma: float, *, seed: int = 0, n_draws: int = 1, n_probes: int = 4):
    """Stein's unbiased risk estimate of the per-pixel MSE, with a Hutchinson trace estimate, alongside the
    true (oracle) MSE on the same noisy draws:

        SURE = (‖y − f(y)‖² + 2σ² tr J(y) − σ²d)/d,  tr J ≈ mean_p ⟨ε_p, J ε_p⟩ (Rademacher ε_p).

    Returns ``(sure, mse)`` averaged over images and draws (floats); noise and probes are drawn from
    ``runtime.generator(seed)``.
    """
    generator = runtime.generator(seed)
    if hasattr(D, "eval"):
        D.eval()
    d = x[0].numel()
    sures, mses = [], []
    for _ in range(n_draws):
        y = x + sigma * torch.randn(x.shape, generator=generator).to(x.device)
        with torch.no_grad():
            fy = D(y, sigma)
        tr = torch.zeros(x.shape[0], device=x.device)
        for _ in range(n_probes):
            eps = (torch.randint(0, 2, x.shape, generator=generator) * 2 - 1).to(x)
            _, Je = jvp(lambda v: D(v, sigma), (y,), (eps,))
            tr += (eps * Je).flatten(1).sum(1) / n_probes
        sure = ((y - fy).flatten(1).pow(2).sum(1) + 2 * sigma**2 * tr - sigma**2 * d) / d
        mse = (fy - x).flatten(1).pow(2).sum(1) / d
        sures.append(sure.mean().item())
        mses.append(mse.mean().item())
    return float(np.mean(sures)), float(np.mean(mses))

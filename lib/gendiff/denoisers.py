"""Closed-form reference denoisers, with the book's interface ``D(y, sigma) -> x_hat``.

* :class:`EmpiricalDenoiser` — the MMSE denoiser of the *empirical* distribution of N training images
  ("multi-delta", Li et al. 2024 §3.1; the optimum of the training loss that a network would reach if it
  memorised):  D_M(y; σ) = Σ_i softmax_i(−‖y − x_i‖²/2σ²)·x_i, computed with log-sum-exp in chunks.
* :class:`GaussianDenoiser` — the MMSE denoiser of N(μ, Σ) fitted to the data (Wiener filter):
  D_G(y; σ) = μ + U diag(λ_k/(λ_k + σ²)) Uᵀ(y − μ)  (Li et al. §3.1 of the book's spec), plus the closed-form
  solution of the probability-flow ODE with this denoiser (Li et al. eq. 7).

Both satisfy Miyasawa/Tweedie, D(y) = y + σ²∇log p_σ(y), for their distribution. Every denoiser here needs
σ > 0 (a float or a (B,) tensor; :class:`GaussianMixture` takes a scalar only) and raises ``ValueError`` otherwise.
"""
from __future__ import annotations

import torch


def _flat(y: torch.Tensor) -> torch.Tensor:
    return y.reshape(y.shape[0], -1)


def _check_sigma(s: torch.Tensor) -> None:
    if s.numel() == 0 or not bool(torch.all(s > 0)):          # NaN fails "> 0" too
        raise ValueError(f"the noise level σ must be > 0 (and not NaN), got {s.flatten()[:8].tolist()}")


def _sigma_col(sigma, n: int, like: torch.Tensor) -> torch.Tensor:
    """σ as a (n, 1) column: a float or a 1-element tensor is broadcast, a (n,) tensor is per sample."""
    s = torch.as_tensor(sigma, dtype=like.dtype, device=like.device).reshape(-1)
    _check_sigma(s)
    if s.numel() not in (1, n):
        raise ValueError(f"σ must be a float or have one entry per sample ({n}), got {s.numel()} entries")
    return (s.expand(n) if s.numel() == 1 else s).view(n, 1)


class EmpiricalDenoiser:
    """Posterior mean under the uniform distribution on the training set ``x`` (N, ...).

    D(y; σ) = Σ_i softmax_i(−‖y − x_i‖²/2σ²)·x_i. In ``__call__``, ``chunk`` bounds memory: the (B, N)
    distance matrix is built ``chunk`` training images at a time and combined by a running log-sum-exp.
    :meth:`weights` returns the whole (B, N) matrix and is not chunked.
    """

    def __init__(self, x: torch.Tensor, *, chunk: int = 8192):
        self.x = x
        self.flat = _flat(x)
        self.sq = (self.flat.double() ** 2).sum(1)
        self.chunk = chunk

    def weights(self, y: torch.Tensor, sigma) -> torch.Tensor:
        """Posterior weights softmax_i(−‖y − x_i‖²/2σ²), shape (B, N) (float64)."""
        yf = _flat(y).double().to(self.flat.device)
        s = _sigma_col(sigma, yf.shape[0], yf)
        d2 = (yf**2).sum(1, keepdim=True) - 2 * yf @ self.flat.double().T + self.sq[None]
        return torch.softmax(-d2 / (2 * s**2), dim=1)

    def __call__(self, y: torch.Tensor, sigma) -> torch.Tensor:
        yf = _flat(y).double().to(self.flat.device)
        chunks = (self.flat[i:i + self.chunk].double() for i in range(0, self.flat.shape[0], self.chunk))
        return posterior_mean_stream(yf, sigma, chunks).to(y.dtype).reshape(y.shape)


def posterior_mean_stream(y: torch.Tensor, sigma, chunks, *, return_se: bool = False):
    """Σ_i softmax_i(−‖y − x_i‖²/2σ²)·x_i over points x_i arriving in ``chunks`` of shape (m, d), with a
    running log-sum-exp, so the (B, N) weight matrix is never held whole. ``y`` is (B, d); ``sigma`` a
    float or (B,). This is the empirical denoiser of the points, and — for points drawn from a prior — a
    self-normalised Monte-Carlo estimate of the posterior mean E[x | y].

    ``return_se=True`` also returns its standard error per coordinate (B, d), by the delta method for a
    ratio estimator: SE² = Σ_i w_i² (x_i − m̂)² / (Σ_i w_i)², with m̂ the estimate. (For independent draws;
    antithetic pairs are negatively correlated, so it is then an upper estimate.)
    """
    s2 = _sigma_col(sigma, y.shape[0], y) ** 2
    y2 = (y**2).sum(1, keepdim=True)
    m = torch.full((y.shape[0], 1), -torch.inf, dtype=y.dtype, device=y.device)
    acc = torch.zeros_like(y)
    tot = torch.zeros_like(m)
    acc2, acc2x, tot2 = torch.zeros_like(y), torch.zeros_like(y), torch.zeros_like(m)   # Σw²x², Σw²x, Σw²
    for xf in chunks:
        logit = -(y2 - 2 * y @ xf.T + (xf**2).sum(1)[None]) / (2 * s2)
        m_new = torch.maximum(m, logit.max(1, keepdim=True).values)
        scale = torch.exp(m - m_new)
        w = torch.exp(logit - m_new)
        acc = acc * scale + w @ xf
        tot = tot * scale + w.sum(1, keepdim=True)
        if return_se:
            w2 = w * w
            acc2 = acc2 * scale**2 + w2 @ (xf * xf)
            acc2x = acc2x * scale**2 + w2 @ xf
            tot2 = tot2 * scale**2 + w2.sum(1, keepdim=True)
        m = m_new
    est = acc / tot
    if not return_se:
        return est
    var = (acc2 - 2 * est * acc2x + est**2 * tot2).clamp_min(0) / tot**2
    return est, var.sqrt()


class GaussianDenoiser:
    """Wiener filter of N(μ, Σ) with μ, Σ = mean and (1/N) covariance of ``x`` (float64 ``eigh``; λ ≥ 0).

    ``mean``/``cov`` may be given directly instead of data (e.g. for a known Gaussian).
    """

    def __init__(self, x: torch.Tensor | None = None, *, mean: torch.Tensor | None = None,
                 cov: torch.Tensor | None = None, shape: tuple | None = None):
        if x is not None:
            f = _flat(x).double()
            mean = f.mean(0)
            c = f - mean
            cov = c.T @ c / f.shape[0]
            shape = tuple(x.shape[1:])
        if mean is None or cov is None:
            raise ValueError("give data x, or both mean and cov")
        self.shape = shape or (mean.numel(),)
        self.mu = mean.double().reshape(-1)
        lam, U = torch.linalg.eigh(cov.double())
        self.eigvals = lam.clamp_min(0).flip(0)      # descending
        self.eigvecs = U.flip(1)                     # columns u_k
        self.cov = cov.double()

    def shrinkage(self, sigma: float) -> torch.Tensor:
        """λ_k/(λ_k + σ²): the gain of D_G along each principal direction."""
        return self.eigvals / (self.eigvals + sigma**2)

    def weight(self, sigma: float) -> torch.Tensor:
        """W_G(σ) = Σ(Σ + σ²I)⁻¹ = U diag(λ/(λ+σ²)) Uᵀ, (d, d)."""
        return (self.eigvecs * self.shrinkage(sigma)) @ self.eigvecs.T

    def bias(self, sigma: float) -> torch.Tensor:
        """b_G(σ) = (I − W_G(σ))μ."""
        return self.mu - self.weight(sigma) @ self.mu

    def __call__(self, y: torch.Tensor, sigma) -> torch.Tensor:
        yf = _flat(y).double()
        s2 = _sigma_col(sigma, yf.shape[0], yf) ** 2                       # (B, 1)
        c = (yf - self.mu) @ self.eigvecs                                   # (B, d) coefficients
        out = self.mu + (c * self.eigvals / (self.eigvals + s2)) @ self.eigvecs.T
        return out.to(y.dtype).reshape(y.shape)

    def closed_form_sample(self, x_T: torch.Tensor, sigma_T: float, sigma: float = 0.0) -> torch.Tensor:
        """Solution at level σ of the probability-flow ODE dx/dσ = (x − D_G(x; σ))/σ started at x_T, σ_T
        (Li et al. eq. 7, after Wang & Vastola):  x(σ) = μ + Σ_k √((σ² + λ_k)/(σ_T² + λ_k)) ⟨u_k, x_T − μ⟩ u_k."""
        f = _flat(x_T).double()
        c = (f - self.mu) @ self.eigvecs
        g = torch.sqrt((sigma**2 + self.eigvals) / (sigma_T**2 + self.eigvals))
        return (self.mu + (c * g) @ self.eigvecs.T).to(x_T.dtype).reshape(x_T.shape)


class GaussianMixture:
    """A Gaussian mixture Σ_k π_k N(μ_k, C_k) in d dimensions with its exact noisy density and MMSE denoiser.

    The noisy density is p_σ(y) = Σ_k π_k N(y; μ_k, C_k + σ²I), and the posterior mean
    E[x | y] = Σ_k w_k(y)·(μ_k + C_k(C_k + σ²I)⁻¹(y − μ_k)), w_k ∝ π_k N(y; μ_k, C_k + σ²I).
    Used to check Miyasawa/Tweedie, E[x | y] = y + σ²∇log p_σ(y), numerically (background chapter).
    """

    def __init__(self, means: torch.Tensor, covs: torch.Tensor, weights: torch.Tensor | None = None):
        self.means = means.double()                    # (K, d)
        self.covs = covs.double()                      # (K, d, d)
        K = means.shape[0]
        if self.covs.shape != (K, self.means.shape[1], self.means.shape[1]):
            raise ValueError(f"covs must be (K, d, d) = {(K, self.means.shape[1], self.means.shape[1])}, "
                             f"got {tuple(self.covs.shape)}")
        self.weights = (torch.full((K,), 1.0 / K) if weights is None else torch.as_tensor(weights)).double()
        w = self.weights
        if w.shape != (K,) or not bool(torch.all(w >= 0)) or abs(float(w.sum()) - 1.0) > 1e-6:
            raise ValueError(f"mixture weights must be K = {K} non-negative numbers summing to 1, got "
                             f"{w.tolist()} (sum {float(w.sum()):.6g}); normalise them first")

    @staticmethod
    def _scalar_sigma(sigma) -> float:
        s = torch.as_tensor(sigma, dtype=torch.float64)
        if s.numel() != 1:
            raise ValueError(f"GaussianMixture takes one scalar σ for the whole batch, got {s.numel()} values")
        _check_sigma(s)
        return float(s)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        k = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        L = torch.linalg.cholesky(self.covs)
        z = torch.randn(n, self.means.shape[1], generator=generator, dtype=torch.float64)
        return self.means[k] + torch.einsum("nij,nj->ni", L[k], z)

    def log_density(self, y: torch.Tensor, sigma: float) -> torch.Tensor:
        """log p_σ(y) = log Σ_k π_k N(y; μ_k, C_k + σ²I), shape (B,)."""
        sigma = self._scalar_sigma(sigma)
        d = self.means.shape[1]
        C = self.covs + sigma**2 * torch.eye(d, dtype=torch.float64)
        comp = torch.distributions.MultivariateNormal(self.means, covariance_matrix=C)
        lp = comp.log_prob(y.double()[:, None, :])      # (B, K)
        return torch.logsumexp(lp + self.weights.log(), dim=1)

    def score(self, y: torch.Tensor, sigma: float) -> torch.Tensor:
        """∇_y log p_σ(y) by automatic differentiation, (B, d)."""
        y = y.double().detach().requires_grad_(True)
        (g,) = torch.autograd.grad(self.log_density(y, sigma).sum(), y)
        return g

    def __call__(self, y: torch.Tensor, sigma) -> torch.Tensor:
        """Exact posterior mean E[x | y] (the MMSE denoiser), (B, d); ``sigma`` a scalar > 0."""
        s = self._scalar_sigma(sigma)
        d = self.means.shape[1]
        yd = y.double()
        C = self.covs + s**2 * torch.eye(d, dtype=torch.float64)
        comp = torch.distributions.MultivariateNormal(self.means, covariance_matrix=C)
        w = torch.softmax(comp.log_prob(yd[:, None, :]) + self.weights.log(), dim=1)          # (B, K)
        gain = self.covs @ torch.linalg.inv(C)                                                  # (K, d, d)
        cond = self.means[None] + torch.einsum("kij,bkj->bki", gain, yd[:, None, :] - self.means[None])
        return (w[..., None] * cond).sum(1).to(y.dtype)

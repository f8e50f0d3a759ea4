"""Four theories of generalization as denoisers built from one training set, to compare with a trained network.

Every predictor is a callable ``D(y, sigma) -> x̂`` on images ``(B, C, H, W)`` with ``y = x + σ z``, built from the
training set ``x_train`` alone (no oracle):

* :func:`empirical` — the optimal denoiser of the training set itself (memorization; paper 3 eq. 3):
  ``D(y) = Σ_i softmax_i(−‖y − x_i‖²/2σ²) x_i``.
* :func:`gaussian` — the Gaussian (Wiener) denoiser of the training set's mean and covariance (paper 3, eq. 5):
  ``D(y) = μ + U diag(λ/(λ+σ²)) Uᵀ (y − μ)``.
* :class:`LowRankMixture` — a mixture of low-rank Gaussians fitted by K-subspaces (paper 4's MoLRG, eqs. 2–4 with
  component means): ``D(y) = Σ_k w_k(y) [μ_k + U_k diag(λ_k/(λ_k+σ²)) U_kᵀ (y − μ_k)]``,
  ``w_k ∝ π_k N(y; μ_k, U_k Λ_k U_kᵀ + σ² I)``. Rule for K and d: K components (default 10, the number of digit
  classes, found without labels) of one dimension d: the median over k-means clusters of the number of
  principal directions that keep ``energy`` (default 0.9) of a cluster's variance.
* :class:`LocalPatchMachine` — the equivariant local score machine of Kamb & Ganguli (ICML 2025, "an analytic
  theory of creativity in convolutional diffusion models", their ELS machine): each pixel is denoised by the
  empirical denoiser of all P×P training patches at every position (locality + translation equivariance),
  ``D(y)_i = Σ_p softmax_p(−‖y_{P(i)} − p‖²/2σ²) p_centre`` (zero padding at the border).
* :func:`dct_shrinkage` — shrinkage in a *fixed* basis (paper 1's contrast to the network's adaptive one): the
  Wiener filter diagonal in the 2-D DCT, per-coefficient mean and variance from the training set.

:func:`r2` measures how well a predictor explains a network's output (per image ``1 − ‖a − b‖²/‖b − b̄‖²``, as
Kamb & Ganguli compare their machine with trained networks).
"""
from __future__ import annotations

import math

import numpy as np
import torch

from . import runtime
from .denoisers import EmpiricalDenoiser, GaussianDenoiser


def _sig(sigma, n: int, like: torch.Tensor) -> torch.Tensor:
    s = torch.as_tensor(sigma, dtype=like.dtype).flatten()
    if (s <= 0).any():
        raise ValueError("sigma must be > 0")
    return (s if s.numel() == n else s.expand(n)).reshape(n, 1)


def empirical(x_train: torch.Tensor) -> EmpiricalDenoiser:
    """The training set's own optimal denoiser (it returns training images as σ → 0)."""
    return EmpiricalDenoiser(x_train)


def gaussian(x_train: torch.Tensor) -> GaussianDenoiser:
    """The Gaussian denoiser of the training set's empirical mean and covariance."""
    return GaussianDenoiser(x_train)


class LowRankMixture:
    """Mixture of low-rank Gaussians fitted to ``x_train`` by K-subspaces (affine: each component has a mean).

    Rule for the dimension: ``d`` given, or (``d=None``) the median over k-means clusters of the smallest number
    of principal directions keeping ``energy`` of the cluster's variance. Then K-subspaces from the k-means
    clusters and from ``restarts`` random partitions (seeded by ``seed``): assign each image to the component
    whose d-dimensional affine subspace leaves the smallest residual, refit means and top-d directions; keep the
    partition with the smallest total residual. Each component's covariance is its top-d principal part.
    """

    def __init__(self, x_train: torch.Tensor, k: int = 10, *, d: int | None = None, energy: float = 0.9,
                 iters: int = 20, restarts: int = 3, seed: int = 0):
        from sklearn.cluster import KMeans

        if not 0 < energy <= 1:
            raise ValueError(f"energy must be in (0, 1], got {energy}")
        X = x_train.flatten(1).double()
        k = max(1, min(k, X.shape[0]))
        init = torch.tensor(KMeans(k, n_init=4, random_state=seed).fit_predict(X.numpy()))
        if d is None:
            d = int(np.median([self._energy_dim(X[init == j], energy) for j in range(k) if (init == j).sum() > 1]
                              or [1]))
        if d < 0:
            raise ValueError(f"d must be ≥ 0, got {d}")
        g = runtime.generator(seed)
        starts = [init] + [torch.randint(k, (X.shape[0],), generator=g) for _ in range(restarts)]
        best = None
        for labels in starts:
            for _ in range(iters):
                comps = [self._fit(X[labels == j], d) for j in range(k) if (labels == j).any()]
                res = torch.stack([self._residual(X, c[0], c[1]) for c in comps], 1)
                new = res.argmin(1)
                if len(comps) == k and torch.equal(new, labels):
                    break
                labels = new
            total = float(res.min(1).values.sum())
            if best is None or total < best[0]:
                best = (total, labels)
        labels = best[1]
        present = [j for j in range(k) if (labels == j).any()]
        self.comps = [self._fit(X[labels == j], d) for j in present]
        counts = torch.tensor([float((labels == j).sum()) for j in present])
        self.log_pi = (counts / counts.sum()).log()
        self.d, self.dims, self.labels = d, [c[1].shape[1] for c in self.comps], labels

    @staticmethod
    def _energy_dim(Xk: torch.Tensor, energy: float) -> int:
        lam = torch.linalg.svdvals(Xk - Xk.mean(0)) ** 2
        return int(torch.searchsorted(lam.cumsum(0) / lam.sum(), torch.tensor(energy, dtype=lam.dtype))) + 1

    @staticmethod
    def _fit(Xk: torch.Tensor, d: int):
        mu = Xk.mean(0)
        _, s, Vt = torch.linalg.svd(Xk - mu, full_matrices=False)
        lam = s ** 2 / Xk.shape[0]
        keep = min(d, int((lam > lam.max().clamp_min(1e-300) * 1e-10).sum()))
        return mu, Vt[:keep].T, lam[:keep]

    @staticmethod
    def _residual(X, mu, U):
        R = X - mu
        return (R - (R @ U) @ U.T).pow(2).sum(1)

    def __call__(self, y: torch.Tensor, sigma) -> torch.Tensor:
        Y = y.flatten(1).double()
        n, D = Y.shape
        s2 = _sig(sigma, n, Y) ** 2
        logw, outs = [], []
        for (mu, U, lam), lp in zip(self.comps, self.log_pi):
            R = Y - mu
            c = R @ U                                              # (n, d)
            shrink = lam / (lam + s2)                              # (n, d)
            quad = (R.pow(2).sum(1, keepdim=True) - (c.pow(2) * shrink).sum(1, keepdim=True)) / s2
            logdet = torch.log(lam + s2).sum(1, keepdim=True) + (D - lam.numel()) * torch.log(s2)
            logw.append(lp - 0.5 * (quad + logdet))
            outs.append(mu + (c * shrink) @ U.T)
        w = torch.softmax(torch.cat(logw, 1), 1)                   # (n, K)
        out = sum(w[:, j:j + 1] * outs[j] for j in range(len(outs)))
        return out.to(y.dtype).reshape(y.shape)


class LocalPatchMachine:
    """Kamb & Ganguli's equivariant local score (ELS) machine with ``patch``×``patch`` receptive fields.

    The patch bank holds every training patch at every position (zero padding), de-duplicated with counts (the
    many blank patches of digit backgrounds become one entry of large weight), so the result is exact.
    """

    def __init__(self, x_train: torch.Tensor, patch: int = 5, *, block: int = 1 << 22):
        if patch < 1 or patch % 2 == 0:
            raise ValueError(f"patch must be odd and ≥ 1, got {patch}")
        if x_train.shape[1] != 1:
            raise ValueError("LocalPatchMachine handles one-channel images")
        self.patch, self.block = patch, block
        P = torch.nn.functional.unfold(x_train.double(), patch, padding=patch // 2)   # (N, P², HW)
        bank, counts = torch.unique(P.transpose(1, 2).reshape(-1, P.shape[1]), dim=0, return_counts=True)
        self.bank, self.log_count = bank.float(), counts.float().log()
        self.centre = (patch * patch) // 2                        # index of the centre pixel
        self.bank_sq = self.bank.pow(2).sum(1)

    @torch.no_grad()
    def __call__(self, y: torch.Tensor, sigma) -> torch.Tensor:
        """Streaming log-sum-exp over the bank in chunks of ``block / (B·H·W)`` patches (float32: the bank of
        the 2,500-digit training set, ~350k patches, would need gigabytes at once)."""
        B, C, H, W = y.shape
        s2 = _sig(sigma, B, y.float()).pow(2).reshape(B, 1, 1)
        Q = torch.nn.functional.unfold(y.float(), self.patch, padding=self.patch // 2).transpose(1, 2)  # (B, HW, P²)
        q_sq = Q.pow(2).sum(2, keepdim=True)
        m = torch.full((B, H * W, 1), -math.inf)
        num = torch.zeros(B, H * W, 1)
        den = torch.zeros(B, H * W, 1)
        step = max(256, self.block // (B * H * W))
        for a in range(0, self.bank.shape[0], step):
            bank = self.bank[a:a + step]
            logit = (2 * Q @ bank.T - q_sq - self.bank_sq[a:a + step]) / (2 * s2) + self.log_count[a:a + step]
            m_new = torch.maximum(m, logit.amax(2, keepdim=True))
            scale = torch.exp(m - m_new)
            e = torch.exp(logit - m_new)
            num = num * scale + e @ bank[:, self.centre:self.centre + 1]
            den = den * scale + e.sum(2, keepdim=True)
            m = m_new
        return (num / den).reshape(B, 1, H, W).to(y.dtype)


def _dct(x: np.ndarray, inverse: bool = False) -> np.ndarray:
    from scipy.fft import dctn, idctn
    return (idctn if inverse else dctn)(x, axes=(-2, -1), norm="ortho")


class dct_shrinkage:  # noqa: N801 (used like a function that returns a denoiser)
    """Wiener filter diagonal in the orthonormal 2-D DCT: ``D(y) = μ + IDCT(v/(v+σ²) · DCT(y − μ))``, with the
    mean image μ and the per-coefficient variances v of the training set (no oracle, no adaptivity)."""

    def __init__(self, x_train: torch.Tensor):
        X = x_train.double().numpy()
        self.mu = X.mean(0)
        self.v = _dct(X - self.mu).var(0)

    def __call__(self, y: torch.Tensor, sigma) -> torch.Tensor:
        s2 = _sig(sigma, y.shape[0], y.double()).pow(2).numpy().reshape(-1, 1, 1, 1)
        c = _dct(y.double().numpy() - self.mu)
        out = self.mu + _dct(c * self.v / (self.v + s2), inverse=True)
        return torch.tensor(out, dtype=y.dtype)


def r2(pred: torch.Tensor, net: torch.Tensor) -> torch.Tensor:
    """Per-image ``1 − ‖pred − net‖² / ‖net − mean(net)‖²``: the share of the network output's variation that the
    predictor explains (1: identical; 0: no better than the image's mean grey; negative: worse)."""
    a, b = pred.flatten(1).double(), net.flatten(1).double()
    return 1 - (a - b).pow(2).sum(1) / (b - b.mean(1, keepdim=True)).pow(2).sum(1).clamp_min(1e-12)

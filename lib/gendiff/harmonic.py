"""Geometry-adaptive harmonic representations: the analyses of Kadkhodaie, Guth, Simoncelli & Mallat
(ICLR 2024, "Generalization in diffusion models arises from geometry-adaptive harmonic representations")
that go beyond the book's core (:mod:`gendiff.jacobian`, :mod:`gendiff.metrics`, :mod:`gendiff.sampling`).

The paper reads a bias-free denoiser f as an adaptive shrinkage (paper eq. 4),

    f(y) = J(y)·y = Σ_k λ_k(y) ⟨y, e_k(y)⟩ e_k(y),        J = ∇f(y) = (J + Jᵀ)/2 assumed,

and asks three questions of it, each answered by a helper here:

* **Memorization → generalization** (§2, Figs. 1–2): train/test PSNR curves on the *same* noise
  (:func:`train_test_curves`), and samples of two models trained on disjoint sets from the *same* seed
  (:func:`paired_samples`, :func:`similarity_stats`); defined in :mod:`gendiff.memorization` with the
  gap's standard error, divergence detection and the crossing N, and re-exported here.
* **The shrinkage basis** (§3, Fig. 3): eigenvalues λ_k(y), eigenvectors e_k(y) and the clean image's
  coefficients ⟨x, e_k⟩ at a noisy image (:func:`shrinkage_analysis`); the effective dimension
  tr J = Σ_k λ_k as a function of σ (:func:`effective_dim_curve`); where eigenvectors live: their share
  of high spatial frequencies (:func:`highfreq_share`) and of an image's contour (:func:`edge_band`,
  :func:`band_energy_ratio`), against an ideal local denoiser of Cα images (:func:`calpha_oracle`).
* **Optimality** (§3.2, §5, Figs. 4–5): the oracle shrinkage in a fixed basis and its rate
  (:func:`oracle_shrinkage`, :func:`power_law_oracle_mse`), the Cα optimal slope α/(α+1)
  (:func:`optimal_calpha_slope`), the manifold-optimal PSNR line (:func:`manifold_optimal_psnr`), and how
  well the leading eigenvectors span a known tangent space (:func:`tangent_overlap`).

Plot helpers (:func:`plot_spectrum`, :func:`plot_eigvecs`, :func:`plot_shrinkage`, defined in
:mod:`gendiff.harmonic_plots`) follow the book's convention: ``ax=None`` makes a figure, the figure is returned, nothing calls ``plt.show()``.
Introduced in chapter 1 (``chapters/01-harmonic-representations.md``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from . import jacobian, metrics


# ----------------------------------------------------------------------------------------------------
# optimal rates (paper §3.2 and §5)
# ----------------------------------------------------------------------------------------------------
def optimal_calpha_slope(alpha) -> np.ndarray | float:
    """α/(α+1): the slope of output PSNR against input PSNR of the optimal denoiser of Cα images.

    If the sorted coefficients in the best (bandlet) basis decay as c_k² ∼ k^−(α+1), the oracle MSE is
    ∼ σ^{2α/(α+1)} (paper §3.2), so PSNR_out = α/(α+1)·PSNR_in + const. Paper Fig. 4: 0.5, 0.67, 0.75,
    0.83 for α = 1, 2, 3, 5.
    """
    a = np.asarray(alpha, dtype=float)
    if np.any(a <= 0):
        raise ValueError(f"alpha must be > 0, got {alpha}")
    out = a / (a + 1)
    return float(out) if out.ndim == 0 else out


def manifold_optimal_psnr(in_psnr, k: int, d: int):
    """PSNR_in + 10·log₁₀(d/k): the small-σ optimum on a k-dimensional manifold in R^d.

    At small σ the optimal denoiser projects onto the k-dimensional tangent space, keeping noise of
    energy kσ² out of dσ², i.e. MSE per pixel = kσ²/d (paper §5: +31.1 dB for its 80×80 disks, d = 6400, k = 5).
    """
    if not (0 < k <= d):
        raise ValueError(f"need 0 < k <= d, got k={k}, d={d}")
    return np.asarray(in_psnr, dtype=float) + 10 * np.log10(d / k)


def oracle_shrinkage(coeffs, sigma: float):
    """Oracle (Wiener) shrinkage of known coefficients c_k in a fixed orthonormal basis (paper §3.2):

        λ_k = c_k²/(c_k² + σ²),   MSE = Σ_k c_k²σ²/(c_k² + σ²)  (≤ Σ_k min(c_k², σ²) ≤ 2× it).

    ``coeffs`` (..., n). Returns ``(lam (..., n), mse (...))`` with the MSE summed over coefficients.
    """
    c2 = torch.as_tensor(coeffs, dtype=torch.float64) ** 2
    if sigma <= 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    lam = c2 / (c2 + sigma**2)
    return lam, (c2 * sigma**2 / (c2 + sigma**2)).sum(-1)


def power_law_oracle_mse(alpha: float, sigmas, n: int = 1 << 16) -> np.ndarray:
    """Oracle-shrinkage MSE of the coefficients c_k² = k^−(α+1), k = 1…n, at each σ: the rate that makes
    the optimal PSNR slope α/(α+1) (paper §3.2). Returns an array of len(sigmas)."""
    k = torch.arange(1, n + 1, dtype=torch.float64)
    c = k ** (-(alpha + 1) / 2)
    return np.array([float(oracle_shrinkage(c, float(s))[1]) for s in np.atleast_1d(sigmas)])


def tangent_overlap(E: torch.Tensor, T: torch.Tensor) -> torch.Tensor:
    """‖P_T e_k‖² for each column e_k of ``E`` (…, d, k), with ``T`` (…, m, d) an orthonormal basis of the
    true tangent space (rows). Returns (…, k) values in [0, 1]; their mean is tr(P_T P_E)/k, which is 1
    when span E ⊆ span T and m/d on average for a random subspace (paper §5, Fig. 5)."""
    if E.shape[-2] != T.shape[-1]:
        raise ValueError(f"E has d={E.shape[-2]} rows but T has d={T.shape[-1]} columns")
    proj = T.to(E.dtype) @ E                                   # (…, m, k) = ⟨t_i, e_k⟩
    return proj.pow(2).sum(-2)


def _highfreq_mask(size: int, cutoff: float) -> torch.Tensor:
    """(size, size) float64 mask of the 2-D DFT frequencies with max(|k_x|, |k_y|) ≥ cutoff·size."""
    k = (torch.fft.fftfreq(size) * size).abs()
    return (torch.maximum(k[:, None], k[None, :]) >= cutoff * size).to(torch.float64)


def highfreq_share(E: torch.Tensor, size: int, *, cutoff: float = 0.25) -> torch.Tensor:
    """Share of each vector's energy at high spatial frequencies, max(|k_x|, |k_y|) ≥ cutoff·size.

    ``E`` (…, d, m) holds m vectors as columns (d = size²), e.g. Jacobian eigenvectors. Returns (…, m) in
    [0, 1]. A white-noise vector has the share of such frequencies among all d, :func:`highfreq_share_white`
    (0.81 at size 16, cutoff ¼); a smooth vector has ≈0.
    """
    d = size * size
    if E.shape[-2] != d:
        raise ValueError(f"E has {E.shape[-2]} rows, expected size² = {d}")
    hi = _highfreq_mask(size, cutoff)
    V = E.transpose(-1, -2).reshape(E.shape[:-2] + (E.shape[-1], size, size)).to(torch.float64)
    P = torch.fft.fft2(V).abs() ** 2
    return (P * hi).sum((-2, -1)) / P.sum((-2, -1)).clamp_min(1e-300)


def highfreq_share_white(size: int, *, cutoff: float = 0.25) -> float:
    """Expected :func:`highfreq_share` of a white-noise vector: the fraction of the size² frequencies that
    are high."""
    return float(_highfreq_mask(size, cutoff).mean())


def edge_band(x: torch.Tensor, *, rel: float = 0.5, width: int = 1) -> torch.Tensor:
    """Pixels on an image's strongest edges: where the largest absolute difference to a 4-neighbour is at
    least ``rel`` × the image's maximum, dilated to a (2·width − 1)-pixel square. For a Cα image the
    regions are smooth and this is a band along the contour. ``x`` (B, 1, H, W) clean images; returns a
    bool mask (B, H·W)."""
    import torch.nn.functional as F

    if x.dim() != 4 or x.shape[1] != 1:
        raise ValueError(f"need (B, 1, H, W) images, got {tuple(x.shape)}")
    gx = (x[..., :, 1:] - x[..., :, :-1]).abs()
    gy = (x[..., 1:, :] - x[..., :-1, :]).abs()
    g = torch.zeros_like(x)
    g[..., :, 1:] = torch.maximum(g[..., :, 1:], gx)
    g[..., :, :-1] = torch.maximum(g[..., :, :-1], gx)
    g[..., 1:, :] = torch.maximum(g[..., 1:, :], gy)
    g[..., :-1, :] = torch.maximum(g[..., :-1, :], gy)
    m = g >= rel * g.flatten(1).amax(1).clamp_min(1e-12).view(-1, 1, 1, 1)
    if width > 1:
        m = F.max_pool2d(m.float(), 2 * width - 1, stride=1, padding=width - 1) > 0
    return m.flatten(1)


def band_energy_ratio(E: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Share of each unit vector's energy inside ``mask``, divided by the mask's share of the pixels.

    ``E`` (B, d, m) vectors as columns (e.g. Jacobian eigenvectors, unit norm), ``mask`` (B, d) bool.
    Returns (B, m): 1 on average for a random orthonormal basis, 1/area for a vector living on the mask,
    0 for one off it. With :func:`edge_band` it measures how much an eigenvector follows an image's contour
    (paper Fig. 4: "oscillations along the contour")."""
    if E.shape[:2] != mask.shape:
        raise ValueError(f"E {tuple(E.shape)} and mask {tuple(mask.shape)} disagree in (B, d)")
    mf = mask.to(torch.float64)
    area = mf.mean(1, keepdim=True)
    if (area == 0).any():
        raise ValueError("empty mask")
    share = torch.einsum("bd,bdk->bk", mf, E.to(torch.float64) ** 2) / (E.to(torch.float64) ** 2).sum(1)
    return share / area


# ----------------------------------------------------------------------------------------------------
# the shrinkage basis at one noisy image (paper §3, Fig. 3)
# ----------------------------------------------------------------------------------------------------
def calpha_oracle(draws, alpha: float, sigma: float, *, beta: float | None = None, blur: int = 2):
    """The shrinkage of an ideal *local* denoiser of Cα images: ``(λ, E)``, λ ``(B, d)`` descending, E ``(B, d, d)``.

    Around the image x(θ) made from the draws θ (:class:`gendiff.data.CalphaDraws`), linearise the generator,
    x(θ + δ) ≈ x(θ) + G δ with G = ∂x/∂θ (``torch.func.jacrev`` of :func:`gendiff.data.calpha_render` with its
    sub-pixel boundary, batched with ``vmap``), and give δ the draws' own variances V. The images near x
    then have covariance C = G V Gᵀ, and the best linear denoiser of y = x + σz is the Wiener filter
    J = C (C + σ²I)⁻¹ (the MMSE denoiser of that local Gaussian, so J = Cov[x|y]/σ², paper §3.1). Its
    eigenvectors are those of C, its eigenvalues λ_k = c_k / (c_k + σ²). This is the reference for how
    much a denoiser's eigenvectors *can* follow the contour (chapter 1, §4): it knows the image's
    generator and its geometry, which a network has to learn.
    """
    from torch.func import jacrev, vmap

    from .data import CalphaDraws, calpha_render

    def render_one(u, w1, w2, u1, u2, flip):
        one = CalphaDraws(u[None], w1[None], w2[None], u1[None], u2[None], flip[None])
        return calpha_render(one, alpha, beta, blur=blur, soft=True).flatten()

    G = vmap(jacrev(render_one, argnums=(0, 1, 2, 3, 4)))(*draws)        # 5 blocks of (B, d, …)
    B, d = draws.u.shape[0], draws.u.shape[-1] ** 2
    C = sum(v * g.reshape(B, d, -1) @ g.reshape(B, d, -1).transpose(1, 2) for g, v in zip(G, CalphaDraws.VARIANCES))
    c, E = torch.linalg.eigh(C)                                            # ascending
    c, E = c.flip(-1).clamp_min(0), E.flip(-1)
    return (c / (c + sigma ** 2)).float(), E.float()


@dataclass
class Shrinkage:
    """Eigen-analysis of a denoiser at noisy images y = x + σz (batch B, dimension d)."""

    y: torch.Tensor          # (B, C, H, W) noisy inputs
    f: torch.Tensor          # (B, C, H, W) denoised outputs f(y)
    lam: torch.Tensor        # (B, d) eigenvalues of (J + Jᵀ)/2, descending
    E: torch.Tensor          # (B, d, d) eigenvectors, E[b, :, k] = e_k
    coef_x: torch.Tensor     # (B, d) ⟨x, e_k⟩
    coef_y: torch.Tensor     # (B, d) ⟨y, e_k⟩
    trace: torch.Tensor      # (B,) tr J = Σ λ_k (effective dimension)
    asymmetry: torch.Tensor  # (B,) ‖J − Jᵀ‖/‖J‖
    homogeneity: torch.Tensor  # (B,) ‖J y − f(y)‖/‖f(y)‖

    def n_above(self, threshold: float = 0.5) -> torch.Tensor:
        """Number of eigenvalues above ``threshold`` per image (paper: ≈250 of 6400 above 0.5)."""
        return (self.lam > threshold).sum(-1)


def shrinkage_analysis(D, x: torch.Tensor, sigma: float, *, generator: torch.Generator | None = None,
                       y: torch.Tensor | None = None) -> Shrinkage:
    """Full Jacobian eigen-analysis of ``D`` at y = x + σz (or at the given ``y``), for small d (≲ 2000).

    J from :func:`gendiff.jacobian.jacobian` (torch.func), eigenpairs of (J + Jᵀ)/2 from
    :func:`gendiff.jacobian.eig_shrinkage`; coefficients ⟨x, e_k⟩ show which directions carry the signal
    and how λ_k shrinks them (paper eq. 4, Fig. 3). ``x`` (B, C, H, W).
    """
    if y is None:
        y = x + sigma * torch.randn(x.shape, generator=generator).to(x)
    J = jacobian.jacobian(D, y)
    lam, E = jacobian.eig_shrinkage(J)
    with torch.no_grad():
        fy = D(y, sigma)
    B = y.shape[0]
    cx = torch.einsum("bd,bdk->bk", x.reshape(B, -1).to(E), E)
    cy = torch.einsum("bd,bdk->bk", y.reshape(B, -1).to(E), E)
    return Shrinkage(y=y, f=fy, lam=lam, E=E, coef_x=cx, coef_y=cy, trace=jacobian.effective_dim(J),
                     asymmetry=jacobian.asymmetry(J), homogeneity=jacobian.homogeneity_error(D, y, J))


def jacobian_trace(D, y: torch.Tensor, *, n_probes: int = 16, generator: torch.Generator | None = None):
    """Hutchinson estimate of tr J(y) per image, mean over ``n_probes`` Rademacher probes of ⟨ε, J ε⟩
    (one ``jvp`` each): the effective dimension at sizes where the d×d Jacobian is too big. (B,)."""
    from torch.func import jvp

    if hasattr(D, "eval"):
        D.eval()
    tr = torch.zeros(y.shape[0], dtype=torch.float64)
    for _ in range(n_probes):
        eps = (torch.randint(0, 2, y.shape, generator=generator) * 2 - 1).to(y)
        _, Je = jvp(lambda v: D(v, None), (y,), (eps,))
        tr += (eps * Je.detach()).flatten(1).sum(1).double().cpu() / n_probes
    return tr


def effective_dim_curve(D, x: torch.Tensor, sigmas, *, generator: torch.Generator | None = None,
                        exact: bool = True, n_probes: int = 16) -> np.ndarray:
    """Mean effective dimension tr J(y) over images ``x`` at each σ (exact Jacobian or Hutchinson).

    For the MMSE denoiser σ²·tr J = the MSE (paper §3.1): it falls as σ grows, and it counts the
    dimensions kept by the shrinkage."""
    out = []
    for s in sigmas:
        y = x + float(s) * torch.randn(x.shape, generator=generator).to(x)
        if exact:
            out.append(float(jacobian.effective_dim(jacobian.jacobian(D, y)).mean()))
        else:
            out.append(float(jacobian_trace(D, y, n_probes=n_probes, generator=generator).mean()))
    return np.array(out)


@dataclass
class ShuffleControl:
    """The shuffled-pixel control of paper Fig. 21 (see :func:`shuffle_control`)."""

    psnr_plain: np.ndarray   # output PSNR of the network trained on the original images, per σ
    psnr_shuffled: np.ndarray  # the same for the network trained on (and tested with) shuffled pixels
    slope_plain: float       # PSNR slopes over ``slope_range`` of input PSNR
    slope_shuffled: float
    lam: torch.Tensor        # (k,) leading eigenvalues of the shuffled network at one noisy image
    vectors: torch.Tensor    # (k, C, H, W) their eigenvectors with the permutation undone (for display)


def shuffle_control(D_plain, D_shuffled, test: torch.Tensor, perm: torch.Tensor, sigmas, *, slope_range,
                    eig_sigma: float, k: int = 8, seed: int = 0) -> ShuffleControl:
    """Compare a network trained on images with one trained on the same images with a fixed pixel permutation
    ``perm`` (paper Fig. 21): a basis that adapts to image geometry cannot be learned once the geometry is
    scrambled, so the shuffled network should denoise worse, with a lower slope.

    ``test`` (B, C, H, W) original held-out images; the shuffled network is tested on ``test`` permuted by
    ``perm`` (:func:`gendiff.data.shuffle_pixels`). Its leading ``k`` Jacobian eigenvectors at one noisy
    shuffled image (σ = ``eig_sigma``, matrix-free Lanczos) are returned un-permuted, i.e. as images.
    """
    from . import runtime
    from .data import shuffle_pixels

    sigmas = np.asarray(sigmas, dtype=float)
    test_s, _ = shuffle_pixels(test, perm=perm)
    out_p = metrics.psnr_curve(D_plain, test, sigmas, generator=runtime.generator(seed))
    out_s = metrics.psnr_curve(D_shuffled, test_s, sigmas, generator=runtime.generator(seed))
    in_psnr = metrics.input_psnr(sigmas)
    y = test_s[:1] + eig_sigma * torch.randn(test_s[:1].shape, generator=runtime.generator(seed + 1))
    lam, E = jacobian.top_eigs(D_shuffled, y, k=k)
    inv = torch.argsort(perm)
    vectors = E.T.to(test.dtype)[:, inv].reshape((k,) + tuple(test.shape[1:]))
    return ShuffleControl(out_p, out_s, metrics.fit_slope(in_psnr, out_p, *slope_range),
                          metrics.fit_slope(in_psnr, out_s, *slope_range), lam, vectors)


# plot helpers live in gendiff.harmonic_plots (kept under ~300 lines per module); re-exported here
from .harmonic_plots import plot_eigvecs, plot_shrinkage, plot_spectrum  # noqa: E402,F401
# the memorization helpers of Figs. 1–2 live in gendiff.memorization; re-exported here
from .memorization import mean_gap, paired_samples, similarity_stats, train_test_curves  # noqa: E402,F401

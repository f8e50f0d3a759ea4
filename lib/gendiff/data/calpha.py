"""Cα images: two Cα-regular backgrounds separated by a Cα-regular contour (Kadkhodaie et al. 2024, Alg. 2;
code ``synthetic_data_generators.make_C_alpha_images``).

1. contour c = Re IFFT(|k|^−α · FFT(u)), u ~ U[−1, 1]^n (|k| at DC set to 1); the boundary row is
   round(n·c) + n/2, clamped to [0, n];
2. backgrounds B₁, B₂ = Re IFFT2(|k|^−β · FFT2(U[−1, 1]^{n×n})), min-max rescaled one to [u₁, 1] and the
   other to [0, u₂] (u ~ U[0, 1]; which one is bright is random);
3. mask M = 1[row ≥ contour(col)], blurred by a 2×2 box; x = M·B₁ + (1 − M)·B₂.

Optimal denoising of such images has MSE ∝ σ^{2α/(α+1)}: output PSNR rises with slope α/(α+1) (paper §3.2).
"""
from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F


def _freq_1d(n: int) -> torch.Tensor:
    k = torch.fft.fftfreq(n) * n
    k = k.abs()
    k[0] = 1.0
    return k


class CalphaDraws(NamedTuple):
    """The random numbers behind a batch of Cα images (:func:`calpha_images` with ``return_draws=True``)."""

    u: torch.Tensor        # (n, size) contour noise, U[−1, 1]
    w1: torch.Tensor       # (n, size, size) first background noise, U[−1, 1]
    w2: torch.Tensor       # (n, size, size) second background noise, U[−1, 1]
    u1: torch.Tensor       # (n, 1, 1) lower end of the bright region, U[0, 1]
    u2: torch.Tensor       # (n, 1, 1) upper end of the dark region, U[0, 1]
    flip: torch.Tensor     # (n, 1, 1) bool: the dark region is on top

    #: variance of each continuous draw (U[−1, 1]: 1/3, U[0, 1]: 1/12), for :func:`gendiff.harmonic.calpha_oracle`
    VARIANCES = (1 / 3, 1 / 3, 1 / 3, 1 / 12, 1 / 12)


def calpha_images(n: int, size: int, alpha: float, beta: float | None = None, *, blur: int = 2,
                  generator: torch.Generator | None = None, return_draws: bool = False):
    """``n`` Cα images of ``size``×``size`` in [0, 1], shape ``(n, 1, size, size)``; β defaults to α.

    With ``return_draws`` also the :class:`CalphaDraws` that :func:`calpha_render` maps to these images."""
    if n < 0 or size < 2:
        raise ValueError(f"need n >= 0 and size >= 2, got n={n}, size={size}")
    g = generator
    u = torch.rand(n, size, generator=g, dtype=torch.float64) * 2 - 1
    w1 = torch.rand(n, size, size, generator=g, dtype=torch.float64) * 2 - 1
    w2 = torch.rand(n, size, size, generator=g, dtype=torch.float64) * 2 - 1
    u1 = torch.rand(n, 1, 1, generator=g, dtype=torch.float64)
    u2 = torch.rand(n, 1, 1, generator=g, dtype=torch.float64)
    flip = torch.rand(n, 1, 1, generator=g) < 0.5
    draws = CalphaDraws(u, w1, w2, u1, u2, flip)
    x = calpha_render(draws, alpha, beta, blur=blur).to(torch.float32)[:, None]
    return (x, draws) if return_draws else x


def calpha_render(draws: CalphaDraws, alpha: float, beta: float | None = None, *, blur: int = 2,
                  soft: bool = False) -> torch.Tensor:
    """The Cα images ``(n, size, size)`` (float64) made from ``draws`` (steps 1–3 of the module docstring).

    ``soft=True`` places the boundary at its exact sub-pixel row ``n·c + n/2`` (a linear ramp over one
    pixel) instead of rounding it: the same image up to the rounding, but differentiable in the contour
    draws, for the tangent space of :func:`gendiff.harmonic.calpha_oracle`.
    """
    beta = alpha if beta is None else beta
    u, w1, w2, u1, u2, flip = draws
    size = u.shape[-1]
    c = torch.fft.ifft(torch.fft.fft(u) * _freq_1d(size) ** (-alpha)).real
    rows = torch.arange(size, dtype=torch.float64).view(1, size, 1)
    if soft:
        mask = (rows - (size * c + size // 2)[:, None, :] + 0.5).clamp(0, 1)
    else:
        row = (torch.round(size * c) + size // 2).clamp(0, size)            # (n, size) one per column
        mask = (rows >= row[:, None, :]).to(torch.float64)                  # (n, H, W)
    k = _freq_1d(size)
    k2 = torch.sqrt(k[:, None] ** 2 + k[None, :] ** 2)
    k2[0, 0] = 1.0

    def background(w):
        b = torch.fft.ifft2(torch.fft.fft2(w) * k2 ** (-beta)).real
        lo = b.amin(dim=(1, 2), keepdim=True)
        hi = b.amax(dim=(1, 2), keepdim=True)
        return (b - lo) / (hi - lo + 1e-12)

    bright = u1 + (1 - u1) * background(w1)      # in [u1, 1]
    dark = u2 * background(w2)                   # in [0, u2]
    b_top, b_bot = torch.where(flip, dark, bright), torch.where(flip, bright, dark)
    if blur > 1:  # 2x2 box blur of the mask (paper code: "blurredx2"), same size output
        m = F.pad(mask[:, None], (0, blur - 1, 0, blur - 1), mode="replicate")
        mask = F.avg_pool2d(m, blur, stride=1)[:, 0]
    return mask * b_top + (1 - mask) * b_bot

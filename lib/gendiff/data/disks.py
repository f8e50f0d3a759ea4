"""Disks: a 5-parameter image manifold (Kadkhodaie et al. 2024, §5 and code ``circle_dataset``).

Parameters p = (c_x, c_y, r, fg, bg): centre, radius ~ U[3, (n−3)/2), centre ~ U[r, n−r]², foreground and
background grey levels ~ U[0, 1]. The paper renders at 2^j× and downsamples with a db2 low-pass; the book
renders the disk edge analytically with a smooth profile instead,

    x_ij(p) = bg + (fg − bg) · Φ((r − ‖(i, j) − c‖)/w),   Φ the standard normal CDF, w = 0.5 px,

which approximates area-coverage anti-aliasing and, being smooth in p, gives the *exact* tangent space
span{∂x/∂p_k} by forward-mode differentiation (``torch.func.jacfwd``) instead of finite differences.
"""
from __future__ import annotations

import math

import torch
from torch.func import jacfwd, vmap

EDGE_WIDTH = 0.5


def render_disks(params: torch.Tensor, size: int, edge: float = EDGE_WIDTH) -> torch.Tensor:
    """Images ``(B, 1, size, size)`` from parameters ``(B, 5)`` = (c_x, c_y, r, fg, bg) in pixel units."""
    p = params.reshape(-1, 5)
    coords = torch.arange(size, dtype=p.dtype, device=p.device) + 0.5
    yy, xx = torch.meshgrid(coords, coords, indexing="ij")
    cx, cy, r, fg, bg = (p[:, i].view(-1, 1, 1) for i in range(5))
    dist = torch.sqrt((xx - cx) ** 2 + (yy - cy) ** 2 + 1e-12)
    inside = 0.5 * (1 + torch.erf((r - dist) / (edge * math.sqrt(2))))
    return (bg + (fg - bg) * inside)[:, None]


def disk_images(n: int, size: int, *, generator: torch.Generator | None = None, return_params: bool = False):
    """``n`` random disks ``(n, 1, size, size)`` in [0, 1] (and their ``(n, 5)`` parameters if asked)."""
    if size < 8:
        raise ValueError(f"disks need size >= 8, got {size}")
    g = generator
    r = 3 + ((size - 3) / 2 - 3) * torch.rand(n, generator=g, dtype=torch.float64)
    c = r[:, None] + (size - 2 * r[:, None]) * torch.rand(n, 2, generator=g, dtype=torch.float64)
    fgbg = torch.rand(n, 2, generator=g, dtype=torch.float64)
    params = torch.cat([c, r[:, None], fgbg], dim=1)
    x = render_disks(params, size).to(torch.float32)
    return (x, params) if return_params else x


def disk_tangent_basis(params: torch.Tensor, size: int) -> torch.Tensor:
    """Orthonormal bases ``(B, 5, d)`` of the tangent spaces span{∂x/∂p_k} at each parameter vector."""
    p = params.reshape(-1, 5).to(torch.float64)
    jac = vmap(jacfwd(lambda q: render_disks(q[None], size).flatten()))(p)   # (B, d, 5)
    q, _ = torch.linalg.qr(jac)                                              # (B, d, 5)
    return q.transpose(1, 2).to(torch.float32)

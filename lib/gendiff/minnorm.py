"""Minimum-norm shallow denoisers in function space (Zeno, Ongie, Blumenfeld, Weinberger & Soudry, NeurIPS 2023).

Setting (paper §2; the body of the paper could not be read, so the closed forms below are the ones
re-derived and checked numerically in the book's spec ``papers/02-min-norm-shallow-denoisers.md``):

* clean points x_1..x_N ∈ ℝ^d; noisy samples y = x_n + ε with ‖ε‖ ≤ ρ < ½ min_{n≠m}‖x_n − x_m‖;
* denoiser h_θ(y) = Σ_k a_k [w_k^T y + b_k]_+ + V y + c (shallow ReLU net, unregularised skip V, c);
* weight cost C(θ) = ½ Σ_k (‖a_k‖² + ‖w_k‖²); after balancing, the path cost Σ_k ‖a_k‖‖w_k‖;
* problem (P): h*_ρ = argmin R(h) s.t. h ≡ x_n on every ball B(x_n, ρ) (the λ → 0, M → ∞ limit of
  Σ_{n,m} ‖h(y_nm) − x_n‖² + λ C(θ)).

Closed forms (NumPy, float64) are all sums of *rank-one ramps*
r(y) = v · clip((u^T y − t0)/(t1 − t0), 0, 1), each realised by two ReLUs at path cost 2‖v‖/(t1 − t0):

* 1D (spec §2.2): ``minnorm_1d`` and its cost Σ_n 2Δ_n/(Δ_n − 2ρ) (``repr_cost_1d``);
* data in an affine subspace (§2.5a): ``minnorm_subspace``;
* union of non-acute rays through a training apex (§2.5b): ``minnorm_rays``;
* obtuse simplex, ramps along the edges at the obtuse vertex (§2.5c): ``minnorm_obtuse_simplex``;
* regular simplex, ramps along the facet normals (§2.5d): ``minnorm_regular_simplex`` (a member of the
  face-aligned family ``face_aligned_simplex`` whose anchor p = centroid; p = a vertex is the
  "barycentric" construction).

The trained side (PyTorch): ``ShallowDenoiser`` holds G independent nets as one batched module (so
several configurations train in one loop of :func:`gendiff.train.fit`), ``train_minnorm`` trains it
full-batch on offline (fixed) or online (fresh every step) ball noise, and the alignment metrics compare
its neurons with the directions the closed forms predict.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from . import runtime
from .train import FitConfig, fit

# ====================================================================================================
# closed forms (NumPy, float64)
# ====================================================================================================


def ramp(t, t0, t1):
    """clip((t − t0)/(t1 − t0), 0, 1): the rank-one ramp profile; two ReLUs, slope 1/(t1 − t0)."""
    t0, t1 = np.asarray(t0, float), np.asarray(t1, float)
    if np.any(t1 <= t0):
        raise ValueError("ramp needs t1 > t0 (is 2ρ smaller than the gap?)")
    return np.clip((np.asarray(t, float) - t0) / (t1 - t0), 0.0, 1.0)


def _check_rho(rho) -> float:
    rho = float(rho)
    if not np.isfinite(rho) or rho < 0:
        raise ValueError(f"rho must be a finite number >= 0, got {rho}")
    return rho


def _check_rho_1d(x, rho):
    x = np.sort(np.asarray(x, float).ravel())
    if x.size < 1:
        raise ValueError("need at least one clean point")
    rho = _check_rho(rho)
    if x.size > 1 and 2 * rho >= np.diff(x).min():
        raise ValueError(f"2ρ = {2 * rho:g} must be smaller than the smallest gap {np.diff(x).min():g} "
                         "(the noise balls must be disjoint)")
    return x


def interval_knots(x, rho=None, lo=None, hi=None):
    """Per-point constraint intervals [lo_n, hi_n] (sorted by x): [x_n − ρ, x_n + ρ] or given ones."""
    order = np.argsort(np.asarray(x, float).ravel())
    x = np.asarray(x, float).ravel()[order]
    if lo is None or hi is None:
        if rho is None:
            raise ValueError("give either rho or both lo and hi")
        x = _check_rho_1d(x, rho)
        lo, hi = x - rho, x + rho
    else:
        lo = np.asarray(lo, float).ravel()[order]
        hi = np.asarray(hi, float).ravel()[order]
        if np.any(lo > x) or np.any(hi < x) or np.any(hi[:-1] >= lo[1:]):
            raise ValueError("intervals [lo_n, hi_n] must contain x_n and be disjoint")
    return x, lo, hi


def minnorm_1d(y, x, rho=None, *, lo=None, hi=None):
    """The univariate min-cost interpolating denoiser h*_ρ (spec §2.2; the chapter's eq. ``ch02-1d``).

    h*(y) = x_n on [x_n − ρ, x_n + ρ]; linear from (x_n + ρ, x_n) to (x_{n+1} − ρ, x_{n+1}) with slope
    s_n = Δ_n/(Δ_n − 2ρ); constant x_1 / x_N outside. With ``lo``, ``hi`` the constraint set of cluster n
    is the interval [lo_n, hi_n] instead (the finite-M "sample hull" variant). ``y``: any shape.
    """
    x, lo, hi = interval_knots(x, rho, lo, hi)
    knots = np.stack([lo, hi], 1).ravel()
    vals = np.repeat(x, 2)
    return np.interp(np.asarray(y, float), knots, vals)


def repr_cost_1d(x, rho=None, *, lo=None, hi=None):
    """R(h*) = ∫|h*''| = Σ_n 2Δ_n/(Δ_n − 2ρ) (spec §2.2); with intervals Σ_n 2Δ_n/(lo_{n+1} − hi_n)."""
    x, lo, hi = interval_knots(x, rho, lo, hi)
    return float(np.sum(2 * np.diff(x) / (lo[1:] - hi[:-1])))


def secant_cost_1d(knots, values) -> float:
    """Σ_i |s_{i+1} − s_i| over the secant slopes s_i = (v_{i+1} − v_i)/(t_{i+1} − t_i) of (knots t, values v).

    A lower bound on ∫|h''| for *every* h with h(t_i) = v_i: by the mean-value theorem h' takes each s_i
    somewhere in [t_i, t_{i+1}], in order. With the knots x_n ± ρ and the values x_n it equals
    ``repr_cost_1d(x, rho)`` (the secants are 0 on the balls and s_n across the gaps); with the values a
    trained net takes at those knots it bounds the net's own cost from below.
    """
    t = np.asarray(knots, float).ravel()
    v = np.asarray(values, float).ravel()
    if t.shape != v.shape or t.size < 2 or np.any(np.diff(t) <= 0):
        raise ValueError("need at least two strictly increasing knots and one value per knot")
    return float(np.abs(np.diff(np.diff(v) / np.diff(t))).sum())


def clipped_intervals(x, rho, frac=0.45):
    """Intervals [x_n − ρ_n^-, x_n + ρ_n^+] with each side shrunk to ``frac``·gap where 2ρ would overlap.

    The book's choice (the paper's was not readable) for random training sets at noise levels where
    2ρ exceeds the smallest gap: every ball keeps radius ρ except on the side of a too-close neighbour.
    """
    x = np.sort(np.asarray(x, float).ravel())
    gaps = np.diff(x)
    right = np.minimum(rho, frac * np.append(gaps, np.inf))
    left = np.minimum(rho, frac * np.insert(gaps, 0, np.inf))
    return x, x - left, x + right


def nearest_point(y, x):
    """x_{n(y)}: the clean point nearest to each y (1D; any shape)."""
    x = np.sort(np.asarray(x, float).ravel())
    y = np.asarray(y, float)
    idx = np.clip(np.searchsorted((x[1:] + x[:-1]) / 2, y), 0, x.size - 1)
    return x[idx]


def contraction_violation(h_values, y, x):
    """|h(y) − x_{n(y)}| − |y − x_{n(y)}| (≤ 0 everywhere for a contraction toward the nearest point)."""
    near = nearest_point(y, x)
    return np.abs(np.asarray(h_values, float) - near) - np.abs(np.asarray(y, float) - near)


def emmse(Y, X, sigma):
    """Empirical MMSE denoiser Σ_n x_n softmax_n(−‖y − x_n‖²/(2σ²)) (log-sum-exp; spec §2.3).

    ``Y``: (B, d) or (B,) for d = 1; ``X``: (N, d) or (N,). Returns the shape of ``Y``.
    """
    sigma = float(sigma)
    if not np.isfinite(sigma) or sigma <= 0:
        raise ValueError(f"the eMMSE denoiser needs σ > 0, got {sigma}")
    Y = np.asarray(Y, float)
    X = np.asarray(X, float)
    one_d = Y.ndim == 1
    Y2, X2 = (Y[:, None], X.reshape(-1, 1)) if one_d else (Y, X)
    logits = -((Y2[:, None, :] - X2[None]) ** 2).sum(-1) / (2 * sigma**2)   # (B, N)
    logits -= logits.max(1, keepdims=True)
    w = np.exp(logits)
    w /= w.sum(1, keepdims=True)
    out = w @ X2
    return out[:, 0] if one_d else out


# ---- multivariate -----------------------------------------------------------------------------------

def affine_basis(X, tol=1e-10):
    """(x̄, U): centroid and an orthonormal basis U (d×r) of span{x_n − x̄} (SVD)."""
    X = np.asarray(X, float)
    xbar = X.mean(0)
    _, s, Vt = np.linalg.svd(X - xbar, full_matrices=False)
    r = int((s > tol * max(1.0, s.max(initial=0.0))).sum())
    return xbar, Vt[:r].T


def minnorm_subspace(Y, X, rho, lowdim_fn: Callable):
    """Data in an affine subspace S = x̄ + span(U) (spec §2.5a).

    h*(y) = x̄ + U g*(U^T(y − x̄)), with g* = ``lowdim_fn(Z, Z_data, rho)`` the r-dimensional min-cost
    denoiser of the coordinates Z_data = U^T(x_n − x̄). The off-subspace part of y is removed exactly.
    ``Y``: (B, d); returns (B, d).
    """
    Y = np.asarray(Y, float)
    xbar, U = affine_basis(X)
    Z = (Y - xbar) @ U
    Zx = (np.asarray(X, float) - xbar) @ U
    return xbar + lowdim_fn(Z, Zx, rho) @ U.T


def collinear_lowdim(Z, Zx, rho):
    """``lowdim_fn`` for r = 1: the 1D formula along the line."""
    return minnorm_1d(Z[:, 0], Zx[:, 0], rho)[:, None]


def minnorm_rays(Y, apex, rays: Sequence[tuple], rho):
    """Union of one-sided rays from a training apex x_0 (spec §2.5b).

    h*(y) = x_0 + Σ_k u_k φ_k(u_k^T(y − x_0)), φ_k the 1D formula of {0, t_k1, t_k2, ...}; requires
    pairwise non-acute unit directions (u_i^T u_j ≤ 0), t_k1 > 2ρ. ``rays``: list of (u_k, t_k array).
    """
    Y = np.asarray(Y, float)
    apex = np.asarray(apex, float)
    U = np.stack([np.asarray(u, float) / np.linalg.norm(u) for u, _ in rays])
    G = U @ U.T
    if np.any(G[~np.eye(len(U), dtype=bool)] > 1e-12):
        raise ValueError("ray directions must be pairwise non-acute (u_i·u_j <= 0)")
    out = np.repeat(apex[None], len(Y), 0)
    for u, (_, t) in zip(U, rays):
        pts = np.concatenate([[0.0], np.sort(np.asarray(t, float))])
        out += np.outer(minnorm_1d((Y - apex) @ u, pts, rho), u)
    return out


def cost_rays(rays, rho):
    """Σ_k R_1D(φ_k): the path cost of the ray closed form."""
    return float(sum(repr_cost_1d(np.concatenate([[0.0], np.sort(np.asarray(t, float))]), rho) for _, t in rays))


def is_obtuse_at(X, i=0, tol=1e-12):
    """True if every pair of edges at vertex i is non-acute: (x_j − x_i)^T(x_k − x_i) ≤ 0 for j ≠ k."""
    X = np.asarray(X, float)
    E = np.delete(X, i, 0) - X[i]
    G = E @ E.T
    return bool(np.all(G[~np.eye(len(E), dtype=bool)] <= tol))


def minnorm_obtuse_simplex(Y, x0, X_others, rho):
    """Obtuse simplex, one point per edge ray (spec §2.5c).

    h*(y) = x_0 + Σ_i (x_i − x_0) clip((u_i^T(y − x_0) − ρ)/(L_i − 2ρ), 0, 1), L_i = ‖x_i − x_0‖.
    Kinks perpendicular to the edges at x_0; w_k ∥ u_i. Requires the edges at x_0 pairwise non-acute.
    """
    x0 = np.asarray(x0, float)
    Xo = np.asarray(X_others, float)
    if not is_obtuse_at(np.vstack([x0, Xo]), 0):
        raise ValueError("the edges at x0 must be pairwise non-acute for the edge construction")
    return minnorm_rays(Y, x0, [(xi - x0, [np.linalg.norm(xi - x0)]) for xi in Xo], rho)


def cost_obtuse(x0, X_others, rho):
    """R = Σ_i 2 L_i/(L_i − 2ρ), L_i = ‖x_i − x_0‖: the cost of ``minnorm_obtuse_simplex``.

    Raises ``ValueError`` where that construction does not exist: acute edges at x_0, or 2ρ ≥ some L_i.
    """
    rho = _check_rho(rho)
    x0, Xo = np.asarray(x0, float), np.asarray(X_others, float)
    if not is_obtuse_at(np.vstack([x0, Xo]), 0):
        raise ValueError("the edges at x0 must be pairwise non-acute for the edge construction")
    L = np.linalg.norm(Xo - x0, axis=1)
    if np.any(L <= 2 * rho):
        raise ValueError(f"every edge length L_i = {np.round(L, 6).tolist()} must exceed 2ρ = {2 * rho:g}")
    return float(np.sum(2 * L / (L - 2 * rho)))


def edge_dirs(X):
    """Unit directions of all edges x_j − x_i (i < j) of the simplex X: (N(N−1)/2, d)."""
    X = np.asarray(X, float)
    E = np.array([X[j] - X[i] for i in range(len(X)) for j in range(i + 1, len(X))])
    return E / np.linalg.norm(E, axis=1, keepdims=True)


def facet_geometry(X):
    """For each vertex n: (ν_n, H_n, c_n) = unit facet normal within the affine hull, altitude, facet centroid.

    ν_n is the part of x_n − c_n orthogonal to the facet's directions (QR of the facet's edge vectors).
    """
    X = np.asarray(X, float)
    N, d = X.shape
    nus, Hs, cs = [], [], []
    for n in range(N):
        F = np.delete(X, n, 0)
        c = F.mean(0)
        v = X[n] - c
        D = (F[1:] - F[0]).T                     # (d, N−2) facet directions
        if D.shape[1]:
            Q, _ = np.linalg.qr(D)
            v = v - Q @ (Q.T @ v)
        H = np.linalg.norm(v)
        nus.append(v / H), Hs.append(H), cs.append(c)
    return np.array(nus), np.array(Hs), np.array(cs)


def facet_normals(X):
    """Unit facet normals ν_n (N, d), within the affine hull of X."""
    return facet_geometry(X)[0]


def face_aligned_simplex(Y, X, rho, p=None):
    """Face-aligned construction for any simplex, anchored at p (spec §2.5d, generalised here).

    h(y) = p + Σ_n (x_n − p) clip((ν_n^T(y − c_n) − ρ)/(H_n − 2ρ), 0, 1). Feasible for every p because
    x_n lies on every facet m ≠ n. p = centroid: the regular-simplex closed form; p = a vertex: the
    "barycentric" construction. Cost: Σ_n 2‖x_n − p‖/(H_n − 2ρ).
    """
    X = np.asarray(X, float)
    p = X.mean(0) if p is None else np.asarray(p, float)
    nu, H, c = facet_geometry(X)
    _check_altitudes(H, rho)
    Y = np.asarray(Y, float)
    t = np.einsum("bd,nd->bn", Y, nu) - (nu * c).sum(1)          # signed distance to facet n
    R = ramp(t, rho, H - rho)                                     # (B, N)
    return p + R @ (X - p)


def _check_altitudes(H, rho):
    rho = _check_rho(rho)
    if np.any(H <= 2 * rho):
        raise ValueError(f"every altitude H_n = {np.round(H, 6).tolist()} must exceed 2ρ = {2 * rho:g} "
                         "(the face-aligned ramps need room between the balls)")


def cost_face_aligned(X, rho, p=None):
    """Σ_n 2‖x_n − p‖/(H_n − 2ρ) (p = centroid by default); ``ValueError`` if some H_n ≤ 2ρ."""
    X = np.asarray(X, float)
    p = X.mean(0) if p is None else np.asarray(p, float)
    _, H, _ = facet_geometry(X)
    _check_altitudes(H, rho)
    return float(np.sum(2 * np.linalg.norm(X - p, axis=1) / (H - 2 * rho)))


def best_face_anchor(X, rho):
    """(p*, cost): the anchor minimising the face-aligned cost (a weighted Weber point; scipy)."""
    from scipy.optimize import minimize

    X = np.asarray(X, float)
    _, H, _ = facet_geometry(X)
    _check_altitudes(H, rho)
    wts = 2 / (H - 2 * rho)
    f = lambda p: float(np.sum(wts * np.linalg.norm(X - p, axis=1)))
    starts = [X.mean(0)] + list(X)
    best = min((minimize(f, s, method="Nelder-Mead", options=dict(xatol=1e-10, fatol=1e-12, maxiter=20000))
                for s in starts), key=lambda r: r.fun)
    return best.x, float(best.fun)


def minnorm_regular_simplex(Y, X, rho):
    """Regular simplex (spec §2.5d): h*(y) = x̄ + Σ_n (x_n − x̄) clip((ν_n^T(y − c_n) − ρ)/(H − 2ρ), 0, 1)."""
    return face_aligned_simplex(Y, X, rho, p=None)


def cost_regular(X, rho):
    """2 Σ_n ‖x_n − x̄‖/(H − 2ρ) → 2D for a D-simplex as ρ → 0."""
    return cost_face_aligned(X, rho, p=None)


def sample_hull_cost(X, Y, kind: str) -> float:
    """Cost of the same ramp construction when h must equal x_n only on the samples ``Y[n]`` (N, M, d).

    Each ramp v·clip((u^T y − t0)/(t1 − t0), 0, 1) keeps its direction u and height v but starts just past
    the samples that must stay at 0 (t0 = their largest u^T y) and ends at the first sample of its own
    cluster (t1 = its smallest u^T y), instead of at the balls' edges: cost Σ 2‖v‖/(t1 − t0).
    ``kind="edge"``: the obtuse construction at X[0] (u_i = unit edge x_i − x_0, v_i = x_i − x_0);
    ``"face"``: face-aligned at the centroid (u_n = ν_n, v_n = x_n − x̄). With samples filling the balls
    it tends to ``cost_obtuse`` / ``cost_regular``; the convex hulls of finitely many samples are
    smaller, so it is lower. An upper bound on the min-cost interpolant of the samples themselves.
    """
    X = np.asarray(X, float)
    Y = np.asarray(Y, float)
    if Y.ndim != 3 or Y.shape[0] != X.shape[0] or Y.shape[2] != X.shape[1]:
        raise ValueError(f"Y must be (N, M, d) = ({X.shape[0]}, M, {X.shape[1]}), got {Y.shape}")
    if kind == "edge":
        if not is_obtuse_at(X, 0):
            raise ValueError("the edges at X[0] must be pairwise non-acute for the edge construction")
        V = X[1:] - X[0]
        U = V / np.linalg.norm(V, axis=1, keepdims=True)
        owners = range(1, len(X))
    elif kind == "face":
        U = facet_normals(X)
        V = X - X.mean(0)
        owners = range(len(X))
    else:
        raise ValueError("kind must be 'edge' or 'face'")
    cost = 0.0
    for u, v, n in zip(U, V, owners):
        proj = Y @ u                                             # (N, M)
        t0 = np.delete(proj, n, 0).max()
        t1 = proj[n].min()
        if t1 <= t0:
            raise ValueError(f"the samples of cluster {n} are not separated from the others along u")
        cost += 2 * np.linalg.norm(v) / (t1 - t0)
    return float(cost)


def equilateral_triangle(R=1.0):
    """Vertices of an equilateral triangle with circumradius R, centred at 0 (3, 2)."""
    a = np.pi / 2 + 2 * np.pi * np.arange(3) / 3
    return R * np.stack([np.cos(a), np.sin(a)], 1)


# ====================================================================================================
# generalisation at low noise (spec §2.4)
# ====================================================================================================

def mse_generalization(sigmas, *, n_points=10, n_sets=50, n_test=2000, seed=0, rho_factor=1.0):
    """MSE of h*_{ρ=σ} and of the eMMSE denoiser on fresh points, averaged over random training sets.

    Training sets: x_n ~ U[0, 1] (N = ``n_points``); test x ~ U[x_1, x_N], y = x + σ z, z ~ N(0, 1).
    Where 2ρ would exceed a gap the ball is shrunk on that side (``clipped_intervals``). Returns a dict
    of arrays over σ: ``nn``, ``emmse`` (mean squared errors), and ``sigma``.
    """
    sig = np.asarray(sigmas, float).ravel()
    if sig.size == 0 or not np.all(np.isfinite(sig)) or np.any(sig <= 0):
        raise ValueError(f"every σ must be finite and > 0, got {sig.tolist()}")
    rng = np.random.default_rng(seed)
    out = {"sigma": sig, "nn": [], "emmse": []}
    sets = np.sort(rng.uniform(0, 1, (n_sets, n_points)), 1)
    u = rng.uniform(0, 1, (n_sets, n_test))
    z = rng.standard_normal((n_sets, n_test))
    for s in out["sigma"]:
        e_nn = e_mm = 0.0
        for X, ui, zi in zip(sets, u, z):
            x = X[0] + (X[-1] - X[0]) * ui
            y = x + s * zi
            _, lo, hi = clipped_intervals(X, rho_factor * s)
            e_nn += np.mean((minnorm_1d(y, X, lo=lo, hi=hi) - x) ** 2)
            e_mm += np.mean((emmse(y, X, s) - x) ** 2)
        out["nn"].append(e_nn / n_sets)
        out["emmse"].append(e_mm / n_sets)
    out["nn"], out["emmse"] = np.array(out["nn"]), np.array(out["emmse"])
    return out


# ====================================================================================================
# the trained side
# ====================================================================================================

class ShallowDenoiser(nn.Module):
    """G independent shallow ReLU denoisers with skip connection, as one batched module (spec §2.1).

    h_g(y) = Σ_k a_{gk} [w_{gk}^T y + b_{gk}]_+ + V_g y + c_g. Parameters: W (G, K, d), b (G, K),
    A (G, d, K), V (G, d, d) (initialised to 0), c (G, d). Initialisation (spec §4): W ~ N(0, 1/d)·s,
    b ~ N(0, 0.25)·s, A ~ N(0, 1/K)·s. ``forward(y, sigma=None)``: y (G, B, d) → (G, B, d); with G = 1
    a (B, d) input is accepted too (the book's ``D(y, sigma)`` convention; σ is ignored).
    """

    def __init__(self, d: int, K: int, *, groups: int = 1, skip: bool = True, init_scale: float = 1.0,
                 generator: torch.Generator | None = None, kinks_at: torch.Tensor | None = None):
        super().__init__()
        if d < 1 or K < 1 or groups < 1:
            raise ValueError("d, K and groups must be >= 1")
        s, G = init_scale, groups
        self.d, self.K, self.G, self.skip = d, K, G, skip
        self.W = nn.Parameter(torch.randn(G, K, d, generator=generator) * s / math.sqrt(d))
        self.b = nn.Parameter(torch.randn(G, K, generator=generator) * 0.5 * s)
        self.A = nn.Parameter(torch.randn(G, d, K, generator=generator) * s / math.sqrt(K))
        self.V = nn.Parameter(torch.zeros(G, d, d), requires_grad=skip)
        self.c = nn.Parameter(torch.zeros(G, d))
        if kinks_at is not None:   # (G, P, d): put each neuron's kink through a random one of these points
            P = kinks_at.shape[1]
            idx = torch.randint(P, (G, K), generator=generator)
            xi = torch.gather(kinks_at.float(), 1, idx[..., None].expand(G, K, d))
            with torch.no_grad():
                self.b.copy_(-(self.W * xi).sum(-1))

    def forward(self, y: torch.Tensor, sigma=None) -> torch.Tensor:
        squeeze = y.dim() == 2
        if squeeze:
            if self.G != 1:
                raise ValueError(f"a (B, d) input needs groups=1; this module has {self.G} groups")
            y = y[None]
        pre = torch.einsum("gbd,gkd->gbk", y, self.W) + self.b[:, None, :]
        out = torch.einsum("gbk,gdk->gbd", torch.relu(pre), self.A) + self.c[:, None, :]
        if self.skip:
            out = out + torch.einsum("gbd,ged->gbe", y, self.V)
        return out[0] if squeeze else out

    def cost(self) -> torch.Tensor:
        """C(θ) = ½(‖W‖² + ‖A‖²) per group: (G,)."""
        return 0.5 * (self.W.pow(2).sum((1, 2)) + self.A.pow(2).sum((1, 2)))

    def neuron_mag(self) -> torch.Tensor:
        """‖a_k‖·‖w_k‖ per neuron: (G, K)."""
        return self.W.norm(dim=2) * self.A.norm(dim=1)

    def path_cost(self) -> torch.Tensor:
        """Σ_k ‖a_k‖‖w_k‖ per group (the cost after balancing; ≥ lower bound R(h)): (G,)."""
        return self.neuron_mag().sum(1)

    def neurons(self, g: int = 0, thresh: float = 0.02) -> dict:
        """Active neurons of group g (path cost > ``thresh``·max): numpy w (k, d), b, a (k, d), mag."""
        with torch.no_grad():
            mag = self.neuron_mag()[g]
            keep = mag > thresh * mag.max()
            return {"w": self.W[g][keep].cpu().double().numpy(), "b": self.b[g][keep].cpu().double().numpy(),
                    "a": self.A[g].T[keep].cpu().double().numpy(), "mag": mag[keep].cpu().double().numpy()}

    def numpy_fn(self, g: int = 0) -> Callable[[np.ndarray], np.ndarray]:
        """y (B, d) numpy → h_g(y) (B, d) numpy (float64 in/out), for comparing with the closed forms."""
        dev = self.W.device

        def h(Y):
            Y = np.asarray(Y, float)
            one_d = Y.ndim == 1
            Yt = torch.as_tensor(Y.reshape(len(Y), -1), dtype=self.W.dtype, device=dev)
            with torch.no_grad():
                full = Yt[None].expand(self.G, -1, -1)
                out = self(full)[g].cpu().double().numpy()
            return out[:, 0] if one_d else out
        return h


def sample_ball(x: torch.Tensor, M: int, rho: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """M points uniform in the ball B(x_n, ρ) around each row of x (..., N, d) → (..., N, M, d).

    Direction z/‖z‖ with z ~ N(0, I), radius ρ·U^{1/d}.
    """
    if not np.isfinite(rho) or rho < 0 or M < 1:
        raise ValueError(f"need a finite rho >= 0 and M >= 1, got rho={rho}, M={M}")
    d = x.shape[-1]
    shape = tuple(x.shape[:-1]) + (M, d)
    z = torch.randn(shape, generator=generator, dtype=x.dtype)                  # CPU generator
    z = z / z.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    r = rho * torch.rand(shape[:-1] + (1,), generator=generator, dtype=x.dtype) ** (1.0 / d)
    return (x.detach().cpu()[..., None, :] + z * r).to(x.device)


@dataclass(frozen=True)
class MinNormTrainConfig:
    """Full-batch training of :class:`ShallowDenoiser` (the book's choices; the paper's were not readable).

    Loss per group: mean_{n,m} ‖h(y_nm) − x_n‖² + λ·½(‖W‖² + ‖A‖²) (λ normalised against the *mean*
    squared error); Adam, cosine decay to 1% of ``lr``; groups are independent (Adam is elementwise).
    """

    K: int = 64                   # width
    M: int = 20                   # noisy samples per clean point (per step when online)
    rho: float = 0.1              # ball radius
    lam: float = 1e-5             # λ
    steps: int = 15_000
    lr: float = 1e-2
    init_scale: float = 1.0
    endpoints: bool = False       # 1D offline: replace two samples per point by x_n ± ρ
    init_bias: str = "normal"     # "normal": b ~ N(0, 0.25)·s; "data": kinks through random noisy samples
    seed: int = 0


def train_minnorm(X: torch.Tensor, online: Sequence[bool], cfg: MinNormTrainConfig, *, name: str = "minnorm",
                  cache: bool = True, progress: bool = True) -> tuple[ShallowDenoiser, dict]:
    """Train G nets (one per ``X[g]``, (G, N, d)) with :func:`gendiff.train.fit`; offline or online per group.

    Offline groups see one fixed set of M ball samples per point (drawn from the run's seed); online
    groups draw fresh ball samples each step. Returns the model (eval, on the book's device) and a dict
    with ``history``, ``Y_fixed`` (G, N, M, d) (the offline samples) and per-group ``path_cost``.
    """
    X = torch.as_tensor(X, dtype=torch.float32).contiguous()
    if X.dim() != 3:
        raise ValueError(f"X must be (G, N, d), got shape {tuple(X.shape)}")
    G, N, d = X.shape
    online = [bool(o) for o in online]
    if len(online) != G:
        raise ValueError(f"online has {len(online)} entries for {G} groups")
    dev = runtime.device()

    if cfg.init_bias not in ("normal", "data"):
        raise ValueError(f"init_bias must be 'normal' or 'data', got {cfg.init_bias!r}")
    Yf = sample_ball(X, cfg.M, cfg.rho, runtime.generator(cfg.seed + 1))          # (G, N, M, d) offline set
    if cfg.endpoints:
        if d != 1 or cfg.M < 2:
            raise ValueError("endpoints=True needs d = 1 and M >= 2")
        Yf[:, :, 0, 0] = X[:, :, 0] - cfg.rho
        Yf[:, :, 1, 0] = X[:, :, 0] + cfg.rho

    def make():
        kinks = Yf.reshape(G, N * cfg.M, d) if cfg.init_bias == "data" else None
        return ShallowDenoiser(d, cfg.K, groups=G, init_scale=cfg.init_scale,
                               generator=runtime.generator(cfg.seed), kinks_at=kinks)

    def compute():
        model = make().to(dev)
        Xd, Yd = X.to(dev), Yf.to(dev)
        mask = torch.tensor(online, device=dev).view(G, 1, 1, 1)
        target = Xd[:, :, None, :].expand(G, N, cfg.M, d).reshape(G, N * cfg.M, d)

        def loss_fn(step, gen):
            Y = Yd
            if any(online):
                Yo = sample_ball(X, cfg.M, cfg.rho, gen).to(dev)
                Y = torch.where(mask, Yo, Yd)
            out = model(Y.reshape(G, N * cfg.M, d))
            mse = (out - target).pow(2).sum(-1).mean(1)                         # (G,)
            return (mse + cfg.lam * model.cost()).sum()

        fcfg = FitConfig(steps=cfg.steps, lr=cfg.lr, schedule="cosine", lr_final=0.01, amp=False,
                         seed=cfg.seed, diverge_factor=1e6)
        res = fit(model, loss_fn, fcfg, name=name, progress=progress, log_every=max(1, cfg.steps // 200))
        return {"state": {k: v.detach().cpu() for k, v in model.state_dict().items()},
                "history": res.history, "Y_fixed": Yf}

    # flattened for the key: runtime.tensor_digest cannot view a size-1 last dim of stride 0 as bytes
    key = {"X": X.reshape(-1).clone(), "shape": list(X.shape), "online": online, "cfg": cfg, "arch": "ShallowDenoiser-v1"}
    out = runtime.cached(name, key, compute) if cache else compute()
    model = make()
    model.load_state_dict(out["state"])
    model = model.to(dev).eval()
    info = {"history": out["history"], "Y_fixed": out["Y_fixed"],
            "path_cost": model.path_cost().detach().cpu().double().numpy()}
    return model, info


# ====================================================================================================
# alignment metrics
# ====================================================================================================

def alignment(w: np.ndarray, dirs: np.ndarray) -> np.ndarray:
    """Per-neuron max_j |cos(w_k, dir_j)|: (k,)."""
    w = np.asarray(w, float)
    D = np.asarray(dirs, float)
    w = w / np.linalg.norm(w, axis=1, keepdims=True)
    D = D / np.linalg.norm(D, axis=1, keepdims=True)
    return np.abs(w @ D.T).max(1)


def weighted_mean(values, mag) -> float:
    """Σ_k mag_k·v_k / Σ_k mag_k (neurons weighted by their path cost ‖a_k‖‖w_k‖)."""
    mag = np.asarray(mag, float)
    return float(np.sum(mag * np.asarray(values, float)) / mag.sum())


def span_energy(w: np.ndarray, X: np.ndarray) -> np.ndarray:
    """‖P_span(X − x̄) w_k‖²/‖w_k‖² per neuron: the share of each input weight inside the data's span."""
    _, U = affine_basis(X)
    w = np.asarray(w, float)
    return ((w @ U) ** 2).sum(1) / (w**2).sum(1)


def random_span_energy(X, n: int = 4096, seed: int = 0) -> float:
    """The same energy for isotropic random directions (≈ r/d): the baseline a trained net must beat."""
    X = np.asarray(X, float)
    w = np.random.default_rng(seed).standard_normal((n, X.shape[1]))
    return float(span_energy(w, X).mean())


def digits_simplex(classes=(0, 1, 2, 3)) -> np.ndarray:
    """The first sklearn ``load_digits`` image of each class, scaled to [0, 1]: (len(classes), 64)."""
    from sklearn.datasets import load_digits

    D = load_digits()
    return np.stack([D.data[np.flatnonzero(D.target == c)[0]] / 16.0 for c in classes])


def relu_lines(w: np.ndarray, b: np.ndarray, ax, lim, **kw):
    """Draw the lines w_k^T y + b_k = 0 (2D) within the square [−lim, lim]² on ``ax``."""
    t = np.linspace(-lim, lim, 2)
    for wk, bk in zip(np.asarray(w), np.asarray(b)):
        if abs(wk[1]) > abs(wk[0]):
            ax.plot(t, -(bk + wk[0] * t) / wk[1], **kw)
        else:
            ax.plot(-(bk + wk[1] * t) / wk[0], t, **kw)


def ramp_lines(X, rho, kind: str):
    """Kink lines (w, b) of a 2D closed form: 'edge' (obtuse at X[0]) or 'face' (facet normals)."""
    X = np.asarray(X, float)
    ws, bs = [], []
    if kind == "edge":
        for xi in X[1:]:
            u = (xi - X[0]) / np.linalg.norm(xi - X[0])
            L = np.linalg.norm(xi - X[0])
            for t in (rho, L - rho):
                ws.append(u), bs.append(-(u @ X[0]) - t)
    elif kind == "face":
        nu, H, c = facet_geometry(X)
        for n in range(len(X)):
            for t in (rho, H[n] - rho):
                ws.append(nu[n]), bs.append(-(nu[n] @ c[n]) - t)
    else:
        raise ValueError("kind must be 'edge' or 'face'")
    return np.array(ws), np.array(bs)


# ====================================================================================================
# figures (pure functions: take ax=None, return the figure, never call plt.show())
# ====================================================================================================

def plot_explorer(x, rho, sigma=None, *, ax=None, lim=None):
    """1D closed form h*_ρ against the eMMSE denoiser (σ = ρ unless given), the identity and the balls."""
    import matplotlib.pyplot as plt

    x = np.sort(np.asarray(x, float))
    sigma = rho if sigma is None else sigma
    fig = ax.figure if ax is not None else plt.subplots(figsize=(6.4, 4.2))[0]
    ax = ax or fig.axes[0]
    lo, hi = (x[0] - 0.6, x[-1] + 0.6) if lim is None else lim
    y = np.linspace(lo, hi, 2000)
    ax.plot(y, y, color="0.7", lw=1, ls=":", label="identity $h(y)=y$")
    ok = x.size < 2 or 2 * rho < np.diff(x).min()
    if ok:
        ax.plot(y, minnorm_1d(y, x, rho), color="C0", lw=2,
                label=f"min-norm $h^*_\\rho$ (cost {repr_cost_1d(x, rho):.2f})")
    ax.plot(y, emmse(y, x, sigma), color="C3", lw=1.5, ls="--", label=f"eMMSE, $\\sigma$={sigma:g}")
    for xn in x:
        ax.axvspan(xn - rho, xn + rho, color="C0", alpha=0.12, lw=0)
    ax.plot(x, x, "ko", ms=5, label="clean points $x_n$")
    ax.set(xlabel="noisy input $y$", ylabel="denoised output $h(y)$", xlim=(lo, hi),
           title=f"$\\rho$ = {rho:g}" + ("" if ok else "  (balls overlap: no interpolant)"))
    ax.legend(fontsize=8, loc="upper left")
    return fig


def simplex_colors(H, X):
    """RGB colours of outputs H (B, 2) by their barycentric coordinates in the triangle X (clipped)."""
    X = np.asarray(X, float)
    T = np.vstack([(X[1:] - X[0]).T])                          # (2, 2)
    lam12 = np.linalg.solve(T, (np.asarray(H) - X[0]).T).T     # (B, 2)
    lam = np.clip(np.column_stack([1 - lam12.sum(1), lam12]), 0, None)
    lam /= lam.sum(1, keepdims=True).clip(1e-12)
    cols = np.array([[0.85, 0.2, 0.2], [0.2, 0.6, 0.2], [0.2, 0.3, 0.85]])
    return lam @ cols


def plot_triangle_map(h, X, rho, *, lines=None, ax=None, lim=1.6, n=201, title=""):
    """Map of a 2D denoiser: colour = barycentric position of h(y); dashed = ReLU boundary lines (w, b)."""
    import matplotlib.pyplot as plt

    fig = ax.figure if ax is not None else plt.subplots(figsize=(4, 4))[0]
    ax = ax or fig.axes[0]
    g = np.linspace(-lim, lim, n)
    Y = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
    img = simplex_colors(h(Y), X).reshape(n, n, 3)
    ax.imshow(img, origin="lower", extent=(-lim, lim, -lim, lim), interpolation="nearest")
    if lines is not None:
        relu_lines(*lines, ax, lim, color="k", lw=0.7, ls="--", alpha=0.7)
    X = np.asarray(X, float)
    ax.fill(X[:, 0], X[:, 1], fill=False, color="w", lw=1.2)
    for xn in X:
        ax.add_patch(plt.Circle(xn, rho, fill=False, color="w", lw=1))
    ax.set(xlim=(-lim, lim), ylim=(-lim, lim), xlabel="$y_1$", ylabel="$y_2$", title=title, aspect="equal")
    return fig

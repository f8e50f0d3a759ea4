"""Multivariate min-cost denoisers: subspace, rays, obtuse and regular simplices (Zeno et al., NeurIPS 2023).

Every closed form is a sum of rank-one ramps v·clip((u^T y − t0)/(t1 − t0), 0, 1) at path cost
2‖v‖/(t1 − t0) (chapter 2, eq. ``ch02-multi``; re-derived for this book):

* data in an affine subspace x̄ + span(U): h*(y) = x̄ + U g*(U^T(y − x̄)) (``minnorm_subspace``);
* a union of non-acute rays through a training apex x_0: x_0 + Σ_k u_k φ_k(u_k^T(y − x_0)) (``minnorm_rays``);
* an obtuse simplex, ramps along the edges at the obtuse vertex, R = Σ_i 2L_i/(L_i − 2ρ)
  (``minnorm_obtuse_simplex``, ``cost_obtuse``);
* the face-aligned family with anchor p, R = Σ_n 2‖x_n − p‖/(H_n − 2ρ) (``face_aligned_simplex``); p = the
  centroid is the regular-simplex closed form (``minnorm_regular_simplex``), p = a vertex the barycentric one.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from .minnorm_1d import _check_rho, minnorm_1d, ramp, repr_cost_1d


def affine_basis(X, tol=1e-10):
    """(x̄, U): centroid and an orthonormal basis U (d×r) of span{x_n − x̄} (SVD)."""
    X = np.asarray(X, float)
    xbar = X.mean(0)
    _, s, Vt = np.linalg.svd(X - xbar, full_matrices=False)
    r = int((s > tol * max(1.0, s.max(initial=0.0))).sum())
    return xbar, Vt[:r].T


def minnorm_subspace(Y, X, rho, lowdim_fn: Callable):
    """Data in an affine subspace S = x̄ + span(U).

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
    """Union of one-sided rays from a training apex x_0.

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
    """Obtuse simplex, one point per edge ray.

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
    """Face-aligned construction for any simplex, anchored at p (generalises the regular simplex).

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
    """Regular simplex: h*(y) = x̄ + Σ_n (x_n − x̄) clip((ν_n^T(y − c_n) − ρ)/(H − 2ρ), 0, 1)."""
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

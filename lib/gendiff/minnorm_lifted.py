"""Subspace and ray data: competing interpolants and trained-net metrics (Zeno et al., NeurIPS 2023; chapter 2).

The closed forms for data in an affine subspace (``minnorm_subspace``) and on a union of non-acute rays
(``minnorm_rays``) are in :mod:`gendiff.minnorm_multi`. A trained net is judged against them as the
triangles are: it must be closer to the predicted denoiser h* than halfway to a *competitor*, another
interpolant of the same balls built from the same rank-one ramps v·clip((u^T y − t0)/(t1 − t0), 0, 1)
(path cost 2‖v‖/(t1 − t0) each) but with other ramp directions:

* subspace: the face-aligned construction *anchored at a vertex* (the "barycentric" one) inside the
  subspace, lifted like h*: h_b(y) = x̄ + U b(U^T(y − x̄)) (:func:`barycentric_subspace`);
* rays: the face-aligned construction of the simplex S = {x_0, x_0 + t_k1 u_k} (the apex and the first
  point of each ray), plus 1D ramps along each ray for its further points (:func:`rays_face_aligned`).

:func:`lifted_metrics` measures trained nets against h* and a competitor on test points near the data
(:func:`hull_test_points`); :func:`plot_lifted` draws the chapter's figure.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from .minnorm_1d import ramp
from .minnorm_multi import affine_basis, cost_face_aligned, face_aligned_simplex, facet_normals
from .minnorm_train import alignment, weighted_mean


def barycentric_subspace(Y, X, rho, vertex: int = 0):
    """Competitor of ``minnorm_subspace`` for a simplex X lying in an affine subspace of ℝ^d.

    h_b(y) = x̄ + U b(U^T(y − x̄)), b the face-aligned construction of the coordinates z_n = U^T(x_n − x̄)
    anchored at p = z_vertex: b(z) = p + Σ_n (z_n − p) clip((ν_n^T(z − c_n) − ρ)/(H_n − 2ρ), 0, 1).
    It equals x_n on every ball B(x_n, ρ) of ℝ^d and removes the off-subspace part of y, like h*; it
    differs from h* (anchor at the centroid for a regular simplex) only inside the subspace.
    Cost: :func:`cost_barycentric_subspace`.
    """
    Y = np.asarray(Y, float)
    X = np.asarray(X, float)
    xbar, U = affine_basis(X)
    Zx = (X - xbar) @ U
    return xbar + face_aligned_simplex((Y - xbar) @ U, Zx, rho, p=Zx[vertex]) @ U.T


def cost_barycentric_subspace(X, rho, vertex: int = 0) -> float:
    """Σ_n 2‖x_n − x_vertex‖/(H_n − 2ρ): the cost of :func:`barycentric_subspace` (an isometric
    embedding changes no length, so it is the cost of the same construction in the subspace)."""
    X = np.asarray(X, float)
    return cost_face_aligned(X, rho, p=X[vertex])


def _ray_parts(apex, rays: Sequence[tuple]):
    """(x_0, unit directions U (K, d), sorted positions per ray, simplex S = {x_0, x_0 + t_k1 u_k})."""
    apex = np.asarray(apex, float)
    U = np.stack([np.asarray(u, float) / np.linalg.norm(u) for u, _ in rays])
    T = [np.sort(np.asarray(t, float)) for _, t in rays]
    G = U @ U.T
    if np.any(G[~np.eye(len(U), dtype=bool)] > 1e-12):
        raise ValueError("ray directions must be pairwise non-acute (u_i·u_j <= 0)")
    if np.linalg.matrix_rank(U) < len(U):
        raise ValueError("ray directions must be linearly independent (the first points and the apex "
                         "must form a simplex)")
    S = np.vstack([apex] + [apex + t[0] * u for u, t in zip(U, T)])
    return apex, U, T, S


def rays_face_aligned(Y, apex, rays: Sequence[tuple], rho, p=None):
    """Competitor of ``minnorm_rays``: face-aligned ramps on the simplex of the first points, 1D ramps beyond.

    h_f(y) = f_S(y) + Σ_k Σ_{j≥2} (t_kj − t_k,j−1) u_k clip((u_k^T(y − x_0) − t_k,j−1 − ρ)/(Δ_kj − 2ρ), 0, 1),
    with f_S = ``face_aligned_simplex`` of S = {x_0, x_0 + t_k1 u_k} anchored at p (default: the apex),
    Δ_kj = t_kj − t_k,j−1. Feasible: on a ball further out on ray k the facet ramps give x_0 + t_k1 u_k
    (the facets through ray k read ≈ 0, the facet opposite its first point reads ≥ H_k, the facet opposite
    x_0 is behind), and the ray-k ramps add the rest; the other rays' ramps stay off because u_m^T u_k ≤ 0.
    h* uses ramps along the rays u_k only; here the first segment of each ray uses the facet normals of S.
    """
    Y = np.asarray(Y, float)
    apex, U, T, S = _ray_parts(apex, rays)
    out = face_aligned_simplex(Y, S, rho, p=apex if p is None else p)
    for u, t in zip(U, T):
        s = (Y - apex) @ u
        for lo, hi in zip(t[:-1], t[1:]):
            out = out + np.outer(ramp(s, lo + rho, hi - rho), (hi - lo) * u)
    return out


def cost_rays_face_aligned(apex, rays: Sequence[tuple], rho, p=None) -> float:
    """Σ_n 2‖s_n − p‖/(H_n − 2ρ) over S plus Σ_{k, j≥2} 2Δ_kj/(Δ_kj − 2ρ): the cost of
    :func:`rays_face_aligned`."""
    apex, _, T, S = _ray_parts(apex, rays)
    c = cost_face_aligned(S, rho, p=apex if p is None else p)
    for t in T:
        D = np.diff(t)
        if np.any(D <= 2 * rho):
            raise ValueError(f"every gap along a ray must exceed 2ρ = {2 * rho:g}")
        c += float(np.sum(2 * D / (D - 2 * rho)))
    return c


def ray_facet_normals(apex, rays: Sequence[tuple]) -> np.ndarray:
    """Unit facet normals of S opposite its first points (the competitor's directions): (K, d)."""
    return facet_normals(_ray_parts(apex, rays)[3])[1:]


def hull_test_points(X, rho, n, rng):
    """n test points near the data: a Dirichlet(1)-random convex combination of the rows of X plus
    N(0, ρ²I) noise (isotropic in ℝ^d, so also off the data's affine hull). (n, d)."""
    X = np.asarray(X, float)
    return rng.dirichlet(np.ones(len(X)), n) @ X + rho * rng.standard_normal((n, X.shape[1]))


def lifted_metrics(net, groups: Sequence[int], X, h_star: Callable, h_comp: Callable, Y,
                   dirs: tuple | None = None) -> tuple[list[dict], dict]:
    """Trained nets (groups ``groups`` of ``net``, all trained on X) against h* and a competitor on Y.

    Per net: ``mean`` = mean ‖h(y) − h*(y)‖, ``comp`` = mean ‖h(y) − h_comp(y)‖, ``orth`` = mean
    ‖(I − P)(h(y) − x̄)‖ (the output's part off the data's affine hull, P the projection onto its
    directions; 0 for h*), and with ``dirs`` = (predicted, competitor directions) the path-cost-weighted
    alignments ``align``, ``align_comp`` of the active neurons (max |cos| with each family).
    Reference values: ``half`` = ½ mean ‖h* − h_comp‖ and ``half_orth`` = ½ mean ‖(I − P)(y − x̄)‖,
    half the distance from h* to the competitor and to the function that passes the off-hull part of y
    through (h* + (I − P)(y − x̄)); ``star_orth`` = max ‖(I − P)(h*(y) − x̄)‖ (≈ 0).
    """
    X, Y = np.asarray(X, float), np.asarray(Y, float)
    xbar, U = affine_basis(X)

    def orth(Z):
        Z = Z - xbar
        return np.linalg.norm(Z - (Z @ U) @ U.T, axis=1)

    hs, hc = h_star(Y), h_comp(Y)
    rows = []
    for g in groups:
        out = net.numpy_fn(g)(Y)
        r = dict(mean=float(np.linalg.norm(out - hs, axis=1).mean()),
                 comp=float(np.linalg.norm(out - hc, axis=1).mean()), orth=float(orth(out).mean()))
        if dirs is not None:
            nr = net.neurons(g)
            r["align"] = weighted_mean(alignment(nr["w"], dirs[0]), nr["mag"])
            r["align_comp"] = weighted_mean(alignment(nr["w"], dirs[1]), nr["mag"])
        rows.append(r)
    ref = dict(half=0.5 * float(np.linalg.norm(hs - hc, axis=1).mean()),
               half_orth=0.5 * float(orth(Y).mean()), star_orth=float(orth(hs).max()))
    return rows, ref


def plot_lifted(plane, rays, rho, *, n=121, margin=0.6):
    """Left: the plane case, mean off-plane part |ν^T(h(y) − x̄)| of the output against the off-plane
    offset s of the input (y = test points projected onto the plane, then moved by s ν): h* (0), the
    pass-through function (|s|) and the nets. Middle and right: the rays case on the 2D plane through
    the apex spanned by the orthonormal rows of ``rays["basis"]`` (2, 3), around the data points lying
    in it (± ``margin``): ‖h − h*‖ for the net and for the competitor, one colour scale.

    ``plane`` = dict(X, Y (test points), nets [h, …]); ``rays`` = dict(X (apex first), basis, h_star,
    h_comp, h_net).
    """
    import matplotlib.pyplot as plt

    fig, axs = plt.subplots(1, 3, figsize=(7, 2.6))
    X = np.asarray(plane["X"], float)
    xbar, U = affine_basis(X)
    nu = np.linalg.svd(U.T)[2][-1]                             # a unit normal of the plane (d = 3)
    Yp = xbar + ((np.asarray(plane["Y"], float) - xbar) @ U) @ U.T    # the test points, projected
    s = np.linspace(-3 * rho, 3 * rho, 25)
    ax = axs[0]
    ax.plot(s / rho, np.abs(s), "C3--", label="pass-through")
    ax.plot(s / rho, 0 * s, "C0", label="$h^*$")
    for i, h in enumerate(plane["nets"]):
        Z = [np.abs((h(Yp + si * nu) - xbar) @ nu).mean() for si in s]
        ax.plot(s / rho, Z, "C2", lw=1, alpha=0.8, label="trained" if i == 0 else None)
    ax.set(xlabel="off-plane offset s / ρ", ylabel="off-plane output", title="triangle in a plane")
    ax.legend(loc="upper center")
    Xr = np.asarray(rays["X"], float)
    B = np.asarray(rays["basis"], float)
    C = (Xr - Xr[0]) @ B.T                                      # in-plane coordinates of the data
    on = np.linalg.norm(Xr - Xr[0] - C @ B, axis=1) < 1e-9      # the data points in this plane
    lo, hi = C[on].min(0) - margin, C[on].max(0) + margin
    g1, g2 = np.linspace(lo[0], hi[0], n), np.linspace(lo[1], hi[1], n)
    G = np.stack(np.meshgrid(g1, g2), -1).reshape(-1, 2)
    Y = Xr[0] + G @ B
    hs = rays["h_star"](Y)
    E = [np.linalg.norm(rays[k](Y) - hs, axis=1).reshape(n, n) for k in ("h_net", "h_comp")]
    vmax = max(e.max() for e in E)
    for ax, e, title in zip(axs[1:], E, ["rays: trained net", "rays: competitor"]):
        im = ax.imshow(e, origin="lower", extent=(lo[0], hi[0], lo[1], hi[1]), vmin=0, vmax=vmax,
                       cmap="viridis")
        ax.plot(C[on, 0], C[on, 1], "w+", ms=6)
        ax.set(xlabel="along ray 1", title=title, aspect="equal")
        ax.grid(False)
    axs[1].set_ylabel("across, in the plane")
    fig.colorbar(im, ax=axs[1:], label=r"$\|h - h^*\|$", shrink=0.8)
    return fig

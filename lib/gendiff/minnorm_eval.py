"""Trained shallow denoisers measured against the closed forms (Zeno et al., NeurIPS 2023; chapter 2).

The chapter's tables of trained-net metrics, computed here so that each chapter cell is one step of the
argument. The closed forms are those of :mod:`gendiff.minnorm_1d` (chapter eq. ``ch02-1d``) and
:mod:`gendiff.minnorm_multi` (eq. ``ch02-multi``); the nets are :class:`gendiff.minnorm.ShallowDenoiser`
groups (``net.numpy_fn(g)``, ``net.neurons(g)``).

* 1D identities of h*_ρ: h = x_n on every ball, gap midpoints fixed, contraction |h(y) − x_n(y)| ≤
  |y − x_n(y)|, R(h*_ρ) = ∫|h''| = Σ_n 2Δ_n/(Δ_n − 2ρ), and h*_ρ → clip(y, x_1, x_N) with cost 2(N − 1) as
  ρ → 0 (:func:`identities_1d`);
* 1D ball-edge diagnostics of a trained net: residual r = max_n |h(x_n ± ρ) − x_n|, the secant lower
  bound on ∫|h''| through the values it takes there, its data term and its training objective
  MSE + λ·(path cost) against λR of h* (:func:`edge_diagnostics_1d`);
* triangles (the paper's Fig. 2): distance to the closed form on a grid, path cost, weighted alignment
  of the active neurons with edges / facet normals, the cost of the same construction on the convex
  hulls of the net's samples (:func:`triangle_metrics`);
* data in a subspace: distance to h* and the output change per off-subspace move (:func:`subspace_metrics`;
  competitors inside the subspace and for rays: :mod:`gendiff.minnorm_lifted`);
* digits: weighted span energy and in-span alignment of each net's neurons (:func:`digit_span_energies`,
  :func:`in_span_alignments`).
"""
from __future__ import annotations

from dataclasses import fields, is_dataclass

import numpy as np

from .minnorm_1d import contraction_violation, minnorm_1d, repr_cost_1d, secant_cost_1d
from .minnorm_lifted import hull_test_points
from .minnorm_multi import affine_basis, edge_dirs, facet_normals, sample_hull_cost
from .minnorm_train import alignment, in_span_alignment, span_energy, weighted_mean


def config_tables(cfg):
    """The chapter config as two tables: scalar fields ``{name: value}`` and a DataFrame with one row
    per nested training config (its fields as columns)."""
    import pandas as pd

    scalars, nested = {}, {}
    for f in fields(cfg):
        v = getattr(cfg, f.name)
        if is_dataclass(v):
            nested[f.name] = {g.name: getattr(v, g.name) for g in fields(v)}
        else:
            scalars[f.name] = v
    return scalars, pd.DataFrame(nested).T


def seed_stats(v) -> tuple[float, float]:
    """Median and spread (max − min) over the seeds of one mode."""
    v = np.asarray(v, float)
    return float(np.median(v)), float(v.max() - v.min())


def ball_error(h, X, r, rng, n=500) -> float:
    """max_n max_{δ ∈ B(0, r)} ‖h(x_n + δ) − x_n‖ over n random δ per point (uniform in the ball)."""
    X = np.asarray(X, float)
    d = X.shape[1]
    z = rng.standard_normal((len(X), n, d))
    z /= np.linalg.norm(z, axis=-1, keepdims=True)
    Y = X[:, None] + z * r * rng.uniform(0, 1, (len(X), n, 1)) ** (1 / d)
    return float(np.abs(h(Y.reshape(-1, d)).reshape(Y.shape) - X[:, None]).max())


def identities_1d(x, rho, ygrid, rng, n_fine=200_001) -> dict:
    """The exact identities of eq. ``ch02-1d`` on the grid ``ygrid``: ball and midpoint errors, the
    number of grid points violating contraction, the cost formula against the total variation of h'
    on a fine grid, and the ρ → 0 limit (distance to clip(y, x_1, x_N) and cost)."""
    x = np.asarray(x, float)
    hs = minnorm_1d(ygrid, x, rho)
    delta = rng.uniform(-rho, rho, (len(x), 1000))
    ball = np.abs(minnorm_1d(x[:, None] + delta, x, rho) - x[:, None]).max()
    mids = (x[1:] + x[:-1]) / 2
    mid = np.abs(minnorm_1d(mids, x, rho) - mids).max()
    viol = int((contraction_violation(hs, ygrid, x) > 1e-12).sum())
    yf = np.linspace(ygrid[0], ygrid[-1], n_fine)          # ∫|h''| as the total variation of the slope
    slope = np.diff(minnorm_1d(yf, x, rho)) / np.diff(yf)
    lim_err = np.abs(minnorm_1d(ygrid, x, 1e-7) - np.clip(ygrid, x[0], x[-1])).max()
    return dict(ball=ball, mid=mid, viol=viol, tv_cost=np.abs(np.diff(slope)).sum(),
                cost=repr_cost_1d(x, rho), lim_err=lim_err, lim_cost=repr_cost_1d(x, 1e-7))


def ball_edges(x, rho) -> np.ndarray:
    """The ball edges x_n ± ρ, in the order x_1 − ρ, x_1 + ρ, x_2 − ρ, …"""
    x = np.asarray(x, float)
    return np.stack([x - rho, x + rho], 1).ravel()


def edge_residual(h, x, rho) -> float:
    """max_n |h(x_n ± ρ) − x_n| of a 1D denoiser ``h`` ((B, 1) → (B, 1))."""
    return np.abs(h(ball_edges(x, rho)[:, None])[:, 0] - np.repeat(x, 2)).max()


def edge_diagnostics_1d(net, x, rho, Y_fixed, n_offline, path_cost, lam, cost, n_ball=2001) -> dict:
    """Per group of ``net``: ``res`` = max_n |h(x_n ± ρ) − x_n|; ``cost`` = secant lower bound on ∫|h''|
    through those values, relative to R (−1); ``mse`` = the data term (groups < ``n_offline``: on their
    fixed samples ``Y_fixed`` (G, N, M, 1); the others: uniform on the balls); ``obj`` = (MSE + λ·path
    cost) / (λR), the training objective of the learned function against that of h* (MSE 0, cost R)."""
    x = np.asarray(x, float)
    knots = ball_edges(x, rho)
    y_ball = (x[:, None] + np.linspace(-rho, rho, n_ball)[None]).ravel()
    Yf = np.asarray(Y_fixed, float)
    edge = {"res": [], "cost": [], "mse": []}
    for g in range(len(Yf)):
        h = net.numpy_fn(g)
        v = h(knots[:, None])[:, 0]
        edge["res"].append(np.abs(v - np.repeat(x, 2)).max())
        edge["cost"].append(secant_cost_1d(knots, v) / cost - 1)
        if g < n_offline:
            Ys, Xs = Yf[g].reshape(-1), np.repeat(x, Yf.shape[2])
        else:
            Ys, Xs = y_ball, np.repeat(x, n_ball)
        edge["mse"].append(np.mean((h(Ys[:, None])[:, 0] - Xs) ** 2))
    edge = {k: np.array(v) for k, v in edge.items()}
    edge["obj"] = (edge["mse"] + lam * np.asarray(path_cost)) / (lam * cost)
    return edge


def triangle_metrics(net, Xt, Y_fixed, rho, lam, path_cost, grid, theory, cost_th) -> dict:
    """Per group g of ``net`` (even g: obtuse, odd g: equilateral triangle ``Xt[g]``): distance to the
    closed form ``theory[g % 2]`` on ``grid`` (max, mean), path cost, weighted alignment of the active
    neurons with the predicted directions (edges at x_0 / facet normals) and with edges and facet
    normals separately, the per-neuron cosines and path costs, the relative cost of the same
    construction on the convex hulls of the net's samples, the mean residual on those samples and the
    training objective against that hull construction's (λ·hull cost)."""
    Yf = np.asarray(Y_fixed, float)
    tri = {"obtuse": [], "equilateral": []}
    for g in range(len(Xt)):
        kind = "obtuse" if g % 2 == 0 else "equilateral"
        h = net.numpy_fn(g)
        e = np.linalg.norm(h(grid) - theory[g % 2](grid), axis=1)
        hull = sample_hull_cost(Xt[g], Yf[g], "edge" if kind == "obtuse" else "face")
        res_s = np.linalg.norm(h(Yf[g].reshape(-1, 2)) - np.repeat(Xt[g], Yf.shape[2], 0), axis=1)
        obj = (np.mean(res_s**2) + lam * path_cost[g]) / (lam * hull)
        nr = net.neurons(g)
        edges, faces = edge_dirs(Xt[g]), facet_normals(Xt[g])
        pred = edges[:2] if kind == "obtuse" else faces
        tri[kind].append(dict(
            max=e.max(), mean=e.mean(), cost=path_cost[g],
            align=weighted_mean(alignment(nr["w"], pred), nr["mag"]),
            align_edge=weighted_mean(alignment(nr["w"], edges), nr["mag"]),
            align_face=weighted_mean(alignment(nr["w"], faces), nr["mag"]),
            cos=alignment(nr["w"], pred), cos_edge=alignment(nr["w"], edges), mag=nr["mag"],
            n=len(nr["mag"]), hull=hull / cost_th[kind] - 1, res=res_s.mean(), obj=obj))
    return tri


def subspace_metrics(net, groups, cases, rho, n, rng):
    """Nets on data in an affine subspace; group g < ``groups`` is ``cases[g % len(cases)]`` = (kind, X, h*).

    Test points y = a Dirichlet-random convex combination of X plus N(0, ρ²I) noise (n per net). Returns
    ``sub`` {kind: [dict(mean = mean ‖h_net(y) − h*(y)‖, gain = mean ‖h(y + 2ρν) − h(y)‖/(2ρ) over unit ν
    ⊥ the subspace)]} and ``half`` {kind: ½ mean ‖(I − P)(y − x̄)‖}, half the distance from h* to the
    competitor h*(y) + (I − P)(y − x̄) that passes the off-subspace part through."""
    sub = {kind: [] for kind, _, _ in cases}
    half = {}
    for g in range(groups):
        kind, X, h_star = cases[g % len(cases)]
        xbar, U = affine_basis(X)
        Y = hull_test_points(X, rho, n, rng)
        off = (Y - xbar) - ((Y - xbar) @ U) @ U.T
        half[kind] = 0.5 * float(np.linalg.norm(off, axis=1).mean())
        nrm = rng.standard_normal(Y.shape)
        nrm -= (nrm @ U) @ U.T
        nrm /= np.linalg.norm(nrm, axis=1, keepdims=True)
        h = net.numpy_fn(g)
        move = np.linalg.norm(h(Y + 2 * rho * nrm) - h(Y), axis=1) / (2 * rho)
        sub[kind].append(dict(mean=float(np.linalg.norm(h(Y) - h_star(Y), axis=1).mean()),
                              gain=float(move.mean())))
    return sub, half


def digit_span_energies(net, X, groups):
    """Per group g < ``groups``: (span energy ‖P w_k‖²/‖w_k‖² of each active neuron, its path cost)."""
    out = []
    for g in range(groups):
        nr = net.neurons(g)
        out.append((span_energy(nr["w"], X), nr["mag"]))
    return out


def in_span_alignments(net, X, families: dict, groups: int) -> dict:
    """{family: (weighted in-span alignment per group g < ``groups``, random in-span baseline)} for each
    family of directions (edges, facet normals, …) of the simplex X (:func:`in_span_alignment`)."""
    al = {}
    for k, dirs in families.items():
        vals = []
        for g in range(groups):
            nr = net.neurons(g)
            a, base = in_span_alignment(nr["w"], X, dirs)
            vals.append(weighted_mean(a, nr["mag"]))
        al[k] = (np.array(vals), base)
    return al


def ball_certificates(net, X, rho: float, history: dict | None = None, *, M: int = 64, seed: int = 0,
                      show: str = "") -> list:
    """A trained shallow denoiser's certificate (:class:`gendiff.certificate.Certificate`), one per group g
    of ``net``: on ``M`` fresh points uniform in each ball B(x_n, ρ) of ``X[g]`` (G, N, d) — none of the
    training samples — the mean squared distance of the net's output to the ball's centre x_n must beat
    doing nothing's, E‖y − x_n‖² = ρ²·d/(d + 2). The σ column holds ρ; the loss plateau (shared by the
    groups, which train in one loop) is carried when ``history`` is given. With ``show``, prints one line
    under that name: how many pass, the worst MSE ratio to doing nothing, the loss change."""
    import torch

    from . import runtime
    from .certificate import Certificate, plateau
    from .minnorm_train import sample_ball

    X = torch.as_tensor(X, dtype=torch.float32)
    G, N, d = X.shape
    Y = sample_ball(X, M, rho, runtime.generator(seed))                       # (G, N, M, d)
    dev = next(net.parameters()).device
    with torch.no_grad():
        out = net(Y.reshape(G, N * M, d).to(dev)).cpu().reshape(G, N, M, d)
    target = X[:, :, None, :]
    mse = (out - target).pow(2).sum(-1).mean((1, 2)) / d
    nothing = (Y - target).pow(2).sum(-1).mean((1, 2)) / d
    pl = None if history is None else plateau(history["loss"])
    certs = [Certificate([float(rho)], [float(m)], [float(o)], [float("nan")], [float(rho)], [], pl)
             for m, o in zip(mse, nothing)]
    if show:
        worst = float((mse / nothing).max())
        moved = f"; Δ loss over the last fifth {pl[0]:+.2f}" if pl else ""
        print(f"{show}: {sum(c.passed for c in certs)} of {len(certs)} nets beat doing nothing on fresh "
              f"ball points (worst MSE ratio {worst:.2g}){moved}")
    return certs

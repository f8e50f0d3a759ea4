"""Univariate min-cost denoiser h*_ρ, its cost, and the eMMSE baseline (Zeno et al., NeurIPS 2023; chapter 2).

Sorted clean points x_1 < … < x_N, gaps Δ_n = x_{n+1} − x_n, ball radius ρ < min Δ_n / 2 (chapter 2,
eq. ``ch02-1d``; re-derived for this book since the paper's body could not be read):

* h*_ρ = x_n on [x_n − ρ, x_n + ρ], a straight ramp of slope Δ_n/(Δ_n − 2ρ) across each gap, constant
  outside the data (``minnorm_1d``); R(h*_ρ) = ∫|h*''| = Σ_n 2Δ_n/(Δ_n − 2ρ) (``repr_cost_1d``);
* the secant lower bound on ∫|h''| for any h through given knot values (``secant_cost_1d``) and its
  worst case over residuals ≤ r at the ball edges (``min_cost_with_residual_1d``);
* the eMMSE denoiser Σ_n x_n softmax_n(−‖y − x_n‖²/2σ²) (``emmse``) and the low-noise generalisation
  sweep of h*_{ρ=σ} against it on random training sets (``mse_generalization``, eq. ``ch02-gen``).
"""
from __future__ import annotations

import numpy as np


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
    """The univariate min-cost interpolating denoiser h*_ρ (the chapter's eq. ``ch02-1d``).

    h*(y) = x_n on [x_n − ρ, x_n + ρ]; linear from (x_n + ρ, x_n) to (x_{n+1} − ρ, x_{n+1}) with slope
    s_n = Δ_n/(Δ_n − 2ρ); constant x_1 / x_N outside. With ``lo``, ``hi`` the constraint set of cluster n
    is the interval [lo_n, hi_n] instead (the finite-M "sample hull" variant). ``y``: any shape.
    """
    x, lo, hi = interval_knots(x, rho, lo, hi)
    knots = np.stack([lo, hi], 1).ravel()
    vals = np.repeat(x, 2)
    return np.interp(np.asarray(y, float), knots, vals)


def repr_cost_1d(x, rho=None, *, lo=None, hi=None):
    """R(h*) = ∫|h*''| = Σ_n 2Δ_n/(Δ_n − 2ρ) (eq. ``ch02-1d``); with intervals Σ_n 2Δ_n/(lo_{n+1} − hi_n)."""
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


def min_cost_with_residual_1d(x, rho, r) -> float:
    """Lower bound on ∫|h''| for every h with |h(x_n ± ρ) − x_n| ≤ r at all ball edges (chapter 2, derived).

    Along the knots x_1 − ρ < x_1 + ρ < x_2 − ρ < … the secant slopes are b_n over ball n (|b_n| ≤ r/ρ) and
    g_n over gap n (g_n ≥ (Δ_n − 2r)/(Δ_n − 2ρ)); h' takes them in the order b_1, g_1, b_2, …, b_N, so
    ∫|h''| ≥ Σ_n (|g_n − b_n| + |b_{n+1} − g_n|) ≥ Σ_n 2·max(0, (Δ_n − 2r)/(Δ_n − 2ρ) − r/ρ).
    At r = 0 this is R(h*_ρ) = ``repr_cost_1d(x, rho)``; a shallow net's path cost is ≥ its ∫|h''|.
    """
    x = _check_rho_1d(x, rho)
    rho, r = float(rho), float(r)
    if rho <= 0:
        raise ValueError(f"the bound needs rho > 0, got {rho}")
    if not np.isfinite(r) or r < 0:
        raise ValueError(f"the residual r must be finite and >= 0, got {r}")
    gaps = np.diff(x)
    return float(np.sum(2 * np.maximum(0.0, (gaps - 2 * r) / (gaps - 2 * rho) - r / rho)))


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
    """Empirical MMSE denoiser Σ_n x_n softmax_n(−‖y − x_n‖²/(2σ²)) (log-sum-exp).

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

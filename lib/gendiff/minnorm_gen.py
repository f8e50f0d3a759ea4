"""Generalisation of *trained* shallow ReLU denoisers at low noise (Zeno et al., NeurIPS 2023; chapter 2).

The paper proves that the univariate min-cost denoiser h*_ρ generalizes better than the empirical MMSE
denoiser at low noise; :func:`gendiff.minnorm.mse_generalization` measures that on the closed form. This
module measures it on networks trained with the chapter's recipe (:func:`gendiff.minnorm.train_minnorm`):

* training sets: N points x_n ~ U[0, 1], several independent sets (each net is one group of one batched
  :class:`~gendiff.minnorm.ShallowDenoiser`, with its own initialisation and its own noisy samples);
* training noise: uniform in the ball B(x_n, ρ) with ρ = σ (as for h*_{ρ=σ});
* test: fresh x ~ U[x_1, x_N] (near the hull, as in the closed-form sweep), y = x + σ z, z ~ N(0, 1);
  MSE of the trained net, of h*_{ρ=σ} (``clipped_intervals`` where 2ρ exceeds a gap) and of the
  eMMSE denoiser Σ_n x_n softmax_n(−|y − x_n|²/2σ²), all on the same training sets and test points.

**Units of λ.** The weight penalty λ·½(‖W‖² + ‖A‖²) is not scale-free: shrinking the data by a factor k
multiplies the squared error by k² but leaves the path cost of the rescaled function unchanged. The chapter's
recipe (λ, lr, init) is stated for ρ = ``cfg.rho``; to train at ρ = σ with the *same* recipe, each training set
is scaled by ``cfg.rho``/σ before training and the trained net is read back as h(y) = h'(k y)/k, k = ρ_cfg/σ.
A shallow ReLU net with a free skip connection represents exactly the rescaled functions, so this is the
recipe with λ_eff = λ·(σ/ρ_cfg)² in the original units.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from .minnorm_1d import clipped_intervals, emmse, minnorm_1d
from .minnorm_train import MinNormTrainConfig, train_minnorm


def trained_generalization(sigmas, cfg: MinNormTrainConfig, *, n_sets: int = 8, n_points: int = 10,
                           n_test: int = 2000, seed: int = 0, name: str = "ch02-gen", cache: bool = True,
                           progress: bool = False) -> dict:
    """Train one net per (σ, training set) and measure test MSEs against h*_{ρ=σ} and eMMSE.

    Returns a dict: ``sigma`` (S,), ``sets`` (n_sets, N), ``trained``, ``closed``, ``emmse`` (S, n_sets)
    test MSEs per training set, ``ratio_trained`` = eMMSE/trained and ``ratio_closed`` = eMMSE/h* (S, n_sets),
    ``path_cost`` (S, n_sets) of the trained nets (in the scaled units, where it equals the original one).
    A non-finite test MSE raises: a diverged net is reported, never averaged in.
    """
    sig = np.asarray(sigmas, float).ravel()
    if sig.size == 0 or not np.all(np.isfinite(sig)) or np.any(sig <= 0):
        raise ValueError(f"every σ must be finite and > 0, got {sig.tolist()}")
    if n_sets < 1 or n_points < 2 or n_test < 1:
        raise ValueError("need n_sets ≥ 1, n_points ≥ 2 and n_test ≥ 1")
    rng = np.random.default_rng(seed)
    sets = np.sort(rng.uniform(0, 1, (n_sets, n_points)), 1)
    u = rng.uniform(0, 1, (n_sets, n_test))
    z = rng.standard_normal((n_sets, n_test))
    scale = cfg.rho / sig                                               # k per σ
    X = np.concatenate([sets * k for k in scale])[:, :, None]           # (S·n_sets, N, 1), σ-major
    net, info = train_minnorm(torch.tensor(X, dtype=torch.float32), [False] * len(X),
                              replace(cfg, seed=cfg.seed + seed), name=name, cache=cache, progress=progress)
    out = {k: np.zeros((sig.size, n_sets)) for k in ("trained", "closed", "emmse")}
    for j, (s, k) in enumerate(zip(sig, scale)):
        for i, xs in enumerate(sets):
            x = xs[0] + (xs[-1] - xs[0]) * u[i]
            y = x + s * z[i]
            h_net = net.numpy_fn(j * n_sets + i)((k * y)[:, None])[:, 0] / k
            _, lo, hi = clipped_intervals(xs, s)
            for key, h in (("trained", h_net), ("closed", minnorm_1d(y, xs, lo=lo, hi=hi)),
                           ("emmse", emmse(y, xs, s))):
                out[key][j, i] = np.mean((h - x) ** 2)
    if not np.all(np.isfinite(out["trained"])):
        bad = np.argwhere(~np.isfinite(out["trained"])).tolist()
        raise FloatingPointError(f"non-finite test MSE of trained nets at (σ index, set) {bad}")
    out.update(sigma=sig, sets=sets, ratio_trained=out["emmse"] / out["trained"],
               ratio_closed=out["emmse"] / out["closed"],
               path_cost=np.asarray(info["path_cost"]).reshape(sig.size, n_sets))
    return out

"""The measurements of chapter 3 run on every trained network (Li, Dai & Qu, NeurIPS 2024; arXiv:2410.24060).

* :func:`config_table`: a chapter config printed one field per line.
* :func:`model_key`, :func:`model_jobs`: the names and training sets of the chapter's networks (size sweep
  with several seeds, width sweep, second disjoint training half).
* :func:`evaluate`: one network against the Gaussian denoiser of its own training set — score-field error
  RMSE(σ) (eq. 10), linearity score LS(σ) (eq. 11) — and its samples from fixed initial noise, scored by
  the generalisation score GL (eq. 14) and the share of copies (:func:`gendiff.gaussian.copy_fraction`);
  :func:`evaluate_all` measures many networks in parallel processes.
* :func:`copy_crossing`: the training-set size at which the copy share falls through ½.
* :func:`pair_distances`: two networks on disjoint training sets sampled from the same noise (Fig. 9).
* :func:`distill_network`: the distilled linear model D_L of a network on the σ grid (eqs. 8–9) and the
  three score-field distances between D_θ, D_L and D_G (Fig. 2); :func:`distill_all` for many networks,
  :func:`adam_distill_all` for the Adam fits of the official recipe at several σ.
* :func:`profile_identifies_sigma`: do the singular values of W_σ match the shrinkage profile
  λ_k/(λ_k + σ²) of their own σ better than that of a neighbouring grid level (Fig. 14)?
* :func:`sigma_index`: the grid level nearest a value, in log σ.
"""
from __future__ import annotations

import math
from dataclasses import fields

import numpy as np
import torch

from . import executors, runtime
from .memo import is_memo_cached, memoized
from .denoisers import GaussianDenoiser
from .gaussian import gl_score, linearity_score, sample_distance, score_rmse
from .gaussian_edm import copy_fraction
from .gaussian_linear import AffineDenoiser, _apply, _flat, _noisy, distill_linear
from .sampling import edm_sample


def config_table(cfg) -> str:
    """The fields of a config dataclass, one ``name  value`` line each."""
    width = max(len(f.name) for f in fields(cfg))
    return "\n".join(f"{f.name:<{width}}  {getattr(cfg, f.name)}" for f in fields(cfg))


def sigma_index(sig, value: float) -> int:
    """Index of the level of the grid ``sig`` closest to ``value`` in log σ."""
    return int(np.argmin(np.abs(np.log(np.asarray(sig)) - math.log(value))))


def model_key(n: int, seed: int = 0, c: int | None = None, half: str = "A", *, channels: int = 16) -> str:
    """Name of a trained model: training half, set size N, width c (default ``channels``), seed."""
    return f"{half}, N={n}, c={c or channels}, seed {seed}"


def model_jobs(cfg, pool: torch.Tensor, pool2: torch.Tensor) -> dict:
    """name → (training set, width, snapshot steps, seed) for every network of the chapter:

    the size sweep ``pool[:N]`` for N in ``cfg.sizes`` with every seed (snapshots kept), the narrower widths
    at ``N = cfg.width_n`` (seed 0), and seed-0 networks on the second half ``pool2[:N]`` for
    ``N = cfg.halves_n`` and ``N = cfg.width_n`` (with snapshots: early stopping on both halves)."""
    key = lambda n, s=0, c=None, half="A": model_key(n, s, c, half, channels=cfg.channels)  # noqa: E731
    jobs = {}
    for n in cfg.sizes:
        for s in cfg.seeds:
            jobs[key(n, s)] = (pool[:n], cfg.channels, cfg.snapshots, s)
    for c in cfg.widths:
        if c != cfg.channels:
            jobs[key(cfg.width_n, 0, c)] = (pool[:cfg.width_n], c, (), 0)
    jobs[key(cfg.halves_n, half="B")] = (pool2[:cfg.halves_n], cfg.channels, (), 0)
    jobs[key(cfg.width_n, half="B")] = (pool2[:cfg.width_n], cfg.channels, cfg.snapshots, 0)
    return jobs


@memoized
def evaluate(D, train_set: torch.Tensor, held: torch.Tensor, sig, xT: torch.Tensor, *, sample_steps: int,
             n_pairs: int, linearity: bool = True, rmse_at=None, name: str = "model") -> dict:
    """One denoiser measured the chapter's way.

    ``rmse``: RMSE(D, D_G of ``train_set``) (eq. 10) on the held-out images at every σ of ``sig`` (or only
    at the grid indices ``rmse_at``; NaN elsewhere), the same noise draw at every σ, so a value does not
    depend on which other σ's are measured; ``ls``: the linearity score (eq. 11, ``n_pairs`` pairs per σ;
    skipped with ``linearity=False``); ``x``: Heun samples (``sample_steps`` steps) from the initial noise
    ``xT``, their ``gl`` score (eq. 14) and share of ``copies``. A non-finite sample or RMSE raises.
    """
    DG = GaussianDenoiser(train_set)
    idx = list(range(len(sig))) if rmse_at is None else list(rmse_at)
    rmse = np.full(len(sig), np.nan)
    for i in idx:
        rmse[i] = score_rmse(D, DG, held, [sig[i]], generator=runtime.generator(4))[0]
    x = edm_sample(D, xT, num_steps=sample_steps).x
    bad = int((~torch.isfinite(x.flatten(1))).any(1).sum())
    if bad or not np.all(np.isfinite(rmse[idx])):
        raise RuntimeError(f"{name}: {bad} of {len(x)} samples are non-finite (RMSE {rmse}); the run diverged")
    out = dict(rmse=rmse, x=x.float(), gl=gl_score(x, train_set), copies=copy_fraction(x, train_set))
    if linearity:
        out["ls"] = linearity_score(D, held, sig, n_pairs=n_pairs, generator=runtime.generator(3))
    return out


def _call(job):
    """Worker entry point: ``job = (fn, args, kwargs)`` → ``fn(*args, **kwargs)``; a spawned worker first
    applies the book's torch settings (threads, denormals, seeds) as the chapter's process did."""
    import multiprocessing

    if multiprocessing.parent_process() is not None:
        runtime.setup(verbose=False)
    fn, args, kwargs = job
    return fn(*args, **kwargs)


def _map(fn, jobs: dict, common: dict, workers: int) -> dict:
    """name → fn(*args, **common, **kw) for jobs name → (args, kw), in ``workers`` local processes. Each
    result depends only on its own arguments (every measurement draws from its own seeded generator), so
    it does not depend on ``workers``. ``fn`` is memoized: the calls not yet in the cache run in the workers
    (which store them), then every value is read from the cache here, so a cold and a warm run return
    the same stored values."""
    calls = {k: (fn, jobs[k][0], {**common, **jobs[k][1]}) for k in jobs}
    todo = [c for c in calls.values() if not is_memo_cached(c[0], *c[1], **c[2])]
    if len(todo) > 1 and workers > 1:
        executors.map_jobs(_call, todo, workers=workers, executor="local")
    return {k: f(*args, **kw) for k, (f, args, kw) in calls.items()}


def evaluate_all(jobs: dict, held: torch.Tensor, sig, xT: torch.Tensor, *, sample_steps: int, n_pairs: int,
                 workers: int = 1) -> dict:
    """:func:`evaluate` for every job name → (denoiser, training set, options), in ``workers`` processes."""
    todo = {k: ((D, x, held, sig, xT), dict(opts, name=str(k))) for k, (D, x, opts) in jobs.items()}
    return _map(evaluate, todo, dict(sample_steps=sample_steps, n_pairs=n_pairs), workers)


def distill_all(jobs: dict, held: torch.Tensor, sig, *, n_noise: int, shape: tuple, workers: int = 1) -> dict:
    """:func:`distill_network` for every job name → (network, its D_G), in ``workers`` processes."""
    todo = {k: ((net, DG, held, sig), {}) for k, (net, DG) in jobs.items()}
    return _map(distill_network, todo, dict(n_noise=n_noise, shape=shape), workers)


@memoized
def _adam_fit(net, held, sigma, W_ref, n_noise, steps, lr, seed):
    from .train import FitConfig

    return distill_linear(net, held, sigma, n_noise=n_noise, method="adam", W_ref=W_ref,
                          fit_cfg=FitConfig(steps=steps, lr=lr), generator=runtime.generator(seed))


def adam_distill_all(net, DG, held, sigmas, *, n_noise: int, steps: int, lr: float, seed: int = 5,
                     workers: int = 1) -> dict:
    """σ → :func:`distill_linear` of ``net`` by Adam (the official recipe, Fig. 4 left), tracking
    ‖W − W_G(σ)‖/‖W_G(σ)‖; one σ per process (``workers``), each with a generator seeded ``seed``."""
    todo = {s: ((net, held, s, DG.weight(s)), {}) for s in sigmas}
    return _map(_adam_fit, todo, dict(n_noise=n_noise, steps=steps, lr=lr, seed=seed), workers)


def copy_crossing(sizes, share) -> float | None:
    """N at which the copy share falls through ½, interpolated linearly in log N between the two sizes
    that bracket it; ``None`` when the sweep does not bracket it."""
    for a in range(len(sizes) - 1):
        if share[a] >= 0.5 > share[a + 1]:
            f = (share[a] - 0.5) / (share[a] - share[a + 1])
            return float(np.exp(np.log(sizes[a]) + f * (np.log(sizes[a + 1]) - np.log(sizes[a]))))
    return None


def pair_distances(evals_a: list[dict], eval_b: dict) -> np.ndarray:
    """For each network on S₁ (one evaluation per seed) against the network on S₂, both sampled from the
    same noise: (seeds, 3) rows [dist(S₁, S₂) = mean ‖x₁ − x₂‖/‖x₂‖, larger GL, smaller GL] (Fig. 9)."""
    rows = []
    for ea in evals_a:
        g = (ea["gl"], eval_b["gl"])
        rows.append((sample_distance(ea["x"], eval_b["x"]), max(g), min(g)))
    return np.array(rows)


@memoized
def distill_network(net, DG, held: torch.Tensor, sig, *, n_noise: int, shape: tuple) -> dict:
    """Distil ``net`` on every σ of ``sig`` (exact least squares, eqs. 8–9) and compare by eq. 10.

    Returns {"fits": {σ: DistillResult}, "DL": the :class:`AffineDenoiser` D_L, "rmse": {"θ vs G",
    "θ vs L", "L vs G": RMSE per σ}}; the three RMSEs use the same noisy held-out images."""
    fits = {v: distill_linear(net, held, v, n_noise=n_noise, generator=runtime.generator(5)) for v in sig}
    DL = AffineDenoiser({v: (r.W, r.b) for v, r in fits.items()}, shape)
    _, y, s = _noisy(held, list(sig), 1, runtime.generator(6))      # the same noisy images for all three
    out = {k: _flat(_apply(D, y, s)) for k, D in (("θ", net), ("L", DL), ("G", DG))}
    per_sigma = lambda a, b: (out[a] - out[b]).pow(2).mean(1).sqrt().view(len(sig), -1).mean(1).numpy()  # noqa: E731
    rmse = {f"{a} vs {b}": per_sigma(a, b) for a, b in (("θ", "G"), ("θ", "L"), ("L", "G"))}
    return {"fits": fits, "DL": DL, "rmse": rmse}


def profile_identifies_sigma(W: torch.Tensor, k: int, sig, DG, k_show: int = 20) -> bool:
    """Are the top ``k_show`` singular values of W (fitted at σ = sig[k]) nearer (max abs difference) the
    shrinkage profile λ_j/(λ_j + σ²) at sig[k] than the profile at either neighbouring grid level?"""
    sv = torch.linalg.svdvals(W)[:k_show]
    err = {j: float((sv - DG.shrinkage(sig[j])[:k_show]).abs().max())
           for j in (k - 1, k, k + 1) if 0 <= j < len(sig)}
    return err[k] < min(v for j, v in err.items() if j != k)

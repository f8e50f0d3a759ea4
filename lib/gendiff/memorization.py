"""Memorization → generalization as a function of the training-set size N (Kadkhodaie et al. 2024, Figs. 1–2).

* :func:`psnr_table` — output PSNR of a denoiser per image and per σ, so that the train−test gap of
  paper Fig. 1 comes with its standard error;
* :func:`train_test_curves`, :func:`mean_gap`, :func:`paired_samples`, :func:`similarity_stats` — the
  plain curves, same-seed samples and cosines (also reachable as ``gendiff.harmonic.*``);
* :func:`paired_stats` — same-noise samples of two networks trained on disjoint sets (paper Fig. 2) with
  non-finite samples detected and left out of every statistic (a diverging sampler is reported, never
  averaged in);
* :func:`crossing` — the N (interpolated on log N) at which a curve over the sweep changes sign: where the
  train−test gap meets its tolerance, where cos(A, B) overtakes the nearest-training cosine.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from . import metrics, runtime, sampling
from .memo import memoized


def train_test_curves(D, train: torch.Tensor, test: torch.Tensor, sigmas, *, seed: int = 0,
                      n_eval: int | None = None):
    """Output PSNR (dB) of ``D`` on training and on held-out images at each σ (paper Fig. 1).

    Both sets are noised from generators of the same seed. ``n_eval`` caps the images used from each set
    (the first ``n_eval``). Returns ``(train_psnr, test_psnr)`` arrays of len(sigmas).
    """
    if n_eval is not None:
        train, test = train[:n_eval], test[:n_eval]
    tr = metrics.psnr_curve(D, train, sigmas, generator=runtime.generator(seed))
    te = metrics.psnr_curve(D, test, sigmas, generator=runtime.generator(seed))
    return tr, te


def paired_samples(D_a, D_b, n: int, shape: tuple, *, mean_a, mean_b=None, seed: int = 0, **sampler_kw):
    """Samples of two denoisers from the *same* initial noise and noise stream (paper Fig. 2):
    :func:`gendiff.sampling.ascent_sample` with one seed for both. ``shape`` = (C, H, W); ``mean_*`` are
    the training-set mean images (the sampler's starting point). Returns ``(x_a, x_b, steps_a, steps_b)``."""
    mean_b = mean_a if mean_b is None else mean_b
    ra = sampling.ascent_sample(D_a, (n,) + tuple(shape), mean=mean_a, seed=seed, **sampler_kw)
    rb = sampling.ascent_sample(D_b, (n,) + tuple(shape), mean=mean_b, seed=seed, **sampler_kw)
    return ra.x, rb.x, ra.steps, rb.steps


def similarity_stats(x_a: torch.Tensor, x_b: torch.Tensor, train_a: torch.Tensor, train_b: torch.Tensor) -> dict:
    """Mean-removed cosine similarities of paper Fig. 2: between paired samples (cos(A, B)), and of each
    sample with its nearest training image of its own model's set (``im_set_corr``, remove_mean=True).

    Returns dict with ``cos_ab`` (n,), ``near_a``/``near_b`` (n,) and ``idx_a``/``idx_b`` (n,).
    """
    na, ia = metrics.nearest_train(x_a, train_a)
    nb, ib = metrics.nearest_train(x_b, train_b)
    return dict(cos_ab=metrics.cosine(x_a, x_b), near_a=na, near_b=nb, idx_a=ia, idx_b=ib)


def mean_gap(D, train: torch.Tensor, test: torch.Tensor, sigmas, *, seed: int = 0) -> float:
    """Train − test output PSNR (dB) averaged over ``sigmas`` (paper Fig. 15: the generalization gap)."""
    tr, te = train_test_curves(D, train, test, sigmas, seed=seed)
    return float(np.mean(tr - te))


def psnr_table(D, x: torch.Tensor, sigmas, *, seed: int = 0) -> np.ndarray:
    """Output PSNR (dB) of ``D`` on each image of ``x`` at each σ: array (len(sigmas), n). The noise comes
    from ``runtime.generator(seed)``, so two sets of equal size see the same noise draws;
    ``mean(axis=1)`` is :func:`gendiff.metrics.psnr_curve`."""
    g = runtime.generator(seed)
    out = []
    with torch.no_grad():
        for s in sigmas:
            y = x + s * torch.randn(x.shape, generator=g)
            out.append(metrics.psnr(D(y, s), x).numpy())
    return np.stack(out)


@dataclass
class Gap:
    """Train and test PSNR curves of one network (paper Fig. 1) and the gap's standard error."""
    train: np.ndarray        # (len(sigmas),) mean output PSNR on training images
    test: np.ndarray         # (len(sigmas),) on held-out images, same noise draws
    se: np.ndarray           # standard error of train − test (independent images: √(s²_tr/n_tr + s²_te/n_te))

    @property
    def gap(self) -> np.ndarray:
        return self.train - self.test


@memoized
def train_test_gap(D, train: torch.Tensor, test: torch.Tensor, sigmas, *, seed: int = 0,
                   n_eval: int | None = None) -> Gap:
    """:class:`Gap` of ``D`` on its training images and on held-out images (first ``n_eval`` of each).
    With N = 1 the one training image is used once (its PSNR varies only with the noise)."""
    if n_eval is not None:
        train, test = train[:n_eval], test[:n_eval]
    tr, te = psnr_table(D, train, sigmas, seed=seed), psnr_table(D, test, sigmas, seed=seed)
    var_tr = tr.var(axis=1, ddof=1) / tr.shape[1] if tr.shape[1] > 1 else np.zeros(len(sigmas))
    se = np.sqrt(var_tr + te.var(axis=1, ddof=1) / te.shape[1])
    return Gap(tr.mean(1), te.mean(1), se)


def finite_rows(x: torch.Tensor) -> torch.Tensor:
    """Boolean mask (B,) of the samples whose every pixel is finite."""
    return torch.isfinite(x.flatten(1)).all(1)


@dataclass
class PairStats:
    """Same-noise samples of models A and B and their cosines (paper Fig. 2), finite pairs only."""
    x_a: torch.Tensor
    x_b: torch.Tensor
    ok: torch.Tensor          # (n,) both samples finite
    cos_ab: torch.Tensor      # (n_ok,) mean-removed cosine of the two samples
    near_a: torch.Tensor      # (n_ok,) cosine of A's sample to its nearest image of A's training set
    near_b: torch.Tensor
    idx_a: torch.Tensor       # (n_ok,) index of that nearest image
    steps: tuple[int, int]

    @property
    def n_bad(self) -> int:
        return int((~self.ok).sum())

    @property
    def med_ab(self) -> float:
        return float(self.cos_ab.median()) if len(self.cos_ab) else float("nan")

    @property
    def med_near(self) -> float:
        return float(torch.cat([self.near_a, self.near_b]).median()) if len(self.cos_ab) else float("nan")


@memoized
def paired_stats(D_a, D_b, train_a: torch.Tensor, train_b: torch.Tensor, n: int, *, seed: int = 0,
                 **sampler_kw) -> PairStats:
    """:func:`paired_samples` of ``D_a``, ``D_b`` (started at their training means), then
    :func:`similarity_stats` on the pairs where both samples are finite."""
    xa, xb, sa, sb = paired_samples(D_a, D_b, n, tuple(train_a.shape[1:]), mean_a=train_a.mean(0),
                                             mean_b=train_b.mean(0), seed=seed, **sampler_kw)
    ok = finite_rows(xa) & finite_rows(xb)
    st = similarity_stats(xa[ok], xb[ok], train_a, train_b)
    return PairStats(xa, xb, ok, st["cos_ab"], st["near_a"], st["near_b"], st["idx_a"], (sa, sb))


def crossing(ns, diff) -> float:
    """The N at which ``diff`` (one value per N of the increasing sweep ``ns``) first goes from > 0 to ≤ 0,
    by linear interpolation in log N between the two sizes around the sign change. ``ns[0]`` if it is
    already ≤ 0 there; ``inf`` if it never is (the crossing lies beyond the sweep). NaN values are an error."""
    ns, diff = np.asarray(ns, dtype=float), np.asarray(diff, dtype=float)
    if not np.isfinite(diff).all():
        raise ValueError(f"crossing needs finite values, got {diff}")
    if diff[0] <= 0:
        return float(ns[0])
    for i in range(1, len(ns)):
        if diff[i] <= 0:
            t = diff[i - 1] / (diff[i - 1] - diff[i])
            return float(np.exp(np.log(ns[i - 1]) + t * (np.log(ns[i]) - np.log(ns[i - 1]))))
    return float("inf")


# ----------------------------------------------------------------------------------------------------
# summaries over the sweep of N and the seed pairs (chapter 1, §1–§2)
# ----------------------------------------------------------------------------------------------------
def curve_slope(in_psnr, curve, idx):
    """Least-squares slope of an output-PSNR curve against the input PSNR over the indices ``idx``."""
    in_psnr, curve = np.asarray(in_psnr), np.asarray(curve)
    return np.polyfit(in_psnr[idx], curve[idx], 1)[0]


def flatness(gap: Gap, in_psnr, idx):
    """Test-curve slope over training-curve slope (paper Fig. 1): 0 for the empirical denoiser, whose
    output on a new image does not improve as the noise falls, and ≈ 1 for a network that generalizes."""
    return curve_slope(in_psnr, gap.test, idx) / curve_slope(in_psnr, gap.train, idx)


def pair_or_first(k: int, pairs) -> int:
    """Seed pair ``k`` where it was trained, else pair 0 (sizes trained with one pair only)."""
    return k if k in pairs else 0


def per_pair(values: dict, ns, pairs_at: dict, k: int) -> list:
    """``values[(n, pair, g)]`` averaged over the models A and B, per N, for seed pair ``k``
    (:func:`pair_or_first` at the sizes trained with one pair)."""
    return [np.mean([values[n, pair_or_first(k, pairs_at[n]), g] for g in "AB"]) for n in ns]


def seed_spread(value, ns, pairs_at: dict, *, min_pairs: int = 3):
    """How much a result moves between seeds: the largest over the sizes trained with at least
    ``min_pairs`` seed pairs of (max − min over the pairs) of ``value(n, k)``; ``None`` without such a size.
    The rows of sizes trained with one pair compare it with their margin."""
    multi = [n for n in ns if len(pairs_at[n]) >= min_pairs]
    if not multi:
        return None
    return max(float(np.ptp([value(n, k) for k in pairs_at[n]])) for n in multi)

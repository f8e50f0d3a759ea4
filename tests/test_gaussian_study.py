"""Tests of gendiff.gaussian_study (chapter 3's per-network measurements) and of chapter 3's data split;
seconds each."""
import math

import numpy as np
import torch

from gendiff import gaussian_study as GS
from gendiff.configs.ch03 import PROFILES, load_data
from gendiff.denoisers import GaussianDenoiser


def _data(n=120, d=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    A = torch.randn(d, d, generator=g) / math.sqrt(d)
    return (torch.randn(n, d, generator=g) @ A.T + 0.3).reshape(n, 1, 4, 4)


def test_copy_crossing_interpolates_in_log_n_and_needs_a_bracket():
    assert math.isclose(GS.copy_crossing([10, 1000], [1.0, 0.0]), 100.0)
    assert GS.copy_crossing([10, 100], [0.4, 0.1]) is None


def test_evaluate_rmse_at_one_level_equals_the_full_grid_value():
    x, held = _data(), _data(40, seed=1)
    D = GaussianDenoiser(x[:60])            # a denoiser of another set: nonzero distance to D_G of x
    sig = [10.0, 1.0, 0.1]
    xT = 10.0 * torch.randn(6, 1, 4, 4, generator=torch.Generator().manual_seed(2))
    kw = dict(sample_steps=4, n_pairs=10)
    full = GS.evaluate(D, x, held, sig, xT, **kw)
    one = GS.evaluate(D, x, held, sig, xT, linearity=False, rmse_at=[1], **kw)
    assert np.all(np.isfinite(full["rmse"])) and "ls" in full and "ls" not in one
    assert np.isnan(one["rmse"][[0, 2]]).all() and one["rmse"][1] == full["rmse"][1]
    assert 0 <= full["copies"] <= 1 and full["gl"] > 0


def test_pair_distances_are_zero_for_the_same_samples():
    e = {"x": torch.randn(5, 1, 4, 4), "gl": 0.3}
    rows = GS.pair_distances([e, dict(e, gl=0.5)], e)
    np.testing.assert_allclose(rows, [[0, 0.3, 0.3], [0, 0.5, 0.3]])


def test_the_size_sweep_pool_avoids_the_held_out_digits_and_half_b_of_the_halves():
    cfg = PROFILES["ci"]
    pool, pool2, held = load_data(cfg)
    rows = lambda t: {tuple(r) for r in t.flatten(1).mul(1e4).round().int().tolist()}
    assert len(pool) == cfg.n_pool and len(pool2) == cfg.halves_n
    assert not rows(pool) & rows(held) and not rows(pool2) & rows(held)
    assert not rows(pool[:cfg.halves_n]) & rows(pool2)   # the two disjoint training halves

"""gendiff.molrg_checks and gendiff.molrg_plots: the chapter 4 measurements and figures on small inputs."""
from __future__ import annotations

import math

import matplotlib
import numpy as np
import pytest
import torch

matplotlib.use("Agg")

from gendiff import molrg as M  # noqa: E402
from gendiff import molrg_plots as MP  # noqa: E402
from gendiff import plots, runtime  # noqa: E402
from gendiff.configs.ch04 import PROFILES  # noqa: E402


def test_success_rates_and_split():
    err = torch.tensor([[[0.1, 0.9], [0.1, 0.1]], [[0.9, 0.9], [0.2, 0.8]]])   # (d, N, trials)
    assert M.success(err).tolist() == [[0.5, 1.0], [0.0, 0.5]]
    below, above_min, above_mean = M.split_rates(err, [1, 2], [1, 2])        # only (d=2, N=1) is below
    assert below == 0.0 and above_min == 0.5 and above_mean == pytest.approx(2 / 3)


def test_rate_by_N_and_first_all():
    r = {"N": [1, 2, 3, 4], "err": torch.tensor([[1.0, 1.0], [0.1, 1.0], [0.1, 0.1], [0.1, 0.1]])}
    rates = M.rate_by_N(r)
    assert rates == {1: 0.0, 2: 0.5, 3: 1.0, 4: 1.0}
    assert M.first_all(rates) == 3
    assert math.isnan(M.first_all({1: 0.0, 2: 0.5}))


def test_rotated_bases_are_orthonormal_and_turned():
    g = runtime.generator(0)
    U = M.random_bases(20, 2, 3, generator=g)
    V = M.rotated_bases(U, 0.35, generator=g)
    eye = torch.eye(3, dtype=V.dtype).expand(2, 3, 3)
    assert torch.allclose(V.transpose(1, 2) @ V, eye, atol=1e-10)
    cos = torch.linalg.svdvals(U.transpose(1, 2) @ V)       # turned, by about 0.35 rad (≈ 20°)
    assert (cos < 0.999).all() and (cos > math.cos(0.7)).all()


def test_recover_one_is_exact_from_N_equal_d():
    assert M.recover_one(30, 4, 4, 1, seed=1)[2] < 1e-6
    assert M.recover_one(30, 3, 4, 1, seed=1)[2] > 0.5
    U, Uh, err = M.recover_one(30, 4, 4, 2, seed=1)
    assert Uh.shape == U.shape == (1, 2, 30, 4) and err < 1e-6


def test_config_lines_one_field_a_line():
    text = M.config_lines(PROFILES["ci"])
    assert text.splitlines()[0].split() == ["n", "48"]
    assert all(len(line) <= 88 for line in text.splitlines())
    assert "steps=" in text                                                 # nested configs as name=value


def test_figures_fit_the_page_column():
    plots.use_style()
    cfg = PROFILES["ci"]
    err = torch.rand(len(cfg.pca_d), len(cfg.pca_N), 3)
    U, Uh, e = M.recover_one(cfg.n, 5, 6, 1, seed=0)
    figs = [MP.phase(err, err, err, cfg.pca_d, cfg.pca_N, cfg.pca_d, cfg.pca_N, 10),
            MP.explorer(U, Uh, e, err, cfg.pca_d, cfg.pca_N, 5, 6),
            MP.thm1(np.logspace(-2, 1, 4), np.full((4, 2), 1e-3), ["a", "b"])]
    for fig in figs:
        assert fig.get_size_inches()[0] <= plots.FIG_WIDTH
        sizes = [t.get_fontsize() for t in fig.findobj(matplotlib.text.Text) if t.get_text()]
        assert min(sizes) >= 9
        matplotlib.pyplot.close(fig)

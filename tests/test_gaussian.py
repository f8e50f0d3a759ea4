"""Tests of gendiff.gaussian (Li, Dai & Qu 2024) and of chapter 3's config; seconds each."""
import math

import numpy as np
import pytest
import torch

from gendiff import gaussian as G
from gendiff.denoisers import EmpiricalDenoiser, GaussianDenoiser
from gendiff.train import FitConfig


def _data(n=200, d=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    A = torch.randn(d, d, generator=g) / math.sqrt(d)
    return (torch.randn(n, d, generator=g) @ A.T + 0.3).reshape(n, 1, 1, d)


def _gen(seed=1):
    return torch.Generator().manual_seed(seed)


def test_linear_denoiser_has_linearity_score_one():
    W = torch.randn(6, 6, generator=_gen()).double()
    D = G.AffineDenoiser({0.5: (W, torch.zeros(6))}, (1, 1, 6))
    ls = G.linearity_score(D, _data(), [0.5], n_pairs=50, generator=_gen())
    np.testing.assert_allclose(ls, 1.0, atol=1e-10)
    nm = G.linearity_score(D, _data(), [0.5], n_pairs=50, metric="nmse", generator=_gen())
    np.testing.assert_allclose(nm, 0.0, atol=1e-10)


def test_nonlinear_denoiser_scores_below_one():
    D = lambda y, s: torch.tanh(3 * y)
    ls = G.linearity_score(D, _data(), [0.5], n_pairs=50, generator=_gen())
    assert ls[0] < 0.999


def test_score_rmse_is_zero_for_identical_and_exact_for_constant_offset():
    x = _data()
    DG = GaussianDenoiser(x)
    np.testing.assert_allclose(G.score_rmse(DG, DG, x, [0.1, 1.0], generator=_gen()), 0.0, atol=1e-12)
    shifted = lambda y, s: DG(y, s) + 0.25
    np.testing.assert_allclose(G.score_rmse(shifted, DG, x, [0.1, 1.0], generator=_gen()), 0.25, rtol=1e-9)


def test_lstsq_distillation_recovers_an_affine_denoiser_exactly():
    x = _data()
    DG = GaussianDenoiser(x)
    for s in (0.1, 1.0):
        r = G.distill_linear(DG, x, s, n_noise=2, generator=_gen())
        torch.testing.assert_close(r.W, DG.weight(s), atol=1e-8, rtol=0)
        torch.testing.assert_close(r.b, DG.bias(s), atol=1e-8, rtol=0)


def test_adam_distillation_approaches_lstsq_and_tracks_weights():
    x = _data()
    DG = GaussianDenoiser(x)
    r = G.distill_linear(DG, x, 1.0, n_noise=4, method="adam", W_ref=DG.weight(1.0),
                         fit_cfg=FitConfig(steps=400, lr=3e-2), generator=_gen())
    h = r.history["weight_nmse"]
    assert h[0] == pytest.approx(1.0)            # zero initialisation
    assert h[-1] < 0.1 and h[-1] < h[0]


def test_affine_dsm_converges_to_wiener_filter():
    """Theorem 1 of Li et al.: the DSM optimum of an affine denoiser is Σ(Σ + σ²I)⁻¹."""
    x = _data(n=400)
    DG = GaussianDenoiser(x)
    out = G.fit_affine_dsm(x, [0.3, 1.0], FitConfig(steps=600, lr=5e-2), W_ref=DG.weight)
    assert max(out["history"]["weight_nmse"][-1]) < 0.1
    for s, (W, b) in out["params"].items():
        assert G.weight_nmse(W, DG.weight(s)) < 0.1


def test_affine_denoiser_rejects_unfitted_sigma():
    D = G.AffineDenoiser({0.5: (torch.eye(3), torch.zeros(3))}, (3,))
    with pytest.raises(KeyError, match="no affine denoiser"):
        D(torch.zeros(2, 3), 0.7)


def test_alignment_of_wiener_filter_with_its_own_pcs_is_identity():
    x = _data()
    DG = GaussianDenoiser(x)
    A = G.alignment_matrix(DG.weight(0.5), DG.eigvecs, 4)
    torch.testing.assert_close(A, torch.eye(4, dtype=A.dtype), atol=1e-6, rtol=0)
    assert G.subspace_overlap(DG.weight(0.5), DG.eigvecs, 3) == pytest.approx(1.0)
    assert G.top_alignment(DG.weight(0.5), DG.eigvecs, 3) == pytest.approx(1.0)


def test_gl_score_is_zero_for_training_copies_and_sample_distance_is_relative():
    x = _data()
    assert G.gl_score(x[:10], x) == pytest.approx(0.0, abs=1e-12)
    assert G.sample_distance(2 * x[:5], x[:5]) == pytest.approx(1.0)


def test_multi_delta_sampler_output_is_a_training_copy():
    from gendiff.sampling import edm_sample
    x = _data(n=20)
    out = edm_sample(EmpiricalDenoiser(x), 80.0 * torch.randn(4, 1, 1, 6, generator=_gen()), num_steps=18).x
    assert G.gl_score(out, x) < 1e-3


def test_bad_inputs_raise_clear_errors():
    x = _data()
    D = GaussianDenoiser(x)
    with pytest.raises(ValueError, match="positive"):
        G.score_rmse(D, D, x, [0.0])
    with pytest.raises(ValueError, match="alpha"):
        G.linearity_score(D, x, [1.0], alpha=1.5)
    with pytest.raises(ValueError, match="method"):
        G.distill_linear(D, x, 1.0, method="sgd")
    with pytest.raises(ValueError, match="raise n_noise"):
        G.distill_linear(D, x[:3], 1.0, n_noise=1)


def test_linearity_score_is_deterministic_given_the_generator():
    x = _data()
    D = lambda y, s: torch.tanh(y)
    a = G.linearity_score(D, x, [0.2, 2.0], generator=_gen(5))
    b = G.linearity_score(D, x, [0.2, 2.0], generator=_gen(5))
    np.testing.assert_array_equal(a, b)


def test_ci_config_and_data():
    from gendiff.configs.ch03 import PROFILES, load_data
    cfg = PROFILES["ci"]
    pool, pool2, held = load_data(cfg)
    side = cfg.image_size
    assert pool.shape == (cfg.n_pool, 1, side, side) and held.shape == (cfg.n_heldout, 1, side, side)
    assert pool2.shape == (cfg.halves_n, 1, side, side)
    assert pool.min() >= -1 and pool.max() <= 1
    assert max(cfg.sizes) <= cfg.n_pool and cfg.halves_n in cfg.sizes and cfg.width_n in cfg.sizes
    d = pool[0].numel()
    assert min(cfg.sizes) < d / 4 and max(cfg.sizes) > 4 * d            # both regimes: N ≪ d and N ≫ d
    assert len(cfg.seeds) >= 3 and len(cfg.widths) >= 3 and cfg.loguniform_frac == 0.0   # the paper's noise law
    # the three sets are disjoint: no held-out or second-half digit is in the first pool
    flat = lambda x: {tuple(v) for v in (x.flatten(1) * 255).round().int().tolist()}
    assert not flat(held) & flat(pool) and not flat(pool2) & flat(held)


def test_copy_fraction_and_seed_stats():
    x = _data(n=50)
    assert G.copy_fraction(x[:10] + 1e-4, x) == 1.0                     # near-copies
    mid = (x[:10] + x[10:20]) / 2                                         # between two training points
    assert G.copy_fraction(mid, x) < 0.5
    st = G.seed_stats([0.3, 0.1, 0.2])
    assert st["median"] == pytest.approx(0.2) and st["spread"] == pytest.approx(0.2)
    with pytest.raises(ValueError, match="finite"):
        G.seed_stats([0.1, float("nan")])
    with pytest.raises(ValueError, match="two training"):
        G.copy_fraction(x[:2], x[:1])


def test_smoke_full():
    """The full profile's data and models at full size: one training, sampler and analysis step each."""
    from gendiff.configs.ch03 import PROFILES, smoke_full
    out = smoke_full()
    assert out["d"] == PROFILES["full"].image_size ** 2
    assert out["distill_weight_nmse"] < 1e-6
    assert 0 < out["linearity"] <= 1 + 1e-9



def test_train_edm_many_is_the_same_in_parallel(tmp_path, monkeypatch):
    monkeypatch.setenv("BOOK_CACHE", str(tmp_path))
    x = torch.rand(8, 1, 8, 8) * 2 - 1
    rec = G.EDMTrain(model_channels=4, steps=2, batch_size=4, snapshots=(1,))
    jobs = {"a": (x, rec), "b": (x[:4], rec)}
    par = G.train_edm_many(jobs, name="t", workers=2)
    monkeypatch.setenv("BOOK_CACHE", str(tmp_path / "seq"))
    seq = G.train_edm_many(jobs, name="t", workers=1)
    for k in jobs:
        for p, q in zip(par[k][0].parameters(), seq[k][0].parameters()):
            torch.testing.assert_close(p, q)
        assert set(par[k][2]) == {1}


def test_more_bad_inputs_raise_clear_errors():
    x = _data()
    D = GaussianDenoiser(x)
    with pytest.raises(ValueError, match="two different images"):
        G.linearity_score(D, x[:1], [1.0])
    with pytest.raises(ValueError, match="n_pairs"):
        G.linearity_score(D, x, [1.0], n_pairs=0)
    with pytest.raises(ValueError, match="function"):
        G.fit_affine_dsm(x, [1.0], FitConfig(steps=1), W_ref=D.weight(1.0))
    with pytest.raises(ValueError, match="lstsq"):
        G.distill_linear(D, x, 1.0, W_ref=D.weight(1.0))
    A = G.AffineDenoiser({0.5: (torch.eye(6), torch.zeros(6))}, (1, 1, 6))
    with pytest.raises(ValueError, match="positive"):
        A(x[:2], 0.0)

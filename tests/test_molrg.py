"""Unit tests for gendiff.molrg (seconds each; one property per test)."""
import math

import pytest
import torch

from gendiff import molrg as M, sampling


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_random_bases_orthonormal_and_mutually_orthogonal():
    U = M.random_bases(20, 3, 4, generator=gen())
    W = U.permute(1, 0, 2).reshape(20, 12)
    torch.testing.assert_close(W.T @ W, torch.eye(12, dtype=W.dtype))


def test_random_bases_rejects_too_many_directions():
    with pytest.raises(ValueError, match="do not fit"):
        M.random_bases(10, 3, 4, generator=gen())


def test_samples_lie_on_their_subspace():
    U = M.random_bases(12, 2, 3, generator=gen())
    x, lab = M.sample_molrg(U, 5, generator=gen(1))
    assert x.shape == (10, 12) and lab.tolist() == [0] * 5 + [1] * 5
    res = x - torch.einsum("bnd,bmd,bm->bn", U[lab], U[lab], x)
    assert res.abs().max() < 1e-12


def test_posterior_mean_single_component_is_wiener_shrinkage():
    U = M.random_bases(8, 1, 2, generator=gen())
    y = torch.randn(5, 8, generator=gen(1), dtype=torch.float64)
    s = 0.7
    torch.testing.assert_close(M.posterior_mean(U, y, s), (U[0] @ U[0].T @ y.T).T / (1 + s**2))


def test_general_weights_reduce_to_simple_softmax():
    """With μ = 0, λ = 1 the full Gaussian log-likelihood gives softmax(‖U_kᵀy‖²/(2σ²(1+σ²)))."""
    U = M.random_bases(10, 3, 2, generator=gen())
    y = torch.randn(4, 10, generator=gen(2), dtype=torch.float64)
    s = 0.5
    simple = torch.softmax(torch.einsum("knd,bn->bkd", U, y).pow(2).sum(-1) / (2 * s**2 * (1 + s**2)), -1)
    torch.testing.assert_close(M.posterior_weights(U, y, s), simple)


def test_posterior_mean_matches_monte_carlo():
    U = M.random_bases(6, 2, 2, generator=gen())
    den = M.MoLRGDenoiser(U)
    x0, _ = den.sample(3, generator=gen(3))
    y = x0 + 0.5 * torch.randn(x0.shape, generator=gen(4), dtype=x0.dtype)
    mc = M.mc_posterior_mean(U, y, 0.5, n_draws=200_000, generator=gen(5))
    assert ((mc - den(y, 0.5)).norm(dim=1) / den(y, 0.5).norm(dim=1)).max() < 2e-2


def test_per_sample_sigma_equals_scalar_sigma():
    U = M.random_bases(8, 2, 2, generator=gen())
    y = torch.randn(3, 8, generator=gen(1), dtype=torch.float64)
    torch.testing.assert_close(M.posterior_mean(U, y, torch.full((3,), 0.4, dtype=torch.float64)),
                               M.posterior_mean(U, y, 0.4))


def test_score_is_tweedie():
    U = M.random_bases(8, 2, 2, generator=gen())
    y = torch.randn(3, 8, generator=gen(1), dtype=torch.float64)
    torch.testing.assert_close(M.score(U, y, 0.3), (M.posterior_mean(U, y, 0.3) - y) / 0.09)


def test_thm1_closed_form_matches_monte_carlo():
    U = M.random_bases(10, 1, 3, generator=gen())[0]
    x = torch.randn(5, 10, generator=gen(1), dtype=torch.float64)
    cf = M.dae_loss_closed_form(U, x, 0.8)
    mc = M.dae_loss_mc(U, x, 0.8, draws=20_000, generator=gen(2))
    assert abs(float(mc - cf)) / float(cf) < 0.01


def test_projected_gradient_finds_pca():
    x = torch.randn(30, 12, generator=gen(0), dtype=torch.float64) * torch.linspace(3, 0.1, 12, dtype=torch.float64)
    U = M.projected_gradient_minimize(lambda V: M.dae_loss_closed_form(V, x, 0.5),
                                      M.random_bases(12, 1, 3, generator=gen(1))[0], steps=100)
    assert M.single_subspace_distance(U, M.pca_subspace(x, 3, generator=gen())) < 1e-6


def test_pca_below_rank_completes_with_orthonormal_random_directions():
    U = M.random_bases(12, 1, 4, generator=gen())
    x, _ = M.sample_molrg(U, 2, generator=gen(1))                    # 2 points, d = 4
    Uh = M.pca_subspace(x, 4, generator=gen(2))
    torch.testing.assert_close(Uh.T @ Uh, torch.eye(4, dtype=Uh.dtype))
    assert (x - x @ Uh @ Uh.T).abs().max() < 1e-10                   # the data span is included


def test_subspace_distance_permutation_invariant_and_sqrt2_per_missing_direction():
    U = M.random_bases(10, 2, 3, generator=gen())
    assert M.subspace_distance(U.flip(0), U) < 1e-12
    W = torch.linalg.qr(torch.cat([U[0][:, :2], U[1][:, :1]], 1)).Q   # one direction of U₀ replaced
    assert abs(float(M.single_subspace_distance(W, U[0])) - math.sqrt(2)) < 1e-9


def test_k_subspaces_spectral_recovers_orthogonal_subspaces():
    U = M.random_bases(20, 2, 3, generator=gen(), trials=4)
    x, _ = M.sample_molrg(U, 5, generator=gen(1))
    Uh = M.k_subspaces(x, 2, 3, generator=gen(2))
    assert M.subspace_distance(Uh, U).max() < 1e-8


def test_k_subspaces_rejects_unknown_init():
    with pytest.raises(ValueError, match="init"):
        M.k_subspaces(torch.randn(1, 4, 5, dtype=torch.float64), 2, 1, generator=gen(), init="kmeans++")


def test_low_rank_dae_retraction_orthonormalises():
    m = M.LowRankDAE(10, 2, 3, trials=2, generator=gen())
    with torch.no_grad():
        m.U.add_(0.3 * torch.randn(m.U.shape, generator=gen(1)))
    m.retract_()
    torch.testing.assert_close(m.U.transpose(-1, -2) @ m.U, torch.eye(3).expand(2, 2, 3, 3), atol=1e-5, rtol=0)


def test_low_rank_dae_training_recovers_pca_subspace():
    U = M.random_bases(16, 1, 2, generator=gen(), trials=2)
    x, _ = M.sample_molrg(U, 8, generator=gen(1))
    cfg = M.DAETrainConfig(steps=200, lr=0.05, draws=4, sigma_min=0.02, sigma_max=0.2, lr_final=0.01)
    Uh = M.train_low_rank_dae(x, torch.ones(2, 8, dtype=torch.bool), 1, 2, cfg)
    assert M.single_subspace_distance(Uh[:, 0], U[:, 0]).max() < 0.3


def test_numerical_rank_energy_rule():
    assert int(M.numerical_rank(torch.tensor([1.0, 1.0, 0.0]))) == 2
    assert int(M.numerical_rank(torch.tensor([1.0, 0.1, 0.01]))) == 1   # √1 > 0.99·√1.0101
    assert int(M.numerical_rank(torch.tensor([1.0, 0.5, 0.01]))) == 2


def test_jacobian_of_exact_denoiser_is_projection_at_low_noise():
    U = M.random_bases(12, 2, 3, generator=gen())
    x0 = U[0] @ torch.randn(3, generator=gen(1), dtype=torch.float64) * 3
    J = M.jacobians(M.MoLRGDenoiser(U), x0[None], 1e-3)[0]
    torch.testing.assert_close(J, U[0] @ U[0].T / (1 + 1e-6), atol=1e-6, rtol=0)


def test_edm_heun_is_deterministic():
    den = M.MoLRGDenoiser(M.random_bases(6, 2, 1, generator=gen()))
    xT = torch.randn(4, 6, generator=gen(1), dtype=torch.float64)
    torch.testing.assert_close(sampling.edm_sample(den, xT, num_steps=6).x, sampling.edm_sample(den, xT, num_steps=6).x)


def test_gl_score_flags_copies_and_off_manifold_points():
    U = M.random_bases(8, 1, 2, generator=gen())
    train, _ = M.sample_molrg(U, 10, generator=gen(1))
    copies = train[:4]
    off = torch.randn(4, 8, generator=gen(2), dtype=torch.float64)
    r = M.gl_score_molrg(torch.cat([copies, off]), train, U)
    assert r["memorized"] == 0.5 and r["gl"] == 0.0


def test_mlp_denoiser_shape_and_skip_at_small_sigma():
    net = M.MLPDenoiser(6, width=16)
    y = torch.randn(3, 6, generator=gen())
    out = net(y, 1e-4)
    assert out.shape == (3, 6) and (out - y).abs().max() < 1e-2


def test_smoke_full_runs():
    from gendiff.configs.ch04 import smoke_full
    out = smoke_full()
    assert out["mlp"] == (2, 48, 48)


@pytest.mark.parametrize("n_draws", [1, 3, 0])
def test_mc_posterior_mean_needs_an_even_number_of_draws(n_draws):
    U = M.random_bases(8, 2, 2, generator=gen())
    y = torch.randn(3, 8, generator=gen(1), dtype=torch.float64)
    with pytest.raises(ValueError, match="even"):
        M.mc_posterior_mean(U, y, 0.5, n_draws=n_draws, generator=gen(2))


def test_gl_score_molrg_needs_two_training_points():
    U = M.random_bases(8, 2, 2, generator=gen())
    x, _ = M.sample_molrg(U, 3, generator=gen(1))
    with pytest.raises(ValueError, match="two nearest"):
        M.gl_score_molrg(x, x[:1], U)


def test_default_dae_recipe_is_the_chapters():
    """The defaults are the low-noise recipe Chapter 4 trains with (§3 compares it with the sampler's σ range)."""
    c = M.DAETrainConfig()
    assert (c.sigma_min, c.sigma_max, c.lr) == (0.02, 0.2, 0.05)


def test_curve_gap_zero_for_identical_curves_and_positive_for_shifted_ones():
    same = {2: ([1, 8, 64], [0.0, 0.5, 1.0]), 4: ([1, 8, 64], [0.0, 0.5, 1.0])}
    assert M.curve_gap(same) == 0.0
    shifted = {2: ([2, 16, 128], [0.0, 0.5, 1.0]), 4: ([4, 32, 256], [0.0, 0.5, 1.0])}
    assert M.curve_gap(shifted) > 0.1
    assert math.isnan(M.curve_gap({2: ([1, 2], [0, 1]), 4: ([8, 16], [0, 1])}))   # no overlap


def test_ch04_config_seeds_and_paper_sigma_data():
    """Trained §4 claims rest on ≥ 3 seeds; the digits claim uses the paper's EDM σ_data = 0.5."""
    from gendiff.configs.ch04 import PROFILES
    for cfg in PROFILES.values():
        assert cfg.jac_seeds >= 3
        assert cfg.digits_sigma_data[0] == 0.5
        assert cfg.dae_wide.sigma_max > 10 * cfg.dae.sigma_max


def test_gl_data_are_images_on_the_subspaces():
    x, U = M.gl_data(8, 3, 4, generator=gen())
    assert x.shape == (2 * 3 * 4, 1, 8, 8) and x.dtype == torch.float32 and U.shape == (2, 64, 3)
    assert M.off_subspace_ratio(U, x.flatten(1).double()).max() < 1e-5

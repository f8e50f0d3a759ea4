import numpy as np
import pytest
import torch

from gendiff import jacobian, models, runtime


def _net():
    torch.manual_seed(0)
    return models.BiasFreeUNet(1, 4, 2).eval()


def test_batched_jacobian_matches_loop_and_finite_differences():
    net = _net()
    y = torch.randn(2, 1, 8, 8, generator=runtime.generator(0))
    J = jacobian.jacobian(net, y, chunk=16)
    torch.testing.assert_close(J[1], jacobian.jacobian_loop(net, y[1:2]), rtol=1e-5, atol=1e-6)
    net64 = _net().double()
    y64 = y[:1].double()
    J64 = jacobian.jacobian(net64, y64)[0]
    eps = 1e-6
    for j in (0, 17, 63):
        e = torch.zeros(64, dtype=torch.float64); e[j] = eps
        fd = (net64(y64 + e.view(1, 1, 8, 8)) - net64(y64 - e.view(1, 1, 8, 8))).flatten() / (2 * eps)
        torch.testing.assert_close(J64[:, j], fd, rtol=1e-5, atol=1e-7)


def test_homogeneity_and_effective_dim():
    net = _net()
    y = torch.randn(3, 1, 8, 8, generator=runtime.generator(1))
    J = jacobian.jacobian(net, y)
    assert jacobian.homogeneity_error(net, y, J).max() < 1e-5
    lam, E = jacobian.eig_shrinkage(J)
    torch.testing.assert_close(lam.sum(-1), jacobian.effective_dim(J), rtol=1e-4, atol=1e-4)
    assert (lam[:, :-1] >= lam[:, 1:]).all()


def test_matrix_free_top_eigs_match_eigh():
    net = _net()
    y = torch.randn(1, 1, 8, 8, generator=runtime.generator(2))
    lam_full, _ = jacobian.eig_shrinkage(jacobian.jacobian(net, y)[0])
    lam, E = jacobian.top_eigs(net, y, k=5)
    np.testing.assert_allclose(lam.numpy(), lam_full[:5].double().numpy(), rtol=1e-4, atol=1e-5)
    assert E.shape == (64, 5)


def test_sure_matches_mse_for_a_linear_shrinker():
    D = lambda y, s: 0.7 * y                                  # tr J = 0.7 d exactly
    x = torch.rand(256, 1, 8, 8, generator=runtime.generator(3))
    sure, mse = jacobian.sure_mse(D, x, 0.1, seed=4, n_draws=4)
    assert abs(sure - mse) / mse < 0.05


def test_top_eigs_of_a_locally_constant_denoiser_are_zero():
    """The empirical denoiser next to one training image copies it: its Jacobian is exactly zero there, and
    ``top_eigs`` says so in one warning and returns zero eigenvalues (ARPACK alone cannot start)."""
    from gendiff.denoisers import EmpiricalDenoiser

    x = torch.rand(4, 1, 8, 8, generator=runtime.generator(5), dtype=torch.float64)
    D = EmpiricalDenoiser(x)
    with pytest.warns(UserWarning, match="Jacobian is zero"):
        lam, E = jacobian.top_eigs(D, x[:1], 0.05, k=3)
    assert lam.tolist() == [0.0, 0.0, 0.0] and E.shape == (64, 3)
    y = x[:1] + 0.5 * torch.randn(x[:1].shape, generator=runtime.generator(6), dtype=torch.float64)
    lam, _ = jacobian.top_eigs(D, y, 2.0, k=3)               # where the posterior spreads, the usual path
    assert lam[0] > 0

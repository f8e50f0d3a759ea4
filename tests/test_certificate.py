"""gendiff.certificate: a trained denoiser's convergence certificate against doing nothing and D_G."""
import numpy as np
import pytest
import torch

from gendiff import certificate, runtime


def _data(n=64, d=16, seed=0):
    return torch.rand(n, 1, 4, d // 4, generator=runtime.generator(seed))


def test_doing_nothing_misses_and_the_gaussian_denoiser_ties_itself():
    x = _data()
    sigmas = [0.2, 0.5]
    nothing = certificate.certify(lambda y, s: y, x, x, sigmas)
    assert nothing.misses_identity == sigmas and not nothing.passed           # MSE = σ², not below it
    np.testing.assert_allclose(nothing.mse, nothing.identity)
    np.testing.assert_allclose(nothing.identity, [s**2 for s in sigmas], rtol=0.1)
    from gendiff.denoisers import GaussianDenoiser
    G = GaussianDenoiser(x.double())
    c = certificate.certify(lambda y, s: G(y.double(), s).float(), x, x, sigmas, gaussian_at=sigmas)
    assert c.misses_identity == [] and c.misses_gaussian == sigmas          # ties D_G: not strictly below
    assert "loses to the Gaussian denoiser at σ = 0.2, 0.5" in c.shortfall()


def test_an_oracle_passes_and_behind_names_the_first_miss():
    x = _data()
    oracle = certificate.certify(lambda y, s: y - s * 0 + (x[: y.shape[0]] - y), x, x, [0.1, 0.5],
                                 gaussian_at=[0.1, 0.5])
    assert oracle.passed and oracle.shortfall() == ""
    nothing = certificate.certify(lambda y, s: y, x, x, [0.1])
    ok, short = certificate.behind({"a": oracle, "b": nothing}, ["a", "b"])
    assert not ok and short.startswith("1 of 2 networks miss their certificate; b: loses to doing nothing")
    assert certificate.behind({"a": oracle}, ["a"]) == (True, "")


def test_plateau():
    assert certificate.plateau(np.r_[np.linspace(1, 0.1, 80), np.full(20, 0.1)]) < 1e-9
    assert certificate.plateau(np.linspace(1, 0.1, 100)) > 0.1
    with pytest.raises(ValueError, match="too few"):
        certificate.plateau([1.0])


def test_margin_is_the_tightest_relative_gap():
    c = certificate.Certificate([0.1, 0.2], [0.008, 0.05], [0.01, 0.04], [0.02, 0.02], [0.1, 0.2], [])
    assert abs(c.margin - (0.04 - 0.05) / 0.04) < 1e-12 and not c.passed

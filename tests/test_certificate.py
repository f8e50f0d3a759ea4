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
    flat = np.r_[np.linspace(1, 0.1, 60), 0.1 + 0.001 * np.tile([1, -1], 20)]
    d, se = certificate.plateau(flat)
    assert abs(d) < 1e-3 and se < 0.01
    d, se = certificate.plateau(np.linspace(1, 0.1, 100))
    assert d < -0.2 and se < abs(d) / 4
    with pytest.raises(ValueError, match="too few"):
        certificate.plateau([1.0, 2.0, 3.0])


def test_the_plateau_is_carried_and_shown_but_not_in_the_verdict():
    x = _data()
    oracle = lambda y, s: x[: y.shape[0]]  # noqa: E731
    falling = certificate.certify(oracle, x, x, [0.1], losses=np.linspace(1, 0.1, 100))
    assert not falling.levelled and falling.passed and falling.shortfall() == ""
    noisy = 1 + 0.3 * np.random.default_rng(0).standard_normal(100)    # ±30 % minibatch noise, no trend
    assert certificate.certify(oracle, x, x, [0.1], losses=noisy).levelled
    assert certificate.certify(oracle, x, x, [0.1]).plateau is None


def test_margin_is_the_tightest_relative_gap():
    c = certificate.Certificate([0.1, 0.2], [0.008, 0.05], [0.01, 0.04], [0.02, 0.02], [0.1, 0.2], [])
    assert abs(c.margin - (0.04 - 0.05) / 0.04) < 1e-12 and not c.passed


def test_training_range_and_the_gaussian_bar():
    from gendiff.train import NoiseLaw
    lo, hi = certificate.training_range(NoiseLaw("edm"))
    assert abs(np.log(lo) - (-1.2 - 2.5758 * 1.2)) < 1e-3 and abs(np.log(hi) - (-1.2 + 2.5758 * 1.2)) < 1e-3
    assert certificate.training_range(NoiseLaw("quadratic", sigma_max=1.0)) == (0.0, 1.0)
    mixed = NoiseLaw("edm", sigma_max=80.0, loguniform_frac=0.2)
    assert certificate.training_range(mixed) == (0.002, 80.0)
    assert certificate.gaussian_bar([0.1, 0.4, 0.5, 0.8], 1.0) == [0.1, 0.4]


def test_summary_counts_per_family():
    c = certificate.Certificate([0.1], [0.008], [0.01], [0.02], [0.1], [], (-0.3, 0.01))
    bad = certificate.Certificate([0.1], [0.02], [0.01], [0.02], [0.1], [])
    fam = lambda k: k[0] if isinstance(k, tuple) else k  # noqa: E731
    text = certificate.summary({("a", 1): c, ("a", 2): bad, "b": c}, fam)
    assert "1 / 2" in text.splitlines()[1] and "-0.30" in text.splitlines()[1]
    assert text.splitlines()[2].startswith("b") and "1 / 1" in text.splitlines()[2]

import torch

from gendiff import runtime, sampling
from gendiff import denoisers as den
from gendiff.denoisers import EmpiricalDenoiser, GaussianDenoiser, GaussianMixture


def test_gaussian_denoiser_matches_monte_carlo_posterior_mean():
    g = runtime.generator(0)
    A = torch.randn(4, 4, generator=g, dtype=torch.float64)
    cov, mean = A @ A.T / 4 + 0.1 * torch.eye(4, dtype=torch.float64), torch.randn(4, generator=g, dtype=torch.float64)
    D = GaussianDenoiser(mean=mean, cov=cov)
    prior = GaussianMixture(mean[None], cov[None])
    mc = EmpiricalDenoiser(prior.sample(400_000, generator=g), chunk=100_000)
    y = prior.sample(16, generator=g) + 0.5 * torch.randn(16, 4, generator=g, dtype=torch.float64)
    exact = D(y, 0.5)
    torch.testing.assert_close(exact, prior(y, 0.5))               # two closed forms agree
    assert ((mc(y, 0.5) - exact).norm(dim=1).mean() / exact.norm(dim=1).mean()) < 0.02


def test_tweedie_identity_for_a_mixture():
    m = GaussianMixture(torch.tensor([[0.0, 0.0], [3.0, 1.0]]), torch.stack([torch.eye(2), 0.3 * torch.eye(2)]))
    y = m.sample(10, generator=runtime.generator(1))
    torch.testing.assert_close(m(y, 0.7), y.double() + 0.49 * m.score(y, 0.7))


def test_empirical_denoiser_at_tiny_sigma_returns_nearest_training_image():
    x = torch.rand(50, 1, 4, 4, generator=runtime.generator(2))
    D = EmpiricalDenoiser(x, chunk=7)                              # chunked log-sum-exp path
    y = x[[3, 17]] + 0.01 * torch.randn(2, 1, 4, 4, generator=runtime.generator(3))
    torch.testing.assert_close(D(y, 0.01), x[[3, 17]])
    w = D.weights(y, 1e3)
    torch.testing.assert_close(w.sum(1), torch.ones(2, dtype=torch.float64))


def test_gaussian_closed_form_ode_matches_heun():
    x = torch.rand(200, 16, generator=runtime.generator(4), dtype=torch.float64)
    D = GaussianDenoiser(x)
    z = 80 * torch.randn(4, 16, generator=runtime.generator(5), dtype=torch.float64)
    num = sampling.edm_sample(D, z, num_steps=40, solver="heun").x
    exact = D.closed_form_sample(z, 80.0, 0.002)
    assert ((num - exact).norm() / exact.norm()) < 0.02
    torch.testing.assert_close(D.weight(0.3) @ x[0] + D.bias(0.3), D(x[:1], 0.3)[0])


# ---- clear errors for bad input ------------------------------------------------------------------------
import pytest  # noqa: E402


@pytest.mark.parametrize("sigma", [0.0, -0.5, float("nan")])
def test_denoisers_reject_non_positive_sigma(sigma):
    x = torch.rand(20, 4, generator=runtime.generator(6), dtype=torch.float64)
    y = x[:3] + 0.1
    m = GaussianMixture(torch.zeros(1, 4), torch.eye(4)[None])
    for D in (EmpiricalDenoiser(x), GaussianDenoiser(x), m):
        with pytest.raises(ValueError, match="σ"):
            D(y, sigma)
    with pytest.raises(ValueError, match="σ"):
        EmpiricalDenoiser(x).weights(y, sigma)
    with pytest.raises(ValueError, match="σ"):
        m.log_density(y, sigma)


def test_per_sample_sigma_and_its_length():
    x = torch.rand(20, 4, generator=runtime.generator(7), dtype=torch.float64)
    y = x[:3] + 0.1
    D = GaussianDenoiser(x)
    s = torch.tensor([0.1, 0.2, 0.3], dtype=torch.float64)
    torch.testing.assert_close(D(y, s)[1], D(y[1:2], 0.2)[0])
    with pytest.raises(ValueError, match="one entry per sample"):
        D(y, torch.tensor([0.1, 0.2]))
    m = GaussianMixture(torch.zeros(1, 4), torch.eye(4)[None])
    with pytest.raises(ValueError, match="one scalar σ"):
        m(y, s)


def test_mixture_weights_must_be_normalised():
    means, covs = torch.tensor([[0.0, 0.0], [3.0, 1.0]]), torch.stack([torch.eye(2), torch.eye(2)])
    with pytest.raises(ValueError, match="summing to 1"):
        GaussianMixture(means, covs, torch.tensor([2.0, 2.0]))
    with pytest.raises(ValueError, match="non-negative"):
        GaussianMixture(means, covs, torch.tensor([1.5, -0.5]))
    with pytest.raises(ValueError, match="covs"):
        GaussianMixture(means, torch.eye(2)[None])
    GaussianMixture(means, covs, torch.tensor([0.3, 0.7]))           # normalised: accepted


def test_posterior_mean_stream_standard_error_matches_the_spread_of_repeats():
    """Self-normalised importance sampling of E[x | y] for x ~ N(0, I_2): the reported SE is the spread."""
    g = torch.Generator().manual_seed(0)
    y = torch.tensor([[0.5, -1.0], [2.0, 0.0]], dtype=torch.float64)
    ests, ses = [], []
    for _ in range(300):
        x = torch.randn(2000, 2, generator=g, dtype=torch.float64)
        est, se = den.posterior_mean_stream(y, 0.7, torch.split(x, 512), return_se=True)
        ests.append(est); ses.append(se)
    spread, se = torch.stack(ests).std(0), torch.stack(ses).mean(0)
    torch.testing.assert_close(se, spread, rtol=0.15, atol=0)
    exact = y / (1 + 0.7**2)                                          # Gaussian prior: E[x | y] = y/(1 + σ²)
    torch.testing.assert_close(torch.stack(ests).mean(0), exact, rtol=0, atol=0.01)

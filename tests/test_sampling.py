import pytest
import torch

from gendiff import runtime, sampling
from gendiff.denoisers import EmpiricalDenoiser


def test_edm_sigma_grid_matches_paper_3():
    s = sampling.edm_sigma_steps(10)
    expected = [80, 42.415, 21.109, 9.723, 4.066, 1.502, 0.470, 0.117, 0.0204, 0.002, 0]
    assert s.tolist() == pytest.approx(expected, rel=5e-3, abs=1e-4)   # values are given to 3-4 digits


def test_ascent_sampler_same_seed_same_noise_and_stops():
    x = torch.rand(20, 1, 4, 4, generator=runtime.generator(0))
    emp = EmpiricalDenoiser(x)
    D = lambda y, s: emp(y, 0.2)          # a fixed-sigma smoother that contracts towards the data
    a = sampling.ascent_sample(D, (3, 1, 4, 4), mean=0.5, seed=1, sigma_final=0.05, device="cpu")
    b = sampling.ascent_sample(D, (3, 1, 4, 4), mean=0.5, seed=1, sigma_final=0.05, device="cpu")
    c = sampling.ascent_sample(D, (3, 1, 4, 4), mean=0.5, seed=2, sigma_final=0.05, device="cpu")
    assert torch.equal(a.x, b.x) and not torch.equal(a.x, c.x) and a.steps < 500


def test_ascent_sampler_reports_a_denoiser_that_does_not_converge():
    with pytest.raises(RuntimeError, match="did not reach"):
        sampling.ascent_sample(lambda y, s: y + 1.0, (1, 1, 2, 2), max_steps=5, device="cpu")


def test_edm_sampler_solvers():
    x = torch.rand(10, 1, 4, 4, generator=runtime.generator(0))
    z = 80 * torch.randn(2, 1, 4, 4, generator=runtime.generator(1))
    out = sampling.edm_sample(EmpiricalDenoiser(x), z, num_steps=18, return_trajectory=True)
    assert len(out.trajectory) == 18 and out.x.shape == z.shape
    with pytest.raises(ValueError):
        sampling.edm_sample(EmpiricalDenoiser(x), z, solver="rk4")


def test_ascent_sampler_marks_a_diverging_sample_nan_and_finishes_the_others():
    def D(y, s):                                     # sample 0 runs away, sample 1 goes to 0.5
        return torch.cat([10 * y[:1], torch.full_like(y[1:], 0.5)])

    r = sampling.ascent_sample(D, (2, 1, 4, 4), mean=0.5, seed=0, device="cpu")
    assert torch.isnan(r.x[0]).all() and torch.isfinite(r.x[1]).all()
    assert (r.x[1] - 0.5).abs().max() < 1e-6

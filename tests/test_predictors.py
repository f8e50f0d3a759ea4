"""gendiff.predictors: each theory's denoiser against a brute-force or closed-form reference."""
import math

import numpy as np
import pytest

import torch

from gendiff import predictors


def test_one_full_rank_component_is_the_gaussian_denoiser():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(200, 1, 2, 3, generator=g) @ torch.randn(3, 3, generator=g) + 0.3
    y = x[:5] + 0.5 * torch.randn(5, 1, 2, 3, generator=g)
    m = predictors.LowRankMixture(x, k=1, d=6)
    assert torch.allclose(m(y, 0.5), predictors.gaussian(x)(y, 0.5), atol=1e-5)


def test_k_subspaces_separates_two_planes_and_denoises_like_the_exact_mixture():
    g = torch.Generator().manual_seed(1)
    U = torch.linalg.qr(torch.randn(16, 4, generator=g))[0]
    x = torch.cat([torch.randn(300, 2, generator=g) @ U[:, :2].T, torch.randn(300, 2, generator=g) @ U[:, 2:].T])
    m = predictors.LowRankMixture(x.reshape(-1, 1, 4, 4), k=2, d=2, seed=0)
    assert sorted(m.dims) == [2, 2]
    assert {int(m.labels[:300].float().mean().round()), int(m.labels[300:].float().mean().round())} == {0, 1}
    y = x[:4].reshape(-1, 1, 4, 4) + 0.05 * torch.randn(4, 1, 4, 4, generator=g)
    # exact MoLRG denoiser at low noise: projection onto the right plane (shrinkage 1/(1+σ²))
    proj = (y.flatten(1) @ U[:, :2]) @ U[:, :2].T / (1 + 0.05 ** 2)
    assert (m(y, 0.05).flatten(1) - proj).norm() / proj.norm() < 0.1


def test_local_patch_machine_matches_brute_force():
    g = torch.Generator().manual_seed(2)
    x = torch.rand(3, 1, 5, 5, generator=g)
    y = x[:2] + 0.3 * torch.randn(2, 1, 5, 5, generator=g)
    m = predictors.LocalPatchMachine(x, patch=3, block=7 * 50)
    P = torch.nn.functional.unfold(x.double(), 3, padding=1).transpose(1, 2).reshape(-1, 9)
    Q = torch.nn.functional.unfold(y.double(), 3, padding=1).transpose(1, 2)       # (2, 25, 9)
    w = torch.softmax(-((Q[:, :, None] - P[None, None]) ** 2).sum(-1) / (2 * 0.3 ** 2), -1)
    ref = (w @ P[:, 4]).reshape(2, 1, 5, 5)
    assert torch.allclose(m(y, 0.3).double(), ref, atol=1e-5)
    assert torch.allclose(m(x[:1], 1e-3), x[:1], atol=1e-6)          # a training image is a fixed point


def test_dct_shrinkage_limits():
    x = torch.rand(50, 1, 4, 4, generator=torch.Generator().manual_seed(3))
    d = predictors.dct_shrinkage(x)
    y = torch.rand(2, 1, 4, 4)
    assert torch.allclose(d(y, 1e-6), y, atol=1e-5)
    assert torch.allclose(d(y, 1e6), x.mean(0, keepdim=True).expand_as(y), atol=1e-5)


def test_r2():
    b = torch.rand(3, 1, 4, 4)
    assert torch.allclose(predictors.r2(b, b), torch.ones(3, dtype=torch.float64))
    flat = b.flatten(1).mean(1).reshape(3, 1, 1, 1).expand_as(b)
    assert torch.allclose(predictors.r2(flat, b), torch.zeros(3, dtype=torch.float64), atol=1e-12)
    assert not math.isnan(float(predictors.r2(b, torch.zeros_like(b)).sum()))


def test_explained_and_sample_agreement_on_a_known_network():
    from gendiff import synthesis
    x = torch.rand(40, 1, 4, 4, generator=torch.Generator().manual_seed(4))
    G = predictors.gaussian(x)
    net = lambda y, s: G(y, s if s is not None else 0.1)           # noqa: E731 (the "network" is D_G itself)
    res = synthesis.explained(net, {"gauss": G, "dct": predictors.dct_shrinkage(x)}, x[:6], [0.1, 0.5])
    assert np.allclose(res["r2"]["gauss"], 1) and res["r2"]["dct"].shape == (2, 6)
    assert set(res["mse"]) == {"network", "gauss", "dct"}
    samples, cos = synthesis.sample_agreement(net, {"gauss": G}, 3, (1, 4, 4), mean=x.mean(0), max_steps=200,
                                              sigma_final=0.12)
    assert samples["gauss"].shape == (3, 1, 4, 4) and cos["gauss"].shape == (3,)
    fig = synthesis.plot_heatmaps({10: res["r2"], 40: res["r2"]}, [0.1, 0.5])
    assert len(fig.axes) >= 2


def test_memorization_onset_is_the_first_step_at_the_level_and_never_is_infinite():
    import math

    from gendiff import memorization_time as mt

    fr = {250: 0.0, 500: 0.2, 1000: 0.6, 1500: 0.9}
    assert mt.onset_step(fr, 0.5) == 1000 and mt.onset_step(fr, 0.1) == 500
    assert mt.onset_step({250: 0.0, 500: 0.1}, 0.5) == math.inf
    with pytest.raises(ValueError, match="level"):
        mt.onset_step(fr, 0)


def test_memorized_share_along_training_counts_copies():
    import torch

    from gendiff import memorization_time as mt

    train = torch.rand(4, 1, 4, 4, generator=torch.Generator().manual_seed(0))

    class Copier(torch.nn.Module):                     # the empirical denoiser's σ → 0 limit, roughly
        def forward(self, y, sigma):
            d = torch.cdist(y.flatten(1), train.flatten(1))
            return train[d.argmin(1)]

    xT = 80 * torch.randn(6, 1, 4, 4, generator=torch.Generator().manual_seed(1))
    held = torch.rand(20, 1, 4, 4, generator=torch.Generator().manual_seed(2))
    fr = mt.along_training(lambda: Copier(), {}, Copier(), train, xT, held, final_step=10, sample_steps=4)
    assert fr["f_mem"] == {10: 1.0} and fr["fd"][10] > 0


def test_settle_step_reads_the_fall_of_the_distance():
    from gendiff import memorization_time as mt

    assert mt.settle_step({250: 10.0, 500: 2.0, 1000: 1.0, 1500: 1.1}, share=0.9) == 1000
    assert mt.settle_step({250: 10.0, 500: 1.5, 1000: 1.0}, share=0.8) == 500
    assert mt.settle_step({250: 1.0, 500: 2.0}) == 250          # never falls: settled at the first snapshot
    with pytest.raises(ValueError, match="share"):
        mt.settle_step({250: 1.0}, share=0)


def test_frechet_pca_is_zero_on_itself_and_sees_a_shift():
    import torch

    from gendiff.metrics import frechet_pca

    x = torch.randn(400, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    assert abs(frechet_pca(x, x, k=5)) < 1e-6
    shifted = frechet_pca(x + 1.0, x, k=16)               # all 16 coordinates: the shift's full norm², 16
    assert abs(shifted - 16.0) < 1e-4
    with pytest.raises(ValueError, match="reference"):
        frechet_pca(x, x[:5], k=10)

import numpy as np
import pytest
import torch

from gendiff import metrics, runtime


def test_psnr_and_input_psnr():
    x = torch.zeros(2, 1, 4, 4)
    assert metrics.psnr(x + 0.1, x).tolist() == pytest.approx([20.0, 20.0])
    assert metrics.input_psnr(0.1) == pytest.approx(20.0)


def test_cosine_centering_and_nearest():
    a = torch.rand(5, 1, 4, 4, generator=runtime.generator(0))
    torch.testing.assert_close(metrics.cosine(a, 2 * a + 3), torch.ones(5, dtype=torch.float64))
    train = torch.rand(30, 1, 4, 4, generator=runtime.generator(1))
    v, i = metrics.nearest_train(train[[4, 9]] * 0.5, train, chunk=7)
    assert i.tolist() == [4, 9] and torch.allclose(v, torch.ones(2, dtype=torch.float64))
    d, j = metrics.nearest_l2(train[[2]], train, chunk=4)
    assert j.item() == 2 and d.item() == 0


def test_fit_slope():
    x = np.linspace(0, 30, 7)
    assert metrics.fit_slope(x, 0.5 * x + 3, 0, 20) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        metrics.fit_slope(x, x, 100, 200)


def test_trend_ranks_and_change():
    assert metrics.trend([0.1, 0.5, 0.9]) == (1.0, pytest.approx(0.8))
    rho, ch = metrics.trend([0.99, 0.91, 0.8])
    assert rho == -1.0 and ch == pytest.approx(-0.19)
    rho, _ = metrics.trend([0.3, 0.2, 0.5, 0.6, 0.8, 0.9])          # one swap of neighbours among six
    assert 0.9 < rho < 1.0
    assert metrics.trend([1.0, 1.0]) == (0.0, 0.0)                  # flat: no trend
    with pytest.raises(ValueError, match="two finite"):
        metrics.trend([1.0])
    with pytest.raises(ValueError, match="two finite"):
        metrics.trend([1.0, float("nan")])

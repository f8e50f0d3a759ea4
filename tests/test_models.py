import pytest
import torch

from gendiff import models, runtime


@pytest.mark.parametrize("net", [models.BiasFreeUNet(1, 8, 2), models.BiasFreeCNN(1, 8, 5)])
def test_bias_free_nets_are_homogeneous(net):
    net.eval()
    y = torch.randn(2, 1, 16, 16, generator=runtime.generator(0))
    with torch.no_grad():
        torch.testing.assert_close(net(3.0 * y), 3.0 * net(y), rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(net(y), y - net.residual(y))


def test_bias_free_net_has_no_bias():
    net = models.BiasFreeUNet(1, 8, 3)
    assert not any(n.endswith("bias") for n, _ in net.named_parameters())


def test_unet_size_error():
    with pytest.raises(ValueError, match="divisible"):
        models.BiasFreeUNet(1, 4, 3)(torch.zeros(1, 1, 12, 12))


def test_paper_unet_parameter_count():
    n = sum(p.numel() for p in models.BiasFreeUNet().parameters())
    assert abs(n - 7_659_264) / 7_659_264 < 0.01      # paper: 7.66 M (ours differs by one 64-ch conv)


def test_edm_precond_limits():
    D = models.edm_unet(1, 8).eval()
    x = torch.randn(3, 1, 8, 8)
    with torch.no_grad():
        # output conv is zero-initialised: D = c_skip x; at tiny sigma c_skip -> 1
        torch.testing.assert_close(D(x, 1e-4), x, rtol=1e-5, atol=1e-5)
        assert D(x, torch.tensor([0.1, 1.0, 10.0])).shape == x.shape

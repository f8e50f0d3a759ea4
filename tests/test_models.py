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


def _official_unet_count(w: int, blocks: int, convs: int = 2) -> int:
    """Parameters of the official network.py UNet, counted from its layer list (3×3 convs, 2×2 transposed
    convs, one gain per channel of each BF batch norm; no biases)."""
    conv = lambda cin, cout, norm=True: 9 * cin * cout + (cout if norm else 0)
    ch = [w * 2**i for i in range(blocks + 1)]
    n = conv(1, w, norm=False) + (convs - 1) * conv(w, w)                       # encoder level 0
    n += sum(conv(ch[i - 1], ch[i]) + (convs - 1) * conv(ch[i], ch[i]) for i in range(1, blocks))
    n += conv(ch[blocks - 1], ch[blocks]) + (convs - 1) * conv(ch[blocks], ch[blocks])     # middle
    n += sum(4 * ch[i + 1] * ch[i] for i in range(blocks))                      # transposed convs
    n += sum(conv(2 * ch[i], ch[i]) + (convs - 1) * conv(ch[i], ch[i]) for i in range(1, blocks))
    n += conv(2 * w, w) + (convs - 2) * conv(w, w) + conv(w, 1, norm=False)     # last level: one conv fewer
    return n


@pytest.mark.parametrize("blocks, table1, exact", [(1, 0.36e6, 366_080), (2, 1.8e6, 1_825_024),
                                                   (3, 7.6e6, 7_659_264), (4, 31e6, 30_993_152)])
def test_paper_unet_parameter_count(blocks, table1, exact):
    """Width 64: the counts of the official architecture, within 2 % of the paper's Table 1 (which rounds
    down: 0.366 M is listed as 0.36 M, 7.66 M as 7.6 M)."""
    n = sum(p.numel() for p in models.BiasFreeUNet(1, 64, blocks).parameters())
    assert n == exact == _official_unet_count(64, blocks)
    assert abs(n - table1) / table1 < 0.02


def test_edm_precond_limits():
    D = models.edm_unet(1, 8).eval()
    x = torch.randn(3, 1, 8, 8)
    with torch.no_grad():
        # output conv is zero-initialised: D = c_skip x; at tiny sigma c_skip -> 1
        torch.testing.assert_close(D(x, 1e-4), x, rtol=1e-5, atol=1e-5)
        assert D(x, torch.tensor([0.1, 1.0, 10.0])).shape == x.shape

"""Bias-free denoisers of Kadkhodaie, Guth, Simoncelli & Mallat (ICLR 2024), after Mohan et al. (2020).

No additive constant anywhere (convolutions without bias, a batch norm that only divides by a running
standard deviation), so in eval mode the network is piecewise linear and *positively homogeneous*:
``f(a·y) = a·f(y)`` for a > 0, hence ``f(y) = J(y)·y`` with ``J = ∇f`` (paper §2, eq. 3). The
networks are trained to predict the residual ``r(y) ≈ y − x`` (``.residual``); ``forward`` returns the
denoised image ``y − r(y)``, the book's convention. ``sigma`` is accepted and ignored: these denoisers
are blind to the noise level.

Reimplementation of ``network.py`` (UNet, BF_CNN, BF_batchNorm) of LabForComputationalVision/
memorization_generalization_in_diffusion_models, with width and depth configurable.
"""
from __future__ import annotations

import torch
from torch import nn


class BFBatchNorm(nn.Module):
    """Bias-free batch norm: ``x / std_c · γ_c`` with no mean subtraction and no shift (paper code).

    In training the std is the batch's (per channel); in eval the running std (momentum 0.1), so eval
    mode is linear in x. γ starts ~N(0, (2/576)²) clipped to ±0.025, as in the official code.
    """

    def __init__(self, channels: int, momentum: float = 0.1, eps: float = 1e-5):
        super().__init__()
        self.momentum, self.eps = momentum, eps
        self.register_buffer("running_sd", torch.ones(1, channels, 1, 1))
        g = (torch.randn(1, channels, 1, 1) * (2.0 / 9.0 / 64.0)).clamp(-0.025, 0.025)
        self.gammas = nn.Parameter(g)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            sd = (x.var(dim=(0, 2, 3), keepdim=True, unbiased=False) + self.eps).sqrt()
            with torch.no_grad():
                self.running_sd.lerp_(sd.detach(), self.momentum)
        else:
            sd = self.running_sd
        return x / sd * self.gammas


def _conv(cin: int, cout: int) -> nn.Conv2d:
    conv = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
    nn.init.kaiming_normal_(conv.weight, mode="fan_in", nonlinearity="relu")
    return conv


def _block(cin: int, cout: int, convs: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(convs):
        layers += [_conv(cin if i == 0 else cout, cout), BFBatchNorm(cout), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


class _Denoiser(nn.Module):
    def residual(self, y: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, y: torch.Tensor, sigma=None) -> torch.Tensor:
        """Denoised image ``y − r(y)`` (``sigma`` ignored: the network is blind to the noise level)."""
        return y - self.residual(y)


class BiasFreeUNet(_Denoiser):
    """Bias-free UNet (paper App. A, Table 1), layer by layer as the official ``network.py``:

    * encoder level 0: conv(in → w) + ReLU (no norm), then ``convs − 1`` × [conv + BF norm + ReLU];
      level i ≥ 1: ``convs`` × [conv + BF norm + ReLU] from ``w·2^(i−1)`` to ``w·2^i`` channels;
      2×2 average pooling after each level;
    * middle: ``convs`` × [conv + BF norm + ReLU] to ``w·2^blocks`` channels;
    * decoder level i ≥ 1: transposed 2×2 conv (stride 2) halving the channels, concatenation with the
      skip, ``convs`` × [conv + BF norm + ReLU]; the **last** level (i = 0) has only ``convs − 1`` of them,
      followed by the output conv(w → in) with no norm and no ReLU.

    Every conv is 3×3 and bias-free. Parameter counts at ``width=64, convs=2`` (convs + norm gains):
    1 block 366,080, 2 blocks 1,825,024, 3 blocks 7,659,264, 4 blocks 30,993,152 (Table 1 of the paper:
    0.36 M, 1.8 M, 7.6 M, 31 M; its networks use ``blocks=3`` at 80×80). The book's ``ci`` network
    (``width=16, blocks=2``) has 114,496. The image side must be divisible by ``2**blocks``.
    """

    def __init__(self, in_ch: int = 1, width: int = 64, blocks: int = 3, convs: int = 2):
        super().__init__()
        self.in_ch, self.width, self.blocks, self.convs = in_ch, width, blocks, convs
        ch = [width * 2**i for i in range(blocks + 1)]
        first = [_conv(in_ch, ch[0]), nn.ReLU(inplace=True)]
        self.enc = nn.ModuleList([nn.Sequential(*first, *_block(ch[0], ch[0], convs - 1))])
        self.enc.extend(_block(ch[i - 1], ch[i], convs) for i in range(1, blocks))
        self.pool = nn.AvgPool2d(2)
        self.mid = _block(ch[blocks - 1], ch[blocks], convs)
        self.up = nn.ModuleList(nn.ConvTranspose2d(ch[i + 1], ch[i], 2, stride=2, bias=False)
                                for i in reversed(range(blocks)))
        # the last decoder level (i = 0) has one conv fewer: its last conv is the output conv (official code)
        self.dec = nn.ModuleList(_block(2 * ch[i], ch[i], convs if i else convs - 1) for i in reversed(range(blocks)))
        self.out = nn.Conv2d(ch[0], in_ch, 3, padding=1, bias=False)

    def residual(self, y: torch.Tensor) -> torch.Tensor:
        if y.shape[-1] % 2**self.blocks or y.shape[-2] % 2**self.blocks:
            raise ValueError(f"image size {tuple(y.shape[-2:])} must be divisible by 2**blocks = {2**self.blocks}")
        skips = []
        h = y
        for enc in self.enc:
            h = enc(h)
            skips.append(h)
            h = self.pool(h)
        h = self.mid(h)
        for up, dec in zip(self.up, self.dec):
            h = dec(torch.cat([up(h), skips.pop()], dim=1))
        return self.out(h)

    def extra_repr(self) -> str:
        return f"in_ch={self.in_ch}, width={self.width}, blocks={self.blocks}, convs={self.convs}"


class BiasFreeCNN(_Denoiser):
    """BF-CNN (Mohan et al. 2020): ``depth`` 3×3 conv layers of ``width`` channels, BF batch norm and
    ReLU between them, no biases. Paper: depth 21 (code default 20), width 64, ≈0.7 M parameters."""

    def __init__(self, in_ch: int = 1, width: int = 64, depth: int = 21):
        super().__init__()
        layers: list[nn.Module] = [_conv(in_ch, width), nn.ReLU(inplace=True)]
        for _ in range(depth - 2):
            layers += [_conv(width, width), BFBatchNorm(width), nn.ReLU(inplace=True)]
        layers.append(nn.Conv2d(width, in_ch, 3, padding=1, bias=False))
        self.net = nn.Sequential(*layers)
        self.in_ch, self.width, self.depth = in_ch, width, depth

    def residual(self, y: torch.Tensor) -> torch.Tensor:
        return self.net(y)

    def extra_repr(self) -> str:
        return f"in_ch={self.in_ch}, width={self.width}, depth={self.depth}"

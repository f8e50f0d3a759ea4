"""A small noise-conditioned UNet with EDM preconditioning (Karras et al. 2022), as used by Li, Dai & Qu
(NeurIPS 2024) through NVlabs/edm's ``EDMPrecond``.

``EDMPrecond`` implements the preconditioning table of EDM (Li et al. §2):

    c_skip = σ_d²/(σ² + σ_d²),  c_out = σ·σ_d/√(σ² + σ_d²),  c_in = 1/√(σ² + σ_d²),  c_noise = ln(σ)/4,
    D(x; σ) = c_skip·x + c_out·F(c_in·x; c_noise).

``SmallUNet`` is the raw network F: a 2-level UNet of residual blocks (GroupNorm, SiLU, 3×3 convs) with an
additive sinusoidal embedding of c_noise, its output convolution zero-initialised (a scaled-down
DDPM++/NCSN++; paper 3 uses SongUNet at 64×64 with ≈64 M parameters).
"""
from __future__ import annotations

import math

import torch
from torch import nn
import torch.nn.functional as F


def _gn(ch: int) -> nn.GroupNorm:
    return nn.GroupNorm(num_groups=min(8, ch) if ch % min(8, ch) == 0 else 1, num_channels=ch, eps=1e-6)


class _ResBlock(nn.Module):
    def __init__(self, cin: int, cout: int, emb: int):
        super().__init__()
        self.norm0, self.conv0 = _gn(cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.affine = nn.Linear(emb, cout)
        self.norm1, self.conv1 = _gn(cout), nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x, emb):
        h = self.conv0(F.silu(self.norm0(x)))
        h = h + self.affine(emb)[:, :, None, None]
        h = self.conv1(F.silu(self.norm1(h)))
        return (h + self.skip(x)) / math.sqrt(2)


class SmallUNet(nn.Module):
    """F(x, c_noise): levels of ``channel_mult`` (one residual block each, 2× down/up-sampling), a middle
    block, skip concatenation, zero-initialised output conv.

    ``model_channels`` is the paper's "scale"/width c (Li et al. sweep c ∈ {4, …, 128}).
    """

    def __init__(self, img_channels: int = 1, model_channels: int = 16, channel_mult: tuple[int, ...] = (1, 2),
                 emb_dim: int | None = None):
        super().__init__()
        c = model_channels
        self.img_channels, self.model_channels, self.channel_mult = img_channels, c, tuple(channel_mult)
        emb = emb_dim or 4 * c
        self.freqs = nn.Parameter(torch.exp(-math.log(1e4) * torch.arange(c // 2 or 1) / max(1, c // 2)),
                                  requires_grad=False)
        self.emb = nn.Sequential(nn.Linear(2 * (c // 2 or 1), emb), nn.SiLU(), nn.Linear(emb, emb))
        chs = [c * m for m in channel_mult]
        self.inp = nn.Conv2d(img_channels, chs[0], 3, padding=1)
        self.down = nn.ModuleList()
        prev = chs[0]
        for ch in chs:
            self.down.append(_ResBlock(prev, ch, emb))
            prev = ch
        self.mid = _ResBlock(prev, prev, emb)
        self.up = nn.ModuleList()
        for ch in reversed(chs):
            self.up.append(_ResBlock(prev + ch, ch, emb))
            prev = ch
        self.out_norm = _gn(prev)
        self.out = nn.Conv2d(prev, img_channels, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor, c_noise: torch.Tensor) -> torch.Tensor:
        ang = c_noise.float()[:, None] * self.freqs[None, :] * 1000 / (2 * math.pi)
        emb = self.emb(torch.cat([ang.cos(), ang.sin()], dim=1))
        h = self.inp(x)
        skips = []
        for i, blk in enumerate(self.down):
            if i > 0:
                h = F.avg_pool2d(h, 2)
            h = blk(h, emb)
            skips.append(h)
        h = self.mid(h, emb)
        for i, blk in enumerate(self.up):
            if i > 0:
                h = F.interpolate(h, scale_factor=2, mode="nearest")
            h = blk(torch.cat([h, skips.pop()], dim=1), emb)
        return self.out(F.silu(self.out_norm(h)))

    def extra_repr(self) -> str:
        return f"img_channels={self.img_channels}, model_channels={self.model_channels}, channel_mult={self.channel_mult}"


class EDMPrecond(nn.Module):
    """D(x; σ) = c_skip(σ)·x + c_out(σ)·F(c_in(σ)·x; ln(σ)/4) (EDM Table 1; Li et al. §2)."""

    def __init__(self, net: nn.Module, sigma_data: float = 0.5):
        super().__init__()
        self.net, self.sigma_data = net, sigma_data

    def forward(self, x: torch.Tensor, sigma) -> torch.Tensor:
        sigma = torch.as_tensor(sigma, dtype=torch.float32, device=x.device).reshape(-1)
        if sigma.numel() == 1:
            sigma = sigma.expand(x.shape[0])
        s = sigma.view(-1, *([1] * (x.dim() - 1)))
        sd = self.sigma_data
        c_skip = sd**2 / (s**2 + sd**2)
        c_out = s * sd / (s**2 + sd**2).sqrt()
        c_in = 1 / (s**2 + sd**2).sqrt()
        net_dtype = next(self.net.parameters()).dtype
        F_x = self.net((c_in * x).to(net_dtype), (sigma.log() / 4).to(net_dtype))
        return c_skip * x + c_out * F_x.to(x.dtype)


class SmallMLP(nn.Module):
    """F(x, c_noise) for vectors ``(B, n)``: an MLP of ``depth`` SiLU layers of ``width`` on [x, 16 Fourier
    features of c_noise]. With :class:`EDMPrecond` it is the book's denoiser for low-dimensional data
    (MoLRG, flattened digits; Wang et al. use a UNet on images)."""

    def __init__(self, n: int, width: int = 256, depth: int = 3):
        super().__init__()
        self.n, self.width, self.depth = n, width, depth
        self.register_buffer("freqs", torch.arange(1, 9, dtype=torch.float32) * math.pi / 2)
        layers, w_in = [], n + 16
        for _ in range(depth):
            layers += [nn.Linear(w_in, width), nn.SiLU()]
            w_in = width
        layers.append(nn.Linear(width, n))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, c_noise: torch.Tensor) -> torch.Tensor:
        f = c_noise.reshape(-1, 1) * self.freqs.to(x.dtype)
        return self.net(torch.cat([x, torch.sin(f), torch.cos(f)], -1))

    def extra_repr(self) -> str:
        return f"n={self.n}, width={self.width}, depth={self.depth}"


def mlp_denoiser(n: int, width: int = 256, depth: int = 3, sigma_data: float = 0.5) -> EDMPrecond:
    """``EDMPrecond(SmallMLP(...))``: an EDM-preconditioned MLP denoiser for vectors (B, n)."""
    return EDMPrecond(SmallMLP(n, width, depth), sigma_data)


def edm_unet(img_channels: int = 1, model_channels: int = 16, channel_mult=(1, 2), sigma_data: float = 0.5) -> EDMPrecond:
    """``EDMPrecond(SmallUNet(...))``: the noise-conditioned denoiser of paper 3."""
    return EDMPrecond(SmallUNet(img_channels, model_channels, tuple(channel_mult)), sigma_data)

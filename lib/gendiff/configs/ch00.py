"""Background chapter: denoisers, scores and generalization (chapters/00-denoisers-and-generalization.md)."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .. import data, models, sampling, train


@dataclass(frozen=True)
class Ch00Config:
    mc_samples: int          # Monte-Carlo prior draws for the posterior-mean checks
    n_train: int             # digits the small network and the empirical denoiser see
    width: int               # bias-free UNet width (paper: 64)
    steps: int               # training steps of the small network
    batch_size: int
    n_samples: int           # samples drawn from the empirical denoiser
    sampler_steps: int       # EDM Heun steps
    seeds: int = 3           # training seeds of the small network (the claim on it is judged on all of them)


PROFILES = {
    "ci": Ch00Config(mc_samples=200_000, n_train=1000, width=16, steps=800, batch_size=64, n_samples=32,
                     sampler_steps=18),
    # one GPU in ≤ 5 minutes (benchmarks/full_profile.py --profile gpu): the paper's width 64
    "gpu": Ch00Config(mc_samples=1_000_000, n_train=1497, width=64, steps=4000, batch_size=128,
                      n_samples=128, sampler_steps=40),
    "full": Ch00Config(mc_samples=2_000_000, n_train=1497, width=64, steps=20_000, batch_size=256,
                       n_samples=256, sampler_steps=40),
}


def network(cfg: Ch00Config) -> torch.nn.Module:
    """The chapter's small denoiser: a bias-free UNet with 2 levels (digits are 8×8)."""
    return models.BiasFreeUNet(in_ch=1, width=cfg.width, blocks=2)


def train_config(cfg: Ch00Config, steps: int | None = None, seed: int = 0) -> train.DenoiserTrainConfig:
    """Training of the small network; ``seed`` 0 is the chapter's main run, 1.. measure the seed spread."""
    return train.DenoiserTrainConfig(fit=train.FitConfig(steps=steps or cfg.steps, lr=2e-3, seed=seed),
                                     noise=train.NoiseLaw("quadratic", sigma_max=1.0),
                                     batch_size=cfg.batch_size)


def smoke_full(profile: str = "full") -> None:
    cfg = PROFILES[profile]
    x, _ = data.digits()
    x = x[: cfg.n_train]
    net = network(cfg)
    res = train.train_denoiser(net, x, train_config(cfg, steps=1), progress=False)
    from ..denoisers import EmpiricalDenoiser
    out = sampling.edm_sample(EmpiricalDenoiser(x), 80 * torch.randn(2, 1, 8, 8), num_steps=2)
    assert out.x.shape == (2, 1, 8, 8) and res.model(x[:2]).shape == (2, 1, 8, 8)

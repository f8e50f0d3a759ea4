"""Synthesis chapter: four theories tested on chapter 1's digit networks (chapters/05-synthesis.md).

The networks are chapter 1's bias-free UNets on the MNIST digits (``configs.ch01``): the same jobs, so they load
from the checkpoint cache when chapter 1 has run (the book runs chapters in order) and nothing is trained twice.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .. import data, predictors, runtime, synthesis, train
from . import ch01


@dataclass(frozen=True)
class Ch5Config:
    sizes: tuple[int, ...]        # training-set sizes N of chapter 1's digit models compared (group A)
    sigmas: tuple[float, ...]     # noise levels of the comparison (pixel values in [0, 1])
    n_test: int                   # held-out digits (the last of half B: no group-A model saw them)
    k: int                        # components of the low-rank mixture (10: the digit classes, found unlabelled)
    energy: float                 # its dimension rule: share of a k-means cluster's variance kept (median)
    patch: int                    # side of the local patch machine's receptive field
    patch_sizes: tuple[int, ...]  # N at which the (costly) patch machine is built
    sample_sizes: tuple[int, ...] # N at which samples are compared
    n_samples: int
    onset_samples: int = 64       # samples per snapshot for the memorized share f_mem (Bonnaire et al.)
    onset_level: float = 0.5      # f_mem at which memorization counts as started: most samples are copies

    def __post_init__(self):
        if not set(self.patch_sizes) <= set(self.sizes) or not set(self.sample_sizes) <= set(self.sizes):
            raise ValueError("patch_sizes and sample_sizes must be among sizes")


PROFILES = {
    "ci": Ch5Config(sizes=(1, 10, 30, 100, 300, 2500), sigmas=(0.05, 0.1, 0.2, 0.4, 0.8), n_test=12, k=10,
                    energy=0.9, patch=5, patch_sizes=(10, 300), sample_sizes=(10, 300), n_samples=8),
    # one GPU (chapter 1's gpu digit networks, 32 px): every size of chapter 1, the patch machine at three
    "gpu": Ch5Config(sizes=(1, 10, 30, 100, 300, 1000, 2500), sigmas=(0.02, 0.05, 0.1, 0.2, 0.4, 0.8),
                     n_test=32, k=10, energy=0.9, patch=5, patch_sizes=(10, 100, 300),
                     sample_sizes=(10, 300, 2500), n_samples=16),
    "full": Ch5Config(sizes=(1, 10, 30, 100, 300, 1000, 2500), sigmas=(0.02, 0.05, 0.1, 0.2, 0.4, 0.8), n_test=64,
                      k=10, energy=0.9, patch=7, patch_sizes=(1, 10, 30, 100, 300, 1000, 2500),
                      sample_sizes=(10, 100, 2500), n_samples=32),
}


def digit_halves(cfg1: ch01.Ch1Config) -> dict[str, torch.Tensor]:
    """Chapter 1's disjoint, class-balanced halves A and B of the digits (the same split, seed 20)."""
    digits, labels = data.mnist(cfg1.digit_size)
    ia, ib = data.balanced_halves(labels, generator=runtime.generator(20))
    return {"A": digits[ia], "B": digits[ib]}


def seeds_at(cfg1: ch01.Ch1Config, n: int) -> range:
    """Seed pairs chapter 1 trains at size ``n`` (several around the crossing, one elsewhere)."""
    return range(cfg1.digit_seeds if n in cfg1.digit_multi else 1)


def digit_job(cfg1: ch01.Ch1Config, halves: dict, n: int, group: str, pair: int) -> train.Job:
    """Chapter 1's job for group ``group`` of size ``n`` and seed pair ``pair`` (model A: seed 2k, B: 2k + 1)."""
    seed = 2 * pair + (group == "B")
    return ch01.job(cfg1, halves[group][:n], f"digits{cfg1.digit_size}-N{n}-{group}-s{seed}",
                    steps=cfg1.digit_steps, weight=cfg1.weight, seed=seed)


def network_denoiser(model: torch.nn.Module):
    """A bias-free UNet as ``D(y, σ)``: it ignores σ (it is trained blind over σ ∈ [0, 1])."""
    dev = next(model.parameters()).device

    @torch.no_grad()
    def D(y, sigma=None):
        return model(y.to(dev)).cpu()
    return D


def predictors_for(cfg: Ch5Config, x_train: torch.Tensor, n: int) -> dict:
    """The theories' denoisers built from one training set (the patch machine only at ``cfg.patch_sizes``)."""
    out = {"empirical": predictors.empirical(x_train), "Gaussian": predictors.gaussian(x_train),
           "low-rank mixture": predictors.LowRankMixture(x_train, k=min(cfg.k, len(x_train)), energy=cfg.energy),
           "DCT shrinkage": predictors.dct_shrinkage(x_train)}
    if n in cfg.patch_sizes:
        out[f"patch machine {cfg.patch}×{cfg.patch}"] = predictors.LocalPatchMachine(x_train, patch=cfg.patch)
    return out


def smoke_full(profile: str = "full") -> None:
    """The ``full`` comparison at full size, one step: every predictor of the largest N on one noisy digit,
    one r² against a freshly built (untrained) network of chapter 1's ``full`` architecture."""
    cfg, cfg1 = PROFILES[profile], ch01.PROFILES[profile]
    halves = digit_halves(cfg1)
    x = halves["A"][:max(cfg.sizes)]
    net = network_denoiser(ch01.network(cfg1)().eval())
    preds = predictors_for(cfg, x[:64], max(cfg.patch_sizes))        # 64 images: seconds, same code path
    res = synthesis.explained(net, preds, halves["B"][-1:], cfg.sigmas[-1:])
    assert set(res["r2"]) == set(preds)

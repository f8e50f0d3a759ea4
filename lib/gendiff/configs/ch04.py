"""Chapter 4 (MoLRG / subspace clustering): both profiles side by side, and the full-size smoke test."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..molrg import DAETrainConfig


@dataclass(frozen=True)
class Ch4Config:
    n: int                                  # ambient dimension (paper: 4×4×3 = 48)
    # §1 exact denoiser vs Monte Carlo
    mc_draws: int                           # prior draws of the importance sampler (spec: 1e5)
    mc_points: int                          # test points per σ
    n_samples: int                          # samples drawn with the exact score
    # §3 phase transitions
    pca_d: tuple[int, ...]                  # d grid of the closed-form heatmaps
    pca_N: tuple[int, ...]                  # N (per component) grid of the closed-form heatmaps
    pca_trials: int
    km_d: tuple[int, ...]                   # d grid of the K = 2 closed-form heatmaps
    km_restarts: int                        # random-init K-subspaces restarts
    dae_d: tuple[int, ...]                  # d values of the trained K = 1 low-rank DAE sweep
    dae_trials: int
    dae: DAETrainConfig                     # training of the low-rank DAE (K = 1)
    dae2_d: int                             # d of the trained K = 2 sweep
    dae2_N: tuple[int, ...]                 # N_k values of the trained K = 2 sweep
    dae2_trials: int
    dae2: DAETrainConfig                    # K = 2 (with restarts)
    dae_wide_d: tuple[int, ...]             # d values of the K = 1 sweep trained over the sampler's whole σ range
    dae_wide: DAETrainConfig                # that recipe: σ log-uniform on [0.002, 80] (EDM's range)
    noisy_d: int
    noisy_eta: float
    noisy_N: tuple[int, ...]
    noisy_trials: int
    # §4 Jacobian rank
    jac_K: int                              # paper (inferred): n = 48, K = 2, d = 6
    jac_d: int
    jac_points: int
    jac_seeds: int                          # training seeds of the §4 low-rank DAE and MLP (spread measured)
    jac_sigmas: tuple[float, ...]           # σ = 1/SNR
    mlp_width: int
    mlp_steps: int                          # MoLRG MLP training steps
    mlp_Nk_per_d: int                       # training samples per component, as a multiple of d
    digits_steps: int
    digits_sigma_data: tuple[float, float]  # EDM σ_data of the digits MLPs: the paper's 0.5 (claim), a small one
    # §5 generalization vs N_k/d: the book's EDM U-Net on MoLRG images (K = 2, side × side pixels)
    gl_side: int                            # image side; n = side² (paper's official run: 4×4×3 = 48)
    gl_d: tuple[int, ...]
    gl_ratios: tuple[int, ...]              # N_k / d
    gl_steps: int
    gl_channels: int                        # U-Net base channels
    gl_batch: int                           # batch size (at most 4·N for the smallest sets)
    gl_samples: int
    # §6 editing
    edit_d: int                             # class-subspace dimension on digits
    edit_sigmas: tuple[float, ...]
    edit_points: int
    seed: int = 0
    workers: int = 1                        # sweeps: jobs at a time on gendiff.executors.map_jobs (BOOK_EXECUTOR)


_SIGMAS = (0.002, 0.008, 0.02, 0.1, 0.6, 1.1, 3.3, 8.3, 12.5, 25.0, 50.0, 100.0)  # 1/SNR read off the paper

PROFILES = {
    "ci": Ch4Config(
        n=48, mc_draws=1_000_000, mc_points=8, n_samples=500,
        pca_d=tuple(range(1, 13)), pca_N=tuple(range(1, 25)), pca_trials=10,
        km_d=tuple(range(1, 9)), km_restarts=10,
        dae_d=(2, 4, 6, 8), dae_trials=8,
        dae=DAETrainConfig(steps=400, lr=0.05, draws=8, sigma_min=0.02, sigma_max=0.2, lr_final=0.003),
        dae2_d=4, dae2_N=(2, 3, 4, 6, 8), dae2_trials=10,
        dae2=DAETrainConfig(steps=400, lr=0.05, draws=4, sigma_min=0.02, sigma_max=0.2, lr_final=0.003,
                            restarts=16),
        dae_wide_d=(4, 8),
        dae_wide=DAETrainConfig(steps=400, lr=0.05, draws=8, sigma_min=0.002, sigma_max=80.0, lr_final=0.003),
        noisy_d=4, noisy_eta=0.1, noisy_N=(8, 16, 32, 64, 128, 256, 512, 1024), noisy_trials=20,
        jac_K=2, jac_d=6, jac_points=20, jac_seeds=3, jac_sigmas=_SIGMAS,
        mlp_width=256, mlp_steps=3000, mlp_Nk_per_d=64, digits_steps=2000, digits_sigma_data=(0.5, 0.1),
        gl_side=8, gl_d=(2, 4, 8), gl_ratios=(1, 2, 4), gl_steps=1000, gl_channels=8, gl_batch=64,
        gl_samples=200,
        edit_d=5, edit_sigmas=(0.3, 1.0), edit_points=20,
    ),
    # one GPU in ≤ 5 minutes (benchmarks/full_profile.py --profile gpu): the full MLP width, more d, N, seeds
    "gpu": Ch4Config(
        n=48, mc_draws=2_000_000, mc_points=16, n_samples=2000,
        pca_d=tuple(range(1, 13)), pca_N=tuple(range(1, 25)), pca_trials=20,
        km_d=tuple(range(1, 9)), km_restarts=10,
        dae_d=(2, 4, 6, 8, 10), dae_trials=16,
        dae=DAETrainConfig(steps=800, lr=0.05, draws=8, sigma_min=0.02, sigma_max=0.2, lr_final=0.003),
        dae2_d=4, dae2_N=(2, 3, 4, 6, 8), dae2_trials=16,
        dae2=DAETrainConfig(steps=800, lr=0.05, draws=4, sigma_min=0.02, sigma_max=0.2, lr_final=0.003,
                            restarts=16),
        dae_wide_d=(4, 8),
        dae_wide=DAETrainConfig(steps=800, lr=0.05, draws=8, sigma_min=0.002, sigma_max=80.0, lr_final=0.003),
        noisy_d=4, noisy_eta=0.1, noisy_N=(8, 16, 32, 64, 128, 256, 512, 1024), noisy_trials=50,
        jac_K=2, jac_d=6, jac_points=50, jac_seeds=3, jac_sigmas=_SIGMAS,
        mlp_width=1024, mlp_steps=6000, mlp_Nk_per_d=64, digits_steps=4000, digits_sigma_data=(0.5, 0.1),
        gl_side=8, gl_d=(2, 4, 6, 8), gl_ratios=(1, 4, 16, 64), gl_steps=8000, gl_channels=32,
        gl_batch=256, gl_samples=500,
        edit_d=5, edit_sigmas=(0.3, 1.0), edit_points=50,
    ),
    "full": Ch4Config(
        n=48, mc_draws=4_000_000, mc_points=32, n_samples=4000,
        pca_d=tuple(range(1, 25)), pca_N=tuple(range(1, 49)), pca_trials=50,
        km_d=tuple(range(1, 13)), km_restarts=20,
        dae_d=(2, 4, 6, 8, 10, 12), dae_trials=32,
        dae=DAETrainConfig(steps=2000, lr=0.05, draws=16, sigma_min=0.02, sigma_max=0.2, lr_final=0.003),
        dae2_d=6, dae2_N=(2, 4, 5, 6, 7, 8, 9, 12, 18), dae2_trials=32,
        dae2=DAETrainConfig(steps=2000, lr=0.05, draws=8, sigma_min=0.02, sigma_max=0.2, lr_final=0.003,
                            restarts=32),
        dae_wide_d=(4, 8, 12),
        dae_wide=DAETrainConfig(steps=2000, lr=0.05, draws=16, sigma_min=0.002, sigma_max=80.0, lr_final=0.003),
        noisy_d=6, noisy_eta=0.1, noisy_N=(12, 24, 48, 96, 192, 384, 768, 1536, 3072), noisy_trials=100,
        jac_K=2, jac_d=6, jac_points=100, jac_seeds=3, jac_sigmas=_SIGMAS,
        mlp_width=1024, mlp_steps=20_000, mlp_Nk_per_d=64, digits_steps=20_000, digits_sigma_data=(0.5, 0.1),
        gl_side=8, gl_d=(2, 4, 6, 8), gl_ratios=(1, 2, 4, 8, 16, 32, 64, 128), gl_steps=20_000,
        gl_channels=64, gl_batch=256, gl_samples=1000,
        edit_d=5, edit_sigmas=(0.3, 0.6, 1.0), edit_points=100,
    ),
}


def smoke_full(profile: str = "full") -> dict:
    """Build the ``profile`` config's models and data at full size; one training step and one analysis step each.

    Runs on the CPU in seconds, so the ``full`` profile cannot rot unseen on machines without a GPU.
    """
    import torch

    from .. import data as _data, molrg as M, runtime, sampling
    from .. import train as T

    cfg = PROFILES[profile]
    g = runtime.generator(0)
    out = {}
    # low-rank DAE sweeps: the largest cell of each, one step
    d = max(cfg.dae_d)
    out["dae_K1"] = M.sweep_dae(cfg.n, 1, d, [max(cfg.pca_N)], 2, replace(cfg.dae, steps=1), seed=0)["err"].shape
    out["dae_K2"] = M.sweep_dae(cfg.n, 2, cfg.dae2_d, [max(cfg.dae2_N)], 1, replace(cfg.dae2, steps=1),
                                seed=0)["err"].shape
    # closed-form solvers at the largest grid cell
    out["pca"] = M.sweep_closed_form(cfg.n, 1, [max(cfg.pca_d)], [max(cfg.pca_N)], cfg.pca_trials, seed=0).shape
    out["km"] = M.sweep_closed_form(cfg.n, 2, [max(cfg.km_d)], [max(cfg.pca_N)], 2, seed=0, init="random",
                                    restarts=cfg.km_restarts).shape
    # MLP denoisers (MoLRG, digits, GL): one step, then one Jacobian / one sampler step
    U = M.random_bases(cfg.n, cfg.jac_K, cfg.jac_d, generator=g)
    x, _ = M.sample_molrg(U, cfg.mlp_Nk_per_d * cfg.jac_d, generator=g)
    digits = _data.digits(scale="pm1")[0].flatten(1)
    for name, data, width in [("mlp", x.float(), cfg.mlp_width), ("digits", digits, cfg.mlp_width)]:
        net = M.MLPDenoiser(data.shape[1], width=width)
        tc = T.DenoiserTrainConfig(fit=T.FitConfig(steps=1), noise=T.NoiseLaw("edm"), weight="edm")
        net = T.train_denoiser(net, data, tc, progress=False).model
        J = M.jacobians(net, data[:2], 1.0)
        out[name] = tuple(J.shape)
        sampling.edm_sample(net, torch.randn(4, data.shape[1], generator=g), num_steps=2).x
    # the §5 U-Net on MoLRG images at the largest d and ratio: one step, one sampler step, the score
    from ..models.edm import edm_unet
    from ..molrg_nets import gl_data

    x, U = gl_data(cfg.gl_side, max(cfg.gl_d), max(cfg.gl_ratios), generator=g)
    net = edm_unet(1, cfg.gl_channels, (1, 2))
    tc = T.DenoiserTrainConfig(fit=T.FitConfig(steps=1), noise=T.NoiseLaw("edm"), weight="edm",
                               batch_size=cfg.gl_batch)
    net = T.train_denoiser(net, x, tc, progress=False).model
    s = sampling.edm_sample(net, torch.randn(4, *x.shape[1:], generator=g), num_steps=2).x
    out["gl"] = M.gl_score_molrg(s.flatten(1), x.flatten(1), U.float())["gl"]
    return out

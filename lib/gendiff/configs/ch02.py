"""Chapter 2 (Zeno et al. 2023, min-norm shallow denoisers): both profiles side by side.

``ci`` is sized for ≤ 4 minutes on 2 CPU cores (all nets of one experiment train as one batched module);
``full`` uses more samples, wider nets, more seeds and longer training (a GPU helps, a CPU works).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from ..minnorm import MinNormTrainConfig


@dataclass(frozen=True)
class Ch2Config:
    seeds: int                       # 1D: independent nets per mode (trained as groups of one module)
    one_d: MinNormTrainConfig        # 1D, N = 5 points; offline with the ±ρ endpoints among the M samples
    tri: MinNormTrainConfig          # triangles, subspace (plane, line) and ray data in ℝ^3, offline
    digits: MinNormTrainConfig       # sklearn digits {0,1,2,3}, online vs a fixed set of M < d samples
    gen_sets: int                    # training sets for the generalisation sweep
    gen_test: int                    # test points per training set
    gen_sigmas: tuple[float, ...]    # σ values of the sweep (must include 0.003, 0.01, 0.1)
    grid_1d: int                     # points of the 1D evaluation grid on [−2.6, 2.6]
    grid_2d: int                     # points per axis of the 2D grid on [−1.6, 1.6]²
    tri_seeds: int = 3               # nets per triangle, subspace and ray example (claims: median, ≥ 3)
    digit_seeds: int = 3             # online digit nets (the span-energy claim: median of ≥ 3 seeds)
    width_sweep: tuple[int, ...] = (128,)      # 1D: other widths K (besides one_d.K) for the minimality check
    width_seeds: int = 3             # nets per width in that sweep
    gen_train_sets: int = 8          # trained generalisation: random training sets (one net each) per σ
    gen_train_sigmas: tuple[float, ...] = (0.003, 0.01, 0.1)   # σ of the trained sweep (0.003, 0.01: the claim)
    workers: int = 1                 # sweeps: jobs at a time on gendiff.executors.map_jobs (BOOK_EXECUTOR)

    REQUIRED_SIGMAS = (0.003, 0.01, 0.1)    # the σ at which the chapter's generalisation checks are stated

    def __post_init__(self):
        missing = [s for s in self.REQUIRED_SIGMAS if not any(abs(g - s) <= 1e-12 for g in self.gen_sigmas)]
        if missing:
            raise ValueError(f"gen_sigmas {self.gen_sigmas} must include {self.REQUIRED_SIGMAS}: the chapter checks "
                             f"the eMMSE/NN ratio at these σ; missing {missing}")
        if not all(any(abs(g - s) <= 1e-12 for g in self.gen_train_sigmas) for s in (0.003, 0.01)):
            raise ValueError(f"gen_train_sigmas {self.gen_train_sigmas} must include 0.003 and 0.01: the chapter's "
                             "trained generalisation claim is stated there")
        if any(not s > 0 for s in self.gen_sigmas):
            raise ValueError(f"every σ in gen_sigmas must be > 0, got {self.gen_sigmas}")


PROFILES = {
    "ci": Ch2Config(
        seeds=4,
        one_d=MinNormTrainConfig(K=64, M=20, rho=0.1, lam=3e-5, steps=15_000, lr=1e-2, endpoints=True,
                                 init_bias="data"),
        tri=MinNormTrainConfig(K=128, M=30, rho=0.1, lam=3e-5, steps=20_000, lr=1e-2, init_bias="data"),
        digits=MinNormTrainConfig(K=128, M=50, rho=0.5, lam=1e-5, steps=20_000, lr=1e-2, init_bias="normal"),
        gen_sets=50, gen_test=2000, gen_sigmas=(0.001, 0.003, 0.01, 0.03, 0.1),
        grid_1d=10_000, grid_2d=161,
    ),
    # one GPU in ≤ 5 minutes (benchmarks/full_profile.py --profile gpu): full widths and grids, ci's steps
    "gpu": Ch2Config(
        seeds=8,
        one_d=MinNormTrainConfig(K=128, M=50, rho=0.1, lam=3e-5, steps=15_000, lr=1e-2, endpoints=True,
                                 init_bias="data"),
        tri=MinNormTrainConfig(K=256, M=50, rho=0.1, lam=3e-5, steps=20_000, lr=1e-2, init_bias="data"),
        digits=MinNormTrainConfig(K=256, M=50, rho=0.5, lam=1e-5, steps=20_000, lr=1e-2, init_bias="normal"),
        gen_sets=200, gen_test=5000,
        gen_sigmas=(0.001, 0.002, 0.003, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2),
        grid_1d=20_000, grid_2d=321, tri_seeds=4, digit_seeds=4, gen_train_sets=16,
        width_sweep=(32, 256), width_seeds=4,
    ),
    "full": Ch2Config(
        seeds=8,
        one_d=MinNormTrainConfig(K=128, M=100, rho=0.1, lam=3e-5, steps=50_000, lr=1e-2, endpoints=True,
                                 init_bias="data"),
        tri=MinNormTrainConfig(K=256, M=100, rho=0.1, lam=3e-5, steps=100_000, lr=1e-2, init_bias="data"),
        digits=MinNormTrainConfig(K=256, M=50, rho=0.5, lam=1e-5, steps=60_000, lr=1e-2, init_bias="normal"),
        gen_sets=500, gen_test=10_000,
        gen_sigmas=(0.001, 0.002, 0.003, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2),
        grid_1d=20_000, grid_2d=321, tri_seeds=8, digit_seeds=4, gen_train_sets=32,
        width_sweep=(32, 64, 256), width_seeds=4,
    ),
}


def smoke_full(profile: str = "full") -> dict:
    """Build the ``profile`` config's models and data at full size and run one step of each on the CPU."""
    import numpy as np
    import torch

    from .. import minnorm as mm

    cfg = PROFILES[profile]
    out = {}
    x = np.array([-2, -0.9, 0, 1.2, 2.0])
    X1 = torch.tensor(np.stack([x] * (2 * cfg.seeds))[:, :, None], dtype=torch.float32)
    tri = np.stack([np.array([[0, 0], [1, 0], [-0.5, 0.8]]), mm.equilateral_triangle()] * cfg.tri_seeds)
    dig = np.stack([mm.digits_simplex()] * (cfg.digit_seeds + 1))
    for name, X, c, online in [("1d", X1, cfg.one_d, [False] * cfg.seeds + [True] * cfg.seeds),
                               ("tri", tri, cfg.tri, [False] * (2 * cfg.tri_seeds)),
                               ("digits", dig, cfg.digits, [True] * cfg.digit_seeds + [False])]:
        net, info = mm.train_minnorm(torch.as_tensor(X, dtype=torch.float32), online, replace(c, steps=1),
                                     name=f"ch02-smoke-{name}", cache=False, progress=False)
        out[name] = info["path_cost"]
    r = mm.mse_generalization(cfg.gen_sigmas[:1], n_sets=2, n_test=cfg.gen_test)
    out["gen"] = r["nn"]
    from ..minnorm_gen import trained_generalization
    g = trained_generalization(cfg.gen_train_sigmas, replace(cfg.one_d, steps=1), n_sets=2, n_test=cfg.gen_test,
                               cache=False)
    out["gen_trained"] = g["trained"]
    return out

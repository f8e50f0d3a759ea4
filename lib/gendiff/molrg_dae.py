"""MoLRG, the low-rank DAE (eq. ch04-lowrank) and its training by the diffusion loss, batched over trials.

Chapter 4 §3–4. Projected Adam on the Stiefel manifold: the QR retraction runs outside autograd (never
backpropagate through QR). Re-exported by :mod:`gendiff.molrg`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

import torch
from torch import nn

from . import executors, runtime
from . import train as _train
from .molrg_exact import posterior_mean, random_bases, sample_molrg
from .molrg_solvers import single_subspace_distance, subspace_distance


# ----------------------------------------------------------------------------------------------------
# the low-rank DAE and its training (projected Adam; no backpropagation through QR)
# ----------------------------------------------------------------------------------------------------


class LowRankDAE(nn.Module):
    """The MoLRG-form DAE with learnable bases, eq. (ch04-lowrank), for ``trials`` independent models.

    x_θ(y, σ) = Σ_k w_k(y; θ) · 1/(1+σ²) · U_kU_kᵀ y,  w = softmax_k(‖U_kᵀy‖²/(2σ²(1+σ²))),
    θ = {U_k ∈ O^{n×d}}: U_kᵀ is an encoder, U_k a decoder and the softmax a gate. Parameter ``U``:
    ``(trials, K, n, d)``; inputs ``y`` ``(trials, B, n)``. Orthonormality is restored by
    :meth:`retract_` (a QR *outside* the autograd graph) before every step: the forward pass uses U as is.
    """

    def __init__(self, n: int, K: int, d: int, *, trials: int = 1, generator: torch.Generator,
                 dtype=torch.float32, hard: bool = False):
        super().__init__()
        U0 = random_bases(n, K, d, generator=generator, trials=trials, orthogonal=False)
        self.U = nn.Parameter(U0.to(dtype))
        self.hard = hard

    def forward(self, y: torch.Tensor, sigma) -> torch.Tensor:
        return posterior_mean(self.U, y, sigma, hard=self.hard)

    @torch.no_grad()
    def retract_(self) -> None:
        """U ← qf(U): the QR retraction onto the Stiefel manifold, applied in place, outside autograd."""
        self.U.copy_(torch.linalg.qr(self.U.double()).Q.to(self.U.dtype))

    def bases(self) -> torch.Tensor:
        self.retract_()
        return self.U.detach().double()


@dataclass(frozen=True)
class DAETrainConfig:
    """Training of the low-rank DAE (ours; the paper's recipe was not released).

    The defaults are the recipe Chapter 4 uses (σ log-uniform on [0.02, 0.2], lr 0.05). Thm 1 gives every σ
    weighting the same minimiser in expectation, but the gradient noise grows ∝ σ² while the signal weight
    2a − a² falls; Chapter 4 §3 measures the same training over the sampler's whole σ range beside it.
    """

    steps: int = 600
    lr: float = 0.05
    draws: int = 4                 # noise draws per training point and step
    sigma_min: float = 0.02        # σ ~ log-uniform [sigma_min, sigma_max]
    sigma_max: float = 0.2
    lr_final: float = 0.003        # cosine schedule end, as a fraction of lr
    restarts: int = 1              # independent random initialisations per trial; best DAE loss kept
    eval_draws: int = 64
    seed: int = 0


def dae_batch_loss(model: LowRankDAE, x: torch.Tensor, mask: torch.Tensor, sigma: torch.Tensor,
                   eps: torch.Tensor) -> torch.Tensor:
    """Per-model DAE loss (1/N)Σ_i mean_draws ‖x_θ(x_i + σε) − x_i‖², ``(trials,)``.

    x ``(T, N, n)`` padded, mask ``(T, N)``, sigma ``(T, M·N)``, eps ``(T, M, N, n)``.
    """
    T, N, n = x.shape
    M = eps.shape[1]
    y = (x.unsqueeze(1) + sigma.view(T, M, N, 1) * eps).reshape(T, M * N, n)
    err = (model(y, sigma) - x.repeat(1, M, 1)).pow(2).sum(-1).view(T, M, N).mean(1)
    return (err * mask).sum(-1) / mask.sum(-1).clamp_min(1)


def train_low_rank_dae(x: torch.Tensor, mask: torch.Tensor, K: int, d: int, cfg: DAETrainConfig, *,
                       name: str = "lowrank-dae", progress: bool = False) -> torch.Tensor:
    """Train T·R low-rank DAEs at once with :func:`gendiff.train.fit`; return the best of R per trial.

    x ``(T, N, n)`` (padded), mask ``(T, N)``. The loss closure first retracts U onto the Stiefel manifold
    (QR without gradient), then returns Σ_models of :func:`dae_batch_loss` (models are independent, so
    Adam updates each separately). Restarts are ranked by the DAE loss on common noise draws.
    Returns bases ``(T, K, n, d)`` float64.
    """
    T, N, n = x.shape
    R = cfg.restarts
    xr = x.repeat_interleave(R, 0).float()
    mr = mask.repeat_interleave(R, 0).float()
    gen = runtime.generator(cfg.seed)
    model = LowRankDAE(n, K, d, trials=T * R, generator=gen)
    lo, hi = math.log(cfg.sigma_min), math.log(cfg.sigma_max)

    def draw(g, M):
        # antithetic pairs (ε, −ε) at the same σ cancel the term linear in ε of the loss's noise
        sig = torch.exp(lo + (hi - lo) * torch.rand(T * R, M // 2, N, generator=g)).repeat(1, 2, 1)
        eps = torch.randn(T * R, M // 2, N, n, generator=g)
        return sig.reshape(T * R, -1), torch.cat([eps, -eps], 1)

    def loss_fn(step, g):
        model.retract_()
        sig, eps = draw(g, cfg.draws)
        return dae_batch_loss(model, xr, mr, sig, eps).sum()

    fit_cfg = _train.FitConfig(steps=cfg.steps, lr=cfg.lr, schedule="cosine", lr_final=cfg.lr_final, seed=cfg.seed,
                               amp=False, diverge_factor=1e6)
    _train.fit(model, loss_fn, fit_cfg, name=name, progress=progress, log_every=max(1, cfg.steps))
    U = model.bases()                                                  # (T·R, K, n, d)
    if R == 1:
        return U
    with torch.no_grad():
        g = runtime.generator(cfg.seed + 1)
        sig, eps = draw(g, cfg.eval_draws)
        # common random numbers: the same noise for every restart of a trial
        sig = sig.view(T, R, -1)[:, :1].expand(T, R, -1).reshape(T * R, -1)
        eps = eps.view(T, R, *eps.shape[1:])[:, :1].expand(T, R, *eps.shape[1:]).reshape(eps.shape)
        model.U.data = U.float()
        ev = dae_batch_loss(model, xr, mr, sig, eps).view(T, R)
    best = ev.argmin(-1)
    return U.view(T, R, K, n, d)[torch.arange(T), best]


# ----------------------------------------------------------------------------------------------------
# phase-transition sweep of trained DAEs
# ----------------------------------------------------------------------------------------------------


def sweep_dae(n: int, K: int, d: int, N_list, trials: int, cfg: DAETrainConfig, *, seed: int,
              progress: bool = False) -> dict:
    """Train low-rank DAEs for every N_k in ``N_list`` and ``trials`` datasets, all in one :func:`fit`.

    Datasets of different sizes are padded to the largest and masked. Returns the errors
    ``(len(N_list), trials)`` and the truth/estimates.
    """
    gen = runtime.generator(seed)
    L = len(N_list)
    Nmax = max(N_list)
    U = random_bases(n, K, d, generator=gen, trials=L * trials)
    x, _ = sample_molrg(U, Nmax, generator=gen)                        # (L·T, K·Nmax, n)
    per = torch.arange(Nmax).repeat(K)                                 # index within component
    Ns = torch.tensor(N_list).repeat_interleave(trials)
    mask = per.unsqueeze(0) < Ns.unsqueeze(1)                          # (L·T, K·Nmax)
    Uh = train_low_rank_dae(x, mask, K, d, cfg, name=f"lowrank-dae K={K} d={d}", progress=progress)
    err = (single_subspace_distance(Uh[:, 0], U[:, 0]) if K == 1 else subspace_distance(Uh, U))
    return {"err": err.view(L, trials), "N": list(N_list)}


@dataclass(frozen=True)
class DAESweepJob:
    """One cached :func:`sweep_dae` (all N and trials of one (K, d, recipe)); picklable for other processes."""

    n: int
    K: int
    d: int
    N_list: tuple[int, ...]
    trials: int
    cfg: DAETrainConfig
    seed: int
    name: str = "dae-sweep"


def sweep_dae_cached(job: DAESweepJob) -> dict:
    """:func:`sweep_dae` of ``job`` through the shared checkpoint cache (keyed by the job's fields)."""
    torch.set_num_threads(runtime.threads())
    key = dict(n=job.n, K=job.K, d=job.d, N=list(job.N_list), trials=job.trials, cfg=job.cfg, seed=job.seed)
    return runtime.cached(job.name, key, lambda: sweep_dae(job.n, job.K, job.d, list(job.N_list), job.trials,
                                                           job.cfg, seed=job.seed))


def sweep_dae_many(jobs: Mapping[str, DAESweepJob], *, workers: int = 1) -> dict:
    """Every sweep of ``jobs`` on :func:`gendiff.executors.map_jobs` (``BOOK_EXECUTOR``); ``{label: result}``.

    Each sweep seeds its own generators, so the results do not depend on the engine or ``workers``.
    """
    return dict(zip(jobs, executors.map_jobs(sweep_dae_cached, list(jobs.values()), workers=workers)))

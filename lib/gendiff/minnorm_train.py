"""Trained shallow ReLU denoisers and their neurons (Zeno et al., NeurIPS 2023; chapter 2).

h_θ(y) = Σ_k a_k [w_k^T y + b_k]_+ + V y + c (eq. ``ch02-net``), weight cost C(θ) = ½Σ_k(‖a_k‖² + ‖w_k‖²),
path cost Σ_k ‖a_k‖‖w_k‖ after balancing. ``ShallowDenoiser`` holds G independent nets as one batched
module (so several configurations train in one loop of :func:`gendiff.train.fit`); ``train_minnorm`` trains
it full-batch on offline (fixed) or online (fresh every step) ball noise with the loss
mean ‖h(y) − x_n‖² + λ C(θ); the metrics compare its neurons with the directions the closed forms predict
(``alignment``) and with the data's span (``span_energy``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from . import executors, runtime
from .minnorm_multi import affine_basis
from .train import FitConfig, fit


class ShallowDenoiser(nn.Module):
    """G independent shallow ReLU denoisers with skip connection, as one batched module (spec §2.1).

    h_g(y) = Σ_k a_{gk} [w_{gk}^T y + b_{gk}]_+ + V_g y + c_g. Parameters: W (G, K, d), b (G, K),
    A (G, d, K), V (G, d, d) (initialised to 0), c (G, d). Initialisation (spec §4): W ~ N(0, 1/d)·s,
    b ~ N(0, 0.25)·s, A ~ N(0, 1/K)·s. ``forward(y, sigma=None)``: y (G, B, d) → (G, B, d); with G = 1
    a (B, d) input is accepted too (the book's ``D(y, sigma)`` convention; σ is ignored).
    """

    def __init__(self, d: int, K: int, *, groups: int = 1, skip: bool = True, init_scale: float = 1.0,
                 generator: torch.Generator | None = None, kinks_at: torch.Tensor | None = None):
        super().__init__()
        if d < 1 or K < 1 or groups < 1:
            raise ValueError("d, K and groups must be >= 1")
        s, G = init_scale, groups
        self.d, self.K, self.G, self.skip = d, K, G, skip
        self.W = nn.Parameter(torch.randn(G, K, d, generator=generator) * s / math.sqrt(d))
        self.b = nn.Parameter(torch.randn(G, K, generator=generator) * 0.5 * s)
        self.A = nn.Parameter(torch.randn(G, d, K, generator=generator) * s / math.sqrt(K))
        self.V = nn.Parameter(torch.zeros(G, d, d), requires_grad=skip)
        self.c = nn.Parameter(torch.zeros(G, d))
        if kinks_at is not None:   # (G, P, d): put each neuron's kink through a random one of these points
            P = kinks_at.shape[1]
            idx = torch.randint(P, (G, K), generator=generator)
            xi = torch.gather(kinks_at.float(), 1, idx[..., None].expand(G, K, d))
            with torch.no_grad():
                self.b.copy_(-(self.W * xi).sum(-1))

    def forward(self, y: torch.Tensor, sigma=None) -> torch.Tensor:
        squeeze = y.dim() == 2
        if squeeze:
            if self.G != 1:
                raise ValueError(f"a (B, d) input needs groups=1; this module has {self.G} groups")
            y = y[None]
        pre = torch.einsum("gbd,gkd->gbk", y, self.W) + self.b[:, None, :]
        out = torch.einsum("gbk,gdk->gbd", torch.relu(pre), self.A) + self.c[:, None, :]
        if self.skip:
            out = out + torch.einsum("gbd,ged->gbe", y, self.V)
        return out[0] if squeeze else out

    def cost(self) -> torch.Tensor:
        """C(θ) = ½(‖W‖² + ‖A‖²) per group: (G,)."""
        return 0.5 * (self.W.pow(2).sum((1, 2)) + self.A.pow(2).sum((1, 2)))

    def neuron_mag(self) -> torch.Tensor:
        """‖a_k‖·‖w_k‖ per neuron: (G, K)."""
        return self.W.norm(dim=2) * self.A.norm(dim=1)

    def path_cost(self) -> torch.Tensor:
        """Σ_k ‖a_k‖‖w_k‖ per group (the cost after balancing; ≥ lower bound R(h)): (G,)."""
        return self.neuron_mag().sum(1)

    def neurons(self, g: int = 0, thresh: float = 0.02) -> dict:
        """Active neurons of group g (path cost > ``thresh``·max): numpy w (k, d), b, a (k, d), mag."""
        with torch.no_grad():
            mag = self.neuron_mag()[g]
            keep = mag > thresh * mag.max()
            return {"w": self.W[g][keep].cpu().double().numpy(), "b": self.b[g][keep].cpu().double().numpy(),
                    "a": self.A[g].T[keep].cpu().double().numpy(), "mag": mag[keep].cpu().double().numpy()}

    def numpy_fn(self, g: int = 0) -> Callable[[np.ndarray], np.ndarray]:
        """y (B, d) numpy → h_g(y) (B, d) numpy (float64 in/out), for comparing with the closed forms."""
        dev = self.W.device

        def h(Y):
            Y = np.asarray(Y, float)
            one_d = Y.ndim == 1
            Yt = torch.as_tensor(Y.reshape(len(Y), -1), dtype=self.W.dtype, device=dev)
            with torch.no_grad():
                full = Yt[None].expand(self.G, -1, -1)
                out = self(full)[g].cpu().double().numpy()
            return out[:, 0] if one_d else out
        return h


def sample_ball(x: torch.Tensor, M: int, rho: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """M points uniform in the ball B(x_n, ρ) around each row of x (..., N, d) → (..., N, M, d).

    Direction z/‖z‖ with z ~ N(0, I), radius ρ·U^{1/d}.
    """
    if not np.isfinite(rho) or rho < 0 or M < 1:
        raise ValueError(f"need a finite rho >= 0 and M >= 1, got rho={rho}, M={M}")
    d = x.shape[-1]
    shape = tuple(x.shape[:-1]) + (M, d)
    z = torch.randn(shape, generator=generator, dtype=x.dtype)                  # CPU generator
    z = z / z.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    r = rho * torch.rand(shape[:-1] + (1,), generator=generator, dtype=x.dtype) ** (1.0 / d)
    return (x.detach().cpu()[..., None, :] + z * r).to(x.device)


@dataclass(frozen=True)
class MinNormTrainConfig:
    """Full-batch training of :class:`ShallowDenoiser` (the book's choices; the paper's were not readable).

    Loss per group: mean_{n,m} ‖h(y_nm) − x_n‖² + λ·½(‖W‖² + ‖A‖²) (λ normalised against the *mean*
    squared error); Adam, cosine decay to 1% of ``lr``; groups are independent (Adam is elementwise).
    """

    K: int = 64                   # width
    M: int = 20                   # noisy samples per clean point (per step when online)
    rho: float = 0.1              # ball radius
    lam: float = 1e-5             # λ
    steps: int = 15_000
    lr: float = 1e-2
    init_scale: float = 1.0
    endpoints: bool = False       # 1D offline: replace two samples per point by x_n ± ρ
    init_bias: str = "normal"     # "normal": b ~ N(0, 0.25)·s; "data": kinks through random noisy samples
    seed: int = 0


def train_minnorm(X: torch.Tensor, online: Sequence[bool], cfg: MinNormTrainConfig, *, name: str = "minnorm",
                  cache: bool = True, progress: bool = True) -> tuple[ShallowDenoiser, dict]:
    """Train G nets (one per ``X[g]``, (G, N, d)) with :func:`gendiff.train.fit`; offline or online per group.

    Offline groups see one fixed set of M ball samples per point (drawn from the run's seed); online
    groups draw fresh ball samples each step. Returns the model (eval, on the book's device) and a dict
    with ``history``, ``Y_fixed`` (G, N, M, d) (the offline samples) and per-group ``path_cost``.
    """
    X = torch.as_tensor(X, dtype=torch.float32).contiguous()
    if X.dim() != 3:
        raise ValueError(f"X must be (G, N, d), got shape {tuple(X.shape)}")
    G, N, d = X.shape
    online = [bool(o) for o in online]
    if len(online) != G:
        raise ValueError(f"online has {len(online)} entries for {G} groups")
    dev = runtime.device()

    if cfg.init_bias not in ("normal", "data"):
        raise ValueError(f"init_bias must be 'normal' or 'data', got {cfg.init_bias!r}")
    Yf = sample_ball(X, cfg.M, cfg.rho, runtime.generator(cfg.seed + 1))          # (G, N, M, d) offline set
    if cfg.endpoints:
        if d != 1 or cfg.M < 2:
            raise ValueError("endpoints=True needs d = 1 and M >= 2")
        Yf[:, :, 0, 0] = X[:, :, 0] - cfg.rho
        Yf[:, :, 1, 0] = X[:, :, 0] + cfg.rho

    def make():
        kinks = Yf.reshape(G, N * cfg.M, d) if cfg.init_bias == "data" else None
        return ShallowDenoiser(d, cfg.K, groups=G, init_scale=cfg.init_scale,
                               generator=runtime.generator(cfg.seed), kinks_at=kinks)

    def compute():
        model = make().to(dev)
        Xd, Yd = X.to(dev), Yf.to(dev)
        mask = torch.tensor(online, device=dev).view(G, 1, 1, 1)
        target = Xd[:, :, None, :].expand(G, N, cfg.M, d).reshape(G, N * cfg.M, d)

        def loss_fn(step, gen):
            Y = Yd
            if any(online):
                Yo = sample_ball(X, cfg.M, cfg.rho, gen).to(dev)
                Y = torch.where(mask, Yo, Yd)
            out = model(Y.reshape(G, N * cfg.M, d))
            mse = (out - target).pow(2).sum(-1).mean(1)                         # (G,)
            return (mse + cfg.lam * model.cost()).sum()

        fcfg = FitConfig(steps=cfg.steps, lr=cfg.lr, schedule="cosine", lr_final=0.01, amp=False,
                         seed=cfg.seed, diverge_factor=1e6)
        res = fit(model, loss_fn, fcfg, name=name, progress=progress, log_every=max(1, cfg.steps // 200))
        return {"state": {k: v.detach().cpu() for k, v in model.state_dict().items()},
                "history": res.history, "Y_fixed": Yf}

    # flattened for the key: runtime.tensor_digest cannot view a size-1 last dim of stride 0 as bytes
    key = {"X": X.reshape(-1).clone(), "shape": list(X.shape), "online": online, "cfg": cfg, "arch": "ShallowDenoiser-v1"}
    out = runtime.cached(name, key, compute) if cache else compute()
    model = make()
    model.load_state_dict(out["state"])
    model = model.to(dev).eval()
    info = {"history": out["history"], "Y_fixed": out["Y_fixed"],
            "path_cost": model.path_cost().detach().cpu().double().numpy()}
    return model, info


@dataclass(frozen=True)
class MinNormJob:
    """One cached :func:`train_minnorm` run (one batched module of G nets) of a sweep; picklable, so it can
    run in another process or on another machine (:func:`gendiff.executors.map_jobs`)."""

    X: torch.Tensor
    online: tuple[bool, ...]
    cfg: MinNormTrainConfig
    name: str = "minnorm"


def _train_minnorm_job(job: MinNormJob) -> None:
    """Engine entry point: train ``job`` into the shared checkpoint cache (the weights are loaded from it)."""
    torch.set_num_threads(runtime.threads())
    torch.set_flush_denormal(True)
    train_minnorm(job.X, list(job.online), job.cfg, name=job.name, progress=False)


def train_minnorm_many(jobs: Mapping[str, MinNormJob], *, workers: int = 1,
                       progress: bool = True) -> dict[str, tuple[ShallowDenoiser, dict]]:
    """Train (or load) every job of a sweep; returns ``{label: (model, info)}`` of :func:`train_minnorm`.

    The runs go to :func:`gendiff.executors.map_jobs` (``BOOK_EXECUTOR``: in this process, local worker
    processes, a SLURM array or Ray tasks) and fill the shared checkpoint cache; every model is then loaded
    here. The result does not depend on the engine or ``workers``: each run is seeded by its config.
    """
    executors.map_jobs(_train_minnorm_job, list(jobs.values()), workers=workers)
    return {k: train_minnorm(j.X, list(j.online), j.cfg, name=j.name, progress=progress)
            for k, j in jobs.items()}


def alignment(w: np.ndarray, dirs: np.ndarray) -> np.ndarray:
    """Per-neuron max_j |cos(w_k, dir_j)|: (k,)."""
    w = np.asarray(w, float)
    D = np.asarray(dirs, float)
    w = w / np.linalg.norm(w, axis=1, keepdims=True)
    D = D / np.linalg.norm(D, axis=1, keepdims=True)
    return np.abs(w @ D.T).max(1)


def weighted_mean(values, mag) -> float:
    """Σ_k mag_k·v_k / Σ_k mag_k (neurons weighted by their path cost ‖a_k‖‖w_k‖)."""
    mag = np.asarray(mag, float)
    return float(np.sum(mag * np.asarray(values, float)) / mag.sum())


def span_energy(w: np.ndarray, X: np.ndarray) -> np.ndarray:
    """‖P_span(X − x̄) w_k‖²/‖w_k‖² per neuron: the share of each input weight inside the data's span."""
    _, U = affine_basis(X)
    w = np.asarray(w, float)
    return ((w @ U) ** 2).sum(1) / (w**2).sum(1)


def random_span_energy(X, n: int = 4096, seed: int = 0) -> float:
    """The same energy for isotropic random directions (≈ r/d): the baseline a trained net must beat."""
    X = np.asarray(X, float)
    w = np.random.default_rng(seed).standard_normal((n, X.shape[1]))
    return float(span_energy(w, X).mean())


def digits_simplex(classes=(0, 1, 2, 3)) -> np.ndarray:
    """The first sklearn ``load_digits`` image of each class, scaled to [0, 1]: (len(classes), 64)."""
    from sklearn.datasets import load_digits

    D = load_digits()
    return np.stack([D.data[np.flatnonzero(D.target == c)[0]] / 16.0 for c in classes])


def in_span_alignment(w: np.ndarray, X: np.ndarray, dirs: np.ndarray, *, n_random: int = 4096,
                      seed: int = 0) -> tuple[np.ndarray, float]:
    """Alignment of neurons with given directions *inside* the data's affine span, and its random baseline.

    Each w_k is first projected onto span{x_n − x̄} (its off-span part is what ``span_energy`` measures);
    returns (per-neuron max_j |cos(P w_k, dir_j)|, the mean of the same quantity for isotropic random
    directions within the span). For a simplex, ``dirs`` are its edges and facet normals (chapter 2, §Real
    images): a net whose in-span weights follow them beats the random baseline.
    """
    _, U = affine_basis(X)
    Pw = (np.asarray(w, float) @ U) @ U.T
    z = np.random.default_rng(seed).standard_normal((n_random, U.shape[1])) @ U.T
    return alignment(Pw, dirs), float(alignment(z, dirs).mean())

"""The one training loop of the book, and the denoising losses built on it.

``fit`` is the loop: Adam, a learning-rate schedule, optional EMA, snapshots at given steps, AMP on
CUDA, a ``tqdm.auto`` progress bar, and a guard that stops with an error naming the run when the loss
becomes NaN/inf or diverges. Every model of the book is trained by it; ``train_denoiser`` supplies the
denoising loss for image denoisers, and other chapters pass their own loss closure (full-batch shallow
nets, low-rank autoencoders).

``train_denoiser_cached`` wraps it in the checkpoint cache of :mod:`gendiff.runtime`, keyed by the
model's architecture, the data (by content), the training config and the source of this module and of
the model's classes (:func:`cache_key`); ``train_many`` trains several such models, in parallel worker
processes when asked (one per CPU core, or several small nets on one GPU).

**Determinism.** With the same profile, seed, data, config, thread count and device, two runs in fresh
processes give bitwise-identical weights on the CPU (``tests/test_determinism.py``): every random draw
comes from the run's seeded generator. What may differ, and why: with another ``BOOK_THREADS`` (or
another CPU, or another torch / oneDNN / BLAS build) the matrix products and convolutions sum their
terms in another order, so weights differ in the last bits after one step and by more after many
(chaotic growth through training); numbers computed from them move within their seed-to-seed spread.
On CUDA some kernels are non-deterministic (atomic adds in convolution backward) and TF32/bf16 round
differently. The cache key ignores who trained (threads, device, worker process), so reruns on one cache
load the first run's weights whatever their settings; what they compute from them can still differ in the
last bits when the thread count or device differs.

**Denoiser convention.** Every denoiser is a callable ``D(y, sigma) -> x_hat`` returning the *denoised
image* (not the residual), on tensors of shape ``(B, d)`` or ``(B, C, H, W)``; ``sigma`` is a float or a
``(B,)`` tensor. Networks trained to predict the residual ``r(y) ≈ y - x`` (Kadkhodaie et al. 2024) are
wrapped so that ``D(y) = y - r(y)``. The denoising loss is then always ``w(σ)·‖D(x + σz, σ) − x‖²``,
which for a residual net equals ``w(σ)·‖r(y) − σz‖²``, the loss of paper 1.
"""
from __future__ import annotations

import copy
import math
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping, NamedTuple

import torch
from torch import nn
from tqdm.auto import tqdm

from . import executors, runtime


class TrainingDiverged(RuntimeError):
    """The loss became NaN/inf or exploded; the message names the run."""


# ----------------------------------------------------------------------------------------------------
# noise-level laws and loss weights
# ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NoiseLaw:
    """How training noise levels σ are drawn.

    ``kind``:
      * ``"quadratic"``: σ = σ_max·U², U ~ U[0, 1] (Kadkhodaie et al., code ``quadratic_noise=True``).
      * ``"uniform"``: σ = σ_max·U.
      * ``"edm"``: ln σ ~ N(P_mean, P_std²) (Karras et al. 2022; Li, Dai & Qu 2024 §2).
      * ``"loguniform"``: ln σ ~ U[ln σ_min, ln σ_max].
    ``loguniform_frac`` replaces that share of the draws by log-uniform ones on [σ_min, σ_max] (the
    book's fix for the EDM law's under-training at large σ, paper 3 §6).
    """

    kind: str = "quadratic"
    sigma_min: float = 0.002
    sigma_max: float = 1.0
    P_mean: float = -1.2
    P_std: float = 1.2
    loguniform_frac: float = 0.0

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        if self.kind == "quadratic":
            s = self.sigma_max * torch.rand(n, generator=generator) ** 2
        elif self.kind == "uniform":
            s = self.sigma_max * torch.rand(n, generator=generator)
        elif self.kind == "edm":
            s = torch.exp(self.P_mean + self.P_std * torch.randn(n, generator=generator))
        elif self.kind == "loguniform":
            s = self._loguniform(n, generator)
        else:
            raise ValueError(f"unknown noise law {self.kind!r}; use quadratic, uniform, edm or loguniform")
        if self.loguniform_frac > 0:
            mix = torch.rand(n, generator=generator) < self.loguniform_frac
            s = torch.where(mix, self._loguniform(n, generator), s)
        return s

    def _loguniform(self, n, generator):
        lo, hi = math.log(self.sigma_min), math.log(self.sigma_max)
        return torch.exp(lo + (hi - lo) * torch.rand(n, generator=generator))


def loss_weight(sigma: torch.Tensor, kind: str, sigma_data: float = 0.5) -> torch.Tensor:
    """Per-sample weight w(σ) of the denoising loss.

    ``none``: 1 (paper 1); ``inv_sigma``: 1/σ; ``inv_sigma2``: 1/σ² (score matching);
    ``edm``: (σ² + σ_d²)/(σ·σ_d)² (Karras et al. 2022, eq. 8 / Li et al. §2).
    """
    if kind == "none":
        return torch.ones_like(sigma)
    if kind == "inv_sigma":
        return 1.0 / sigma.clamp_min(1e-4)
    if kind == "inv_sigma2":
        return 1.0 / sigma.clamp_min(1e-4) ** 2
    if kind == "edm":
        return (sigma**2 + sigma_data**2) / (sigma * sigma_data) ** 2
    raise ValueError(f"unknown loss weighting {kind!r}; use none, inv_sigma, inv_sigma2 or edm")


# ----------------------------------------------------------------------------------------------------
# the loop
# ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FitConfig:
    """Optimiser settings of :func:`fit`."""

    steps: int = 1000
    lr: float = 1e-3
    schedule: str = "cosine"        # "cosine" (to lr_final·lr), "constant", "halving" (×½ every halve_every)
    lr_final: float = 0.01          # cosine end point, as a fraction of lr
    halve_every: int = 0            # for "halving"
    warmup: int = 0                 # linear warm-up steps
    ema_decay: float = 0.0          # 0 disables EMA
    weight_decay: float = 0.0       # decoupled (AdamW) when > 0
    grad_clip: float = 0.0          # 0 disables clipping
    betas: tuple[float, float] = (0.9, 0.999)
    snapshots: tuple[int, ...] = () # steps at which a copy of the (EMA) weights is kept
    amp: bool = True                # bf16 autocast when on CUDA
    seed: int = 0
    diverge_factor: float = 1e4     # stop if the loss exceeds this × its first-50-step median

    def lr_at(self, step: int) -> float:
        f = 1.0
        if self.schedule == "cosine":
            f = self.lr_final + (1 - self.lr_final) * 0.5 * (1 + math.cos(math.pi * step / max(1, self.steps)))
        elif self.schedule == "halving":
            f = 0.5 ** (step // self.halve_every) if self.halve_every else 1.0
        elif self.schedule != "constant":
            raise ValueError(f"unknown schedule {self.schedule!r}; use cosine, constant or halving")
        if self.warmup and step < self.warmup:
            f *= (step + 1) / self.warmup
        return self.lr * f


@dataclass
class FitResult:
    model: nn.Module                      # the EMA model if EMA is on, else the trained model
    history: dict = field(default_factory=dict)   # {"step": [...], "loss": [...]}
    snapshots: dict = field(default_factory=dict) # {step: state_dict}


def fit(model: nn.Module, loss_fn: Callable[[int, torch.Generator], torch.Tensor], cfg: FitConfig, *,
        name: str = "model", params: Iterable[torch.Tensor] | None = None, log_every: int = 10,
        progress: bool = True) -> FitResult:
    """Minimise ``loss_fn(step, generator)`` over ``model``'s parameters with Adam.

    ``loss_fn`` draws its own batch and noise from the given generator (seeded by ``cfg.seed``) so a run
    is reproducible. Returns the final (EMA) model in eval mode, the loss history every ``log_every``
    steps, and state-dict snapshots at ``cfg.snapshots``.
    """
    dev = next(model.parameters()).device
    params = list(params) if params is not None else [p for p in model.parameters() if p.requires_grad]
    opt_cls = torch.optim.AdamW if cfg.weight_decay > 0 else torch.optim.Adam
    opt = opt_cls(params, lr=cfg.lr, betas=cfg.betas, **({"weight_decay": cfg.weight_decay} if cfg.weight_decay > 0 else {}))
    ema = copy.deepcopy(model).eval().requires_grad_(False) if cfg.ema_decay > 0 else None
    gen = runtime.generator(cfg.seed)
    hist: dict[str, list] = {"step": [], "loss": []}
    snaps: dict[int, dict] = {}
    first: list[float] = []
    model.train()
    bar = tqdm(range(cfg.steps), desc=name, disable=not runtime.show_progress(progress), leave=False, mininterval=1.0)
    for step in bar:
        for g in opt.param_groups:
            g["lr"] = cfg.lr_at(step)
        with runtime.autocast(dev, cfg.amp):
            loss = loss_fn(step, gen)
        value = float(loss.detach())
        if not math.isfinite(value):
            raise TrainingDiverged(f"training of {name!r} diverged: loss = {value} at step {step} (config: {cfg})")
        if step < 50:
            first.append(value)
        elif value > cfg.diverge_factor * sorted(first)[len(first) // 2] + 1e-12:
            raise TrainingDiverged(f"training of {name!r} diverged: loss {value:.3g} at step {step} is "
                                   f"{cfg.diverge_factor:g}× its early median (config: {cfg})")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
        opt.step()
        if ema is not None:
            with torch.no_grad():
                for pe, pm in zip(ema.parameters(), model.parameters()):
                    pe.lerp_(pm, 1 - cfg.ema_decay)
                for be, bm in zip(ema.buffers(), model.buffers()):
                    be.copy_(bm)
        if step % log_every == 0 or step == cfg.steps - 1:
            hist["step"].append(step)
            hist["loss"].append(value)
            bar.set_postfix(loss=f"{value:.4g}", refresh=False)
        if step + 1 in cfg.snapshots:
            src = ema if ema is not None else model
            snaps[step + 1] = {k: v.detach().cpu().clone() for k, v in src.state_dict().items()}
    final = ema if ema is not None else model
    final.eval()
    model.eval()
    return FitResult(final, hist, snaps)


# ----------------------------------------------------------------------------------------------------
# denoisers
# ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DenoiserTrainConfig:
    """What :func:`train_denoiser` needs beyond the model and the data."""

    fit: FitConfig = FitConfig()
    noise: NoiseLaw = NoiseLaw()
    weight: str = "none"            # see loss_weight
    batch_size: int = 64
    sigma_data: float = 0.5         # only for weight="edm"


def denoising_loss(D: Callable, x: torch.Tensor, sigma: torch.Tensor, z: torch.Tensor, weight: str = "none",
                   sigma_data: float = 0.5) -> torch.Tensor:
    """Mean over the batch of w(σ)·‖D(x + σz, σ) − x‖² / d (per-pixel mean squared error, weighted)."""
    shape = (-1,) + (1,) * (x.dim() - 1)
    y = x + sigma.view(shape) * z
    err = (D(y, sigma) - x).float().pow(2).flatten(1).mean(1)
    return (loss_weight(sigma, weight, sigma_data) * err).mean()


def train_denoiser(model: nn.Module, data: torch.Tensor, cfg: DenoiserTrainConfig, *, name: str = "denoiser",
                   progress: bool = True) -> FitResult:
    """Train the denoiser ``model(y, sigma) -> x_hat`` on ``data`` (N, ...) with the denoising loss.

    Each step draws a batch with replacement, σ from ``cfg.noise`` and Gaussian noise, all from the
    run's seeded generator. Data stay on the CPU generator side and move to the model's device per batch.
    """
    dev = next(model.parameters()).device
    data_dev = data.to(dev)
    n = data.shape[0]

    def loss_fn(step, gen):
        idx = torch.randint(n, (cfg.batch_size,), generator=gen)
        sigma = cfg.noise.sample(cfg.batch_size, gen)
        z = torch.randn((cfg.batch_size,) + tuple(data.shape[1:]), generator=gen)
        return denoising_loss(model, data_dev[idx.to(dev)], sigma.to(dev), z.to(dev), cfg.weight, cfg.sigma_data)

    return fit(model, loss_fn, cfg.fit, name=name, progress=progress)


def cache_key(model: nn.Module | Callable[[], nn.Module], data: torch.Tensor, cfg: DenoiserTrainConfig) -> dict:
    """What identifies a trained denoiser in the cache: the architecture (``repr``), the data, the config,
    and the code that trains it: :func:`gendiff.runtime.code_digest` of this module (loop, loss, noise
    laws) and of the class of the model and of each of its submodules (their files and what they use)."""
    proto = model if isinstance(model, nn.Module) else model()
    code = runtime.code_digest(sys.modules[__name__], train_denoiser, *{type(m) for m in proto.modules()})
    return {"arch": repr(proto), "data": data, "cfg": cfg, "code": code}


def train_denoiser_cached(make_model: Callable[[], nn.Module], data: torch.Tensor, cfg: DenoiserTrainConfig, *,
                          name: str = "denoiser", refresh: bool = False, progress: bool = True):
    """Train (or load from the cache) ``make_model()`` on ``data``; returns ``(model, history, snapshots)``.

    The cache key is :func:`cache_key` (architecture, data by content, ``cfg``, source digest); the model
    is returned in eval mode on :func:`gendiff.runtime.device`. Snapshot state dicts are returned on CPU.
    """
    dev = runtime.device()
    proto = make_model()
    key = cache_key(proto, data, cfg)

    def compute():
        runtime.seed_everything(cfg.fit.seed)
        model = make_model().to(dev)
        res = train_denoiser(model, data, cfg, name=name, progress=progress)
        state = {k: v.detach().cpu() for k, v in res.model.state_dict().items()}
        return {"state": state, "history": res.history, "snapshots": {str(k): v for k, v in res.snapshots.items()}}

    out = runtime.cached(name, key, compute, refresh=refresh, code=())     # the key holds the code digest
    proto.load_state_dict(out["state"])
    proto.to(dev).eval()
    snaps = {int(k): v for k, v in out["snapshots"].items()}
    return proto, out["history"], snaps


def load_snapshot(make_model: Callable[[], nn.Module], state: dict) -> nn.Module:
    """A model of the same architecture holding the snapshot ``state``, in eval mode on the book's device."""
    m = make_model()
    m.load_state_dict(state)
    return m.to(runtime.device()).eval()


# ----------------------------------------------------------------------------------------------------
# several models at once
# ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Job:
    """One cached denoiser training: ``train_denoiser_cached(make_model, data, cfg, name=name)``.

    For worker processes ``make_model`` must be picklable: a class or a ``functools.partial`` of one,
    not a lambda."""

    make_model: Callable[[], nn.Module]
    data: torch.Tensor
    cfg: DenoiserTrainConfig
    name: str

    def cost(self) -> float:
        """Relative training cost (steps × batch × pixels), to start the longest runs first."""
        return float(self.cfg.fit.steps * self.cfg.batch_size * self.data[0].numel())


class Trained(NamedTuple):
    model: nn.Module
    history: dict
    snapshots: dict
    seconds: float          # training time in whichever process trained it (≈ 0 when it was cached)


def _run_job(job: Job) -> float:
    """Worker-process entry point: train ``job`` into the shared cache; returns its wall-clock seconds."""
    torch.set_num_threads(runtime.threads())
    torch.set_flush_denormal(True)
    t = time.time()
    train_denoiser_cached(job.make_model, job.data, job.cfg, name=job.name, progress=False)
    return time.time() - t


def train_many(jobs: Mapping[str, Job], *, workers: int = 1, progress: bool = False) -> dict[str, Trained]:
    """Train (or load from the cache) every job; returns ``{label: Trained}`` in the order of ``jobs``.

    With ``workers > 1`` (or ``BOOK_EXECUTOR`` other than ``local``) the runs not yet cached go first, longest
    first, to :func:`gendiff.executors.map_jobs` — spawned local processes with ``BOOK_THREADS`` torch threads
    each, a SLURM job array (submitit) or Ray tasks — and fill the shared checkpoint cache; then every model is
    loaded here (``progress``: a bar over finished models, or each sequential run's bar). The result does
    not depend on ``workers``: each run is seeded by its config and the
    cache key ignores who trained it (``tests/test_train.py`` checks that the weights are identical).
    On 2 cores, two workers of one thread were 1.6× faster than one process with the machine idle and 1.3×
    with two other busy processes (``benchmarks/workers.py``); stepping same-shape models as one
    ``torch.func.vmap``-ed model was slower than one after the other (0.8×, ``benchmarks/paired.py``).
    Workers are spawned, so a script (not a
    notebook) that calls this with ``workers > 1`` needs the ``if __name__ == "__main__":`` guard.
    """
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    seconds: dict[str, float] = {}
    todo = {k: j for k, j in jobs.items() if not runtime.is_cached(j.name, cache_key(j.make_model, j.data, j.cfg))}
    if len(todo) > 1 and (workers > 1 or executors.executor_name() != "local"):
        order = sorted(todo, key=lambda k: -todo[k].cost())
        if runtime.show_progress(progress):
            print(f"training {len(order)} models on {executors.executor_name()} ({workers} at a time)", flush=True)
        seconds.update(zip(order, executors.map_jobs(_run_job, [todo[k] for k in order], workers=workers)))
    out = {}
    for label, j in jobs.items():
        t = time.time()
        model, hist, snaps = train_denoiser_cached(j.make_model, j.data, j.cfg, name=j.name,
                                                   progress=progress)
        out[label] = Trained(model, hist, snaps, seconds.get(label, time.time() - t))
    return out

"""The hidden Gaussian structure of diffusion denoisers (Li, Dai & Qu, NeurIPS 2024; arXiv:2410.24060).

Measurements that compare a trained denoiser D_θ(y; σ) with the Gaussian (Wiener) denoiser
D_G(y; σ) = μ + W_G(σ)(y − μ), W_G = Σ(Σ + σ²I)⁻¹ (paper eq. 6, :class:`gendiff.denoisers.GaussianDenoiser`):

* :func:`linearity_score`  |cos| between D(αy₁ + βy₂) and αD(y₁) + βD(y₂) (eq. 11, App. A).
* :func:`distill_linear`   the best affine approximation W·y + b of a denoiser at one σ (eqs. 8–9, Alg. 1),
  exactly by least squares or by Adam (through :func:`gendiff.train.fit`) with a tracked weight error.
* :func:`fit_affine_dsm`   affine denoisers trained by denoising score matching on data (Theorem 1: their
  optimum is the Wiener filter), vectorised over several σ.
* :class:`AffineDenoiser`  a per-σ affine denoiser with the book's interface ``D(y, sigma)``.
* :func:`score_rmse`       score-field error RMSE(σ) = E √(‖D₁(y) − D₂(y)‖²/d) (eq. 10).
* :func:`weight_nmse`, :func:`alignment_matrix`, :func:`top_alignment`, :func:`subspace_overlap`: weight
  similarity and singular-vector alignment of W against the principal components (Fig. 4).
* :func:`gl_score`         generalisation score (eq. 14): mean ‖x − NN_Y(x)‖/‖x‖ over generated samples.
* :func:`sample_distance`  mean ‖a − b‖/‖b‖ between samples drawn from the same initial noise.
* :func:`train_edm`, :func:`train_edm_many`: the chapter's EDM-preconditioned UNet (``gendiff.models.edm_unet``)
  trained with the EDM loss through the book's cached loop, several runs in parallel processes if asked.

Every function takes denoisers with the book's interface ``D(y, sigma) -> x_hat`` and draws its noise from
a ``torch.Generator``; σ may be a list, and the σ's are then evaluated in one batch (the EDM network
accepts a per-sample σ).
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from . import metrics, runtime, train
from .models.edm import edm_unet


# ----------------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------------
def _flat(x: torch.Tensor) -> torch.Tensor:
    return x.reshape(x.shape[0], -1)


def _sigmas(sigma) -> list[float]:
    s = [float(v) for v in (sigma if isinstance(sigma, (list, tuple, np.ndarray, torch.Tensor)) else [sigma])]
    if not s or min(s) <= 0:
        raise ValueError(f"noise levels must be positive, got {s}")
    return s


@torch.no_grad()
def _apply(D: Callable, y: torch.Tensor, sigma: torch.Tensor, batch: int = 2048) -> torch.Tensor:
    """D(y, σ) in batches, with a per-sample σ (B,); returns float64 on the CPU, shape of y."""
    dev = runtime.device()
    dt = torch.float32
    if hasattr(D, "parameters"):
        p = next(iter(D.parameters()), None)
        dev, dt = (p.device, p.dtype) if p is not None else (dev, dt)
    else:
        dev, dt = torch.device("cpu"), torch.float64
    out = []
    for i in range(0, y.shape[0], batch):
        yb = y[i:i + batch].to(device=dev, dtype=dt)
        sb = sigma[i:i + batch].to(device=dev, dtype=dt)
        out.append(D(yb, sb).double().cpu())
    return torch.cat(out)


def _noisy(x: torch.Tensor, sigmas: list[float], n_noise: int, generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Every image of x (N, ...) at every σ, ``n_noise`` draws each: (clean, noisy, σ) with S·n_noise·N rows."""
    x = x.double().cpu()
    reps = len(sigmas) * n_noise
    clean = x.repeat((reps,) + (1,) * (x.dim() - 1))
    sig = torch.tensor(sigmas, dtype=torch.float64).repeat_interleave(n_noise * x.shape[0])
    z = torch.randn(clean.shape, generator=generator, dtype=torch.float64)
    return clean, clean + sig.view((-1,) + (1,) * (x.dim() - 1)) * z, sig


# ----------------------------------------------------------------------------------------------------
# linearity (eq. 11)
# ----------------------------------------------------------------------------------------------------
def linearity_score(D: Callable, x: torch.Tensor, sigma, *, alpha: float = 2**-0.5, n_pairs: int = 100,
                    metric: str = "cos", generator: torch.Generator | None = None) -> np.ndarray:
    """LS(σ) = E |cos(D(αy₁ + βy₂; σ), αD(y₁; σ) + βD(y₂; σ))|, β = √(1 − α²) (Li et al. eq. 11).

    y₁ = x_i + σε₁, y₂ = x_j + σε₂ with images x_i ≠ x_j drawn from ``x`` (held-out images, (N, ...)), so
    αy₁ + βy₂ again carries noise of level σ. ``metric="nmse"`` returns instead
    E ‖D(αy₁+βy₂) − αD(y₁) − βD(y₂)‖/‖D(αy₁+βy₂)‖ (App. A; 0 for a linear D). Returns one value per σ.
    An affine D scores slightly below 1 because its bias enters as (α + β)b ≠ b.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    if metric not in ("cos", "nmse"):
        raise ValueError(f"metric must be 'cos' or 'nmse', got {metric!r}")
    sig = _sigmas(sigma)
    beta = math.sqrt(1 - alpha**2)
    N = x.shape[0]
    if N < 2:
        raise ValueError(f"the linearity score mixes two different images; x holds {N}")
    if n_pairs < 1:
        raise ValueError(f"n_pairs must be at least 1, got {n_pairs}")
    S = len(sig)
    i = torch.randint(N, (S * n_pairs,), generator=generator)
    j = (i + 1 + torch.randint(N - 1, (S * n_pairs,), generator=generator)) % N     # j ≠ i
    s = torch.tensor(sig, dtype=torch.float64).repeat_interleave(n_pairs)
    sv = s.view((-1,) + (1,) * (x.dim() - 1))
    xd = x.double().cpu()
    y1 = xd[i] + sv * torch.randn(xd[i].shape, generator=generator, dtype=torch.float64)
    y2 = xd[j] + sv * torch.randn(xd[j].shape, generator=generator, dtype=torch.float64)
    out = _apply(D, torch.cat([alpha * y1 + beta * y2, y1, y2]), s.repeat(3))
    mix, d1, d2 = (_flat(t) for t in out.split(S * n_pairs))
    lin = alpha * d1 + beta * d2
    if metric == "cos":
        v = ((mix * lin).sum(1) / (mix.norm(dim=1) * lin.norm(dim=1)).clamp_min(1e-12)).abs()
    else:
        v = (mix - lin).norm(dim=1) / mix.norm(dim=1).clamp_min(1e-12)
    return v.view(S, n_pairs).mean(1).numpy()


# ----------------------------------------------------------------------------------------------------
# score-field error (eq. 10) and sample metrics (eq. 14)
# ----------------------------------------------------------------------------------------------------
def score_rmse(D1: Callable, D2: Callable, x: torch.Tensor, sigma, *, n_noise: int = 1,
               metric: str = "rmse", generator: torch.Generator | None = None) -> np.ndarray:
    """RMSE(σ) = E_{x,ε} √(‖D₁(y; σ) − D₂(y; σ)‖²/d), y = x + σε (Li et al. eq. 10), one value per σ.

    Both denoisers see the same noisy images. ``metric="nmse"``: E ‖D₁ − D₂‖/‖D₁‖ (eq. 53). Since the
    score is (D(y) − y)/σ², this is σ² times the distance between the two score fields.
    """
    if metric not in ("rmse", "nmse"):
        raise ValueError(f"metric must be 'rmse' or 'nmse', got {metric!r}")
    sig = _sigmas(sigma)
    _, y, s = _noisy(x, sig, n_noise, generator)
    a, b = _flat(_apply(D1, y, s)), _flat(_apply(D2, y, s))
    if metric == "rmse":
        v = (a - b).pow(2).mean(1).sqrt()
    else:
        v = (a - b).norm(dim=1) / a.norm(dim=1).clamp_min(1e-12)
    return v.view(len(sig), -1).mean(1).numpy()


def gl_score(samples: torch.Tensor, train_set: torch.Tensor) -> float:
    """GL = (1/k) Σ_i ‖x_i − NN_Y(x_i)‖/‖x_i‖, nearest neighbour in pixel L2 (Li et al. eq. 14).

    0 when every sample is a copy of a training image; the paper reads > 0.6 as generalisation on its data.
    """
    dist, _ = metrics.nearest_l2(samples, train_set)
    return float((dist / _flat(samples).double().norm(dim=1).clamp_min(1e-12)).mean())


def sample_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean ‖a_i − b_i‖/‖b_i‖ over paired samples (same initial noise, Li et al. Figs. 3 and 9)."""
    fa, fb = _flat(a).double(), _flat(b).double()
    return float(((fa - fb).norm(dim=1) / fb.norm(dim=1).clamp_min(1e-12)).mean())


# ----------------------------------------------------------------------------------------------------
# affine denoisers: distillation (eqs. 8–9) and Theorem 1
# ----------------------------------------------------------------------------------------------------
class AffineDenoiser:
    """D_L(y; σ) = W_σ y + b_σ for a finite set of σ's (Li et al. eq. 8).

    ``params`` maps σ → (W (d, d), b (d,)). A call at level σ uses the stored σ nearest in log σ and raises
    ``KeyError`` if none lies within a relative 1e-3 (an affine denoiser is only defined where it was fitted).
    """

    def __init__(self, params: dict, shape: tuple):
        if not params:
            raise ValueError("an AffineDenoiser needs at least one σ")
        self.params = {float(k): (W.double(), b.double()) for k, (W, b) in params.items()}
        self.keys = np.array(sorted(self.params))
        self.shape = tuple(shape)

    def _key(self, s: float) -> float:
        if not (math.isfinite(s) and s > 0):
            raise ValueError(f"noise level must be positive and finite, got σ = {s}")
        k = self.keys[np.argmin(np.abs(np.log(self.keys) - math.log(s)))]
        if abs(k / s - 1) > 1e-3:
            raise KeyError(f"no affine denoiser fitted at σ = {s:.4g} (have {', '.join(f'{v:.4g}' for v in self.keys)})")
        return float(k)

    def __call__(self, y: torch.Tensor, sigma) -> torch.Tensor:
        yf = _flat(y).double().cpu()
        s = torch.as_tensor(sigma, dtype=torch.float64).reshape(-1).cpu()
        s = s.expand(yf.shape[0]) if s.numel() == 1 else s
        out = torch.empty_like(yf)
        for v in torch.unique(s).tolist():
            m = s == v
            W, b = self.params[self._key(v)]
            out[m] = yf[m] @ W.T + b
        return out.to(device=y.device, dtype=y.dtype).reshape(y.shape)


class _Affine(nn.Module):
    """S independent affine maps on d-vectors, zero-initialised: y ↦ W_s (y/√d) + b_s (the official
    ``nn.Linear(d, d)`` with the input scaled by 1/√d)."""

    def __init__(self, n_sigma: int, d: int, lr_scale: torch.Tensor | None = None):
        super().__init__()
        self.d = d
        self.W = nn.Parameter(torch.zeros(n_sigma, d, d))
        self.b = nn.Parameter(torch.zeros(n_sigma, d))
        # Adam's steps do not depend on the gradient's scale, so W = g_s·W' moves g_s times faster: a
        # per-σ learning rate for W inside one optimiser (the bias keeps the base rate) (the official code tunes the rate per σ).
        self.register_buffer("g", torch.ones(n_sigma) if lr_scale is None else lr_scale.float())

    def forward(self, y: torch.Tensor) -> torch.Tensor:          # y: (S, B, d)
        W = self.W * self.g[:, None, None]
        return torch.baddbmm(self.b[:, None, :], y / math.sqrt(self.d), W.transpose(1, 2))

    def weights(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(W (S, d, d), b (S, d)) in the unscaled convention D(y) = W y + b."""
        g = self.g.double()
        return self.W.detach().double() * g[:, None, None] / math.sqrt(self.d), self.b.detach().double()


@dataclass(frozen=True)
class DistillResult:
    W: torch.Tensor                  # (d, d)
    b: torch.Tensor                  # (d,)
    history: dict                    # {"step": [...], "weight_nmse": [...], "loss": [...]} (Adam only)


def distill_linear(D: Callable, x: torch.Tensor, sigma: float, *, n_noise: int = 30, method: str = "lstsq",
                   generator: torch.Generator | None = None, fit_cfg: train.FitConfig | None = None,
                   batch_size: int = 256, W_ref: torch.Tensor | None = None, track_every: int = 25) -> DistillResult:
    """Best affine approximation of ``D`` at level σ on held-out images ``x`` (Li et al. eqs. 8–9, Alg. 1):

        (W, b) = argmin E_{x, ε} ‖W(x + σε) + b − D(x + σε; σ)‖²,

    the expectation taken over ``n_noise`` noise draws per image (use n_noise·N ≥ 5d).
    ``method="lstsq"`` (default; the problem is convex): W = Cov(D, y)·Cov(y)⁻¹, b = E[D] − W·E[y] in
    float64. ``method="adam"``: the official recipe — a zero-initialised ``nn.Linear(d, d)`` with input
    scaled by 1/√d, MSE, Adam through :func:`gendiff.train.fit` on minibatches of ``batch_size`` of the same
    noisy samples (epochs over them, as the official code loops over its held-out set); if ``W_ref`` is
    given, ‖W − W_ref‖/‖W_ref‖ is recorded every ``track_every`` steps (the curve of Fig. 4, left); the exact
    ``"lstsq"`` solution has no steps to track, so it rejects ``W_ref``.
    """
    if method not in ("lstsq", "adam"):
        raise ValueError(f"method must be 'lstsq' or 'adam', got {method!r}")
    if method == "lstsq" and W_ref is not None:
        raise ValueError("W_ref tracks the Adam fit's weight error; method='lstsq' has no steps to track "
                         "(compare the result with weight_nmse(result.W, W_ref) instead)")
    sig = _sigmas(sigma)
    if len(sig) != 1:
        raise ValueError("distill_linear fits one σ at a time")
    d = _flat(x).shape[1]
    _, y, s = _noisy(x, sig, n_noise, generator)
    if y.shape[0] < d + 1:
        raise ValueError(f"{y.shape[0]} noisy samples cannot determine a {d}×{d} affine map; raise n_noise")
    t = _flat(_apply(D, y, s))
    yf = _flat(y)
    if method == "lstsq":
        ym, tm = yf.mean(0), t.mean(0)
        yc, tc = yf - ym, t - tm
        # W solves W·Cov(y) = Cov(D, y); Cov(y) ⪰ σ²I keeps it well conditioned.
        W = torch.linalg.solve(yc.T @ yc, yc.T @ tc).T
        return DistillResult(W, tm - W @ ym, {})
    cfg = fit_cfg or train.FitConfig(steps=1000, lr=1e-2, schedule="cosine", seed=0)
    model = _Affine(1, d)
    yf32, t32 = yf.float(), t.float()
    hist = {"step": [], "weight_nmse": []}

    def loss_fn(step, gen):
        if W_ref is not None and step % track_every == 0:
            hist["step"].append(step)
            hist["weight_nmse"].append(weight_nmse(model.weights()[0][0], W_ref))
        idx = torch.randint(yf32.shape[0], (batch_size,), generator=gen)
        return (model(yf32[idx][None])[0] - t32[idx]).pow(2).mean()

    res = train.fit(model, loss_fn, cfg, name=f"distill σ={sig[0]:.3g}", progress=False)
    W, b = model.weights()
    if W_ref is not None:
        hist["step"].append(cfg.steps)
        hist["weight_nmse"].append(weight_nmse(W[0], W_ref))
    hist["loss"] = res.history["loss"]
    return DistillResult(W[0], b[0], hist)


def fit_affine_dsm(x: torch.Tensor, sigmas: Sequence[float], cfg: train.FitConfig | None = None, *,
                   W_ref: Callable[[float], torch.Tensor] | None = None, track_every: int = 50) -> dict:
    """Affine denoisers D(y) = W_σ y + b_σ trained by denoising score matching on the data ``x`` itself,

        min_{W,b} E_{x, ε} ‖W(x + σε) + b − x‖²,   one (W_σ, b_σ) per σ, all σ in one vectorised model,

    full batch with a fresh noise draw per step, Adam through :func:`gendiff.train.fit`, the learning rate
    of level σ scaled by 1/(1 + σ²) (large σ: a small W_G and noisy gradients; small σ: W_G ≈ I is far
    from the zero initialisation; the official code likewise tunes the rate per σ). Theorem 1 of
    Li et al.: the unique optimum is the Wiener filter W_G(σ) = Σ(Σ + σ²I)⁻¹, b_G = (I − W_G)μ.
    ``W_ref`` is a *function* σ ↦ W_ref(σ) (e.g. ``GaussianDenoiser.weight``), since there is one reference per
    σ; it adds the tracked ‖W_σ − W_ref(σ)‖/‖W_ref(σ)‖.
    Returns {"params": {σ: (W, b)}, "history": {"step": [...], "weight_nmse": [[per σ], ...]}}.
    """
    if W_ref is not None and not callable(W_ref):
        raise ValueError(f"W_ref must be a function σ ↦ W_ref(σ) (e.g. GaussianDenoiser.weight), one reference "
                         f"per σ; got {type(W_ref).__name__}")
    sig = _sigmas(list(sigmas))
    cfg = cfg or train.FitConfig(steps=2000, lr=1e-2, schedule="cosine", seed=0)
    xs = _flat(x).float().cpu()
    N, d = xs.shape
    model = _Affine(len(sig), d, lr_scale=1 / (1 + torch.tensor(sig) ** 2))
    sv = torch.tensor(sig, dtype=torch.float32).view(-1, 1, 1)
    refs = [W_ref(s) for s in sig] if W_ref is not None else None
    hist = {"step": [], "weight_nmse": []}

    def track(step):
        W = model.weights()[0]
        hist["step"].append(step)
        hist["weight_nmse"].append([weight_nmse(W[k], refs[k]) for k in range(len(sig))])

    def loss_fn(step, gen):
        if refs is not None and step % track_every == 0:
            track(step)
        y = xs[None] + sv * torch.randn(len(sig), N, d, generator=gen)
        return (model(y) - xs[None]).pow(2).mean() * len(sig)       # sum over σ of per-σ MSE

    train.fit(model, loss_fn, cfg, name="affine DSM", progress=False)
    if refs is not None:
        track(cfg.steps)
    W, b = model.weights()
    return {"params": {s: (W[k], b[k]) for k, s in enumerate(sig)}, "history": hist}


# ----------------------------------------------------------------------------------------------------
# weights: similarity and singular vectors (Fig. 4)
# ----------------------------------------------------------------------------------------------------
def weight_nmse(W: torch.Tensor, W_ref: torch.Tensor) -> float:
    """‖W − W_ref‖_F/‖W_ref‖_F: the paper's "normalized MSE" between weight matrices (Fig. 4)."""
    W, W_ref = W.double().cpu(), W_ref.double().cpu()
    return float((W - W_ref).norm() / W_ref.norm().clamp_min(1e-300))


def alignment_matrix(W: torch.Tensor, U_ref: torch.Tensor, k: int = 100) -> torch.Tensor:
    """|U_Lᵀ U_ref| over the first k left singular vectors U_L of W and the first k columns of U_ref
    (the principal components, eigenvalues descending): (k, k), 1 on the diagonal when aligned (Fig. 4)."""
    U_L = torch.linalg.svd(W.double().cpu())[0]
    k = min(k, U_L.shape[1], U_ref.shape[1])
    return (U_L[:, :k].T @ U_ref[:, :k].double().cpu()).abs()


def subspace_overlap(W: torch.Tensor, U_ref: torch.Tensor, k: int = 5) -> float:
    """‖U_L[:, :k]ᵀ U_ref[:, :k]‖_F²/k ∈ [0, 1]: how much of the span of the k leading principal components
    the k leading left singular vectors of W span (mean cos² of the principal angles). Unlike the one-to-one
    :func:`top_alignment`, it does not depend on the order of nearly equal eigenvalues."""
    A = alignment_matrix(W, U_ref, k)
    return float(A.pow(2).sum() / A.shape[0])


def top_alignment(W: torch.Tensor, U_ref: torch.Tensor, k: int = 5) -> float:
    """Mean of the first k diagonal entries of :func:`alignment_matrix`: how well the k leading singular
    vectors of W match the k leading principal components, one to one (1 = perfectly)."""
    return float(alignment_matrix(W, U_ref, k).diagonal().mean())


# ----------------------------------------------------------------------------------------------------
# the chapter's network
# ----------------------------------------------------------------------------------------------------
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
    loguniform_frac: float = 0.25   # share of σ drawn log-uniformly on [0.002, 80] (0 = pure EDM law)
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

"""Affine denoisers for chapter 3 (Li, Dai & Qu, NeurIPS 2024): the distilled linear model of a network
(eqs. 8–9, Alg. 1), affine denoisers trained by denoising score matching (Theorem 1) and the comparison of
their weights with the Wiener filter W_G(σ) = Σ(Σ + σ²I)⁻¹ (Fig. 4). Re-exported by :mod:`gendiff.gaussian`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from . import runtime, train


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

    def __plain__(self) -> dict:
        """The constructor's arguments (so :mod:`gendiff.memo` can store a fitted D_L)."""
        return {"params": self.params, "shape": self.shape}

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

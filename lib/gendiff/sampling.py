"""Samplers that turn a denoiser into a generative model.

* :func:`ascent_sample` — the stochastic coarse-to-fine gradient ascent of Kadkhodaie & Simoncelli (2021),
  used by Kadkhodaie et al. (2024, Alg. 1; code ``univ_inv_sol``, task "synthesis").
* :func:`edm_sample` — the deterministic EDM sampler (Karras et al. 2022, Alg. 1) for the probability-flow
  ODE dx/dσ = (x − D(x; σ))/σ on the ρ = 7 schedule :func:`edm_sigma_steps`, Euler or Heun.

Both take any denoiser ``D(y, sigma) -> x_hat`` and draw their randomness from a seeded
``torch.Generator``: the same seed gives the same noise stream, so two models can be compared from
identical noise (Kadkhodaie et al. Fig. 2; Li et al. Fig. 3).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from . import runtime


@dataclass
class SampleResult:
    x: torch.Tensor                                   # final samples (B, ...)
    steps: int                                        # iterations used
    sigmas: list = field(default_factory=list)        # effective noise level per step (mean over batch)
    trajectory: list = field(default_factory=list)    # states, if asked for


@torch.no_grad()
def ascent_sample(D, shape: tuple, *, mean: torch.Tensor | float = 0.5, seed: int = 0, h0: float = 0.01,
                  beta: float = 0.1, sigma0: float = 1.0, sigma_final: float = 0.05, max_steps: int = 2000,
                  return_trajectory: bool = False, device=None, diverged_above: float = 1e3) -> SampleResult:
    """Kadkhodaie et al. (2024) Alg. 1: start at x₀ = m + σ₀ε, then repeat

        d_t = D(x) − x,   σ_t = ‖d_t‖/√d,   h_t = h₀t/(1 + h₀(t − 1)),
        γ_t = σ_t √((1 − βh_t)² − (1 − h_t)²),   x ← x + h_t d_t + γ_t z_t,

    until σ_t ≤ σ_final for every sample (each sample stops on its own), and return D(x) (a final
    denoising step). A sample whose σ_t turns non-finite or exceeds ``diverged_above`` (images live in
    [0, 1], so σ_t beyond a few is already a runaway) has diverged: it stops, and its row of the result is
    NaN, for the caller to count and report (:func:`gendiff.memorization.finite_rows`), never averaged in. ``beta`` sets how much noise is injected (β = 1: none). Paper: h₀ = 0.01, β = 0.1,
    σ₀ = 1, σ_final = 0.05. ``shape`` = (B, C, H, W); ``mean`` is the training-set mean image (or a float).
    """
    dev = device or runtime.device()
    gen = runtime.generator(seed)
    B = shape[0]
    d = math.prod(shape[1:])
    mean = torch.as_tensor(mean, dtype=torch.float32)
    x = (mean + sigma0 * torch.randn(shape, generator=gen)).to(dev)
    active = torch.ones(B, dtype=torch.bool, device=dev)
    diverged = torch.zeros(B, dtype=torch.bool, device=dev)
    traj, sig_trace = ([x.cpu()] if return_trajectory else []), []
    view = (-1,) + (1,) * (len(shape) - 1)
    t = 0
    for t in range(1, max_steps + 1):
        z = torch.randn(shape, generator=gen).to(dev)      # drawn every step: identical streams per seed
        dx = D(x, None) - x
        sigma_t = dx.flatten(1).norm(dim=1) / math.sqrt(d)
        diverged |= active & ~(sigma_t <= diverged_above)      # NaN compares False: caught too
        active &= (sigma_t > sigma_final) & ~diverged
        sigma_t = torch.where(diverged, torch.zeros_like(sigma_t), sigma_t)
        sig_trace.append(float(sigma_t[~diverged].mean()) if (~diverged).any() else math.nan)
        if not active.any():
            break
        h = h0 * t / (1 + h0 * (t - 1))
        gamma = sigma_t * math.sqrt(max((1 - beta * h) ** 2 - (1 - h) ** 2, 0.0))
        step = h * dx + gamma.view(view) * z
        x = torch.where(active.view(view), x + step, x)
        if return_trajectory:
            traj.append(x.cpu())
    else:
        raise RuntimeError(f"ascent_sample did not reach sigma_final={sigma_final} in {max_steps} steps "
                           f"(last mean σ_t = {sig_trace[-1]:.3g}); is the denoiser trained?")
    out = D(x, None)
    out[diverged] = math.nan
    return SampleResult(out.cpu(), t, sig_trace, traj)


def edm_sigma_steps(n: int = 18, sigma_min: float = 0.002, sigma_max: float = 80.0, rho: float = 7.0) -> torch.Tensor:
    """σ_i = (σ_max^{1/ρ} + i/(n−1)·(σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ, i = 0…n−1, then σ_n = 0 (EDM eq. 5).

    Returns n + 1 values (float64). n = 10 gives Li et al.'s grid [80, 42.4, 21.1, 9.72, 4.07, 1.50, 0.470,
    0.117, 0.0204, 0.002, 0].
    """
    if n < 2:
        raise ValueError("need at least 2 steps")
    i = torch.arange(n, dtype=torch.float64)
    s = (sigma_max ** (1 / rho) + i / (n - 1) * (sigma_min ** (1 / rho) - sigma_max ** (1 / rho))) ** rho
    return torch.cat([s, torch.zeros(1, dtype=torch.float64)])


@torch.no_grad()
def edm_sample(D, x_T: torch.Tensor, *, num_steps: int = 18, solver: str = "heun", sigma_min: float = 0.002,
               sigma_max: float = 80.0, rho: float = 7.0, return_trajectory: bool = False,
               dtype: torch.dtype = torch.float64) -> SampleResult:
    """Integrate dx/dσ = (x − D(x; σ))/σ from ``x_T`` (already at level σ_max, e.g. σ_max·z) to σ = 0.

    ``solver="euler"``: x_{i+1} = x_i + (σ_{i+1} − σ_i)·d_i with d_i = (x_i − D(x_i; σ_i))/σ_i;
    ``"heun"`` adds the trapezoidal correction except on the last step (EDM Alg. 1). Integration runs in
    ``dtype`` (float64 by default, as EDM does); ``trajectory`` holds (x_i, D(x_i; σ_i)) pairs.
    """
    if solver not in ("euler", "heun"):
        raise ValueError(f"solver must be 'euler' or 'heun', got {solver!r}")
    sig = edm_sigma_steps(num_steps, sigma_min, sigma_max, rho)
    x = x_T.to(dtype)
    model_dtype = next(iter(getattr(D, "parameters", lambda: iter([x_T]))()), x_T).dtype \
        if hasattr(D, "parameters") else dtype

    def denoise(xx, s):
        return D(xx.to(model_dtype), float(s)).to(dtype)

    traj = []
    for i in range(num_steps):
        s, s_next = float(sig[i]), float(sig[i + 1])
        den = denoise(x, s)
        if return_trajectory:
            traj.append((x.cpu(), den.cpu()))
        d = (x - den) / s
        x_next = x + (s_next - s) * d
        if solver == "heun" and s_next > 0:
            d2 = (x_next - denoise(x_next, s_next)) / s_next
            x_next = x + (s_next - s) * 0.5 * (d + d2)
        x = x_next
    return SampleResult(x.to(x_T.dtype).cpu(), num_steps, sig.tolist(), traj)

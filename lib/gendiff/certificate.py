"""A trained denoiser's convergence certificate: is it a denoiser before it is evidence?

On held-out images x and the same noise draws y = x + σz for every competitor, the certificate compares
the per-pixel mean squared error of the network D_θ with

* **doing nothing**, D(y) = y, whose error is σ² on average: a network that does not beat it at a σ of its
  training range has not learned to denoise there;
* the **Gaussian denoiser** of the training set, D_G(y) = μ + Σ(Σ + σ²I)⁻¹(y − μ) (the optimal linear
  denoiser, Li et al. eq. 5): a network said to *generalize* should beat it, since D_G is what any
  denoiser that learned only the training set's first two moments achieves.

The criterion of a family of networks is stated by its chapter: ``identity_at`` (the σ at which the
network must beat doing nothing, normally every σ of its training range) and ``gaussian_at`` (those at
which it must beat D_G, where the chapter says it generalizes). :func:`plateau` adds the training curve's
measure: the relative change Δ of the mean logged loss between the last two fifths of training, with its
standard error s (from the spread of the logged minibatch losses); training looks levelled when
|Δ| ≤ max(0.05, 2s). The plateau is shown beside the verdict but does not enter it: each logged loss is
one minibatch whose noise levels σ are drawn at random, and runs with the same seed draw the same σ
sequence, so a run of small-σ batches late in training reads as a fall of the loss (chapter 1 shows the
networks of one seed moving together at every N while their twins of another seed do not). A gate needs
the loss at fixed σ on a fixed batch, logged during training.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from . import runtime


@dataclass
class Certificate:
    """Held-out MSE per σ of the network, of doing nothing and of the Gaussian denoiser, and the verdict."""

    sigmas: list[float]
    mse: list[float]
    identity: list[float]
    gaussian: list[float]
    identity_at: list[float] = field(default_factory=list)
    gaussian_at: list[float] = field(default_factory=list)
    plateau: tuple[float, float] | None = None   # (Δ, s) of :func:`plateau`, when the losses were given

    @property
    def levelled(self) -> bool:
        """The loss looks levelled: |Δ| ≤ max(0.05, 2s) (True when no losses were given). Shown, not part
        of :attr:`passed` (see the module docstring)."""
        return self.plateau is None or abs(self.plateau[0]) <= max(PLATEAU_TOL, 2 * self.plateau[1])

    def _misses(self, at, other) -> list[float]:
        return [s for s, m, o in zip(self.sigmas, self.mse, other) if s in at and not m < o]

    @property
    def misses_identity(self) -> list[float]:
        """The σ of ``identity_at`` at which the network does not beat returning its input."""
        return self._misses(self.identity_at, self.identity)

    @property
    def misses_gaussian(self) -> list[float]:
        """The σ of ``gaussian_at`` at which the network does not beat the Gaussian denoiser."""
        return self._misses(self.gaussian_at, self.gaussian)

    @property
    def margin(self) -> float:
        """The tightest relative margin over the checked σ: min of (competitor − network)/competitor MSE
        (> 0 passes; near 0 means the verdict could change with the training run)."""
        pairs = [(m, o) for s, m, o in zip(self.sigmas, self.mse, self.identity) if s in self.identity_at]
        pairs += [(m, o) for s, m, o in zip(self.sigmas, self.mse, self.gaussian) if s in self.gaussian_at]
        return min(((o - m) / o for m, o in pairs), default=float("inf"))

    @property
    def passed(self) -> bool:
        return not (self.misses_identity or self.misses_gaussian)

    def shortfall(self) -> str:
        """One line for a claim's ``short=``: where the network misses, with its MSE and the competitor's."""
        parts = []
        for name, misses, other in (("doing nothing", self.misses_identity, self.identity),
                                    ("the Gaussian denoiser", self.misses_gaussian, self.gaussian)):
            if misses:
                i = self.sigmas.index(misses[0])
                parts.append(f"loses to {name} at σ = {', '.join(f'{s:g}' for s in misses)} "
                             f"(MSE {self.mse[i]:.2g} vs {other[i]:.2g} at σ = {misses[0]:g})")
        return "network misses its convergence certificate: " + "; ".join(parts) if parts else ""


@torch.no_grad()
def certify(D, x_test: torch.Tensor, x_train: torch.Tensor, sigmas, *, identity_at=None, gaussian_at=(),
            losses=None, seed: int = 0, batch: int = 512) -> Certificate:
    """The certificate of denoiser ``D(y, σ)`` on held-out ``x_test``, with the Gaussian denoiser of
    ``x_train``; ``identity_at`` defaults to every σ of ``sigmas``. The same noise draws serve all three.
    ``losses``: the training run's logged losses, whose :func:`plateau` the certificate then carries."""
    from .denoisers import GaussianDenoiser

    if hasattr(D, "eval"):
        D.eval()
    dev = next(D.parameters()).device if hasattr(D, "parameters") else x_test.device
    G = GaussianDenoiser(x_train.double().cpu())
    sigmas = [float(s) for s in sigmas]
    out = {"mse": [], "identity": [], "gaussian": []}
    for k, s in enumerate(sigmas):
        gen = runtime.generator(seed + k)
        sums = np.zeros(3)
        for i in range(0, x_test.shape[0], batch):
            x = x_test[i:i + batch].float()
            y = x + s * torch.randn(x.shape, generator=gen)
            d = D(y.to(dev), s).float().cpu()
            g = G(y.double(), s).float()
            sums += [(d - x).pow(2).sum().item(), (y - x).pow(2).sum().item(), (g - x).pow(2).sum().item()]
        for key, v in zip(out, sums / x_test.numel()):
            out[key].append(float(v))
    return Certificate(sigmas, out["mse"], out["identity"], out["gaussian"],
                       list(sigmas if identity_at is None else map(float, identity_at)),
                       [float(s) for s in gaussian_at], None if losses is None else plateau(losses))


PLATEAU_TOL = 0.05


def plateau(losses, *, window: float = 0.2) -> tuple[float, float]:
    """(Δ, s): the relative change of the mean logged loss from the second-to-last to the last ``window``
    of training, Δ = (mean(last) − mean(previous)) / mean(previous), and its standard error s from the
    spread of the losses in the two windows. Training looks levelled when |Δ| ≤ max(0.05, 2s)."""
    v = np.asarray(losses, dtype=float)
    w = max(2, int(len(v) * window))
    if len(v) < 2 * w or not np.isfinite(v[-2 * w:]).all():
        raise ValueError(f"plateau: {len(v)} losses are too few (or not finite) for two windows of {w}")
    last, prev = v[-w:], v[-2 * w:-w]
    se = np.sqrt(last.var(ddof=1) / w + prev.var(ddof=1) / w) / prev.mean()
    return float((last.mean() - prev.mean()) / prev.mean()), float(se)


def behind(certs: dict, keys) -> tuple[bool, str]:
    """Whether every network of ``keys`` passes its certificate, and else the shortfall for a claim's
    ``short=`` (how many miss, and the first one's)."""
    keys = list(keys)
    bad = [k for k in keys if not certs[k].passed]
    if not bad:
        return True, ""
    return False, f"{len(bad)} of {len(keys)} networks miss their certificate; {bad[0]}: " + \
        certs[bad[0]].shortfall().removeprefix("network misses its convergence certificate: ")


def training_range(law, mass: float = 0.99) -> tuple[float, float]:
    """The σ interval holding the central ``mass`` of a :class:`gendiff.train.NoiseLaw` (its training
    range): [0, σ_max] for the bounded laws, the central interval exp(P_mean ± z·P_std) for the EDM
    log-normal law (z = 2.58 for 99 %), whose tails the network almost never sees."""
    from scipy.stats import norm

    if law.kind in ("quadratic", "uniform"):
        return 0.0, float(law.sigma_max)
    if law.kind == "loguniform":
        return float(law.sigma_min), float(law.sigma_max)
    if law.kind == "edm" and law.loguniform_frac == 0:
        z = float(norm.ppf(0.5 + mass / 2))
        return float(np.exp(law.P_mean - z * law.P_std)), float(np.exp(law.P_mean + z * law.P_std))
    if law.kind == "edm":
        return float(law.sigma_min), float(law.sigma_max)
    raise ValueError(f"training_range: unknown noise law {law.kind!r}")


def gaussian_bar(sigmas, data_range: float) -> list[float]:
    """The σ at which a generalizing network must beat the Gaussian denoiser: those below half the
    data's range. Beyond it the noise is as large as the signal, the posterior mean becomes linear in y,
    and the best denoiser's error approaches D_G's, so losing to D_G by a little is no sign of an
    unconverged network."""
    return [float(s) for s in sigmas if s < data_range / 2]


def summary(certs: dict, family=str) -> str:
    """A table of certificates grouped by ``family(key)``: per family how many pass, the tightest
    relative margin, and the largest change of the loss over the last fifth of training (with twice its
    standard error; shown, not part of the verdict)."""
    rows = [f"{'family':24s} {'pass':>7s} {'margin':>7s}  largest Δ loss (2 s.e.)"]
    for fam in dict.fromkeys(map(family, certs)):
        cs = [c for k, c in certs.items() if family(k) == fam]
        moved = [c.plateau for c in cs if c.plateau is not None]
        d, se = max(moved, key=lambda p: abs(p[0])) if moved else (float("nan"), float("nan"))
        margin = min(c.margin for c in cs)
        rows.append(f"{str(fam):24s} {sum(c.passed for c in cs):>3d} / {len(cs):<2d}"
                    f" {margin:+7.2f}  {d:+.2f} ({2 * se:.2f})")
    return "\n".join(rows)

"""Summaries of a Jacobian eigen-analysis (:class:`gendiff.harmonic.Shrinkage`) used in chapter 1, §3.

The MMSE denoiser's Jacobian J = Cov[x | y]/σ² is symmetric positive semi-definite, so its shrinkage
factors λ_k of f(y) = Σ_k λ_k ⟨y, e_k⟩ e_k (paper eq. 4) lie in [0, 1] up to the network's error; the
paper's spectra lie in [0, 1.25] (its Fig. 3). A briefly trained network has a tail of negative λ_k.
:func:`negative_tail` describes that tail: how many λ_k fall below −0.05, how much of their eigenvectors'
energy lies at high spatial frequencies (:func:`gendiff.harmonic.highfreq_share`), and how much of the
clean images' energy Σ_k ⟨x, e_k⟩² they carry.
"""
from __future__ import annotations

from dataclasses import dataclass

from .harmonic import highfreq_share


@dataclass
class NegativeTail:
    """The negative tail of a spectrum (means over the analysed images)."""

    share: float       # share of all λ_k in [lo, hi] (the chapter's claim: ≥ 0.95)
    n_neg: float       # number of λ_k < lo per image
    hf_neg: float      # high-frequency share of those eigenvectors' energy (nan without any)
    neg_energy: float  # share of the clean images' energy Σ⟨x, e_k⟩² in those directions
    hf_top: float      # high-frequency share of the leading ``top`` eigenvectors
    lam_min: float     # smallest λ_k
    asymmetry: float   # ‖J − Jᵀ‖/‖J‖


def negative_tail(r, size: int, *, lo: float = -0.05, hi: float = 1.3, top: int = 32) -> NegativeTail:
    """:class:`NegativeTail` of the analysis ``r`` of ``size`` × ``size`` images."""
    lam, neg = r.lam, r.lam < lo
    hf = highfreq_share(r.E, size)                     # (B, d), energy at max(|k_x|, |k_y|) ≥ n/4
    c2 = r.coef_x ** 2                                 # the clean images' energy per eigenvector
    return NegativeTail(
        share=float(((lam >= lo) & (lam <= hi)).double().mean()),
        n_neg=float(neg.double().sum(1).mean()),
        hf_neg=float(hf[neg].mean()) if neg.any() else float("nan"),
        neg_energy=float(((c2 * neg).sum(1) / c2.sum(1)).mean()),
        hf_top=float(hf[:, :top].mean()), lam_min=float(lam.min()),
        asymmetry=float(r.asymmetry.mean()))

"""Minimum-norm shallow denoisers in function space (Zeno, Ongie, Blumenfeld, Weinberger & Soudry, NeurIPS 2023).

Setting (paper §2; the body of the paper could not be read, so the closed forms below are the ones
re-derived for this book and checked numerically in chapter 2):

* clean points x_1..x_N ∈ ℝ^d; noisy samples y = x_n + ε with ‖ε‖ ≤ ρ < ½ min_{n≠m}‖x_n − x_m‖;
* denoiser h_θ(y) = Σ_k a_k [w_k^T y + b_k]_+ + V y + c (shallow ReLU net, unregularised skip V, c);
* weight cost C(θ) = ½ Σ_k (‖a_k‖² + ‖w_k‖²); after balancing, the path cost Σ_k ‖a_k‖‖w_k‖;
* problem (P): h*_ρ = argmin R(h) s.t. h ≡ x_n on every ball B(x_n, ρ) (the λ → 0, M → ∞ limit of
  Σ_{n,m} ‖h(y_nm) − x_n‖² + λ C(θ)).

Closed forms (NumPy, float64) are all sums of *rank-one ramps*
r(y) = v · clip((u^T y − t0)/(t1 − t0), 0, 1), each realised by two ReLUs at path cost 2‖v‖/(t1 − t0):

* 1D (eq. ``ch02-1d``): ``minnorm_1d`` and its cost Σ_n 2Δ_n/(Δ_n − 2ρ) (``repr_cost_1d``);
* data in an affine subspace (§2.5a): ``minnorm_subspace``;
* union of non-acute rays through a training apex (§2.5b): ``minnorm_rays``;
* obtuse simplex, ramps along the edges at the obtuse vertex (§2.5c): ``minnorm_obtuse_simplex``;
* regular simplex, ramps along the facet normals (§2.5d): ``minnorm_regular_simplex`` (a member of the
  face-aligned family ``face_aligned_simplex`` whose anchor p = centroid; p = a vertex is the
  "barycentric" construction).

The trained side (PyTorch): ``ShallowDenoiser`` holds G independent nets as one batched module (so
several configurations train in one loop of :func:`gendiff.train.fit`), ``train_minnorm`` trains it
full-batch on offline (fixed) or online (fresh every step) ball noise, and the alignment metrics compare
its neurons with the directions the closed forms predict.

The implementation is split by concept: :mod:`gendiff.minnorm_1d` (univariate closed form, costs, eMMSE,
generalisation sweep), :mod:`gendiff.minnorm_multi` (multivariate closed forms), :mod:`gendiff.minnorm_train`
(the batched net, its training and neuron metrics), :mod:`gendiff.minnorm_eval` (trained nets
measured against the closed forms), :mod:`gendiff.minnorm_lifted` (competitors of the subspace and ray
closed forms, trained nets against both), :mod:`gendiff.minnorm_plots` (figures) and
:mod:`gendiff.minnorm_gen` (trained nets against eMMSE on fresh points). This module re-exports all but the
last, so ``from gendiff import minnorm as mm`` reaches every name.
"""
from __future__ import annotations

from .minnorm_1d import *          # noqa: F401,F403
from .minnorm_1d import _check_rho, _check_rho_1d  # noqa: F401
from .minnorm_multi import *       # noqa: F401,F403
from .minnorm_multi import _check_altitudes  # noqa: F401
from .minnorm_plots import *       # noqa: F401,F403
from .minnorm_train import *       # noqa: F401,F403
from .minnorm_eval import *        # noqa: F401,F403
from .minnorm_lifted import *      # noqa: F401,F403

"""Mixtures of low-rank Gaussians (MoLRG), Chapter 4: one name for the chapter to import.

Wang, Zhang, Zhang, Chen, Ma & Qu, *Diffusion models learn low-dimensional distributions via subspace
clustering* (arXiv:2409.02426), re-derived from the mathematics; equation numbers refer to Chapter 4,
``(ch04-…)``. The code is split by concept, and everything is re-exported here:

* :mod:`gendiff.molrg_exact` — data, the exact denoiser (ch04-weights, ch04-denoiser), its Monte-Carlo check,
  the DAE loss in closed form (ch04-thm1) and the class MoLRG of real data;
* :mod:`gendiff.molrg_solvers` — PCA, K-subspaces (ch04-thm3), subspace distances, closed-form sweeps;
* :mod:`gendiff.molrg_dae` — the low-rank DAE (ch04-lowrank) and its training, batched over trials;
* :mod:`gendiff.molrg_nets` — Jacobian rank, editing directions, the EDM MLP denoiser, the GL score;
* :mod:`gendiff.molrg_checks` — the chapter's measurements over grids (Monte-Carlo check, Thm 1/3 gaps,
  success rates, editing statistics).

The figures are in :mod:`gendiff.molrg_plots` (not re-exported).
"""
from .molrg_exact import (random_bases, sample_molrg, posterior_logits, posterior_weights,  # noqa: F401
                          posterior_mean, score, MoLRGDenoiser, mc_posterior_mean, off_subspace_ratio,
                          dae_loss_closed_form, dae_loss_mc, projected_gradient_minimize, fit_class_molrg)
from .molrg_solvers import (top_directions, pca_subspace, sc_objective, spectral_labels,  # noqa: F401
                            k_subspaces, subspace_distance, single_subspace_distance, sweep_closed_form,
                            noisy_pca_errors, loglog_slope)
from .molrg_dae import (LowRankDAE, DAETrainConfig, dae_batch_loss, train_low_rank_dae,  # noqa: F401
                        sweep_dae, DAESweepJob, sweep_dae_cached, sweep_dae_many)
from .molrg_nets import (numerical_rank, jacobians, rank_vs_sigma, editing_directions,  # noqa: F401
                         MLPDenoiser, gl_score_molrg, curve_gap, gl_data, gl_unet_sweep)
from .molrg_checks import (config_lines, mc_check, subspace_energy, thm1_relative_errors,  # noqa: F401
                           rotated_bases, soft_hard_gap, success, split_rates, rate_by_N, first_all,
                           recover_one, edit_stats, random_unit)

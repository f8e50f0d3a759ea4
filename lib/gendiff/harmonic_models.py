"""The networks of chapter 1's analyses (Kadkhodaie et al. 2024, Figs. 3–5), as training jobs.

Every network is the bias-free UNet of :func:`gendiff.configs.ch01.network`, trained by
:func:`gendiff.train.fit` on the residual loss ‖r(y) − σz‖² with σ = U², U ~ U[0, 1]; a job is cached under
its name, data and configuration, so the chapter trains once and loads afterwards.

* ``(N, "A")`` for the smallest and largest N of the Cα pool: the memorizing and the generalizing network
  of §3 (``cfg.steps`` steps, like the digit networks of §1);
* ``"spectrum"``: the largest-N run trained ``cfg.spectrum_steps`` steps (the Jacobian spectrum of §3 is
  the measurement most sensitive to under-training);
* ``("calpha", α)``: one network per α on Cα images, loss weighted by ``cfg.calpha_weight`` (the optimal
  slopes α/(α+1) of §4, paper Fig. 4), and ``"contour"``: the α = ``cfg.contour_alpha`` run trained
  ``cfg.contour_steps`` steps, when that differs from ``cfg.calpha_steps`` (§4's eigenvectors);
* ``"disks"``: one network on disk images, a 5-dimensional manifold (§5, paper Fig. 5).
"""
from __future__ import annotations

from .configs import ch01


def analysis_jobs(cfg, sets: dict, calpha_sets: dict, disks, n_min: int, n_max: int) -> dict:
    """The jobs listed in the module docstring, in that order. ``sets[(N, "A")]``: the Cα training sets
    of §3; ``calpha_sets[α]``: Cα images whose first ``cfg.n_calpha`` train; ``disks``: disk images whose
    first ``cfg.n_disk`` train."""
    jobs = {(n, "A"): ch01.job(cfg, sets[n, "A"], f"rich-N{n}-A", steps=cfg.steps, weight=cfg.weight)
            for n in (n_min, n_max)}
    for a in cfg.alphas:
        jobs["calpha", a] = ch01.job(cfg, calpha_sets[a][:cfg.n_calpha], f"calpha{a:g}",
                                     steps=cfg.calpha_steps, weight=cfg.calpha_weight)
    jobs["disks"] = ch01.job(cfg, disks[:cfg.n_disk], "disks", steps=cfg.disk_steps,
                             blocks=cfg.disk_blocks)
    jobs["spectrum"] = ch01.job(cfg, sets[n_max, "A"], f"rich-N{n_max}-A-long",
                                steps=cfg.spectrum_steps, weight=cfg.weight)
    if cfg.contour_steps != cfg.calpha_steps:
        a_c = cfg.contour_alpha
        jobs["contour"] = ch01.job(cfg, calpha_sets[a_c][:cfg.n_calpha], f"calpha{a_c:g}-long",
                                   steps=cfg.contour_steps, weight=cfg.calpha_weight)
    return jobs

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


def certificates(cfg, trained: dict, *, halves: dict, other: dict, sets: dict, test, calpha_sets: dict, disks,
                 n_hi: int) -> dict:
    """The convergence certificate (:func:`gendiff.certificate.certify`) of every network of the chapter
    (``trained``: {key: :class:`gendiff.train.Trained`}), keyed like it, over the σ of ``cfg.sigmas`` (all
    inside the training law's range σ ≤ 1), each with the plateau of its training loss:

    * digit networks of the largest N (``n_hi``, where the chapter says they generalize): on held-out
      digits (the last ``cfg.n_eval`` of the other half), beat doing nothing at every σ and the Gaussian
      denoiser of their training digits at every σ below half the image range
      (:func:`gendiff.certificate.gaussian_bar`);
    * every other digit network, and the memorizing network of §3: on their own training images (which a
      memorizing network reproduces), beat doing nothing at every σ;
    * the networks of §3–§5 (generalizing Cα, Cα per α, disks): on held-out images of their kind, beat doing
      nothing at every σ.
    """
    from functools import partial

    from .certificate import certify, gaussian_bar

    out = {}
    for key, run in trained.items():
        net, certify_ = run.model, partial(certify, losses=run.history["loss"])
        if key[0] == "digits":
            _, n, _, g = key
            train_x = halves[g][:n]
            if n == n_hi:
                out[key] = certify_(net, halves[other[g]][-cfg.n_eval:], train_x, cfg.sigmas,
                                    gaussian_at=gaussian_bar(cfg.sigmas, 1.0))
            else:
                out[key] = certify_(net, train_x[:cfg.n_eval], train_x, cfg.sigmas)
        elif isinstance(key, tuple) and key[1] == "A":
            x = sets[key]
            held = x[:cfg.n_eval] if key[0] == min(k[0] for k in sets) else test[:cfg.n_eval]
            out[key] = certify_(net, held, x, cfg.sigmas)
        elif key == "spectrum":
            out[key] = certify_(net, test[:cfg.n_eval], sets[max(k[0] for k in sets), "A"], cfg.sigmas)
        elif key == "disks":
            out[key] = certify_(net, disks[cfg.n_disk:], disks[:cfg.n_disk], cfg.sigmas)
        else:                                               # ("calpha", α) and "contour"
            a = key[1] if isinstance(key, tuple) else cfg.contour_alpha
            x = calpha_sets[a]
            out[key] = certify_(net, x[cfg.n_calpha:][:cfg.n_eval], x[:cfg.n_calpha], cfg.sigmas)
    return out

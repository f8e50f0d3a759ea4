"""The helpers behind chapters 0 and 5 (gendiff.denoiser_basics, gendiff.synthesis figures) and the book's
glue-figure extension (_ext/sphinx_figures.py)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch

from gendiff import denoiser_basics as basics
from gendiff import predictors, runtime, synthesis


def _tables(rng):
    sig = (0.1, 0.4)
    names = ["empirical", "Gaussian", "low-rank mixture", "DCT shrinkage"]
    t = {n: {k: rng.uniform(0, 1, (len(sig), 5)) for k in names} for n in (10, 300)}
    t[300]["patch machine 5×5"] = np.full((len(sig), 5), 2.0)     # best everywhere at N = 300
    return t, sig


def test_best_predictor_map_names_the_winner_with_its_r2():
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_hex

    t, sig = _tables(np.random.default_rng(0))
    best = synthesis.best_predictor(t)
    assert best[300, 0] == best[300, 1] == "patch machine 5×5"
    table = synthesis.best_table(best, (10, 300), sig).splitlines()
    assert len(table) == 3 and table[2].count("patch machine 5×5") == 2
    fig = synthesis.plot_best_predictor(t, sig)
    ax = fig.axes[0]
    texts = [x.get_text() for x in ax.texts]
    assert len(texts) == 4 and texts[-1] == "patch\nr² = 2.00"
    rgba = ax.images[0].cmap(ax.images[0].norm(ax.images[0].get_array()[1, 1]))
    assert to_hex(rgba) == synthesis.PREDICTOR_COLORS["patch machine"].lower()
    assert fig.get_size_inches()[0] <= 7.0
    plt.close(fig)


def test_plot_outputs_titles_each_predictor_with_its_r2():
    import matplotlib.pyplot as plt

    x = torch.rand(20, 1, 8, 8, generator=runtime.generator(0))
    preds = {"empirical": predictors.empirical(x), "Gaussian": predictors.gaussian(x)}
    fig = synthesis.plot_outputs(preds["Gaussian"], preds, x[:1], 0.3)
    titles = [a.get_title() for a in fig.axes]
    assert titles[:3] == ["clean", "noisy, σ = 0.3", "network"]
    assert titles[4] == "Gaussian\nr² = 1.00"             # the "network" here is the Gaussian denoiser
    assert fig.get_size_inches()[0] <= 7.0
    plt.close(fig)


def test_tweedie_check_is_exact_and_monte_carlo_close():
    rows = basics.tweedie_check(basics.example_priors(), [0.5], mc_samples=20_000,
                                generator=runtime.generator(1), n_points=16)
    assert [r["prior"] for r in rows] == ["Gaussian", "mixture"]
    assert max(r["tweedie_err"] for r in rows) < 1e-8
    assert max(r["mc_err"] for r in rows) < 0.05
    assert "Tweedie" in basics.tweedie_table(rows)


@pytest.mark.parametrize("gain, text", [([1, 0.5, 0.2], "at none of the σ up to 0.4"),
                                        ([-1, 0.5, 0.2], "already at σ = 0.1"),
                                        ([1, -0.5, -1], "between σ = 0.1 and σ = 0.2")])
def test_crossing_text(gain, text):
    assert basics.crossing_text([0.1, 0.2, 0.4], gain) == text


def test_spectrum_summary_counts_eigenvalues():
    lam = torch.tensor([[1.0, 0.95, 0.5, 0.05, -0.2]])
    J = torch.diag(lam[0])[None]
    s = basics.spectrum_summary(lam, J)
    assert (s["n-pass"], s["n-zero"], s["n-neg"]) == (2, 1, 1)
    assert s["lam-max"] == 1.0 and s["lam-min"] == pytest.approx(-0.2)
    assert s["eff-dim"] == pytest.approx(2.3)


def test_glue_figure_extension_registers():
    import importlib.util

    from gendiff import runtime
    spec = importlib.util.spec_from_file_location("sphinx_figures", runtime.REPO_ROOT / "_ext" / "sphinx_figures.py")
    sphinx_figures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sphinx_figures)

    calls = []

    class App:
        def add_directive(self, name, cls):
            calls.append(name)

        def add_post_transform(self, cls):
            calls.append(cls.default_priority)

    meta = sphinx_figures.setup(App())
    assert calls == ["glue-figure", 6] and meta["parallel_read_safe"]

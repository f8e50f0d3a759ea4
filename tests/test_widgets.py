"""Unit tests for gendiff.widgets.explore: the static figure is drawn where the panel starts."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest

from gendiff import widgets


def _recorder():
    calls = []

    def plot(sigma=0.2, index=0):
        calls.append(dict(sigma=sigma, index=index))
        return plt.figure()
    return plot, calls


def test_static_figure_uses_the_plot_functions_defaults():
    plot, calls = _recorder()
    widgets.explore(plot, interactive=False, sigma=(0.02, 0.6, 0.02), index=(0, 20, 1))
    assert calls == [dict(sigma=0.2, index=0)]          # not the slider midpoints 0.31 and 10


def test_without_defaults_the_static_figure_is_at_the_middle_or_first_option():
    calls = []

    def plot(sigma, index, name):
        calls.append((sigma, index, name))
        return plt.figure()
    widgets.explore(plot, interactive=False, sigma=(0.02, 0.6, 0.02), index=(0, 20, 1), name=["a", "b"])
    assert calls == [(pytest.approx(0.31), 10, "a")]


def test_an_explicit_widget_value_wins_over_the_signature_default():
    w = pytest.importorskip("ipywidgets")
    plot, calls = _recorder()
    widgets.explore(plot, interactive=False, sigma=w.FloatSlider(value=0.4, min=0.02, max=0.6, step=0.02),
                    index=(0, 20, 1))
    assert calls == [dict(sigma=pytest.approx(0.4), index=0)]


def test_a_default_outside_the_slider_range_is_an_error():
    plot, _ = _recorder()
    with pytest.raises(ValueError, match="outside its slider range"):
        widgets.explore(plot, interactive=False, sigma=(0.3, 0.6, 0.02), index=(0, 20, 1))
    with pytest.raises(ValueError, match="not one of its options"):
        widgets.static_settings(lambda net="c": None, net=["a", "b"])


def test_the_interactive_panel_starts_at_the_same_settings(monkeypatch):
    w = pytest.importorskip("ipywidgets")
    seen = {}

    def fake_interact(fn, **controls):                  # what ipywidgets.interact would build
        seen["panel"] = w.interactive(fn, **controls)
    monkeypatch.setattr(w, "interact", fake_interact)
    plot, calls = _recorder()
    widgets.explore(plot, sigma=(0.02, 0.6, 0.02), index=(0, 20, 1))
    start = {c.description: c.value for c in seen["panel"].children if hasattr(c, "description") and c.description}
    assert start["sigma"] == pytest.approx(0.2) and start["index"] == 0
    assert calls[0] == dict(sigma=0.2, index=0)

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
    monkeypatch.setenv("BOOK_LIVE_WIDGETS", "1")      # conftest.py turns the panels off for nbval
    seen = {}

    def fake_interact(fn, **controls):                  # what ipywidgets.interact would build
        seen["panel"] = w.interactive(fn, **controls)
    monkeypatch.setattr(w, "interact", fake_interact)
    plot, calls = _recorder()
    widgets.explore(plot, sigma=(0.02, 0.6, 0.02), index=(0, 20, 1))
    start = {c.description: c.value for c in seen["panel"].children if hasattr(c, "description") and c.description}
    assert start["sigma"] == pytest.approx(0.2) and start["index"] == 0
    assert calls[0] == dict(sigma=0.2, index=0)


def test_slider_precomputes_one_frame_per_value_and_shows_the_start():
    import re

    import matplotlib.pyplot as plt

    from gendiff import widgets

    def draw(s):
        fig, ax = plt.subplots(figsize=(2, 1))
        ax.plot([0, 1], [0, s])
        return fig

    html = widgets.slider(draw, "σ", [0.1, 0.2, 0.4], start=0.2, fmt="{:.1f}", alt="a line").data
    frames = re.findall(r'<img class="gd-frame"[^>]*>', html)
    assert len(frames) == 3 and sum(" hidden" in f for f in frames) == 2
    assert " hidden" not in frames[1] and 'alt="a line (σ = 0.2)"' in frames[1]
    assert 'type="range"' in html and 'max="2"' in html and 'value="1"' in html
    assert "<script" not in html and "http" not in html        # offline, no script tag, no CDN
    with pytest.raises(ValueError, match="no values"):
        widgets.slider(draw, "σ", [])


def test_explore_sweep_shows_the_slider_at_the_default():
    import matplotlib.pyplot as plt

    from gendiff import widgets

    def draw(sigma=0.2, index=0):
        fig, ax = plt.subplots(figsize=(2, 1))
        ax.set_title(f"{sigma} {index}")
        return fig

    out = widgets.explore(draw, interactive=False, sweep="sigma", values=[0.1, 0.2, 0.3],
                          sigma=(0.02, 0.6, 0.02), index=(0, 20, 1))
    assert 'value="1"' in out.data
    with pytest.raises(ValueError, match="must name one of the controls"):
        widgets.explore(draw, interactive=False, sweep="tau", values=[1], sigma=(0.02, 0.6, 0.02))


def test_no_live_panel_without_a_widget_frontend(monkeypatch):
    w = pytest.importorskip("ipywidgets")
    monkeypatch.setenv("BOOK_LIVE_WIDGETS", "0")
    monkeypatch.setattr(w, "interact", lambda *a, **k: pytest.fail("a live panel was built"))
    widgets.explore(lambda sigma=0.2: plt.figure(), sigma=(0.02, 0.6, 0.02))

"""Interactive explorers that also render as static figures.

``explore(plot_fn, **controls)`` first calls ``plot_fn`` with every control's default and shows that
figure (what the HTML book and the tests see), then — in a live kernel — an ``ipywidgets.interact``
panel calling the same pure function. A reader without a kernel loses nothing but the sliders.
"""
from __future__ import annotations

import matplotlib.pyplot as plt


def _default(control):
    if isinstance(control, (list, tuple)):
        if len(control) == 3 and all(isinstance(v, (int, float)) for v in control):
            lo, hi, _ = control
            return type(lo)((lo + hi) / 2) if isinstance(lo, int) else (lo + hi) / 2
        return control[0]
    return getattr(control, "value", control)


def explore(plot_fn, *, static: bool = True, interactive: bool = True, **controls):
    """Show ``plot_fn(**defaults)`` as a static figure, then an interactive panel over ``controls``.

    ``controls`` are ipywidgets widgets or ``interact`` abbreviations ((min, max, step) tuples, lists).
    ``plot_fn`` must return a matplotlib figure. Returns the static figure.
    """
    from IPython.display import display

    fig = None
    if static:
        fig = plot_fn(**{k: _default(v) for k, v in controls.items()})
        display(fig)
        plt.close(fig)
    if interactive:
        import ipywidgets as w

        def _show(**kw):
            f = plot_fn(**kw)
            display(f)
            plt.close(f)

        w.interact(_show, **controls)
    return fig

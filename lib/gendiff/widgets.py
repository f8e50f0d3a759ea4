"""Interactive explorers that also render as static figures.

``explore(plot_fn, **controls)`` first calls ``plot_fn`` at its default settings and shows that figure
(what the HTML book and the tests see), then — in a live kernel — an ``ipywidgets.interact`` panel
calling the same pure function, whose controls start at the same settings. A reader without a kernel
loses nothing but the sliders.

The default of each control is, in order of precedence:

1. the ``value`` of an ipywidgets widget passed as the control (the panel shows that value);
2. the default of the parameter of the same name in ``plot_fn``'s signature (``inspect.signature``);
3. otherwise the middle of a ``(min, max[, step])`` tuple, or the first entry of a list of options.
"""
from __future__ import annotations

import inspect

import matplotlib.pyplot as plt

_EMPTY = inspect.Parameter.empty


def _is_range(control) -> bool:
    """A ``(min, max)`` or ``(min, max, step)`` tuple of numbers: ``interact`` makes it a slider."""
    return (isinstance(control, tuple) and len(control) in (2, 3)
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in control))


def _fallback(control):
    """The default without a signature default: a range's middle, a list's first option, a widget's value."""
    if isinstance(control, (list, tuple)):
        if _is_range(control):
            lo, hi = control[:2]
            return type(lo)((lo + hi) / 2) if isinstance(lo, int) else (lo + hi) / 2
        return control[0]
    return getattr(control, "value", control)


def _default(control, fn_default=_EMPTY, name: str = "control"):
    """The setting of one control for the static figure (see the module docstring for the precedence).

    A signature default outside a ``(min, max, step)`` range, or missing from a list of options, raises
    ``ValueError``: the slider could not start there, so the static figure would not match the panel.
    """
    if hasattr(control, "value") and not isinstance(control, (list, tuple)):
        return control.value                         # an explicit widget: the panel starts at its value
    if fn_default is _EMPTY:
        return _fallback(control)
    if _is_range(control):
        lo, hi = control[:2]
        if not lo <= fn_default <= hi:
            raise ValueError(f"the default {name}={fn_default!r} of the plot function lies outside its "
                             f"slider range [{lo}, {hi}]")
    elif isinstance(control, (list, tuple)):
        options = [o[1] if isinstance(o, tuple) and len(o) == 2 else o for o in control]
        if fn_default not in options:
            raise ValueError(f"the default {name}={fn_default!r} of the plot function is not one of its "
                             f"options {options!r}")
    return fn_default


def signature_defaults(plot_fn) -> dict:
    """{parameter name: default} for the parameters of ``plot_fn`` that have a default."""
    try:
        params = inspect.signature(plot_fn).parameters.values()
    except (TypeError, ValueError):                  # builtins without a signature
        return {}
    return {p.name: p.default for p in params if p.default is not _EMPTY}


def static_settings(plot_fn, **controls) -> dict:
    """The keyword arguments ``explore`` passes to ``plot_fn`` for the static figure."""
    defaults = signature_defaults(plot_fn)
    return {k: _default(v, defaults.get(k, _EMPTY), k) for k, v in controls.items()}


def explore(plot_fn, *, static: bool = True, interactive: bool = True, **controls):
    """Show ``plot_fn(**defaults)`` as a static figure, then an interactive panel over ``controls``.

    ``controls`` are ipywidgets widgets or ``interact`` abbreviations ((min, max, step) tuples, lists).
    The static figure and the panel's starting point use ``plot_fn``'s own parameter defaults where it has
    them (see the module docstring). ``plot_fn`` must return a matplotlib figure. Returns the static figure.
    """
    from IPython.display import display

    settings = static_settings(plot_fn, **controls)
    fig = None
    if static:
        fig = plot_fn(**settings)
        display(fig)
        plt.close(fig)
    if interactive:
        import ipywidgets as w

        def _show(**kw):
            f = plot_fn(**kw)
            display(f)
            plt.close(f)

        # interact reads each control's starting value from the wrapped function's signature defaults
        _show.__signature__ = inspect.Signature(
            [inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, default=settings[k]) for k in controls])
        w.interact(_show, **controls)
    return fig

"""Interactive explorers that also render as static figures.

``explore(plot_fn, **controls)`` first calls ``plot_fn`` at its default settings and shows that figure
(what the HTML book and the tests see), then — in a live kernel — an ``ipywidgets.interact`` panel
calling the same pure function, whose controls start at the same settings. A reader without a kernel
loses nothing but the sliders.

``explore(..., sweep="sigma", values=[...])`` also makes the static output interactive without a kernel:
``plot_fn`` is drawn once per value of the swept control (the others at their defaults) and the frames
become a :func:`slider` — PNG frames embedded in the page with an ``<input type="range">`` that shows one
of them. It needs only the browser: no kernel, no CDN, no script tag (the handler is an ``oninput``
attribute), and a printed page shows the first-listed default frame.

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


_SLIDER_JS = ("var b=this.closest('.gd-slider'),i=+this.value;"
              "b.querySelectorAll('img.gd-frame').forEach(function(m,k){m.hidden=k!==i;});"
              "b.querySelector('.gd-value').textContent=this.dataset.labels.split('|')[i];")


def _png(fig) -> str:
    import base64
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def slider(plot_fn, name: str, values, *, start=None, fmt: str = "{}", alt: str = ""):
    """A kernel-free slider over precomputed frames: ``plot_fn(value)`` for each of ``values``.

    Returns an ``IPython.display.HTML`` object (display or glue it). The frame of ``start`` (default: the
    first value) is shown first. ``alt`` is the frames' alt text (each frame adds ``name = value``).
    """
    from html import escape

    from IPython.display import HTML

    values = list(values)
    if not values:
        raise ValueError("slider: no values to precompute")
    i0 = values.index(start) if start is not None else 0
    labels = [fmt.format(v) for v in values]
    if any("|" in lab for lab in labels):
        raise ValueError("slider: a value label may not contain '|'")
    frames = "".join(
        f'<img class="gd-frame" alt="{escape(alt)} ({escape(name)} = {escape(lab)})"'
        f'{"" if k == i0 else " hidden"} src="data:image/png;base64,{_png(plot_fn(v))}">'
        for k, (v, lab) in enumerate(zip(values, labels)))
    return HTML(
        f'<div class="gd-slider"><label>{escape(name)} = <span class="gd-value">{escape(labels[i0])}'
        f'</span><br><input type="range" min="0" max="{len(values) - 1}" step="1" value="{i0}" '
        f'data-labels="{escape("|".join(labels))}" oninput="{_SLIDER_JS}" '
        f'aria-label="{escape(name)}" style="width:min(100%,28em)"></label>{frames}</div>')


def explore(plot_fn, *, static: bool = True, interactive: bool = True, sweep: str | None = None,
            values=None, fmt: str = "{}", alt: str = "", glue_as: str | None = None, **controls):
    """Show ``plot_fn(**defaults)`` as a static figure, then an interactive panel over ``controls``.

    ``controls`` are ipywidgets widgets or ``interact`` abbreviations ((min, max, step) tuples, lists).
    The static figure and the panel's starting point use ``plot_fn``'s own parameter defaults where it has
    them (see the module docstring). ``plot_fn`` must return a matplotlib figure. Returns the static figure,
    or, with ``sweep`` (a control's name) and ``values``, the kernel-free :func:`slider` over that control
    (shown in place of the static figure, starting at its default; ``fmt``/``alt`` as in :func:`slider`).
    ``BOOK_LIVE_WIDGETS=0`` turns the live panel off (the tests' kernels have no widget frontend).
    With ``glue_as`` the slider is glued under that name instead of shown, for a numbered
    ``{glue:figure}`` with a caption in the prose, and ``None`` is returned.
    """
    import os

    from IPython.display import display

    settings = static_settings(plot_fn, **controls)
    # BOOK_LIVE_WIDGETS=0 (set by conftest.py for nbval, which has no widget frontend): no live panel
    interactive = interactive and os.environ.get("BOOK_LIVE_WIDGETS", "1") != "0"
    fig = None
    if static and sweep is not None:
        if sweep not in controls or values is None:
            raise ValueError(f"explore: sweep={sweep!r} must name one of the controls {list(controls)} "
                             f"and come with values=")
        start = settings[sweep] if settings[sweep] in list(values) else None
        fig = slider(lambda v: plot_fn(**{**settings, sweep: v}), sweep, values, start=start, fmt=fmt,
                     alt=alt)
        if glue_as:
            from . import book
            book.glue(glue_as, fig)
            fig = None                  # glued, not shown: a cell ending in explore(...) must not echo it
        else:
            display(fig)
    elif static:
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

"""Sphinx extension for the book's HTML: offline math and a clean browser console.

1. MathJax 3 is served from the installed ``mathjax`` package (PyPI: django-static-mathjax), so the HTML
   typesets its math without network access. ``mathjax_path`` in ``_config.yml`` names the bundle relative
   to ``_static``; the one self-contained file (TeX input, SVG output, fonts inside) is copied into
   ``_static`` when the HTML build finishes.
2. sphinx-thebe (loaded by jupyter-book) registers its inline configuration script once per reading pass;
   a page that gets it twice throws ``Identifier 'THEBE_JS_URL' has already been declared``. Identical
   scripts are dropped from each page.
3. pydata-sphinx-theme logs an error on a first visit unless a default light/dark mode is set: "auto",
   so the book follows the reader's system setting (light or dark) until the reader picks one.
   (The browser test of the built book fails on any console error.)
4. ``book_links`` (a second file here, set up from this one): repository and launch buttons from
   ``BOOK_REPO_URL``, Colab on ``notebooks/*.ipynb``, the downloaded ``.ipynb`` with an install cell, and the
   print / narrow-screen styles.
"""
from __future__ import annotations

import shutil
from importlib.util import find_spec
from pathlib import Path

BUNDLE = "tex-svg-full.js"


def bundle_path() -> Path:
    spec = find_spec("mathjax")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("MathJax is not installed: `pip install django-static-mathjax` "
                           "(in the book extras of pyproject.toml; `make book` installs it)")
    path = Path(spec.submodule_search_locations[0]) / "static" / "mathjax" / "es5" / BUNDLE
    if not path.exists():
        raise RuntimeError(f"the mathjax package has no {BUNDLE} at {path}")
    return path


def _check(app) -> None:
    if app.builder.format == "html" and not str(app.config.mathjax_path).endswith(BUNDLE):
        raise RuntimeError(f"book_html: set mathjax_path to 'mathjax/{BUNDLE}' (is {app.config.mathjax_path!r})")
    bundle_path()


def _copy(app, exc) -> None:
    if exc is None and app.builder.format == "html":
        dst = Path(app.outdir) / "_static" / "mathjax" / BUNDLE
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(bundle_path(), dst)


def _dedupe_scripts(app, pagename, templatename, context, doctree) -> None:
    seen, unique = set(), []
    for js in context.get("script_files", []):
        # the same inline script is registered once with filename None and once with "": compare by content
        name = js.filename if hasattr(js, "filename") else str(js)
        key = (name or "", tuple(sorted((k, str(v)) for k, v in getattr(js, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    if "script_files" in context:
        context["script_files"][:] = unique


def _default_mode(app, pagename, templatename, context, doctree) -> None:
    if not context.get("default_mode"):
        context["default_mode"] = "auto"


def setup(app):
    app.setup_extension("book_links")
    app.connect("html-page-context", _default_mode)
    app.connect("builder-inited", _check)
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    app.connect("build-finished", _copy)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

"""Sphinx extension (loaded by ``book_html``): links out of the book, the notebook download, print and
narrow-screen styles.

1. **One setting for the repository.** ``BOOK_REPO_URL`` (environment, e.g.
   ``https://github.com/<org>/<repo>``) is the book's public repository. When it is set, the repository
   button and the launch buttons (Binder, JupyterHub, Colab) point there; when it is unset every one of them
   is left out, so no page links to a repository that does not exist. ``repository.url`` in ``_config.yml``
   stays empty.
2. **Colab opens an ``.ipynb``.** Colab cannot open a MyST text notebook, so its button points at
   ``notebooks/<chapter>.ipynb`` in the repository (written by ``make notebooks``); a page without such a
   file (e.g. the claims page, which needs a checkout) gets no Colab button.
3. **The downloaded ``.ipynb``** of a page is the executed chapter passed through
   ``reader_notebooks.reader_notebook``: an install cell first, glued numbers written into the text.
4. ``static/book.css`` and ``static/book-print.js``: tables scroll inside their column and images never
   overflow on narrow screens; printing (the browser's, or ``make pdf``) opens every dropdown and solution,
   wraps code and hides the navigation.
"""
from __future__ import annotations

from pathlib import Path

import nbformat

import reader_notebooks as rn

STATIC = Path(__file__).resolve().parent / "static"
_URL_KEY = "book_repo_url"


def _config(app, config) -> None:
    opts = config.html_theme_options
    url = rn.repo_url()
    config.book_repo_url = url
    opts["repository_url"] = url
    opts["use_repository_button"] = bool(url)
    if not url:
        # without a repository there is nothing to launch; the theme would also fail to split an empty URL
        opts["launch_buttons"] = {}
        for key in ("use_edit_page_button", "use_issues_button", "use_source_button"):
            opts[key] = False
    config.html_static_path = list(config.html_static_path) + [str(STATIC)]


def _executed(app, pagename: str) -> Path:
    return Path(app.outdir).parent / "jupyter_execute" / f"{pagename}.ipynb"


def _offer_download(app, pagename, templatename, context, doctree) -> None:
    """Before the theme builds its header (priority 501): the page's ``.ipynb`` download exists."""
    if _executed(app, pagename).exists() and "kernelspec" in app.env.metadata.get(pagename, {}):
        context["ipynb_source"] = pagename + ".ipynb"


def _write_download(app, pagename, templatename, context, doctree) -> None:
    """After the theme (which copies the raw executed notebook when launch buttons are on)."""
    if context.get("ipynb_source") != pagename + ".ipynb":
        return
    opts = app.config.html_theme_options
    src = _executed(app, pagename)
    nb = nbformat.read(src, as_version=4)
    dst = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    dst.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(rn.reader_notebook(nb, app.config.book_repo_url, opts.get("repository_branch") or "main",
                                      rn.executed_values(src)), dst)


def colab_link(url: str, branch: str, pagename: str, srcdir: Path, colab: str) -> str | None:
    """Colab's address of the page's ``notebooks/<name>.ipynb`` in the repository, None without one."""
    name = Path(pagename).name
    if not url.startswith("https://github.com/") or not (Path(srcdir) / "notebooks" / f"{name}.ipynb").exists():
        return None
    org_repo = url.removeprefix("https://github.com/")
    return f"{colab.rstrip('/')}/github/{org_repo}/blob/{branch}/notebooks/{name}.ipynb"


def _fix_colab(app, pagename, templatename, context, doctree) -> None:
    opts = app.config.html_theme_options
    colab = opts.get("launch_buttons", {}).get("colab_url", "")
    for group in context.get("header_buttons", []):
        if group.get("label") != "launch-buttons":
            continue
        kept = []
        for button in group.get("buttons", []):
            if button.get("text") == "Colab":
                link = colab_link(app.config.book_repo_url, opts.get("repository_branch") or "main",
                                  pagename, app.srcdir, colab)
                if link is None:
                    continue
                button["url"] = link
            kept.append(button)
        group["buttons"] = kept
    context["header_buttons"] = [g for g in context.get("header_buttons", [])
                                 if g.get("label") != "launch-buttons" or g.get("buttons")]


def setup(app):
    app.add_config_value(_URL_KEY, "", "html")
    app.connect("config-inited", _config)
    app.connect("html-page-context", _offer_download, priority=500)
    app.connect("html-page-context", _write_download, priority=502)
    app.connect("html-page-context", _fix_colab, priority=502)
    app.add_css_file("book.css")
    app.add_js_file("book-print.js")
    return {"parallel_read_safe": True, "parallel_write_safe": True}

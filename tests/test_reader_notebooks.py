"""Notebooks for readers outside a checkout, and the book's links out (``_ext/reader_notebooks.py``,
``_ext/book_links.py``): install cell first, glued numbers written in, Colab on ``notebooks/*.ipynb``,
no repository or launch button without ``BOOK_REPO_URL``. One test builds a two-page book (≈ 10 s)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "_ext"))
nbformat = pytest.importorskip("nbformat")
import reader_notebooks as rn  # noqa: E402

URL = "https://github.com/example-org/example-book"


def test_repo_url_from_environment(monkeypatch):
    monkeypatch.delenv("BOOK_REPO_URL", raising=False)
    assert rn.repo_url() == ""
    monkeypatch.setenv("BOOK_REPO_URL", URL + ".git/")
    assert rn.repo_url() == URL


def test_render_glue_formats_like_myst_nb():
    values = {"x": "3.14159", "n": "12", "name": "'ci'"}
    text = "x={glue:text}`x:.2f`, n={glue:text}`n`, p={glue:text}`name`, other={glue}`ch.md::missing`"
    assert rn.render_glue(text, values) == "x=3.14, n=12, p=ci, other=⟨missing⟩"
    fig = "Before.\n\n```{glue:figure} fig-key\n:name: fig-x\n\nThe caption,\non two lines.\n```\n\nAfter."
    assert rn.render_glue(fig, values) == "Before.\n\n*Figure (the output above): The caption, on two lines.*\n\nAfter."


def test_install_cell_skips_inside_a_checkout_and_installs_outside():
    code = rn.install_source(URL, "main")
    assert f'"git+{URL}@main"' in code and 'find_spec("gendiff") is None' in code
    compile(code, "install", "exec")
    exec(code, {})                      # gendiff is importable here: the cell does nothing
    bare = rn.install_source("")
    assert "git+" not in bare and "pip install -e ." in bare
    compile(bare, "install", "exec")


def test_reader_notebook_drops_glue_records_and_keeps_the_rest():
    nb = nbformat.v4.new_notebook()
    glue_out = nbformat.v4.new_output("display_data", data={rn.GLUE_PREFIX + "text/plain": "0.5"},
                                      metadata={"scrapbook": {"name": "r", "mime_prefix": rn.GLUE_PREFIX}})
    shown = nbformat.v4.new_output("stream", text="hello\n")
    nb.cells = [nbformat.v4.new_code_cell("x = 1", outputs=[glue_out, shown]),
                nbformat.v4.new_markdown_cell("r is {glue:text}`r:.1f`.")]
    out = rn.reader_notebook(nb, URL)
    assert out.cells[0].metadata["tags"] == [rn.INSTALL_TAG]
    assert out.cells[1].outputs == [shown]
    assert out.cells[2].source == "r is 0.5."
    assert len(rn.reader_notebook(out, URL).cells) == len(out.cells)      # one install cell, not two
    nbformat.validate(out)


def test_chapter_notebook_is_the_chapter_with_an_install_cell():
    import jupytext
    chapter = "chapters/00-denoisers-and-generalization"
    nb = rn.chapter_notebook(chapter, URL)
    src = jupytext.read(ROOT / f"{chapter}.md")
    assert nb.cells[0].metadata["tags"] == [rn.INSTALL_TAG]
    assert [c.source for c in nb.cells[1:] if c.cell_type == "code"] == \
           [c.source for c in src.cells if c.cell_type == "code"]
    assert not any("{glue" in c.source for c in nb.cells if c.cell_type == "markdown")
    assert "jupytext" not in nb.metadata
    nbformat.validate(nb)


def test_committed_notebooks_match_the_chapters():
    """``notebooks/*.ipynb`` (what Colab opens) run the chapters' current code: rerun `make notebooks`."""
    import jupytext
    stale = []
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        chapter = ROOT / "chapters" / f"{path.stem}.md"
        nb, src = nbformat.read(path, as_version=4), jupytext.read(chapter) if chapter.exists() else None
        if src is None or [c.source for c in nb.cells[1:] if c.cell_type == "code"] != \
                [c.source for c in src.cells if c.cell_type == "code"]:
            stale.append(path.name)
    assert not stale, f"notebooks out of date with the chapters (BOOK_REPO_URL=... make notebooks): {stale}"


def test_colab_link_needs_a_github_repository_and_a_notebook(tmp_path):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "01-a.ipynb").write_text("{}")
    import book_links
    colab = "https://colab.research.google.com/"
    assert book_links.colab_link(URL, "main", "chapters/01-a", tmp_path, colab) == \
        "https://colab.research.google.com/github/example-org/example-book/blob/main/notebooks/01-a.ipynb"
    assert book_links.colab_link(URL, "main", "chapters/06-claims", tmp_path, colab) is None
    assert book_links.colab_link("", "main", "chapters/01-a", tmp_path, colab) is None


def test_no_url_no_buttons(monkeypatch):
    import book_links
    monkeypatch.delenv("BOOK_REPO_URL", raising=False)
    config = SimpleNamespace(html_static_path=[], html_theme_options={
        "repository_url": "", "use_repository_button": True,
        "launch_buttons": {"colab_url": "https://colab.research.google.com", "binderhub_url": "https://mybinder.org"}})
    book_links._config(None, config)
    opts = config.html_theme_options
    assert opts["launch_buttons"] == {} and not opts["use_repository_button"] and opts["repository_url"] == ""
    monkeypatch.setenv("BOOK_REPO_URL", URL)
    config.html_theme_options.update(launch_buttons={"colab_url": "https://colab.research.google.com"})
    book_links._config(None, config)
    assert opts["repository_url"] == URL and opts["use_repository_button"] and opts["launch_buttons"]


PAGE = """---
jupytext:
  text_representation: {extension: .md, format_name: myst}
kernelspec: {display_name: Python 3, language: python, name: python3}
---
# Page

```{code-cell} ipython3
x = 1
```

Text.
"""


def test_built_pages_link_to_the_repository_and_colab_notebooks(tmp_path):
    """A two-page book built with ``BOOK_REPO_URL`` set: Colab opens ``notebooks/<page>.ipynb`` where one
    exists and is absent elsewhere; the page's ``.ipynb`` download starts with the install cell."""
    (tmp_path / "chapters").mkdir()
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "01-a.ipynb").write_text("{}")
    for page in ("01-a", "06-claims"):
        (tmp_path / "chapters" / f"{page}.md").write_text(PAGE)
    (tmp_path / "intro.md").write_text("# Intro\n")
    (tmp_path / "favicon.svg").write_text((ROOT / "favicon.svg").read_text())
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n"
                                       "  - file: chapters/01-a\n  - file: chapters/06-claims\n")
    config = (ROOT / "_config.yml").read_text()
    config = config.replace("execute_notebooks: force", 'execute_notebooks: "off"')
    config = config.replace(": _ext ", f": {ROOT / '_ext'} ")       # every local extension's folder
    config = config.replace("exclude_patterns: [", "exclude_patterns: [notebooks, ")
    (tmp_path / "_config.yml").write_text(config)
    jb = Path(sys.executable).parent / "jupyter-book"
    if not jb.exists():
        pytest.skip("jupyter-book is not installed (the book extras)")
    env = {**os.environ, "BOOK_REPO_URL": URL}
    run = subprocess.run([str(jb), "build", str(tmp_path), "--all", "-W", "-n", "--keep-going"],
                         capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    html = tmp_path / "_build" / "html"
    a, claims = (html / "chapters" / f"{p}.html" for p in ("01-a", "06-claims"))
    colab = "https://colab.research.google.com/github/example-org/example-book/blob/main/notebooks/01-a.ipynb"
    assert colab in a.read_text() and f'href="{URL}"' in a.read_text()
    assert "colab.research.google.com" not in claims.read_text()
    assert "gendiff-book/how-diffusion-models-generalize" not in a.read_text()
    nb = nbformat.read(html / "_sources" / "chapters" / "01-a.ipynb", as_version=4)
    assert nb.cells[0].metadata["tags"] == [rn.INSTALL_TAG] and f"git+{URL}@main" in nb.cells[0].source
    assert "book.css" in a.read_text() and "book-print.js" in a.read_text()

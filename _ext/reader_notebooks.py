"""Notebooks that run where a reader opens them: a downloaded ``.ipynb`` or one opened in Colab.

A chapter is a MyST text notebook that imports ``gendiff`` from the checkout it lives in. Outside a
checkout (Colab, a downloaded file) nothing provides ``gendiff``, and the prose quotes numbers with glue
roles (``{glue:text}`key:fmt```) that only the book build fills in. ``reader_notebook`` turns a chapter
into a notebook for such a reader:

1. an install cell comes first: it does nothing where ``gendiff`` imports (a checkout, the book's own
   environment) and otherwise runs ``pip install git+<repository>@<branch>`` (the package ``gendiff`` is
   the repository root: ``pyproject.toml`` there, sources under ``lib/``);
2. every glue role in the markdown is replaced by the value the executed chapter stored under that key,
   formatted as the role asks (the same formatting as MyST-NB); without an executed chapter the role
   becomes ``⟨key⟩``, a name the reader sees computed when the cells run; a glue figure directive becomes
   its caption (the figure itself is the output of the cell that glued it);
3. the glue records in cell outputs (a MIME type no notebook front end renders) are dropped.

Used twice: the book build writes the executed page's download (``_sources/<page>.ipynb``) through it
(``book_links.py``), and ``make notebooks`` writes ``notebooks/<chapter>.ipynb`` from the chapter sources
(no outputs), the files the Colab button opens:
``python _ext/reader_notebooks.py [--out notebooks] [--executed _build/jupyter_execute]``.
"""
from __future__ import annotations

import argparse
import copy
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# pages that read the other chapters' results from the checkout (data/results, _toc.yml): no Colab notebook
CHECKOUT_ONLY = ("06-claims",)
INSTALL_TAG = "install-gendiff"
GLUE_ROLE = re.compile(r"\{glue(?::text)?\}`([^`]+)`")
GLUE_PREFIX = "application/papermill.record/"
# a glue directive block (```{glue:figure} key ... ```): the figure is the output of the cell that made it
GLUE_BLOCK = re.compile(r"^(`{3,}|:{3,})\{glue(?::\w+)?\}[^\n]*\n(.*?)^\1[ \t]*$", re.M | re.S)


def repo_url() -> str:
    """The book's public repository (``BOOK_REPO_URL``), without a trailing slash or ``.git``; "" if unset."""
    url = os.environ.get("BOOK_REPO_URL", "").strip().rstrip("/")
    return url[:-4] if url.endswith(".git") else url


def install_source(url: str, branch: str = "main") -> str:
    """The install cell's code. Without a repository URL it can only say how to install by hand."""
    head = ("# Run this cell first. Inside a checkout of the book (or its environment) gendiff is installed\n"
            "# and the cell does nothing; elsewhere (Colab, a downloaded notebook) it installs gendiff.\n"
            "import importlib, importlib.util, subprocess, sys\n"
            "if importlib.util.find_spec(\"gendiff\") is None:\n")
    if url:
        return head + (f"    subprocess.run([sys.executable, \"-m\", \"pip\", \"install\", \"-q\",\n"
                       f"                    \"git+{url}@{branch}\"], check=True)  # gendiff and its requirements\n"
                       f"    importlib.invalidate_caches()")
    return head + ("    raise ImportError(\"gendiff is not installed: clone the book's repository and run \"\n"
                   "                      \"`pip install -e .` in it, or `make book`\")")


def install_cell(url: str, branch: str = "main", with_id: bool = True):
    import nbformat
    cell = nbformat.v4.new_code_cell(install_source(url, branch))
    cell.metadata["tags"] = [INSTALL_TAG]
    if with_id:                       # cell ids exist from nbformat 4.5 on
        cell["id"] = INSTALL_TAG
    else:
        cell.pop("id", None)
    return cell


def format_value(text: str, fmt: str) -> str:
    """``text/plain`` of a glued value formatted by ``fmt`` (MyST-NB's rule: literal_eval, then format)."""
    from ast import literal_eval
    try:
        value = literal_eval(text)
    except (SyntaxError, ValueError):
        value = text
    if not fmt:
        return str(value)
    kind = fmt[-1]
    if kind == "s":
        value = str(value)
    elif kind in "bcdoxX":
        value = int(value)
    elif kind in "eEfFgGn%":
        value = float(value)
    return format(value, fmt)


def glue_values(nb) -> dict[str, str]:
    """``text/plain`` of every glued key in an executed notebook."""
    values = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            meta = out.get("metadata", {}).get("scrapbook")
            if meta:
                prefix = meta.get("mime_prefix", "")
                text = out.get("data", {}).get(prefix + "text/plain")
                if text is not None:
                    values[meta["name"]] = "".join(text) if isinstance(text, list) else text
    return values


def executed_values(ipynb: Path) -> dict[str, str]:
    """Glued values of an executed chapter: MyST-NB keeps them beside the notebook (``<name>.glue.json``),
    having taken the glue records out of the notebook's outputs."""
    import json
    import nbformat
    values = glue_values(nbformat.read(ipynb, as_version=4)) if ipynb.exists() else {}
    side = ipynb.with_suffix(".glue.json")
    if side.exists():
        for key, out in json.loads(side.read_text()).items():
            text = out.get("data", {}).get("text/plain")
            if text is not None:
                values[key] = "".join(text) if isinstance(text, list) else text
    return values


def render_glue(markdown: str, values: dict[str, str]) -> str:
    """Replace each glue role by its formatted value (``⟨key⟩`` when the value is unknown)."""
    def one(m):
        key, _, fmt = m.group(1).split("::")[-1].partition(":")
        if key not in values:
            return f"⟨{key}⟩"
        try:
            return format_value(values[key], fmt)
        except (TypeError, ValueError):
            return values[key]
    def block(m):
        caption = " ".join(line for line in m.group(2).splitlines() if line and not line.startswith(":"))
        return f"*Figure (the output above): {caption}*" if caption else ""
    return GLUE_ROLE.sub(one, GLUE_BLOCK.sub(block, markdown))


def reader_notebook(nb, url: str, branch: str = "main", values: dict[str, str] | None = None):
    """A copy of ``nb`` with the install cell first, glue roles rendered and glue records dropped."""
    nb = copy.deepcopy(nb)
    values = glue_values(nb) if values is None else values
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = render_glue(cell.source, values)
        elif cell.cell_type == "code" and cell.get("outputs"):
            cell.outputs = [o for o in cell.outputs
                            if not o.get("metadata", {}).get("scrapbook", {}).get("mime_prefix")]
    nb.cells = [c for c in nb.cells if INSTALL_TAG not in c.get("metadata", {}).get("tags", [])]
    nb.cells.insert(0, install_cell(url, branch, with_id=(nb.nbformat, nb.nbformat_minor) >= (4, 5)))
    return nb


def config_branch(root: Path = ROOT) -> str:
    """``repository.branch`` of ``_config.yml`` (the branch the Colab and install links name)."""
    m = re.search(r"^repository:\n(?:[ \t]+.*\n)*?[ \t]+branch:\s*([\w./-]+)", (root / "_config.yml").read_text(), re.M)
    return m.group(1) if m else "main"


def toc_chapters(root: Path = ROOT) -> list[str]:
    """Chapters of ``_toc.yml`` in book order (``chapters/NN-name``)."""
    return re.findall(r"file:\s*(chapters/[\w.-]+)", (root / "_toc.yml").read_text())


def chapter_notebook(chapter: str, url: str, branch: str = "main", executed: Path | None = None,
                     root: Path = ROOT):
    """The Colab notebook of ``chapter``: its source, no outputs; values from an executed run if given."""
    import jupytext
    nb = jupytext.read(root / f"{chapter}.md")
    values = executed_values(executed / f"{chapter}.ipynb") if executed is not None else {}
    nb = reader_notebook(nb, url, branch, values)
    nb.metadata.pop("jupytext", None)
    return nb


def write_notebooks(out: Path, url: str, branch: str = "main", executed: Path | None = None,
                    root: Path = ROOT) -> list[Path]:
    import nbformat
    out.mkdir(parents=True, exist_ok=True)
    keep = out / ".gitignore"          # the repository ignores *.ipynb; these are meant to be committed
    if not keep.exists():
        keep.write_text("# written by `make notebooks`: what the Colab button opens (commit them)\n!*.ipynb\n")
    written = []
    for chapter in toc_chapters(root):
        name = Path(chapter).name
        if name in CHECKOUT_ONLY:
            continue
        path = out / f"{name}.ipynb"
        nbformat.write(chapter_notebook(chapter, url, branch, executed, root), path)
        written.append(path)
    return written


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, default=ROOT / "notebooks")
    p.add_argument("--executed", type=Path, default=ROOT / "_build" / "jupyter_execute",
                   help="executed chapters whose glued values fill the text (skipped when missing)")
    p.add_argument("--branch", default=config_branch())
    args = p.parse_args(argv)
    url = repo_url()
    if not url:
        print("set BOOK_REPO_URL to the book's public GitHub repository (see README)", file=sys.stderr)
        return 2
    for path in write_notebooks(args.out, url, args.branch, args.executed if args.executed.exists() else None):
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Collect the book's chapters (MyST-markdown text notebooks) as nbval notebooks.

nbval only collects ``.ipynb`` files; this hook reads ``chapters/*.md`` through jupytext instead, and
only the chapters listed in ``_toc.yml`` (a chapter in progress stays out of the book and the tests).
"""
import re
from pathlib import Path

import jupytext
import nbval.plugin as nbval_plugin
from nbval.plugin import IPyNbFile

ROOT = Path(__file__).parent


def toc_chapters() -> set[Path]:
    text = (ROOT / "_toc.yml").read_text()
    return {(ROOT / f"{m}.md").resolve() for m in re.findall(r"(?:file|root):\s*([^\s#]+)", text)}


class JupytextNbFile(IPyNbFile):
    def collect(self):
        real_read = nbval_plugin.nbformat.read
        nbval_plugin.nbformat.read = lambda path, as_version=4: jupytext.read(path)
        try:
            yield from super().collect()
        finally:
            nbval_plugin.nbformat.read = real_read


def pytest_collect_file(file_path, parent):
    opt = parent.config.option
    if not (getattr(opt, "nbval", False) or getattr(opt, "nbval_lax", False)):
        return None
    if file_path.suffix == ".md" and file_path.parent.name == "chapters" and file_path.resolve() in toc_chapters():
        return JupytextNbFile.from_parent(parent, path=file_path)
    return None

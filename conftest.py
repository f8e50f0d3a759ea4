"""Collect the book's chapters (MyST-markdown text notebooks) as nbval notebooks.

nbval only collects ``.ipynb`` files; this hook reads ``chapters/*.md`` through jupytext instead, and
only the chapters listed in ``_toc.yml`` (a chapter in progress stays out of the book and the tests).
"""
import re
from pathlib import Path

import sys

import jupytext
import nbval.plugin as nbval_plugin
from nbval.plugin import IPyNbFile

ROOT = Path(__file__).parent
sys.path.insert(0, str(ROOT / "_ext"))
import ipc_kernels  # noqa: E402

ipc_kernels.install()      # nbval's kernels on private Unix sockets (race-free start-up; see _ext/ipc_kernels.py)


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


_CHAPTER_SECONDS: dict[str, float] = {}


def pytest_runtest_logreport(report):
    """Add up the time of each chapter's cells (setup, call and teardown) for the summary below."""
    path = report.nodeid.split("::", 1)[0]
    if path.startswith("chapters/"):
        _CHAPTER_SECONDS[path] = _CHAPTER_SECONDS.get(path, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter):
    if _CHAPTER_SECONDS:
        terminalreporter.section("time per chapter")
        for path, sec in _CHAPTER_SECONDS.items():
            terminalreporter.write_line(f"{sec:7.1f} s  {path}")

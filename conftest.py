"""Collect the book's chapters (MyST-markdown text notebooks) as nbval notebooks.

nbval only collects ``.ipynb`` files; this hook reads ``chapters/*.md`` through jupytext instead, and
only the chapters listed in ``_toc.yml`` (a chapter in progress stays out of the book and the tests).
"""
import os
import re
import sys
from pathlib import Path

import jupytext
import pytest
import nbval.plugin as nbval_plugin
from nbval.plugin import IPyNbFile

ROOT = Path(__file__).parent
sys.path.insert(0, str(ROOT / "_ext"))
import cell_timeouts  # noqa: E402
import ipc_kernels  # noqa: E402

ipc_kernels.install()      # nbval's kernels on private Unix sockets (race-free start-up; see _ext/ipc_kernels.py)
# nbval has no widget frontend: the live ipywidgets panels would print their first figure into the cell as a
# bare image (no caption) in the pages built from these executions; gendiff.widgets.explore skips them.
ipc_kernels.headless()


def toc_chapters() -> set[Path]:
    text = (ROOT / "_toc.yml").read_text()
    return {(ROOT / f"{m}.md").resolve() for m in re.findall(r"(?:file|root):\s*([^\s#]+)", text)}


# nbval's cells under their own limits; a cell that reaches its limit fails naming itself (_ext/cell_timeouts.py)
_CELL_SECONDS = cell_timeouts.install_nbval(nbval_plugin.IPyNbCell, ROOT)


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
    close = [(k, v) for k, v in _CELL_SECONDS.items() if v[1] and v[0] > v[1] / 3]
    if close:
        terminalreporter.section("cells past a third of their time limit (raise ':timeout:' if this persists)")
        for (path, num), (sec, limit) in close:
            terminalreporter.write_line(f"{sec:7.1f} s of {limit} s  {path} cell {num}")


# ---------------------------------------------------------------------------------------------------------
# Executed once: with BOOK_EXECUTED_CACHE=<folder>, every chapter whose cells all passed under nbval is stored,
# with nbval's outputs, in a jupyter-cache at <folder>; `make test`'s book build reads that cache
# (execute_notebooks: cache), so the built pages are exactly the executions nbval checked, and no chapter
# runs twice. The notebook is made by MyST-NB's own reader, so its hash is the one the book build looks up.
# ---------------------------------------------------------------------------------------------------------
_EXECUTED: dict[str, dict] = {}


def _record(item, rep) -> None:
    rec = _EXECUTED.setdefault(str(item.parent.path), {"outputs": [], "failed": False})
    if rep.failed:
        rec["failed"] = True
    elif rep.when == "call":
        rec["outputs"].append(list(getattr(item, "test_outputs", None) or []))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    if isinstance(getattr(item, "parent", None), JupytextNbFile):
        _record(item, outcome.get_result())


def executed_notebook(path: Path, outputs: list[list]):
    """The chapter as MyST-NB reads it, its code cells filled with ``outputs`` (None if the counts differ)."""
    from myst_nb.core.read import read_myst_markdown_notebook

    nb = read_myst_markdown_notebook(path.read_text(), path=path)
    code = [c for c in nb.cells if c.cell_type == "code"]
    if len(code) != len(outputs):
        return None
    for cell, outs in zip(code, outputs):
        cell.outputs = outs
    return nb


def pytest_sessionfinish(session, exitstatus):
    folder = os.environ.get("BOOK_EXECUTED_CACHE")
    if not folder or not _EXECUTED:
        return
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    cache = get_cache(folder)
    for path, rec in _EXECUTED.items():
        nb = None if rec["failed"] else executed_notebook(Path(path), rec["outputs"])
        if nb is not None:
            cache.cache_notebook_bundle(CacheBundleIn(nb, path), check_validity=False, overwrite=True)

"""Cells under their own time limits, and no stalled build (``_ext/cell_timeouts.py``, ``_ext/ipc_kernels.py``).

* a cell past its limit fails naming itself and its elapsed time, in nbclient (the book build) and nbval;
* a reply picked up only at the deadline (jupyter/nbclient#312) is a failure, not a success;
* a bounded form of ``benchmarks/widget_stall.py``: explorer cells run as the build runs them (no live
  panel, no cell near its limit), and with live panels the panels are really there;
* a one-chapter book whose cell reaches its limit fails to build, naming the chapter and the cell;
* every chapter cell's declared limit is a whole minute, above the default and at most 30 minutes.
"""
from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "_ext"))
import cell_timeouts  # noqa: E402
import ipc_kernels  # noqa: E402


@pytest.fixture
def nbclient_limits(monkeypatch):
    from nbclient.client import NotebookClient
    for name in ("_get_timeout", "async_execute_cell"):
        monkeypatch.setattr(NotebookClient, name, getattr(NotebookClient, name))
    monkeypatch.setattr(NotebookClient, "_book_cell_limits", False, raising=False)
    ipc_kernels.install()
    cell_timeouts.install_nbclient()
    monkeypatch.setenv("BOOK_PROFILE", "ci")
    return NotebookClient


def _nb(*sources, limit=None):
    meta = {"timeout": limit} if limit else {}
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s, metadata=dict(meta)) for s in sources])


def test_limits_per_cell_and_profile():
    cell = nbformat.v4.new_code_cell("x = 1")
    assert cell_timeouts.limit_s(cell, "ci") == cell_timeouts.DEFAULT_S
    cell.metadata["timeout"] = 900
    assert cell_timeouts.limit_s(cell, "ci") == 900
    assert cell_timeouts.limit_s(cell, "full") is None and cell_timeouts.limit_s(cell, "gpu") is None


def test_a_cell_past_its_limit_fails_naming_itself(nbclient_limits):
    nb = _nb("import time", "time.sleep(5)  # the slow one", limit=2)
    t0 = time.monotonic()
    with pytest.raises(cell_timeouts.CellStalledError, match=r'cell 1 \("time.sleep\(5\)  # the slow one"\) ran \d+ s, '
                                                             r"reaching its limit of 2 s"):
        nbclient_limits(nb, kernel_name="python3").execute()
    assert time.monotonic() - t0 < 30


def test_a_reply_picked_up_at_the_deadline_is_a_failure(nbclient_limits, monkeypatch):
    """nbclient#312: the kernel is done, but the reply arrives at the deadline and nbclient calls it a success."""
    poll = nbclient_limits._async_poll_for_reply

    async def late(self, msg_id, cell, timeout, *args):
        reply = await poll(self, msg_id, cell, timeout, *args)
        await asyncio.sleep(timeout)
        return reply

    monkeypatch.setattr(nbclient_limits, "_async_poll_for_reply", late)
    with pytest.raises(cell_timeouts.CellStalledError, match=r'cell 0 \("x = 1"\) ran [23] s, reaching its limit of 2 s'):
        nbclient_limits(_nb("x = 1", limit=2), kernel_name="python3").execute()


def test_nbval_cells_run_under_their_limit_and_fail_named(tmp_path):
    class Cell:                                          # the parts of nbval's IPyNbCell the wrapper reads
        def __init__(self, source, limit, work):
            self.cell = nbformat.v4.new_code_cell(source, metadata={"timeout": limit})
            self.config = SimpleNamespace(option=SimpleNamespace(nbval_cell_timeout=1800.0))
            self.parent = SimpleNamespace(path=tmp_path / "chapters" / "01-a.md")
            self.cell_num, self.work, self.seen = 3, work, None

        def runtest(self):
            self.seen = self.config.option.nbval_cell_timeout
            self.work()

    seconds = cell_timeouts.install_nbval(Cell, tmp_path)
    fast = Cell("x = 1", 60, lambda: None)
    fast.runtest()
    assert fast.seen == 60 and fast.config.option.nbval_cell_timeout == 1800.0     # restored after the cell
    assert seconds[("chapters/01-a.md", 3)][1] == 60
    slow = Cell("train_everything()", 1, lambda: time.sleep(1.2))                 # nbval saw a reply: still a failure
    with pytest.raises(cell_timeouts.CellStalledError,
                       match=r'chapters/01-a.md: cell 3 \("train_everything\(\)"\) ran 1 s, reaching its limit of 1 s'):
        slow.runtest()


def test_explorer_cells_as_the_build_runs_them(monkeypatch):
    """Bounded reproducer: the build's kernels show no live panel and no explorer cell comes near its limit;
    with ``BOOK_LIVE_WIDGETS=1`` (a reader's kernel) the live panels are there."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import widget_stall
    monkeypatch.setenv("BOOK_LIVE_WIDGETS", "1")
    result = widget_stall.main(["--runs", "2", "--cells", "3", "--limit-s", "20"])["totals"]
    assert os.environ["BOOK_LIVE_WIDGETS"] == "0"          # headless() ran for the build setting
    build, live = result["build"], result["live"]
    assert build["stalled_runs"] == 0 and build["live_panels"] == 0 and build["cells"] == 6
    assert build["slowest_s"] < 5
    assert live["live_panels"] == 6


def test_a_stalled_chapter_fails_the_build_naming_itself(tmp_path):
    jb = Path(sys.executable).with_name("jupyter-book")
    if not jb.exists():
        pytest.skip("jupyter-book is not installed (the book extras)")
    (tmp_path / "chapters").mkdir()
    (tmp_path / "chapters" / "01-slow.md").write_text(
        "---\njupytext:\n  text_representation:\n    extension: .md\n    format_name: myst\n"
        "kernelspec:\n  display_name: Python 3\n  language: python\n  name: python3\n---\n\n# Slow\n\n"
        "```{code-cell} ipython3\n:timeout: 3\n\nimport time\ntime.sleep(6)\n```\n")
    (tmp_path / "intro.md").write_text("# Intro\n")
    (tmp_path / "favicon.svg").write_text((ROOT / "favicon.svg").read_text())
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: chapters/01-slow\n")
    (tmp_path / "_config.yml").write_text((ROOT / "_config.yml").read_text().replace(": _ext ", f": {ROOT / '_ext'} "))
    t0 = time.monotonic()
    run = subprocess.run([str(jb), "build", str(tmp_path), "--all", "-W", "-n", "--keep-going"],
                         capture_output=True, text=True, timeout=300, env={**os.environ, "BOOK_PROFILE": "ci"})
    log = run.stdout + run.stderr
    assert run.returncode != 0 and "build succeeded" not in log, log[-3000:]
    assert "01-slow" in log and re.search(r'cell 1 \("import time"\) ran \d+ s, reaching its limit of 3 s', log), log[-3000:]
    assert time.monotonic() - t0 < 240


def test_declared_chapter_limits_are_sized():
    """Each ``:timeout:`` in a chapter is whole minutes above the default and at most 30 minutes."""
    import jupytext
    declared = {}
    for path in sorted((ROOT / "chapters").glob("*.md")):
        for i, cell in enumerate(jupytext.read(path).cells):
            if "timeout" in cell.metadata:
                declared[(path.name, i)] = int(cell.metadata["timeout"])
    for where, limit in declared.items():
        assert limit % 60 == 0 and cell_timeouts.DEFAULT_S < limit <= 1800, (where, limit)


@pytest.mark.parametrize("warm, rc, ok", [(230, 0, True), (1000, 0, False), (120, 2, False)])
def test_warm_book_is_timed_against_the_cold_run(tmp_path, warm, rc, ok, capsys):
    sys.path.insert(0, str(ROOT / "scripts"))
    import stage_times
    times = tmp_path / "stage-times.txt"
    times.write_text(f"== stage unit+chapters: 1700 s (exit 0)\n== stage warm-book: {warm} s (exit {rc})\n")
    assert (stage_times.main([str(times), "--warm", "warm-book", "--cold", "unit+chapters", "--at-most", "0.5"])
            == 0) is ok
    assert f"warm-book {warm} s (exit {rc}) against unit+chapters 1700 s" in capsys.readouterr().out
    assert stage_times.main([str(times), "--warm", "absent", "--cold", "unit+chapters", "--at-most", "0.5"]) == 1


def test_limits_scale_with_the_lanes_sharing_the_cores(monkeypatch):
    cell = {"metadata": {"timeout": 600}}
    monkeypatch.setenv("BOOK_CELL_LIMIT_SCALE", "2")
    assert cell_timeouts.limit_s(cell, "ci") == 1200
    monkeypatch.setenv("BOOK_CELL_LIMIT_SCALE", "0.5")
    with pytest.raises(ValueError, match="BOOK_CELL_LIMIT_SCALE"):
        cell_timeouts.limit_s(cell, "ci")

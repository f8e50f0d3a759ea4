"""Per-cell time limits for the book build and nbval: a cell that runs past its limit fails, naming itself.

At the ``ci`` profile every code cell has a limit of :data:`DEFAULT_S` seconds, unless it declares its own
in its options (``:timeout: 1500`` under ``{code-cell}``; MyST-NB and jupytext keep it as cell metadata).
A declared limit is sized from the cell's measured cold time on the 2-core machine: three times it (a busy
machine runs up to twice as slow, and half again for margin), rounded up to a whole minute; ``make test``
prints every cell that used more than a third of its limit, so an eroded margin shows before it fails. At
other profiles (``gpu``, ``full``) the limits scale with the profile's own sizes, so the configured global
timeout applies instead (``execute.timeout`` in ``_config.yml``, ``--nbval-cell-timeout`` for nbval).

Why the elapsed time is checked as well as the timeout: nbclient sometimes picks up a cell's reply only at
its deadline (jupyter/nbclient#312, seen with cells that display an ipywidget), and then reports success.
Here a cell whose wall time reaches its limit is a failure whatever the reply said:
:class:`CellStalledError` (a ``CellTimeoutError``, so MyST-NB reports it as the chapter's execution
error) names the cell's index, first line, elapsed time and limit.
"""
from __future__ import annotations

import functools
import os
import time
from pathlib import Path

from nbclient.exceptions import CellTimeoutError

DEFAULT_S = 300          # cells without a declared limit ran in ≤ 100 s cold at ci on a loaded 2-core machine


class CellStalledError(CellTimeoutError):
    """A cell ran for as long as its limit (whether or not a reply came at the deadline)."""


def limit_s(cell, profile: str | None = None) -> int | None:
    """The cell's limit in seconds at ``profile`` (default ``BOOK_PROFILE``, else ``ci``); ``None`` outside
    ``ci`` (the caller's global timeout applies)."""
    profile = (profile or os.environ.get("BOOK_PROFILE") or "ci").strip().lower()
    if profile != "ci":
        return None
    declared = (cell.get("metadata") or {}).get("timeout")
    return int((int(declared) if declared else DEFAULT_S) * limit_scale())


def limit_scale() -> float:
    """``BOOK_CELL_LIMIT_SCALE`` (default 1): the factor on every limit when sessions share the cores
    (``scripts/lanes.py`` sets it to its number of lanes: each lane's training runs at that fraction of the
    machine). A value below 1 or not a number is an error."""
    raw = os.environ.get("BOOK_CELL_LIMIT_SCALE", "").strip() or "1"
    try:
        scale = float(raw)
    except ValueError:
        scale = 0.0
    if not scale >= 1:
        raise ValueError(f"BOOK_CELL_LIMIT_SCALE = {raw!r}: give a number ≥ 1 (e.g. 2 for two lanes)")
    return scale


def describe(cell, index: int | None = None) -> str:
    """``cell 12 ("losses = train_sweep(...)")``: the cell's index among all the notebook's cells (markdown
    included) and its first line."""
    first = next((ln.strip() for ln in str(cell.get("source", "")).splitlines() if ln.strip()), "")
    first = first if len(first) <= 60 else first[:57] + "..."
    where = f"cell {index}" if index is not None else "cell"
    return f'{where} ("{first}")'


def stalled(cell, elapsed: float, limit: int | None, index: int | None = None, where: str = "") -> CellStalledError:
    """The error for a cell that ran ``elapsed`` seconds against its ``limit``."""
    place = f"{where}: " if where else ""
    return CellStalledError(f"{place}{describe(cell, index)} ran {elapsed:.0f} s, reaching its limit of {limit} s "
                            "(a cell's own limit is its ':timeout:' option; _ext/cell_timeouts.py)")


def check(cell, elapsed: float, limit: int | None, index: int | None = None, where: str = "") -> None:
    """Raise :func:`stalled`'s error when ``elapsed`` reached ``limit`` (seconds; ``None``: no limit)."""
    if limit is not None and elapsed >= limit:
        raise stalled(cell, elapsed, limit, index, where)


def install_nbclient() -> None:
    """Make every ``nbclient.NotebookClient`` of this process apply :func:`limit_s` per cell and fail a cell
    whose wall time reached it (see the module docstring)."""
    from nbclient.client import NotebookClient
    if getattr(NotebookClient, "_book_cell_limits", False):
        return
    get_timeout, execute_cell = NotebookClient._get_timeout, NotebookClient.async_execute_cell

    def _get_timeout(self, cell):
        limit = limit_s(cell) if cell is not None else None
        return limit if limit is not None else get_timeout(self, cell)

    @functools.wraps(execute_cell)
    async def async_execute_cell(self, cell, cell_index, *args, **kwargs):
        t0 = time.monotonic()
        try:
            result = await execute_cell(self, cell, cell_index, *args, **kwargs)
        except CellStalledError:
            raise
        except CellTimeoutError as err:              # nbclient's own timeout: name the cell and the time
            raise stalled(cell, time.monotonic() - t0, self._get_timeout(cell), cell_index) from err
        if cell.cell_type == "code" and cell.source.strip():
            check(cell, time.monotonic() - t0, self._get_timeout(cell), cell_index)
        return result

    NotebookClient._get_timeout = _get_timeout
    NotebookClient.async_execute_cell = async_execute_cell
    NotebookClient._book_cell_limits = True


def install_nbval(cell_class, root: Path) -> dict:
    """Run nbval's ``cell_class.runtest`` under each cell's :func:`limit_s` (nbval's ``--nbval-cell-timeout``
    stays the limit outside ``ci``); a cell that reaches its limit fails naming the chapter (relative to
    ``root``), the cell and the elapsed time, whatever nbval made of the reply. Returns the dict this fills:
    ``{(chapter, cell number): (seconds, limit)}``."""
    seconds: dict = {}
    runtest = cell_class.runtest
    if getattr(runtest, "_book_cell_limits", None) is not None:
        return runtest._book_cell_limits

    def run(self):
        option = self.config.option
        default = option.nbval_cell_timeout
        limit = limit_s(self.cell)
        option.nbval_cell_timeout = limit if limit is not None else default
        path = Path(self.parent.path)
        where = str(path.relative_to(root)) if path.is_relative_to(root) else path.name
        t0 = time.monotonic()
        try:
            runtest(self)
        except Exception as err:
            if limit is not None and time.monotonic() - t0 >= limit:
                raise stalled(self.cell, time.monotonic() - t0, limit, self.cell_num, where) from err
            raise
        finally:
            option.nbval_cell_timeout = default
            seconds[(where, self.cell_num)] = (time.monotonic() - t0, limit)
        check(self.cell, seconds[(where, self.cell_num)][0], limit, self.cell_num, where)

    run._book_cell_limits = seconds
    cell_class.runtest = run
    return seconds


def setup(app):
    """Sphinx extension entry: the book build's cells run under their limits."""
    install_nbclient()
    return {"parallel_read_safe": True, "parallel_write_safe": True}

"""Code cells a reader can follow: every chapter's code lines fit 88 columns and every visible code cell
is at most 25 lines (a step of the argument; mechanics live in ``gendiff``).

A cell tagged ``hide-input``, ``hide-cell``, ``remove-input`` or ``remove-cell`` (glue and claims
bookkeeping, plotting details) may be longer, but its lines still fit 88 columns. ``make format`` reflows
the chapters' code with ruff at this width.
"""
from __future__ import annotations

from pathlib import Path

import jupytext
import pytest

CHAPTERS = sorted((Path(__file__).resolve().parents[1] / "chapters").glob("*.md"))
MAX_COLUMNS = 88
MAX_VISIBLE_LINES = 25
HIDDEN = {"hide-input", "hide-cell", "remove-input", "remove-cell"}


def code_cells(path: Path):
    return [c for c in jupytext.read(path).cells if c.cell_type == "code"]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_code_lines_fit_88_columns(path):
    wide = [(i, line) for i, c in enumerate(code_cells(path)) for line in c.source.splitlines()
            if len(line) > MAX_COLUMNS]
    assert not wide, (f"{len(wide)} code lines wider than {MAX_COLUMNS} columns in {path.name} "
                      f"(run `make format`); first: cell {wide[0][0]}: {wide[0][1]!r}")


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_visible_code_cells_are_short(path):
    long = [(i, len(c.source.splitlines())) for i, c in enumerate(code_cells(path))
            if not HIDDEN & set(c.metadata.get("tags", []))
            and len(c.source.splitlines()) > MAX_VISIBLE_LINES]
    assert not long, (f"visible code cells longer than {MAX_VISIBLE_LINES} lines in {path.name} "
                      f"(cell index, lines): {long}; move the mechanics into gendiff or hide the cell by tag")

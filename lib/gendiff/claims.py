"""Claims of a chapter: each is a measured number, the paper's value and a pass/fail test.

``Claims.check`` records a row and raises ``AssertionError`` at once when it fails, so a chapter whose
claim does not reproduce fails the book build and the tests. ``Claims.table()`` renders the closing
table; ``Claims.save()`` writes it to ``data/results/<chapter>.json`` for the book-wide claims page.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import runtime


def _fmt(value) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        a = abs(value)
        if a != 0 and (a < 1e-3 or a >= 1e5):
            return f"{value:.2e}"
        return f"{value:.3g}" if a < 1 else f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return str(value)


@dataclass
class Claim:
    claim: str
    paper: str
    ours: str
    passed: bool
    section: str = ""
    value: object = None
    status: str = ""            # "pass", "fail" or "not at this scale"

    def __post_init__(self):
        self.status = self.status or ("pass" if self.passed else "fail")


# plain Unicode symbols (no emoji font needed): they render in every browser and terminal
MARKS = {"pass": "✓ pass", "fail": "✗ fail", "not at this scale": "⚠ not at this scale"}


class ClaimsTable:
    """Display object of a claims table: HTML for the book and Jupyter, markdown (``.data``) for text."""

    def __init__(self, rows: list[Claim]):
        self.rows = list(rows)
        esc = lambda s: str(s).replace("|", "\\|")
        lines = ["| claim | paper | this book | pass |", "|---|---|---|---|"]
        lines += [f"| {esc(r.claim)} | {esc(r.paper)} | {esc(r.ours)} | {MARKS[r.status]} |"
                  for r in self.rows]
        self.data = "\n".join(lines)

    def _repr_markdown_(self) -> str:
        return self.data

    def _repr_html_(self) -> str:
        from html import escape

        head = "".join(f"<th>{h}</th>" for h in ("claim", "paper", "this book", "pass"))
        body = "".join(
            "<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in
                             (r.claim, r.paper, r.ours, MARKS[r.status])) + "</tr>"
            for r in self.rows)
        return f'<table class="claims-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


@dataclass
class Claims:
    chapter: str
    rows: list[Claim] = field(default_factory=list)

    def check(self, claim: str, *, paper: str, ours, ok: bool, section: str = "", rule: str = "") -> None:
        """Record ``claim`` (paper's value, our measured value ``ours``, pass = ``ok``); raise if it fails.

        ``rule`` (e.g. ``"> 10 dB"``) is appended to the displayed value so the table shows the threshold.
        Returns nothing, so a check at the end of a cell prints no stray value in the book.
        """
        ok = bool(ok)
        shown = _fmt(ours) + (f" ({rule})" if rule else "")
        value = ours if isinstance(ours, (int, float, str, bool, list, tuple)) else str(ours)
        self.rows = [r for r in self.rows if r.claim != claim]  # re-running a cell replaces its row
        self.rows.append(Claim(claim, paper, shown, ok, section, value))
        if not ok:
            raise AssertionError(f"[{self.chapter}] claim failed: {claim}: measured {shown}; paper: {paper}")

    def not_reproduced(self, claim: str, *, paper: str, ours, reached: bool, why: str, section: str = "",
                       rule: str = "") -> None:
        """Record a claim of the paper that this scale is *known* not to show, with the reason ``why``.

        Not an assertion: the row reads "⚠ not at this scale" when ``reached`` is false, and "✓ pass" if a run
        does reach it; ``why`` is printed so the reader sees the measured number and the explanation. Use it
        only for effects the chapter's text discusses as out of reach of its profile — every claim the
        chapter stands behind goes through :meth:`check`.
        """
        shown = _fmt(ours) + (f" ({rule})" if rule else "")
        value = ours if isinstance(ours, (int, float, str, bool, list, tuple)) else str(ours)
        self.rows = [r for r in self.rows if r.claim != claim]
        self.rows.append(Claim(claim, paper, shown, bool(reached), section, value,
                               status="pass" if reached else "not at this scale"))
        if not reached:
            print(f"not reproduced at profile {runtime.profile()!r}: {claim}: measured {shown}. {why}")

    def table(self) -> "ClaimsTable":
        """The closing table (claim, paper, this book, pass); renders as HTML in Jupyter and the book."""
        return ClaimsTable(self.rows)

    def save(self, folder: str | Path | None = None) -> Path:
        folder = Path(folder or runtime.REPO_ROOT / "data" / "results")
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.chapter}.json"
        from .book import source_digest
        payload = {"chapter": self.chapter, "profile": runtime.profile(), "source": source_digest(self.chapter),
                   "rows": [{k: (v if isinstance(v, (int, float, str, bool, list, type(None))) else str(v))
                             for k, v in asdict(r).items()} for r in self.rows]}
        path.write_text(json.dumps(payload, indent=1, default=str))
        return path

    @property
    def all_passed(self) -> bool:
        """True when no checked claim failed (rows recorded with :meth:`not_reproduced` do not count)."""
        return all(r.status != "fail" for r in self.rows)

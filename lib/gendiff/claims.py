"""The claims ledger of a chapter: paper claims (results that this run could have contradicted) apart from
consistency checks (identities, solver accuracy, properties true by construction).

A **paper claim** (:meth:`Claims.check`) is a measured number, the paper's value, a pass rule (``ok``) and the
*source of its threshold*: the paper's number with its figure/table, or a derivation written in the
chapter — never this book's own earlier measurement. It also records the **regime** the paper states the
claim for (its N, N/d, image size, σ range, training state) and whether this run ``reached`` it — decided by
the run's own size and its networks' convergence certificates, never by the value — and how many training
seeds it rests on (``seeds=0``: no training involved). Its status (:func:`judge`):

* **out of reach** — the regime was not reached; ``short`` says which quantity falls short, in numbers;
* **fragile** — a trained value within its seed-to-seed ``spread`` of the threshold (``margin`` ≤
  ``spread``), whichever side it falls; or on seeds that disagree (``passing=(k, n)``, 0 < k < n); or on
  seeds whose spread was not measured and whose passing count is not given (then neither a pass nor a miss
  is resolved, so the status cannot flip between machines); or passing on fewer than 3 seeds;
* **fails** — reached and missing, beyond the seed spread: a result, recorded and shown, not an error;
* **reproduced** — reached and passing: with no training involved, or on ≥ 3 seeds that all pass or whose
  spread is below the margin.

Each row **declares** the status it expects (``expect=``, like pytest's strict xfail): a row whose status
differs, in either direction, is printed at once and :meth:`Claims.save` (the chapter's last cell) raises
:class:`StatusChanged` listing every such row, so no change to the code, the data or the machine flips a
claim unseen, and a known failure does not block the book. Declarations are the ``ci`` profile's, measured
there; at ``gpu`` and ``full`` a status that differs is printed and kept in the ledger, not raised. ``needs full``
(:meth:`Claims.needs_full`) marks a claim the ``ci`` profile does not run. A **consistency check**
(:meth:`Claims.consistency`) raises when it fails and is never counted as a reproduction.

``Claims.save()`` writes the ledger to ``data/results/<chapter>.json`` (or ``$BOOK_RESULTS``) with a digest of the
chapter, the library (``lib/gendiff``, configs included) and the profile, so the claims page rejects a stale table.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import runtime

#: display of each status (plain Unicode symbols: no emoji font needed)
MARKS = {"reproduced": "✓ reproduced", "fragile": "≈ fragile", "fails": "✗ fails",
         "out of reach": "⚠ out of reach", "needs full": "◌ needs full", "holds": "✓ holds",
         "broken": "✗ broken"}
#: the order of the ledger's counts; the first is the number the landing page quotes
PAPER_STATUSES = ("reproduced", "fragile", "fails", "out of reach", "needs full")
#: the order of the rows in a claims table: failures first
ROW_ORDER = ("fails", "fragile", "out of reach", "reproduced", "needs full")
#: what ``expect=`` may declare
EXPECTABLE = ("reproduced", "fragile", "fails", "out of reach")
#: words that mark a number as this book's own (specs, pilots): never the paper's value
_NOT_PAPER = re.compile(r"\b(spec|prototype|pilot|ours)\b", re.IGNORECASE)


def _fmt(value) -> str:
    if isinstance(value, bool) or isinstance(value, int):
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


def _plain(value):
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        value = value.item()
    return value if isinstance(value, (int, float, str, bool, list, tuple, type(None))) else str(value)


class StatusChanged(AssertionError):
    """A paper claim's status differs from the status its chapter declared (``expect=``)."""


def judge(ok: bool, *, reached: bool = True, seeds: int = 0, spread: float | None = None,
          margin: float | None = None, passing: tuple[int, int] | None = None,
          each_seed: bool = False) -> tuple[str, str]:
    """The status of a paper claim and the note that explains it (the rules of the module docstring).

    ``margin``: distance of the value to its threshold (≥ 0, on whichever side); ``spread``: the measured
    seed-to-seed spread of the same quantity; ``passing``: (seeds that pass on their own, seeds);
    ``each_seed``: the claim is about every seed (``ok`` judged on the worst), so a pass means all pass
    and a miss is resolved (some seed misses).
    """
    if each_seed and ok and passing is None:
        passing = (seeds, seeds)
    if not reached:
        return "out of reach", ""
    if seeds > 0:
        if spread is not None and margin is not None and not abs(float(margin)) > float(spread):
            return "fragile", (f"within its seed spread {_fmt(float(spread))} of the threshold "
                               f"(margin {_fmt(abs(float(margin)))})")
        if passing is not None and 0 < passing[0] < passing[1]:
            return "fragile", f"{passing[0]} of {passing[1]} seeds pass on their own"
        if spread is None and passing is None and not each_seed:
            return "fragile", (f"rests on {seeds} seed(s) whose spread is not measured: neither a pass nor "
                               "a miss is resolved")
    if not ok:
        return "fails", ""
    if 0 < seeds < 3:
        return "fragile", f"rests on {seeds} seed(s)"
    return "reproduced", ""


@dataclass
class Claim:
    claim: str
    paper: str
    ours: str
    passed: bool                # the pass rule's verdict on the value
    section: str = ""
    value: object = None
    status: str = ""            # see MARKS
    kind: str = "paper"         # "paper" or "consistency"
    source: str = ""            # where the threshold comes from (paper figure/table, or the chapter's derivation)
    seeds: int = 0              # training seeds the value rests on (0: no training involved)
    spread: float | None = None  # measured seed-to-seed spread of the value (max − min), if any
    margin: float | None = None  # distance of the value to its threshold, if given
    note: str = ""              # why fragile / out of reach / needs full
    regime: str = ""            # the regime the paper states the claim for
    reached: bool = True        # whether this run reached that regime
    expect: str = ""            # the status the chapter declared
    passing: str = ""           # "k of n" seeds that pass on their own, if given

    def __post_init__(self):
        self.status = self.status or ("reproduced" if self.passed else "fails")

    @property
    def seeds_text(self) -> str:
        if self.kind != "paper" or self.status == "needs full":
            return ""
        if not self.seeds:
            return "—"
        s = f"{self.seeds}"
        if self.spread is not None:
            s += f" (spread {_fmt(float(self.spread))})"
        if self.passing:
            s += f", {self.passing} pass"
        return s


def ledger_digest(chapter: str) -> str:
    """sha256 (16 hex digits) of ``chapters/<chapter>.md``, every file of ``lib/gendiff`` (configs
    included) and the profile: a saved ledger is current only while all three are unchanged."""
    h = hashlib.sha256(runtime.profile().encode())
    path = runtime.REPO_ROOT / "chapters" / f"{chapter}.md"
    h.update(path.read_bytes() if path.exists() else b"")
    lib = Path(__file__).resolve().parent
    for f in sorted(lib.rglob("*.py")):
        h.update(str(f.relative_to(lib)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def _rows_html(rows, columns):
    from html import escape
    head = "".join(f"<th>{escape(h)}</th>" for h, _ in columns)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(get(r)))}</td>" for _, get in columns) + "</tr>"
                   for r in rows)
    return f'<table class="claims-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


PAPER_COLUMNS = [("claim", lambda r: r.claim), ("paper", lambda r: r.paper),
                 ("threshold from", lambda r: r.source), ("this book", lambda r: r.ours),
                 ("seeds", lambda r: r.seeds_text), ("status", lambda r: MARKS[r.status]),
                 ("note", lambda r: r.note)]
CHECK_COLUMNS = [("consistency check", lambda r: r.claim), ("this book", lambda r: r.ours),
                 ("status", lambda r: MARKS[r.status])]


def count_line(counts: dict) -> str:
    """'12 paper claims: 7 reproduced, 2 fragile, …; 9 consistency checks hold' from :meth:`Claims.counts`."""
    parts = [f"{counts[s]} {MARKS[s].split(' ', 1)[1]}" for s in PAPER_STATUSES if counts.get(s)]
    return (f"{counts['paper']} paper claims: {', '.join(parts) or 'none'}; "
            f"{counts['holds']} of {counts['consistency']} consistency checks hold (not counted as reproduced)")


class ClaimsTable:
    """Display object of a chapter's ledger: HTML for the book and Jupyter, markdown (``.data``) for text."""

    def __init__(self, rows: list[Claim], counts: dict):
        self.paper = sorted((r for r in rows if r.kind == "paper"), key=lambda r: ROW_ORDER.index(r.status))
        self.checks = [r for r in rows if r.kind == "consistency"]
        self.counts = counts
        esc = lambda s: str(s).replace("|", "\\|")
        lines = [count_line(counts), "", "| " + " | ".join(h for h, _ in PAPER_COLUMNS) + " |",
                 "|" + "---|" * len(PAPER_COLUMNS)]
        lines += ["| " + " | ".join(esc(g(r)) for _, g in PAPER_COLUMNS) + " |" for r in self.paper]
        lines += ["", "| " + " | ".join(h for h, _ in CHECK_COLUMNS) + " |", "|" + "---|" * len(CHECK_COLUMNS)]
        lines += ["| " + " | ".join(esc(g(r)) for _, g in CHECK_COLUMNS) + " |" for r in self.checks]
        self.data = "\n".join(lines)

    def _repr_markdown_(self) -> str:
        return self.data

    def _repr_html_(self) -> str:
        from html import escape
        out = f"<p><b>{escape(count_line(self.counts))}</b></p>" + _rows_html(self.paper, PAPER_COLUMNS)
        if self.checks:
            out += "<p>Consistency checks (identities, solver accuracy, properties by construction):</p>"
            out += _rows_html(self.checks, CHECK_COLUMNS)
        return out


@dataclass
class Claims:
    chapter: str
    rows: list[Claim] = field(default_factory=list)

    def _add(self, row: Claim) -> None:
        self.rows = [r for r in self.rows if r.claim != row.claim]   # re-running a cell replaces its row
        self.rows.append(row)

    @staticmethod
    def _validate(paper: str, source: str, seeds) -> None:
        if not str(source).strip():
            raise ValueError("a paper claim needs source=: the paper's figure/table its threshold comes from, "
                             "or the chapter's derivation")
        if _NOT_PAPER.search(str(paper)):
            raise ValueError(f"paper= holds only what the paper says; {paper!r} names this book's own number")
        if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 0:
            raise ValueError(f"seeds= must be an integer ≥ 0 (0: no training involved), got {seeds!r}")

    def check(self, claim: str, *, paper: str, ours, ok: bool, source: str, seeds: int, expect: str,
              regime: str = "", reached: bool = True, short: str = "", section: str = "", rule: str = "",
              spread: float | None = None, margin: float | None = None, passing: tuple[int, int] | None = None,
              each_seed: bool = False, over: str = "") -> str:
        """Record a paper claim, judge its status (:func:`judge`) and return it; a status that is not the
        declared ``expect`` is printed here and raised by :meth:`save`.

        ``source``: where the threshold in ``rule`` comes from. ``regime``: what the paper states the claim
        for; ``reached``: whether this run is in it (its size, its networks' certificates — never the
        value); with ``reached=False``, ``short`` says which quantity falls short, in numbers ("N/d = 15.6,
        the paper's 390"). ``seeds``: training seeds behind ``ours`` (0 if none); ``spread``: their measured
        spread, with ``margin`` = |value − threshold|; ``passing``: (seeds that pass alone, seeds);
        ``each_seed=True``: ``ok`` was judged on the worst seed, so a pass means every seed passes. ``over``
        says what a multi-seed value is ("median of 3 seeds") and is shown with the value.
        """
        self._validate(paper, source, seeds)
        if spread is not None and margin is None:
            raise ValueError("with spread= give margin= (the distance of the value to its threshold)")
        if expect not in EXPECTABLE:
            raise ValueError(f"expect= must be one of {', '.join(EXPECTABLE)}, got {expect!r}")
        if not reached and not str(short).strip():
            raise ValueError("with reached=False give short=: the regime quantity that falls short, in numbers")
        ok, reached = bool(ok), bool(reached)
        shown = _fmt(_plain(ours)) + (f" ({rule})" if rule else "") + (f"; {over}" if over else "")
        status, note = judge(ok, reached=reached, seeds=seeds, spread=spread, margin=margin, passing=passing,
                             each_seed=each_seed)
        if each_seed and ok and passing is None:
            passing = (seeds, seeds)
        if not reached:
            note = f"{short}" + (f" (the claim needs {regime})" if regime else "")
        self._add(Claim(claim, paper, shown, ok, section, _plain(ours), status, "paper", source, seeds,
                        None if spread is None else float(spread), None if margin is None else float(margin),
                        note, regime, reached, expect, f"{passing[0]} of {passing[1]}" if passing else ""))
        if status == "out of reach":
            print(f"out of reach at profile {runtime.profile()!r}: {claim}: measured {shown}. {note}")
        if status != expect:
            print(f"STATUS CHANGED: {self._changed_line(self.rows[-1])}")
        return status

    @staticmethod
    def _changed_line(r: Claim) -> str:
        return f"{r.claim!r}: declared {r.expect!r}, measured {r.status!r} ({r.ours}{'; ' + r.note if r.note else ''})"

    def changes(self) -> list[str]:
        """One line per paper claim whose status differs from its declaration."""
        return [self._changed_line(r) for r in self.rows if r.kind == "paper" and r.status != r.expect]

    def consistency(self, claim: str, *, ours, ok: bool, section: str = "", rule: str = "") -> None:
        """Record a consistency check (an identity, a solver's accuracy, a property true by construction, a
        closed form against itself); raise ``AssertionError`` if it fails. Never counted as reproduced."""
        shown = _fmt(_plain(ours)) + (f" ({rule})" if rule else "")
        self._add(Claim(claim, "", shown, bool(ok), section, _plain(ours), "holds" if ok else "broken",
                        "consistency"))
        if not ok:
            raise AssertionError(f"[{self.chapter}] consistency check failed: {claim}: measured {shown}")

    def needs_full(self, claim: str, *, paper: str, source: str, why: str, section: str = "") -> None:
        """Record a paper claim that this profile does not run (``why``: what it would cost). At the ``full``
        profile this is an error: there the chapter must measure the claim with :meth:`check`."""
        if runtime.profile() == "full":
            raise RuntimeError(f"[{self.chapter}] {claim!r} is marked 'needs full' but the profile is full: "
                               "measure it with Claims.check")
        self._validate(paper, source, 0)
        self._add(Claim(claim, paper, "not run", False, section, None, "needs full", "paper", source, 0,
                        note=why, reached=False, expect="needs full"))

    def counts(self) -> dict:
        """Number of paper claims per status, of consistency checks and of those that hold."""
        c = {s: sum(r.kind == "paper" and r.status == s for r in self.rows) for s in PAPER_STATUSES}
        c["paper"] = sum(r.kind == "paper" for r in self.rows)
        c["consistency"] = sum(r.kind == "consistency" for r in self.rows)
        c["holds"] = sum(r.kind == "consistency" and r.status == "holds" for r in self.rows)
        return c

    def table(self) -> ClaimsTable:
        """The closing ledger: paper claims (with threshold source, seeds, status), then consistency checks."""
        return ClaimsTable(self.rows, self.counts())

    def save(self, folder: str | Path | None = None) -> Path:
        folder = Path(folder or runtime.results_dir())
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.chapter}.json"
        payload = {"chapter": self.chapter, "profile": runtime.profile(), "digest": ledger_digest(self.chapter),
                   "rows": [{k: _plain(v) for k, v in asdict(r).items()} for r in self.rows]}
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(payload, indent=1, default=str))
        tmp.replace(path)
        changed = self.changes()
        if changed and runtime.profile() != "ci":      # declarations are measured at ci
            print(f"[{self.chapter}] at profile {runtime.profile()!r}, {len(changed)} claim(s) differ from "
                  "their ci declarations:\n  " + "\n  ".join(changed))
        elif changed:
            raise StatusChanged(f"[{self.chapter}] {len(changed)} claim(s) changed status (saved to {path}):\n  "
                                + "\n  ".join(changed) + "\nA changed status is a result: change expect= and the "
                                "prose that reads it, never the threshold")
        return path

    @property
    def as_declared(self) -> bool:
        """True when every consistency check holds and, at ``ci``, every paper claim has its declared status
        (a row caught and swallowed by a cell is caught here)."""
        strict = runtime.profile() == "ci"
        return all((r.status == r.expect or not strict) if r.kind == "paper" else r.status == "holds"
                   for r in self.rows)

"""The claims ledger of a chapter: paper claims (results that this run could have contradicted) apart from
consistency checks (identities, solver accuracy, properties true by construction).

A **paper claim** (:meth:`Claims.check`) is a measured number, the paper's value, a pass rule and the
*source of its threshold*: the paper's number with its figure/table, or a derivation written in the
chapter — never this book's own earlier measurement. It also says how many training seeds it rests on:

* ``seeds=0``  — no training involved (a closed form, a sampler, data statistics);
* ``seeds≥3``  — measured over several seeds in the chapter; the caller's ``ok`` says on what (``over=``);
* ``seeds=1/2`` — a trained result on too few seeds. It is a plain pass only when the chapter *measured* the
  recipe's seed-to-seed ``spread`` and the claim's ``margin`` (distance of the value to its threshold) is
  larger; otherwise its status is **fragile**: it still asserts, but is not counted as reproduced.

Statuses: ``pass`` (reproduced), ``fragile``, ``fail`` (raises ``AssertionError`` at once, so the chapter and
the book build stop), ``not at this scale`` (:meth:`Claims.not_reproduced`: the measured value and why this
profile cannot show the effect), ``needs full`` (:meth:`Claims.needs_full`: the ``ci`` profile does not run
the experiment; the row says why). A **consistency check** (:meth:`Claims.consistency`) asserts like a claim
and fails the build, but is listed apart and never counted as a reproduction.

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
MARKS = {"pass": "✓ reproduced", "fragile": "≈ fragile", "fail": "✗ fail",
         "not at this scale": "⚠ not at this scale", "needs full": "◌ needs full", "holds": "✓ holds"}
#: the order of the ledger's counts; the first is the number the landing page quotes
PAPER_STATUSES = ("pass", "fragile", "not at this scale", "needs full", "fail")
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


@dataclass
class Claim:
    claim: str
    paper: str
    ours: str
    passed: bool
    section: str = ""
    value: object = None
    status: str = ""            # see MARKS
    kind: str = "paper"         # "paper" or "consistency"
    source: str = ""            # where the threshold comes from (paper figure/table, or the chapter's derivation)
    seeds: int = 0              # training seeds the value rests on (0: no training involved)
    spread: float | None = None  # measured seed-to-seed spread of the value (max − min), if any
    margin: float | None = None  # distance of the value to its threshold, if given
    note: str = ""              # why fragile / not at this scale / needs full

    def __post_init__(self):
        self.status = self.status or ("pass" if self.passed else "fail")

    @property
    def seeds_text(self) -> str:
        if self.kind != "paper" or self.status == "needs full":
            return ""
        if not self.seeds:
            return "—"
        s = f"{self.seeds}"
        if self.spread is not None:
            s += f" (spread {_fmt(float(self.spread))})"
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
        self.paper = [r for r in rows if r.kind == "paper"]
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

    def check(self, claim: str, *, paper: str, ours, ok: bool, source: str, seeds: int, section: str = "",
              rule: str = "", spread: float | None = None, margin: float | None = None, over: str = "") -> None:
        """Record a paper claim and raise ``AssertionError`` if ``ok`` is false.

        ``source``: where the threshold in ``rule`` comes from. ``seeds``: training seeds behind ``ours``
        (0 if none); with 1 or 2 seeds give the recipe's measured seed-to-seed ``spread`` and the claim's
        ``margin`` (|value − threshold|), else the row is *fragile*. ``over`` says what a multi-seed value is
        (``"median of 3 seeds"``, ``"all 3 seeds"``) and is shown with the value.
        """
        self._validate(paper, source, seeds)
        if spread is not None and margin is None:
            raise ValueError("with spread= give margin= (the distance of the value to its threshold)")
        ok = bool(ok)
        shown = _fmt(_plain(ours)) + (f" ({rule})" if rule else "") + (f"; {over}" if over else "")
        status, note = ("pass" if ok else "fail"), ""
        if ok and 0 < seeds < 3:
            if spread is None:
                status, note = "fragile", f"rests on {seeds} seed(s); seed-to-seed spread not measured"
            elif not float(spread) < float(margin):
                status, note = "fragile", f"seed spread {_fmt(float(spread))} ≥ margin {_fmt(float(margin))}"
        self._add(Claim(claim, paper, shown, ok, section, _plain(ours), status, "paper", source, seeds,
                        None if spread is None else float(spread), None if margin is None else float(margin),
                        note))
        if not ok:
            raise AssertionError(f"[{self.chapter}] claim failed: {claim}: measured {shown}; paper: {paper}")

    def consistency(self, claim: str, *, ours, ok: bool, section: str = "", rule: str = "") -> None:
        """Record a consistency check (an identity, a solver's accuracy, a property true by construction, a
        closed form against itself); raise ``AssertionError`` if it fails. Never counted as reproduced."""
        shown = _fmt(_plain(ours)) + (f" ({rule})" if rule else "")
        self._add(Claim(claim, "", shown, bool(ok), section, _plain(ours), "holds" if ok else "fail",
                        "consistency"))
        if not ok:
            raise AssertionError(f"[{self.chapter}] consistency check failed: {claim}: measured {shown}")

    def not_reproduced(self, claim: str, *, paper: str, ours, reached: bool, why: str, source: str,
                       seeds: int, section: str = "", rule: str = "", spread: float | None = None,
                       margin: float | None = None, over: str = "") -> None:
        """Record a paper claim that this profile is *known* not to show, with the measured value and ``why``.

        Not an assertion: "⚠ not at this scale" while ``reached`` is false; if a run does reach it, the row is
        judged like :meth:`check` (pass, or fragile on too few seeds). Never move the threshold instead.
        """
        if reached:
            return self.check(claim, paper=paper, ours=ours, ok=True, source=source, seeds=seeds,
                              section=section, rule=rule, spread=spread, margin=margin, over=over)
        self._validate(paper, source, seeds)
        shown = _fmt(_plain(ours)) + (f" ({rule})" if rule else "") + (f"; {over}" if over else "")
        self._add(Claim(claim, paper, shown, False, section, _plain(ours), "not at this scale", "paper", source,
                        seeds, spread, margin, why))
        print(f"not reproduced at profile {runtime.profile()!r}: {claim}: measured {shown}. {why}")

    def needs_full(self, claim: str, *, paper: str, source: str, why: str, section: str = "") -> None:
        """Record a paper claim that this profile does not run (``why``: what it would cost). At the ``full``
        profile this is an error: there the chapter must measure the claim with :meth:`check`."""
        if runtime.profile() == "full":
            raise RuntimeError(f"[{self.chapter}] {claim!r} is marked 'needs full' but the profile is full: "
                               "measure it with Claims.check")
        self._validate(paper, source, 0)
        self._add(Claim(claim, paper, "not run", False, section, None, "needs full", "paper", source, 0,
                        note=why))

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
        return path

    @property
    def all_passed(self) -> bool:
        """True when no recorded row failed (not-at-this-scale, fragile and needs-full rows do not fail)."""
        return all(r.status != "fail" for r in self.rows)

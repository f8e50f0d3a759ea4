"""The book around the chapters: measured numbers pasted into the prose, and the book-wide claims page.

``glue(name, value)`` stores a value computed in a chapter so that the text can quote it with
``{glue:text}`name:.3f``` (MyST-NB's *glue*): no number in the prose is typed in. ``glue_figure`` shows a
figure and stores it under a name, so the landing page can paste it (``{glue}`chapters/NN-x.md::name```).
Outside a book build (plain Jupyter without MyST-NB) both degrade to showing nothing / showing the figure.

``load_results`` reads the ledgers that every chapter writes (``Claims.save`` →
``data/results/<chapter>.json``) and checks that each one belongs to the current chapter source, library
(``lib/gendiff`` with its configs) and profile, so the claims page can never show a stale table.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from . import runtime
from .claims import MARKS, PAPER_STATUSES, ROW_ORDER, count_line, ledger_digest  # noqa: F401 (count_line: the page)

CHAPTERS_DIR = runtime.REPO_ROOT / "chapters"


def _myst_glue():
    try:
        from myst_nb import glue as _glue
    except ImportError:  # running without the book extras: nothing to paste into
        return None
    return _glue


def glue(name: str, value, display: bool = False) -> None:
    """Store ``value`` (a number, string or list) under ``name`` for ``{glue:text}`` in the prose.

    Floats are stored as Python floats (so the text chooses the format, e.g. ``{glue:text}`x:.2f```);
    NumPy/torch scalars are converted first.
    """
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
        value = value.item()
    g = _myst_glue()
    if g is not None:
        g(name, value, display=display)


def glue_figure(name: str, fig) -> None:
    """Show ``fig`` as this cell's output *and* store it as ``name`` (the landing page pastes it).

    The figure is closed afterwards so the inline backend does not show it a second time.
    """
    import matplotlib.pyplot as plt
    g = _myst_glue()
    if g is not None:
        g(name, fig, display=True)
    else:
        from IPython.display import display
        display(fig)
    plt.close(fig)


def chapter_title(chapter: str) -> str:
    """The first ``# `` heading of ``chapters/<chapter>.md``."""
    for line in (CHAPTERS_DIR / f"{chapter}.md").read_text().splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return chapter


@dataclass
class ChapterResults:
    chapter: str
    title: str
    profile: str
    rows: list[dict] = field(default_factory=list)
    problem: str = ""          # why this table cannot be trusted ("" when it can)

    def count(self, status: str, kind: str = "paper") -> int:
        return sum(r.get("status") == status and r.get("kind", "paper") == kind for r in self.rows)

    def counts(self) -> dict:
        """Paper claims per status, consistency checks and those that hold (as ``Claims.counts``)."""
        c = {s: self.count(s) for s in PAPER_STATUSES}
        c["paper"] = sum(r.get("kind", "paper") == "paper" for r in self.rows)
        c["consistency"] = sum(r.get("kind") == "consistency" for r in self.rows)
        c["holds"] = self.count("holds", "consistency")
        return c


def load_results(chapters: list[str], profile: str | None = None,
                 folder: str | Path | None = None) -> list[ChapterResults]:
    """The saved claims table of each chapter, with ``problem`` set when it is missing or stale.

    A table is stale when the chapter, any file of ``lib/gendiff`` (configs included) or the profile changed
    since it was written (``digest``), or when it was computed at another profile than ``profile`` (default:
    the current one).
    """
    folder = Path(folder or runtime.results_dir())
    profile = profile or runtime.profile()
    out = []
    for ch in chapters:
        path = folder / f"{ch}.json"
        res = ChapterResults(ch, chapter_title(ch), "")
        if not path.exists():
            res.problem = f"no results: run the chapter first ({path.relative_to(runtime.REPO_ROOT) if path.is_relative_to(runtime.REPO_ROOT) else path} is missing)"
        else:
            payload = json.loads(path.read_text())
            res.profile, res.rows = payload.get("profile", ""), payload.get("rows", [])
            if res.profile != profile:
                res.problem = f"computed at profile {res.profile!r}, not {profile!r}"
            elif payload.get("digest") != ledger_digest(ch):
                res.problem = ("stale: the chapter or lib/gendiff changed after these results were written; "
                               "rerun the chapter")
            elif not res.rows:
                res.problem = "the chapter recorded no claims"
        out.append(res)
    return out


def toc_chapters() -> list[str]:
    """The chapters listed in ``_toc.yml``, in book order (file stems under ``chapters/``)."""
    import re
    text = (runtime.REPO_ROOT / "_toc.yml").read_text()
    return [m.split("/", 1)[1] for m in re.findall(r"file:\s*(chapters/[^\s#]+)", text)]


def section_anchors(chapter: str, with_lines: bool = False) -> list[tuple]:
    """(heading text, HTML id) of every ``#``-heading of a chapter, in order (+ its line number if asked).

    The id is docutils' ``make_id`` of the heading text — what Sphinx gives a section without an explicit
    label (the browser test of the built book checks that every link made from it resolves).
    """
    import re

    from docutils.nodes import make_id
    out, fenced = [], False
    for i, line in enumerate((CHAPTERS_DIR / f"{chapter}.md").read_text().splitlines()):
        if line.startswith("```"):
            fenced = not fenced
        m = None if fenced else re.match(r"^(#{1,6})\s+(.*\S)\s*$", line)
        if m:
            text = re.sub(r"[`*$]", "", m.group(2))
            out.append((text, make_id(text), i) if with_lines else (text, make_id(text)))
    return out


def claims_anchor(chapter: str, section: str = "") -> str:
    """The id of the section where a claim is computed: the first heading that names ``section``, ignoring
    case ("Fig. 3" matches "… (paper Fig. 3)", "Fig. 3" does not match "Fig. 30"; "§2" matches a heading
    numbered "2. …"), else the section holding the chapter's claims table."""
    import re
    heads = section_anchors(chapter)
    if section:
        num = re.fullmatch(r"§\s*(\d+)", section.strip())
        pat = (re.compile(rf"^{num.group(1)}\.\s") if num else
               re.compile(r"(?<![\w.])" + re.escape(section) + r"(?![\w.])", re.IGNORECASE))
        for text, hid in heads:
            if pat.search(text):
                return hid
    lines = (CHAPTERS_DIR / f"{chapter}.md").read_text().splitlines()
    cut = next((i for i, line in enumerate(lines) if "claims.table()" in line), len(lines))
    before = [hid for _, hid, i in section_anchors(chapter, with_lines=True) if i < cut]
    return before[-1] if before else ""


def claims_overview(results: list[ChapterResults]):
    """HTML for the claims page: one summary row per chapter (paper claims by status, consistency checks
    apart), then each chapter's paper claims with the source of each threshold, its seeds and a link to the
    section of the book that computes it, then its consistency checks."""
    from html import escape

    from IPython.display import HTML

    def link(ch, anchor, text):
        return f'<a href="{ch}.html{"#" + anchor if anchor else ""}">{escape(text)}</a>'

    head = ("chapter", "profile", "paper claims") + tuple(MARKS[s] for s in PAPER_STATUSES) + (
        "consistency checks", "status")
    html = ['<table class="claims-summary"><thead><tr>' + "".join(f"<th>{h}</th>" for h in head)
            + "</tr></thead><tbody>"]
    for r in results:
        c = r.counts()
        status = escape(r.problem) if r.problem else ("every paper claim reproduced" if c["reproduced"] == c["paper"]
                                                      else "see below")
        cells = [link(r.chapter, "", r.title), escape(r.profile), str(c["paper"])]
        cells += [str(c[s]) for s in PAPER_STATUSES] + [f'{c["holds"]} of {c["consistency"]} hold', status]
        html.append("<tr>" + "".join(f"<td>{x}</td>" for x in cells) + "</tr>")
    html.append("</tbody></table>")
    cols = ("claim", "paper", "threshold from", "this book", "seeds", "status", "note")
    for r in results:
        html.append(f"<h3>{link(r.chapter, '', r.title)}</h3>")
        if r.problem:
            html.append(f"<p><b>{escape(r.problem)}</b></p>")
            continue
        html.append(f"<p>{escape(count_line(r.counts()))}</p>")
        html.append('<table class="claims-table"><thead><tr>' + "".join(f"<th>{h}</th>" for h in cols)
                    + "<th>where</th></tr></thead><tbody>")
        paper = [c for c in r.rows if c.get("kind", "paper") == "paper"]
        for c in sorted(paper, key=lambda c: ROW_ORDER.index(c["status"]) if c["status"] in ROW_ORDER else -1):
            seeds = "" if c["status"] == "needs full" else (
                str(c.get("seeds") or "—") + (f" (spread {c['spread']:.3g})" if c.get("spread") is not None else ""))
            vals = (c["claim"], c.get("paper", ""), c.get("source", ""), c.get("ours", ""), seeds)
            where = link(r.chapter, claims_anchor(r.chapter, c.get("section", "")), c.get("section") or "ledger")
            html.append("<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in vals)
                        + f"<td>{MARKS.get(c['status'], escape(str(c['status'])))}</td>"
                        + f"<td>{escape(c.get('note', ''))}</td><td>{where}</td></tr>")
        html.append("</tbody></table>")
        checks = [c for c in r.rows if c.get("kind") == "consistency"]
        if checks:
            html.append("<details><summary>consistency checks (not counted as reproduced)</summary>"
                        '<table class="claims-table"><thead><tr><th>check</th><th>this book</th><th>status</th>'
                        "<th>where</th></tr></thead><tbody>")
            for c in checks:
                where = link(r.chapter, claims_anchor(r.chapter, c.get("section", "")), c.get("section") or "ledger")
                html.append(f"<tr><td>{escape(c['claim'])}</td><td>{escape(str(c.get('ours', '')))}</td>"
                            f"<td>{MARKS.get(c['status'], escape(str(c['status'])))}</td><td>{where}</td></tr>")
            html.append("</tbody></table></details>")
    return HTML("\n".join(html))


def totals(results: list[ChapterResults]) -> dict:
    """The book's ledger summed over chapters (keys as ``Claims.counts``)."""
    out: dict = {}
    for r in results:
        for k, v in r.counts().items():
            out[k] = out.get(k, 0) + v
    return out


def claim_chapters() -> list[str]:
    """The chapters of ``_toc.yml`` that record claims (they create a ``Claims``), in book order."""
    return [c for c in toc_chapters() if "Claims(" in (CHAPTERS_DIR / f"{c}.md").read_text()]

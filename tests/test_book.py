"""gendiff.book: the claims page's reading of saved tables (fresh / stale / missing), anchors, glue fallbacks."""
import importlib.util
import json

import pytest

from gendiff import book, runtime
from gendiff.claims import Claims

CH = "00-denoisers-and-generalization"


def _save(tmp_path, **over):
    c = Claims(CH)
    c.check("x below 1", paper="< 1", ours=0.5, ok=True, section="Fig. 1", source="paper Fig. 1", seeds=0,
            expect="reproduced")
    c.check("y at scale", paper="≥ 0.95", ours=0.8, ok=False, reached=False, short="N = 16, the paper's 10⁵",
            source="paper Fig. 2", seeds=3, expect="out of reach")
    c.consistency("an identity", ours=1e-9, ok=True)
    path = c.save(tmp_path)
    payload = json.loads(path.read_text())
    payload.update(over)
    path.write_text(json.dumps(payload))
    return path


def test_fresh_results_are_read(tmp_path):
    _save(tmp_path)
    (r,) = book.load_results([CH], folder=tmp_path)
    assert r.problem == "" and r.title == book.chapter_title(CH)
    assert r.count("reproduced") == 1 and r.count("out of reach") == 1 and r.count("fails") == 0
    assert r.counts()["consistency"] == r.counts()["holds"] == 1 and r.counts()["paper"] == 2


@pytest.mark.parametrize("edit", ["chapter", "lib", "config"])
def test_results_go_stale_when_chapter_lib_or_config_changes(tmp_path, monkeypatch, edit):
    """A saved ledger belongs to the chapter, every file of lib/gendiff (configs included) and the profile."""
    _save(tmp_path)
    target = {"chapter": book.CHAPTERS_DIR / f"{CH}.md", "lib": runtime.REPO_ROOT / "lib/gendiff/plots.py",
              "config": runtime.REPO_ROOT / "lib/gendiff/configs/ch00.py"}[edit]
    real = target.read_bytes()
    monkeypatch.setattr(type(target), "read_bytes",
                        lambda self, _real=type(target).read_bytes: _real(self) + (b"#" if self == target else b""))
    assert target.read_bytes() == real + b"#"
    (r,) = book.load_results([CH], folder=tmp_path)
    assert "stale" in r.problem


def test_results_go_stale_with_the_profile(tmp_path, monkeypatch):
    from gendiff import claims
    _save(tmp_path)
    d = claims.ledger_digest(CH)
    monkeypatch.setenv("BOOK_PROFILE", "full")
    assert claims.ledger_digest(CH) != d


@pytest.mark.parametrize("over, word", [({"digest": "0" * 16}, "stale"), ({"profile": "full"}, "profile"),
                                        ({"rows": []}, "no claims")])
def test_stale_or_foreign_results_are_flagged(tmp_path, over, word):
    _save(tmp_path, **over)
    (r,) = book.load_results([CH], folder=tmp_path)
    assert word in r.problem


def test_missing_results_are_flagged(tmp_path):
    (r,) = book.load_results([CH], folder=tmp_path)
    assert "run the chapter first" in r.problem


def test_toc_chapters_in_book_order():
    chs = book.toc_chapters()
    assert chs[0] == CH and chs == sorted(chs)
    assert all((book.CHAPTERS_DIR / f"{c}.md").exists() for c in chs)


def test_anchors_follow_headings():
    heads = dict(book.section_anchors(CH))
    assert heads["Denoising is score estimation"] == "denoising-is-score-estimation"
    assert book.claims_anchor(CH) in heads.values()          # the section holding claims.table()
    assert book.claims_anchor(CH, "no such section") == book.claims_anchor(CH)


def test_section_matching_rules(tmp_path, monkeypatch):
    (tmp_path / "x.md").write_text("# Title\n## 1. First (paper Fig. 3)\n## 2. Second, Fig. 30\n"
                                   "```{code-cell}\n# 3. not a heading\nclaims.table()\n```\n## Claims\n")
    monkeypatch.setattr(book, "CHAPTERS_DIR", tmp_path)
    assert book.claims_anchor("x", "§2") == book.claims_anchor("x", "fig. 30") == "second-fig-30"
    assert book.claims_anchor("x", "Fig. 3") == book.claims_anchor("x", "§1") == "first-paper-fig-3"
    assert book.claims_anchor("x", "§3") == book.claims_anchor("x", "Fig. 1") == "second-fig-30"  # fallback


def test_every_claim_links_to_its_section():
    """Each literal ``section="…"`` of a chapter's claims names one of its headings (else the claims page
    would send the reader to the chapter's claims table instead of the section that computes the claim)."""
    import re
    for ch in book.toc_chapters():
        sections = set(re.findall(r'section="([^"]+)"', (book.CHAPTERS_DIR / f"{ch}.md").read_text()))
        fallback = book.claims_anchor(ch)
        bad = sorted(s for s in sections if book.claims_anchor(ch, s) == fallback)
        assert not bad, f"{ch}: claims sections {bad} match no heading"


def test_overview_links_every_chapter(tmp_path):
    _save(tmp_path)
    res = book.load_results([CH, "01-harmonic-representations"], folder=tmp_path)
    html = book.claims_overview(res).data
    assert f'href="{CH}.html"' in html and 'href="01-harmonic-representations.html"' in html
    assert "run the chapter first" in html and "⚠ out of reach" in html


def test_glue_stores_plain_values(monkeypatch):
    import numpy as np
    import torch
    stored = {}
    monkeypatch.setattr(book, "_myst_glue", lambda: lambda name, value, display: stored.update({name: value}))
    assert book.glue("a", np.float64(0.25)) is None and book.glue("b", torch.tensor(2.0)) is None
    assert stored == {"a": 0.25, "b": 2.0} and type(stored["b"]) is float


def test_offline_mathjax_bundle_is_installed():
    spec = importlib.util.spec_from_file_location("book_html", runtime.REPO_ROOT / "_ext" / "book_html.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    path = mod.bundle_path()
    assert path.stat().st_size > 1_000_000 and path.read_text(errors="ignore").find("MathJax") >= 0


def test_claim_chapters_exclude_the_claims_page():
    chs = book.claim_chapters()
    assert CH in chs and "06-claims" not in chs and set(chs) < set(book.toc_chapters())

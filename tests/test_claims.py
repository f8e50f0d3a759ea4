"""gendiff.claims: paper claims vs consistency checks, threshold sources, seeds, statuses and counts."""
import pytest

from gendiff import runtime
from gendiff.claims import Claims


def test_paper_claim_needs_a_threshold_source_and_seeds():
    c = Claims("demo")
    with pytest.raises(ValueError, match="source="):
        c.check("x", paper="< 1 (Fig. 1)", ours=0.5, ok=True, source="", seeds=0)
    with pytest.raises(TypeError):
        c.check("x", paper="< 1 (Fig. 1)", ours=0.5, ok=True, source="paper Fig. 1")   # seeds missing
    with pytest.raises(ValueError, match="seeds="):
        c.check("x", paper="< 1 (Fig. 1)", ours=0.5, ok=True, source="paper Fig. 1", seeds=-1)
    assert not c.rows


@pytest.mark.parametrize("paper", ["≈ 0 (prototype 0.013)", "spec: 3×", "pilot 0.9"])
def test_the_paper_column_holds_only_the_papers_words(paper):
    with pytest.raises(ValueError, match="paper= holds only"):
        Claims("demo").check("x", paper=paper, ours=1.0, ok=True, source="paper Fig. 1", seeds=0)


def test_failures_raise_and_are_saved(tmp_path):
    c = Claims("demo")
    c.check("ok", paper="1", ours=1.0, ok=True, source="paper Table 1", seeds=0)
    with pytest.raises(AssertionError, match="claim failed: bad"):
        c.check("bad", paper="1", ours=2.0, ok=False, source="paper Table 1", seeds=0)
    with pytest.raises(AssertionError, match="consistency check failed: id"):
        c.consistency("id", ours=1.0, ok=False)
    path = c.save(tmp_path)
    assert path.exists() and '"bad"' in path.read_text() and not c.all_passed


def test_seed_rules():
    c = Claims("demo")
    kw = dict(paper="< 1 (Fig. 1)", ok=True, source="paper Fig. 1")
    c.check("untrained", ours=0.5, seeds=0, **kw)
    c.check("one seed, spread unknown", ours=0.5, seeds=1, **kw)
    c.check("one seed, spread > margin", ours=0.9, seeds=1, spread=0.2, margin=0.1, **kw)
    c.check("one seed, spread < margin", ours=0.5, seeds=1, spread=0.1, margin=0.5, **kw)
    c.check("three seeds", ours=0.5, seeds=3, over="median of 3 seeds", **kw)
    st = {r.claim: r.status for r in c.rows}
    assert st == {"untrained": "pass", "one seed, spread unknown": "fragile", "one seed, spread > margin": "fragile",
                  "one seed, spread < margin": "pass", "three seeds": "pass"}
    assert "spread not measured" in c.rows[1].note and "median of 3 seeds" in c.rows[-1].ours
    with pytest.raises(ValueError, match="margin="):
        c.check("spread without margin", ours=0.5, seeds=1, spread=0.1, **kw)


def test_consistency_checks_are_listed_apart_and_never_counted():
    c = Claims("demo")
    c.check("a claim", paper="< 1 (Fig. 1)", ours=0.5, ok=True, source="paper Fig. 1", seeds=0)
    c.consistency("an identity", ours=1e-12, ok=True, rule="< 1e-10")
    c.not_reproduced("far effect", paper="≥ 0.9 (Fig. 2)", ours=0.6, reached=False, why="too small",
                     source="paper Fig. 2", seeds=3)
    c.not_reproduced("reached anyway", paper="x (Fig. 3)", ours=1.0, reached=True, why="", source="Fig. 3",
                     seeds=0)
    c.needs_full("Fig. 15 sizes", paper="grows with size (Fig. 15)", source="paper Fig. 15", why="hours of GPU")
    n = c.counts()
    assert n == {"pass": 2, "fragile": 0, "not at this scale": 1, "needs full": 1, "fail": 0, "paper": 4,
                 "consistency": 1, "holds": 1}
    text = c.table().data
    assert text.startswith("4 paper claims: 2 reproduced, 1 not at this scale, 1 needs full; 1 of 1 consistency")
    assert "| consistency check |" in text and "\\|" not in text.split("consistency check")[0].split("\n")[0]
    assert c.all_passed and "✓ holds" in c.table()._repr_html_()


def test_needs_full_is_an_error_at_full(monkeypatch):
    monkeypatch.setenv("BOOK_PROFILE", "full")
    assert runtime.profile() == "full"
    with pytest.raises(RuntimeError, match="measure it"):
        Claims("demo").needs_full("x", paper="y (Fig. 1)", source="paper Fig. 1", why="big")


def test_table_escapes_pipes():
    c = Claims("demo")
    c.check("|h − h*| small", paper="< 1", ours=0.5, ok=True, source="derived in §2", seeds=0)
    assert "\\|h − h*\\|" in c.table().data

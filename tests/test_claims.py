"""gendiff.claims: paper claims vs consistency checks, threshold sources, seeds, statuses and counts."""
import pytest

from gendiff import runtime
from gendiff.claims import Claims, StatusChanged, judge


def test_paper_claim_needs_a_threshold_source_and_seeds():
    c = Claims("demo")
    with pytest.raises(ValueError, match="source="):
        c.check("x", paper="< 1 (Fig. 1)", ours=0.5, ok=True, source="", seeds=0, expect="reproduced")
    with pytest.raises(TypeError):
        c.check("x", paper="< 1 (Fig. 1)", ours=0.5, ok=True, source="paper Fig. 1")   # seeds missing
    with pytest.raises(ValueError, match="seeds="):
        c.check("x", paper="< 1 (Fig. 1)", ours=0.5, ok=True, source="paper Fig. 1", seeds=-1, expect="reproduced")
    assert not c.rows


@pytest.mark.parametrize("paper", ["≈ 0 (prototype 0.013)", "spec: 3×", "pilot 0.9"])
def test_the_paper_column_holds_only_the_papers_words(paper):
    with pytest.raises(ValueError, match="paper= holds only"):
        Claims("demo").check("x", paper=paper, ours=1.0, ok=True, source="paper Fig. 1", seeds=0, expect="reproduced")


def test_a_miss_is_recorded_as_fails_and_only_a_changed_status_raises(tmp_path):
    c = Claims("demo")
    kw = dict(paper="1", source="paper Table 1", seeds=0)
    assert c.check("ok", ours=1.0, ok=True, expect="reproduced", **kw) == "reproduced"
    assert c.check("known miss", ours=2.0, ok=False, expect="fails", **kw) == "fails"   # a result, no error
    c.save(tmp_path)
    c.check("new miss", ours=2.0, ok=False, expect="reproduced", **kw)
    c.check("now passes", ours=1.0, ok=True, expect="fails", **kw)                    # either direction
    with pytest.raises(AssertionError, match="consistency check failed: id"):
        c.consistency("id", ours=1.0, ok=False)
    with pytest.raises(StatusChanged, match=r"2 claim\(s\) changed status(.|\n)*'new miss': declared 'reproduced', "
                                            r"measured 'fails'(.|\n)*declared 'fails', measured 'reproduced'"):
        c.save(tmp_path)
    path = tmp_path / "demo.json"
    assert '"new miss"' in path.read_text() and not c.as_declared
    assert [r.status for r in c.table().paper][:2] == ["fails", "fails"]       # failures listed first
    with pytest.raises(ValueError, match="expect="):
        c.check("x", ours=1.0, ok=True, expect="pass", **kw)


def test_the_regime_decides_out_of_reach_never_the_value():
    c = Claims("demo")
    kw = dict(paper="≥ 0.9 (Fig. 2)", source="paper Fig. 2", seeds=3, passing=(3, 3), regime="N/d ≥ 390")
    c.check("short run, miss", ours=0.6, ok=False, reached=False, short="N/d = 15.6", expect="out of reach", **kw)
    c.check("short run, pass", ours=0.95, ok=True, reached=False, short="N/d = 15.6", expect="out of reach", **kw)
    c.check("in the regime, miss", ours=0.6, ok=False, expect="fails", **kw)
    st = {r.claim: (r.status, r.note) for r in c.rows}
    assert st["short run, miss"] == ("out of reach", "N/d = 15.6 (the claim needs N/d ≥ 390)")
    assert st["in the regime, miss"][0] == "fails"
    with pytest.raises(ValueError, match="short="):
        c.check("no reason", ours=0.6, ok=False, reached=False, expect="out of reach", **kw)


def test_seed_rules():
    c = Claims("demo")
    kw = dict(paper="< 1 (Fig. 1)", source="paper Fig. 1")
    c.check("untrained", ours=0.5, ok=True, seeds=0, expect="reproduced", **kw)
    c.check("one seed", ours=0.5, ok=True, seeds=1, spread=0.1, margin=0.5, expect="fragile", **kw)
    c.check("three seeds, spread < margin", ours=0.5, ok=True, seeds=3, spread=0.1, margin=0.5,
            over="median of 3 seeds", expect="reproduced", **kw)
    c.check("three seeds, spread > margin", ours=0.9, ok=True, seeds=3, spread=0.2, margin=0.1,
            expect="fragile", **kw)
    c.check("three seeds, miss within the spread", ours=1.05, ok=False, seeds=3, spread=0.2, margin=0.05,
            expect="fragile", **kw)
    c.check("median hides a failing seed", ours=0.5, ok=True, seeds=3, passing=(2, 3), expect="fragile", **kw)
    c.check("all seeds pass", ours=0.5, ok=True, seeds=3, passing=(3, 3), expect="reproduced", **kw)
    c.check("three seeds, nothing measured", ours=0.5, ok=True, seeds=3, expect="fragile", **kw)
    notes = {r.claim: r.note for r in c.rows}
    assert "within its seed spread 0.2" in notes["three seeds, miss within the spread"]
    assert "2 of 3 seeds pass" in notes["median hides a failing seed"]
    assert "rests on 1 seed" in notes["one seed"] and "median of 3 seeds" in c.rows[2].ours
    assert "2 of 3 pass" in c.rows[5].seeds_text
    with pytest.raises(ValueError, match="margin="):
        c.check("spread without margin", ours=0.5, ok=True, seeds=1, spread=0.1, expect="fragile", **kw)


@pytest.mark.parametrize("args, status", [
    (dict(ok=True), "reproduced"), (dict(ok=False), "fails"), (dict(ok=False, reached=False), "out of reach"),
    (dict(ok=True, seeds=2, spread=0.01, margin=1.0), "fragile"),
    (dict(ok=False, seeds=1), "fragile"), (dict(ok=False, seeds=1, spread=0.01, margin=1.0), "fails"),
    (dict(ok=False, seeds=3, passing=(0, 3)), "fails"), (dict(ok=False, seeds=3, passing=(1, 3)), "fragile"),
    (dict(ok=False, seeds=3, each_seed=True), "fails"), (dict(ok=True, seeds=3, each_seed=True), "reproduced"),
    (dict(ok=False, seeds=3), "fragile"),
    (dict(ok=False, seeds=3, spread=0.3, margin=0.3), "fragile"),
    (dict(ok=True, seeds=3, spread=0.1, margin=0.3), "reproduced")])
def test_judge(args, status):
    assert judge(**args)[0] == status


def test_consistency_checks_are_listed_apart_and_never_counted():
    c = Claims("demo")
    c.check("a claim", paper="< 1 (Fig. 1)", ours=0.5, ok=True, source="paper Fig. 1", seeds=0, expect="reproduced")
    c.consistency("an identity", ours=1e-12, ok=True, rule="< 1e-10")
    c.check("far effect", paper="≥ 0.9 (Fig. 2)", ours=0.6, ok=False, reached=False, short="N = 16, the paper's 10⁵",
            source="paper Fig. 2", seeds=3, expect="out of reach")
    c.check("a miss", paper="x (Fig. 3)", ours=1.0, ok=False, source="Fig. 3", seeds=0, expect="fails")
    c.needs_full("Fig. 15 sizes", paper="grows with size (Fig. 15)", source="paper Fig. 15", why="hours of GPU")
    n = c.counts()
    assert n == {"reproduced": 1, "fragile": 0, "fails": 1, "out of reach": 1, "needs full": 1, "paper": 4,
                 "consistency": 1, "holds": 1}
    text = c.table().data
    assert text.startswith("4 paper claims: 1 reproduced, 1 fails, 1 out of reach, 1 needs full; 1 of 1 consistency")
    assert "| consistency check |" in text and "\\|" not in text.split("consistency check")[0].split("\n")[0]
    assert c.as_declared and "✓ holds" in c.table()._repr_html_()


def test_needs_full_is_an_error_at_full(monkeypatch):
    monkeypatch.setenv("BOOK_PROFILE", "full")
    assert runtime.profile() == "full"
    with pytest.raises(RuntimeError, match="measure it"):
        Claims("demo").needs_full("x", paper="y (Fig. 1)", source="paper Fig. 1", why="big")


def test_table_escapes_pipes():
    c = Claims("demo")
    c.check("|h − h*| small", paper="< 1", ours=0.5, ok=True, source="derived in §2", seeds=0, expect="reproduced")
    assert "\\|h − h*\\|" in c.table().data


def test_declarations_are_strict_at_ci_only(tmp_path, monkeypatch):
    monkeypatch.setenv("BOOK_PROFILE", "gpu")
    c = Claims("demo")
    c.check("x", paper="1", ours=2.0, ok=False, source="paper Table 1", seeds=0, expect="reproduced")
    assert c.save(tmp_path).exists() and c.as_declared and c.rows[0].status == "fails"

"""``scripts/lanes.py``: pytest sessions run at once; a failing lane fails the run; the toc check."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LANES = ROOT / "scripts" / "lanes.py"


def _run(tmp_path, *args):
    return subprocess.run([sys.executable, str(LANES), "--pytest", "-q -p no:cacheprovider", *args],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)


def test_lanes_run_at_once_and_a_failure_fails_the_run(tmp_path):
    (tmp_path / "test_ok.py").write_text("def test_ok():\n    pass\n")
    (tmp_path / "test_bad.py").write_text("def test_bad():\n    assert False\n")
    (tmp_path / "test_last.py").write_text("def test_last():\n    pass\n")
    ok = _run(tmp_path, "test_ok.py", "test_ok.py", "--after", "test_last.py")
    assert ok.returncode == 0, ok.stdout
    assert "[lane 1]" in ok.stdout and "[lane 2]" in ok.stdout and "1 passed" in ok.stdout.splitlines()[-1]
    bad = _run(tmp_path, "test_ok.py", "test_bad.py", "--after", "test_last.py")
    assert bad.returncode == 1
    assert "lane 2 (test_bad.py) exit 1" in bad.stdout and "test_last" not in bad.stdout


def test_every_toc_chapter_in_exactly_one_lane(tmp_path):
    (tmp_path / "_toc.yml").write_text("root: intro\nchapters:\n  - file: chapters/01-a\n  - file: chapters/02-b\n")
    r = _run(tmp_path, "--toc", "_toc.yml", "chapters/01-a.md")
    assert r.returncode == 2 and "missing ['chapters/02-b.md']" in r.stdout


def test_makefile_lanes_hold_the_book():
    """The lanes of ``make chapters-lanes`` hold every chapter of the book's ``_toc.yml`` once."""
    import re
    make = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    lanes = re.search(r"^LANES\s*:=\s*(.+)$", make, re.M)[1].split()
    last = re.search(r"^LAST_PAGE\s*:=\s*(\S+)", make, re.M)[1]
    sys.path.insert(0, str(ROOT / "scripts"))
    import lanes as lanes_mod
    listed = [p for lane in lanes for p in lane.split(",")] + [last]
    assert sorted(listed) == sorted(lanes_mod.toc_chapters(str(ROOT / "_toc.yml")))

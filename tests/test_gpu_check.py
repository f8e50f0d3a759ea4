"""``scripts/gpu_check.py --dry-run``: the code path of ``make gpu-check`` on the CPU, in seconds.

A real chapter takes a minute or more even at ``ci``, so the test runs the script on two tiny notebooks
written here: one that saves a claims ledger (as every chapter does) and passes, one that fails. The script
must run each through nbval in its own process, copy the ledger and its table into the output folder, record
stage times and the device, and exit non-zero because one notebook failed; a notebook past the time limit
(here 3 s) is killed with its kernel and reported as a timeout. The run on a GPU differs only in ``BOOK_PROFILE=gpu``, ``BOOK_DEVICE=cuda`` and the chapters.
"""
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "gpu_check.py"


def _notebook(path: Path, source: str) -> Path:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def test_dry_run_records_times_device_and_claims(tmp_path):
    results = tmp_path / "results"
    ok = _notebook(tmp_path / "dry-ok.ipynb", (
        "import os\nfrom gendiff import runtime\nfrom gendiff.claims import Claims\n"
        "assert runtime.profile() == 'ci' and str(runtime.device()) == 'cpu'\n"
        "claims = Claims('dry-ok')\n"
        "claims.consistency('one plus one', ours=2, ok=1 + 1 == 2, rule='= 2')\n"
        f"claims.save({str(results)!r})\n"))
    bad = _notebook(tmp_path / "dry-bad.ipynb", "raise RuntimeError('this notebook fails')\n")
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--dry-run", "--out", str(out), "--results", str(results),
                           "--limit-s", "150", str(ok), str(bad)],
                          cwd=ROOT, capture_output=True, text=True, timeout=400)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["profile"] == "ci" and "cpu" in summary["device"] and not summary["ok"]
    rows = summary["chapters"]
    assert rows["dry-ok"]["status"] == "ok", (out / "logs" / "dry-ok.log").read_text()
    assert rows["dry-ok"]["claims"] == {"holds": 1}
    assert rows["dry-bad"]["status"] == "failed"
    assert "one plus one" in (out / "claims" / "dry-ok.md").read_text()
    assert json.loads((out / "claims" / "dry-ok.json").read_text())["chapter"] == "dry-ok"
    times = (out / "stage-times.txt").read_text()
    assert "== stage dry-ok:" in times and "== total:" in times


def test_dry_run_past_the_limit_is_a_timeout(tmp_path):
    slow = _notebook(tmp_path / "dry-slow.ipynb", "import time\ntime.sleep(120)\n")
    proc = subprocess.run([sys.executable, str(SCRIPT), "--dry-run", "--out", str(tmp_path / "out"),
                           "--limit-s", "3", str(slow)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["chapters"]["dry-slow"]["status"] == "timeout"


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has CUDA")
def test_without_cuda_the_real_run_refuses(tmp_path):
    proc = subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path)], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode != 0 and "CUDA" in proc.stderr

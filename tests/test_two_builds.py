"""Two book builds at once, and the same claims table twice (issue 19, items 3 and 4).

Two ``jupyter-book build`` processes of a one-chapter book (the cheapest chapter, chapter 0, which trains
three small networks) start together, each with its own empty model cache (``BOOK_CACHE``) and results
folder (``BOOK_RESULTS``), so each trains from scratch while the other runs. Both must finish (kernels on
private IPC sockets, ``_ext/ipc_kernels.py``: no TCP port race) and save **identical** claims ledgers:
every measured value, status and row, not just the same verdicts.

Which numbers may differ, and why: none here — same profile, same seeds, same CPU and thread count
(``BOOK_THREADS=1``). Another thread count, CPU or torch build changes the order in which sums are taken
and moves trained results within their seed spread (see tests/test_determinism.py).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = "00-denoisers-and-generalization"


def _book(folder: Path) -> Path:
    (folder / "chapters").mkdir(parents=True)
    shutil.copy(ROOT / "chapters" / f"{CHAPTER}.md", folder / "chapters")
    for name in ("favicon.svg",):
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, folder)
    config = (ROOT / "_config.yml").read_text().replace(": _ext", f": {ROOT / '_ext'}")
    (folder / "_config.yml").write_text(config)
    (folder / "intro.md").write_text("# Two builds\n")
    (folder / "_toc.yml").write_text(f"format: jb-book\nroot: intro\nchapters:\n  - file: chapters/{CHAPTER}\n")
    return folder


def test_two_builds_at_once_train_alone_and_agree(tmp_path):
    jb = Path(sys.executable).with_name("jupyter-book")
    procs, t0 = [], time.time()
    for run in ("a", "b"):
        book = _book(tmp_path / run / "book")
        env = dict(os.environ, BOOK_CACHE=str(tmp_path / run / "cache"), BOOK_RESULTS=str(tmp_path / run / "results"),
                   BOOK_THREADS="1", TQDM_DISABLE="1", BOOK_PROFILE="ci")
        # no -W: the one-chapter book lacks the glossary and notation pages the chapter links to; a cell that
        # raises still fails the build (nb_execution_raise_on_error)
        procs.append(subprocess.Popen([str(jb), "build", str(book)], env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    for p in procs:
        out, _ = p.communicate(timeout=900)
        assert p.returncode == 0, out[-3000:]
    print(f"two builds of chapter 0 at once: {time.time() - t0:.0f} s")
    ledgers = [json.loads((tmp_path / run / "results" / f"{CHAPTER}.json").read_text()) for run in ("a", "b")]
    assert all(list((tmp_path / run / "cache").glob("*")) for run in ("a", "b")), "a build did not train"
    assert ledgers[0]["rows"], "chapter 0 saved no claims"
    assert ledgers[0] == ledgers[1], "two runs of chapter 0 gave different claims tables"

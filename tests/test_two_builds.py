"""Two book builds at once, and the same claims table twice (issue 19, items 3 and 4).

Two ``jupyter-book build`` processes of a one-page book start together, each with its own empty model cache
(``BOOK_CACHE``) and results folder (``BOOK_RESULTS``), so each trains from scratch while the other runs. The
page is chapter 0's network (a bias-free UNet on the digits) trained for a few steps, measured and recorded
in a ledger, through the same library calls a chapter makes. Both builds must finish (kernels on private IPC
sockets, ``_ext/ipc_kernels.py``: no TCP port race) and save **identical** claims ledgers: every measured
value, status and row, not just the same verdicts.

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
CHAPTER = "two-builds"
PAGE = """---
jupytext:
  text_representation: {extension: .md, format_name: myst}
kernelspec: {display_name: Python 3, language: python, name: python3}
---
# One trained network

```{code-cell} ipython3
import torch

from gendiff import data, metrics, runtime, train
from gendiff.claims import Claims
from gendiff.configs.ch00 import PROFILES, network, train_config

runtime.setup(seed=0)
cfg = runtime.pick(PROFILES)
x = data.digits()[0][:256]  # 8×8 digits in [0, 1]
```

```{code-cell} ipython3
net, history, _ = train.train_denoiser_cached(
    lambda: network(cfg), x, train_config(cfg, steps=60), name="two-builds"
)
y = x + 0.3 * torch.randn(x.shape, generator=runtime.generator(1))
mse = float(metrics.mse(net(y, 0.3).detach(), x).mean())
claims = Claims("two-builds")
claims.consistency("trained net: MSE at σ = 0.3 below the noise's", ours=mse, ok=mse < 0.09, rule="< 0.09")
claims.save()
```
"""


def _book(folder: Path) -> Path:
    (folder / "chapters").mkdir(parents=True)
    (folder / "chapters" / f"{CHAPTER}.md").write_text(PAGE)
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
        # a cell that raises fails the build (nb_execution_raise_on_error)
        procs.append(subprocess.Popen([str(jb), "build", str(book)], env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    for p in procs:
        out, _ = p.communicate(timeout=900)
        assert p.returncode == 0, out[-3000:]
    print(f"two builds at once: {time.time() - t0:.0f} s")
    ledgers = [json.loads((tmp_path / run / "results" / f"{CHAPTER}.json").read_text()) for run in ("a", "b")]
    assert all(list((tmp_path / run / "cache").glob("*")) for run in ("a", "b")), "a build did not train"
    assert ledgers[0]["rows"], "the page saved no claims"
    assert ledgers[0] == ledgers[1], "two runs of the page gave different claims tables"

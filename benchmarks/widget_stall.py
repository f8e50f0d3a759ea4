"""How often a cell that displays a live widget panel stalls nbclient until the cell's time limit.

The stall (jupyter/nbclient#312): the kernel has finished the cell and is idle, but nbclient picks up the
cell's reply only at its deadline. It showed up in a warm ``make book`` as chapter 0's ``widgets.explore``
cell running for the whole 1,800-s timeout. This script runs a small notebook of ``--cells`` explorer
cells ``--runs`` times through nbclient with the book's kernels (``_ext/ipc_kernels.py``) and per-cell limits
(``_ext/cell_timeouts.py``, ``--limit-s`` each), alternating two settings run by run so both see the same
machine:

* ``live``: ``BOOK_LIVE_WIDGETS=1``, the live ipywidgets panel under each figure (the build before the fix);
* ``build``: what the book build now sets (``ipc_kernels.headless()``: no live panel).

A run stops at its first stalled cell (the notebook fails there). Prints, per setting, the runs, the cells
executed, the stalled runs and the slowest cell that did not stall, and writes them as JSON with ``--out``
(rewritten after every pair of runs, so a long run can be stopped at any time).

Usage: python benchmarks/widget_stall.py [--runs 100] [--cells 10] [--limit-s 12] [--out stall.json]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "_ext"))

import cell_timeouts  # noqa: E402
import ipc_kernels  # noqa: E402

SETUP = """import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from gendiff import widgets

def view(sigma=0.5):
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot(np.linspace(0, 1, 50), np.exp(-np.linspace(0, 1, 50) / sigma))
    return fig
"""
EXPLORE = "_ = widgets.explore(view, sigma=(0.1, 1.0, 0.1))"


def notebook(cells: int, limit_s: int):
    import nbformat

    meta = {"timeout": limit_s}
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(SETUP, metadata=dict(meta))] + [
        nbformat.v4.new_code_cell(EXPLORE, metadata=dict(meta)) for _ in range(cells)])


def one_run(cells: int, limit_s: int) -> dict:
    """Execute the notebook once; the number of cells run, whether one stalled, and the slowest cell."""
    from nbclient import NotebookClient

    nb = notebook(cells, limit_s)
    times: list[float] = []
    client = NotebookClient(nb, kernel_name="python3", record_timing=False)
    start = {}

    def on_start(cell, cell_index):
        start[cell_index] = time.monotonic()

    def on_done(cell, cell_index, execute_reply):
        times.append(time.monotonic() - start[cell_index])

    client.on_cell_execute, client.on_cell_executed = on_start, on_done
    stalled = False
    try:
        client.execute()
    except cell_timeouts.CellStalledError:
        stalled = True
    live = sum("application/vnd.jupyter.widget-view+json" in out.get("data", {})
               for c in nb.cells for out in c.get("outputs", []))
    return {"cells": len(times) - 1 + stalled, "stalled": stalled,
            "slowest_s": max(times[1:], default=0.0), "live_panels": live}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=100, help="runs per setting")
    ap.add_argument("--cells", type=int, default=10, help="explorer cells per notebook")
    ap.add_argument("--limit-s", type=int, default=12, help="each cell's time limit")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    ipc_kernels.install()
    cell_timeouts.install_nbclient()
    os.environ["BOOK_PROFILE"] = "ci"                   # per-cell limits apply at ci
    totals = {s: {"runs": 0, "cells": 0, "stalled_runs": 0, "slowest_s": 0.0, "live_panels": 0}
              for s in ("live", "build")}
    t0 = time.time()
    for _ in range(args.runs):
        for setting, value in (("live", "1"), ("build", None)):
            if value is None:
                ipc_kernels.headless()
            else:
                os.environ["BOOK_LIVE_WIDGETS"] = value
            r = one_run(args.cells, args.limit_s)
            t = totals[setting]
            t["runs"] += 1
            t["cells"] += r["cells"]
            t["stalled_runs"] += r["stalled"]
            t["live_panels"] += r["live_panels"]
            if not r["stalled"]:
                t["slowest_s"] = max(t["slowest_s"], r["slowest_s"])
        if args.out:                                    # after every pair of runs: stop it any time
            args.out.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                            "totals": totals, "seconds": time.time() - t0}, indent=2))
    for setting, t in totals.items():
        print(f"{setting:5s}: {t['stalled_runs']} stalled of {t['runs']} runs ({t['cells']} explorer cells, "
              f"{t['live_panels']} live panels); slowest cell that did not stall {t['slowest_s']:.2f} s "
              f"(limit {args.limit_s} s)")
    print(f"{time.time() - t0:.0f} s in all")
    result = {"args": {k: str(v) for k, v in vars(args).items()}, "totals": totals}
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()

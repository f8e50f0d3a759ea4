"""Run several pytest sessions at once, one per lane, and fail if any lane fails.

``make test`` runs the chapters in two lanes on the 2-core machine: while one lane's chapter trains (its
worker processes fill both cores), the other's evaluation cells, which run on one thread, use the core that
would otherwise idle. Each lane is one pytest session, so chapters in a lane run in their order (chapter 5
after chapter 1, whose networks it reads; one it finds being trained by the other lane waits for the entry's
file lock, :func:`gendiff.cache.cached`). Every output line is printed as it comes, prefixed with its lane.
Each lane's cell limits are multiplied by the number of lanes (``BOOK_CELL_LIMIT_SCALE``,
``_ext/cell_timeouts.py``): a lane's training runs at that fraction of the machine.

Usage: python scripts/lanes.py [--pytest "<common pytest args>"] [--after PATHS] [--toc _toc.yml] LANE [LANE ...]
       where a LANE (and --after) is a comma-separated list of test paths, e.g. chapters/01-a.md,chapters/05-b.md;
       --after runs once every lane has passed (the claims page, which reads every chapter's ledger); --toc
       checks first that the lanes and --after hold every chapter of the table of contents exactly once.
Exit status: 0 when everything passed, else the first failing session's pytest exit status (2: bad lanes).
"""
from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
import threading


def _stream(name: str, proc: subprocess.Popen, lock: threading.Lock) -> None:
    for line in proc.stdout:
        with lock:
            sys.stdout.write(f"[{name}] {line}")
            sys.stdout.flush()


def toc_chapters(toc: str) -> list[str]:
    """The chapter files (``chapters/*.md``) that ``_toc.yml`` lists."""
    with open(toc) as fh:
        files = re.findall(r"(?:file|root):\s*([^\s#]+)", fh.read())
    return [f"{f}.md" for f in files if f.startswith("chapters/")]


def run(lanes: list[list[str]], pytest_args: list[str]) -> list[int]:
    """Each lane's pytest session, all at once; their exit statuses."""
    lock, procs, threads = threading.Lock(), [], []
    for i, paths in enumerate(lanes, 1):
        cmd = [sys.executable, "-m", "pytest", *pytest_args, *paths]
        env = dict(os.environ, BOOK_CELL_LIMIT_SCALE=str(len(lanes)))   # each lane has 1/len of the cores
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
                                env=env)
        t = threading.Thread(target=_stream, args=(f"lane {i}", proc, lock), daemon=True)
        t.start()
        procs.append(proc)
        threads.append(t)
    codes = [p.wait() for p in procs]
    for t in threads:
        t.join()
    for i, (paths, rc) in enumerate(zip(lanes, codes), 1):
        print(f"lanes: lane {i} ({', '.join(paths)}) exit {rc}")
    return codes


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pytest", default="", help="arguments given to every lane's pytest")
    ap.add_argument("lanes", nargs="+")
    ap.add_argument("--after", default="")
    ap.add_argument("--toc", default="")
    a = ap.parse_args(argv)
    lanes = [[p for p in lane.split(",") if p] for lane in a.lanes]
    after = [p for p in a.after.split(",") if p]
    if not all(lanes):
        print("lanes: a lane names no test path")
        return 2
    if a.toc:
        listed = [p for lane in lanes for p in lane] + after
        want = toc_chapters(a.toc)
        missing, extra = sorted(set(want) - set(listed)), sorted(set(listed) - set(want))
        twice = sorted({p for p in listed if listed.count(p) > 1})
        if missing or extra or twice:
            print(f"lanes: the lanes must hold each chapter of {a.toc} once; missing {missing}, "
                  f"not in the toc {extra}, twice {twice}")
            return 2
    pytest_args = shlex.split(a.pytest)
    codes = run(lanes, pytest_args)
    if any(codes):
        return next(rc for rc in codes if rc)
    if after:
        return subprocess.call([sys.executable, "-m", "pytest", *pytest_args, *after])
    return 0

if __name__ == "__main__":
    sys.exit(main())

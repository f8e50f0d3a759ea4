"""`make gpu-check`: every chapter at ``BOOK_PROFILE=gpu`` on one CUDA GPU, each under a time limit.

Runs the chapters one after the other exactly as ``make test`` does (nbval on the MyST notebooks, in a fresh
``pytest`` process each) with ``BOOK_PROFILE=gpu`` and ``BOOK_DEVICE=cuda``, and writes into one folder
(``--out``, default ``_build/gpu-check``):

* ``summary.json``: device name, torch version, profile, and per chapter its wall time, exit code and
  status (``ok``, ``failed``, ``timeout``) and its claims counts;
* ``stage-times.txt``: one line per chapter (the format of ``make test``'s stage times);
* ``logs/<chapter>.log``: the chapter's pytest output;
* ``claims/<chapter>.json`` and ``claims/<chapter>.md``: the claims ledger the chapter saved
  (``gendiff.claims.Claims.save``) and a table of it.

The exit status is non-zero when any chapter fails or runs past ``--limit-s`` (default 300 s, the gpu
profile's per-chapter budget) or the whole run past ``--total-s`` (default 900 s). Without CUDA it refuses
to start, except with ``--dry-run``: the same code path on the CPU at ``BOOK_PROFILE=ci`` (default: chapter 0,
about a minute), which ``tests/test_gpu_check.py`` runs on a tiny notebook.

Usage: python scripts/gpu_check.py [--out DIR] [--limit-s 300] [--total-s 900] [--dry-run] [chapter.md ...]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def book_chapters() -> list[Path]:
    """The book's chapters in order (``chapters/0*.md``; the claims page, which gathers the ledgers, last)."""
    return sorted((ROOT / "chapters").glob("0*.md"))


def device_name(dry_run: bool) -> str:
    import torch

    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    if dry_run:
        return f"cpu ({platform.processor() or platform.machine()}, dry run)"
    raise SystemExit("gpu-check needs a CUDA GPU (torch.cuda.is_available() is False); "
                     "use --dry-run to check the script on the CPU")


def ledger_table(ledger: dict) -> str:
    """A markdown table of a saved claims ledger (claim, kind, status, ours, rule)."""
    lines = [f"# {ledger.get('chapter')} (profile {ledger.get('profile')})", "",
             "| claim | kind | status | ours | rule |", "|---|---|---|---|---|"]
    for r in ledger.get("rows", []):
        cells = [r.get("claim"), r.get("kind", "paper"), r.get("status"), r.get("ours"), r.get("rule")]
        lines.append("| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def run_chapter(path: Path, env: dict, limit_s: float, log: Path) -> tuple[str, int, float]:
    """nbval on one chapter in its own process group; (status, exit code, seconds)."""
    cmd = [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", f"--nbval-cell-timeout={int(limit_s)}",
           "-q", "-p", "no:cacheprovider", str(path)]
    t = time.time()
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            rc = proc.wait(timeout=limit_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)          # the kernel too: it runs in the same group
            proc.wait()
            return "timeout", -9, time.time() - t
    return ("ok" if rc == 0 else "failed"), rc, time.time() - t


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("chapters", nargs="*", type=Path, help="notebooks to run (default: the book's chapters)")
    ap.add_argument("--out", type=Path, default=ROOT / "_build" / "gpu-check")
    ap.add_argument("--limit-s", type=float, default=300.0, help="wall-clock limit per chapter")
    ap.add_argument("--total-s", type=float, default=900.0, help="wall-clock limit of the whole run")
    ap.add_argument("--results", type=Path, default=ROOT / "data" / "results", help="where chapters save ledgers")
    ap.add_argument("--dry-run", action="store_true", help="CPU, BOOK_PROFILE=ci (default chapter: chapter 0)")
    args = ap.parse_args(argv)

    chapters = [p.resolve() for p in args.chapters] or (book_chapters()[:1] if args.dry_run else book_chapters())
    env = dict(os.environ, BOOK_PROFILE="ci" if args.dry_run else "gpu", TQDM_DISABLE="1",
               BOOK_DEVICE="cpu" if args.dry_run else os.environ.get("BOOK_DEVICE", "cuda"))
    import torch

    out = args.out
    (out / "logs").mkdir(parents=True, exist_ok=True)
    (out / "claims").mkdir(exist_ok=True)
    summary = {"device": device_name(args.dry_run), "torch": torch.__version__, "profile": env["BOOK_PROFILE"],
               "limit_s": args.limit_s, "total_limit_s": args.total_s, "chapters": {}}
    times = out / "stage-times.txt"
    times.write_text("")
    t_all = time.time()
    for path in chapters:
        name = path.stem
        ledger = args.results / f"{name}.json"
        before = ledger.stat().st_mtime if ledger.exists() else None
        status, rc, sec = run_chapter(path, env, args.limit_s, out / "logs" / f"{name}.log")
        row = {"status": status, "exit": rc, "seconds": round(sec, 1)}
        if ledger.exists() and ledger.stat().st_mtime != before:       # written by this run
            data = json.loads(ledger.read_text())
            (out / "claims" / f"{name}.json").write_text(json.dumps(data, indent=1))
            (out / "claims" / f"{name}.md").write_text(ledger_table(data))
            counts: dict[str, int] = {}
            for r in data.get("rows", []):
                counts[r.get("status", "?")] = counts.get(r.get("status", "?"), 0) + 1
            row["claims"] = counts
        summary["chapters"][name] = row
        with open(times, "a") as fh:
            fh.write(f"== stage {name}: {sec:.0f} s ({status}, exit {rc})\n")
        print(f"{name}: {status} in {sec:.0f} s", flush=True)
    summary["total_s"] = round(time.time() - t_all, 1)
    bad = [n for n, r in summary["chapters"].items() if r["status"] != "ok"]
    summary["ok"] = not bad and summary["total_s"] <= args.total_s
    with open(times, "a") as fh:
        fh.write(f"== total: {summary['total_s']:.0f} s on {summary['device']}\n")
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(f"{len(chapters) - len(bad)}/{len(chapters)} chapters ok in {summary['total_s']:.0f} s on "
          f"{summary['device']} (profile {summary['profile']}); results in {out}")
    if summary["total_s"] > args.total_s:
        print(f"the whole run took longer than {args.total_s:.0f} s", file=sys.stderr)
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())

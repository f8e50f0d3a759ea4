"""Compare two stages of ``make test`` (``_build/stage-times.txt``): a warm book build against the cold run.

``make test`` ends with ``make book`` as a reader runs it, on the models the nbval stage trained. That warm
build re-executes every chapter but trains nothing, so it must take at most ``--at-most`` times the cold
stage; a cell stalled until its limit fails the build itself (``_ext/cell_timeouts.py``). Exits 1 with
one line naming both times when the warm stage failed, is missing or is too slow.

Usage: python scripts/stage_times.py _build/stage-times.txt --warm warm-book --cold unit+chapters --at-most 0.5
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

LINE = re.compile(r"== stage (\S+): (\d+) s \(exit (\d+)\)")


def stages(path: Path) -> dict[str, tuple[int, int]]:
    """{stage name: (seconds, exit code)} from the stage-times file (the last line of a repeated stage wins)."""
    return {m[1]: (int(m[2]), int(m[3])) for m in LINE.finditer(path.read_text())}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("times", type=Path)
    ap.add_argument("--warm", required=True)
    ap.add_argument("--cold", required=True)
    ap.add_argument("--at-most", type=float, required=True, help="largest allowed warm/cold time ratio")
    args = ap.parse_args(argv)
    found = stages(args.times)
    for name in (args.warm, args.cold):
        if name not in found:
            print(f"stage_times: no stage {name!r} in {args.times}")
            return 1
    (warm, warm_rc), (cold, _) = found[args.warm], found[args.cold]
    ratio = warm / max(cold, 1)
    verdict = "ok" if warm_rc == 0 and ratio <= args.at_most else "FAILED"
    print(f"stage_times: {args.warm} {warm} s (exit {warm_rc}) against {args.cold} {cold} s: ratio {ratio:.2f} "
          f"(at most {args.at_most}) {verdict}")
    return 0 if verdict == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())

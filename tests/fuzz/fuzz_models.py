"""Longer model-file fuzz campaign: python tests/fuzz/fuzz_models.py [--count N] [--seed S] [--command build|analyze].

Prints counts of files, accepted, refusals, tracebacks, crashes, hangs and payloads run, and keeps
up to 10 failing files in the work directory."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--count", type=int, default=3000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workdir", type=Path)
    p.add_argument("--command", choices=("build", "analyze"), default="analyze",
                   help="analyze (default) runs every import and lowering check without gcc; build also compiles")
    args = p.parse_args()
    from tests.fuzz.mutate import fuzz
    from tests.fuzz.seeds import payload_seeds, torch_seeds

    work = args.workdir or Path(tempfile.mkdtemp(prefix="tinygen-fuzz-"))
    work.mkdir(parents=True, exist_ok=True)
    seeds, argv = torch_seeds(work)
    marker = work / "payload_ran"
    extra_seeds, extra_argv = payload_seeds(work, marker)
    seeds.update(extra_seeds)
    argv.update(extra_argv)
    start = time.monotonic()
    counts = fuzz(seeds, args.count, work, seed=args.seed, extra_argv=argv, command=args.command, marker=marker,
                  progress_every=250)
    print(f"torch archives ({args.command}): {counts.line()} in {time.monotonic() - start:.0f} s (seed {args.seed}, work {work})")
    for example in counts.examples:
        print("  ", *example)
    return 0 if counts.tracebacks == counts.crashes == counts.hangs == counts.payloads_run == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())

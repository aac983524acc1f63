"""Time `tinygen.build` on the digits int8 example: model file in, compiled host library out.

    python benchmarks/build_time.py [--repeat 5]

Trains and exports the example first if examples/digits_int8/build/digits_q8.pt2 is missing.
Prints each stage's time for the last run and the min/median total over the runs.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "examples" / "digits_int8" / "build" / "digits_q8.pt2"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    if not MODEL.exists():
        subprocess.run([sys.executable, str(ROOT / "examples" / "digits_int8" / "run.py")], check=True)
    import tinygen

    totals = []
    for _ in range(args.repeat):
        stamps = []

        def progress(stage: str) -> None:
            stamps.append((stage, time.perf_counter()))

        with tempfile.TemporaryDirectory() as d:
            t0 = time.perf_counter()
            tinygen.build(MODEL, board="host", out_dir=Path(d) / "out", progress=progress)
            totals.append(time.perf_counter() - t0)
        stamps.append(("done", t0 + totals[-1]))
    print(f"tinygen build {MODEL.name} --board host ({args.repeat} runs)")
    for (stage, t), (_, t_next) in zip(stamps, stamps[1:]):
        print(f"  {stage:32s} {1000 * (t_next - t):8.1f} ms")
    print(f"  total: min {min(totals):.3f} s, median {statistics.median(totals):.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Long run of the .tflite mutation fuzzer (issue 18): mutated copies of real int8 models through
`tinygen build --board host` (in-process CLI, one worker process per job so a crash is seen as the
worker dying). Prints the counts; exit status 1 on any traceback, crash, hang, mismatch or
last-resort internal-error refusal.

    PYTHONPATH=. .venv/bin/python tests/fuzz/fuzz_tflite.py --files 10000 -j 2

Seeds: the flatbuffer-builder network of tests/fuzz/tflite_mutate.py plus Keras zoo models
converted by TensorFlow once and cached in --cache (default $TMPDIR/tinygen_fuzz_seeds).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

OUTCOMES = ("built", "refused", "long", "internal", "traceback", "mismatch", "hang", "crash")


def _seeds(cache: Path) -> list[bytes]:
    from tests.fuzz import tflite_mutate as M

    return [M.builder_seed()] + list(M.keras_seeds(cache).values())


def worker(args) -> int:
    """Files first..last-1 (file i: seed i mod n, mutation from rng(seed, i)); one JSON line each."""
    import numpy as np

    from tests.fuzz import tflite_mutate as M

    seeds = _seeds(args.cache)
    for i in range(args.first, args.last):
        rng = np.random.default_rng([args.seed, i])
        data, kind = M.mutate(seeds[i % len(seeds)], rng)
        print(json.dumps({"start": i}), flush=True)
        r = M.check(data, seconds=args.timeout)
        if r.outcome not in ("built", "refused") and args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            (args.keep / f"{r.outcome}_{i}.tflite").write_bytes(data)
        print(json.dumps({"i": i, "kind": kind, "outcome": r.outcome, "detail": r.detail[:300]}), flush=True)
    return 0


def _run_chunk(args, first: int, last: int):
    """Start a worker on [first, last); yields its process."""
    cmd = [sys.executable, __file__, "--worker", "--first", str(first), "--last", str(last), "--seed",
           str(args.seed), "--cache", str(args.cache), "--timeout", str(args.timeout)]
    if args.keep:
        cmd += ["--keep", str(args.keep)]
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3", TF_USE_LEGACY_KERAS="1")
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("-j", "--jobs", type=int, default=1)
    ap.add_argument("--seed", type=int, default=18)
    ap.add_argument("--timeout", type=int, default=60, help="seconds per file before it counts as a hang")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "tinygen_fuzz_seeds")
    ap.add_argument("--keep", type=Path, help="write every file that is not built or cleanly refused here")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--first", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--last", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args)

    _seeds(args.cache)  # convert (and cache) the Keras seeds once, before the workers start
    t0 = time.monotonic()
    counts = {k: 0 for k in OUTCOMES}
    examples: dict[str, tuple[int, str]] = {}
    kinds: dict[str, int] = {}
    lock = threading.Lock()

    def run_range(first: int, last: int) -> None:
        """One worker on [first, last); when it dies inside a file, that is a crash and a new worker
        continues after it."""
        while first < last:
            proc = _run_chunk(args, first, last)
            current = None
            for line in proc.stdout:
                rec = json.loads(line)
                if "start" in rec:
                    current = rec["start"]
                    continue
                current = None
                with lock:
                    counts[rec["outcome"]] += 1
                    kinds[rec["kind"]] = kinds.get(rec["kind"], 0) + 1
                    if rec["outcome"] not in ("built", "refused"):
                        examples.setdefault(f"{rec['outcome']}: {rec['detail'][:160]}", (rec["i"], rec["kind"]))
                    done = sum(counts.values())
                    if done % 500 == 0:
                        print(f"  {done} files, {time.monotonic() - t0:.0f} s: "
                              + ", ".join(f"{k} {v}" for k, v in counts.items() if v), file=sys.stderr, flush=True)
            rc = proc.wait()
            if current is None:
                return
            with lock:
                counts["crash"] += 1
                examples.setdefault(f"crash: worker exit {rc}", (current, "?"))
            first = current + 1

    threads = [threading.Thread(target=run_range, args=(args.files * k // args.jobs, args.files * (k + 1) // args.jobs))
               for k in range(args.jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    files = sum(counts.values())
    print(f"tflite fuzz: {files} files from seed {args.seed} in {time.monotonic() - t0:.0f} s: built OK "
          f"{counts['built']}, refused {counts['refused'] + counts['long']} (error line over 300 chars "
          f"{counts['long']}), internal-error fallbacks {counts['internal']}, tracebacks {counts['traceback']}, "
          f"mismatches {counts['mismatch']}, crashes {counts['crash']}, hangs {counts['hang']}")
    print("mutations: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
    for sig, (i, kind) in sorted(examples.items()):
        print(f"  file {i} ({kind}): {sig}")
    bad = sum(counts[k] for k in ("long", "internal", "traceback", "mismatch", "hang", "crash"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

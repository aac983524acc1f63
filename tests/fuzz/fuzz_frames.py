"""Long run of the frame fuzzers (issue 18): corrupted, garbage-prefixed, truncated frame streams
into the host decoder (tinygen/device/protocol.py) and into runtime_c/harness/tg_proto.c built
under ASan+UBSan. Prints the counts; exit status 1 if any check failed.

    PYTHONPATH=. .venv/bin/python tests/fuzz/fuzz_frames.py --frames 1000000 --c-frames 1000000
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.device.frame_fuzz import Counts, check_stream  # noqa: E402
from tests.firmware import proto_fuzz  # noqa: E402
from tinygen.compile.host import find_cc  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=1_000_000, help="frames into the Python decoder")
    ap.add_argument("--c-frames", type=int, default=1_000_000, help="frames into the C parser")
    ap.add_argument("--seed", type=int, default=18)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)

    t = time.monotonic()
    py = Counts()
    while py.frames < args.frames:
        check_stream(rng, py)
    py_s = time.monotonic() - t
    print(f"python decoder: {py.frames} frames in {py.streams} streams ({py.intact} intact, "
          f"{py.recovered} recovered), false accepts {py.false_accepts}, exceptions {py.exceptions}, "
          f"{py_s:.0f} s")
    for e in py.errors[:5]:
        print("  ", e)

    t = time.monotonic()
    c = proto_fuzz.CCounts()
    with tempfile.TemporaryDirectory() as tmp:
        exe = proto_fuzz.build(find_cc(), Path(tmp) / "proto_fuzz")
        while c.frames_sent < args.c_frames:
            proto_fuzz.run_batch(exe, rng, 5000, c)
    print(f"C parser (ASan+UBSan): {c.frames_sent} frames in {c.records} records, {c.accepted} accepted, "
          f"false accepts {c.false_accepts}, bad offsets {c.bad_offsets}, sanitizer findings "
          f"{c.sanitizer_findings}, {time.monotonic() - t:.0f} s")
    for n in c.notes[:3]:
        print("  ", n)
    ok = (py.exceptions == py.false_accepts == 0 and py.recovered == py.intact
          and c.false_accepts == c.sanitizer_findings == c.bad_offsets == 0)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

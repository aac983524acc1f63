"""tinygen's arena beside TensorFlow Lite Micro's for the int8 test zoo (tests/importers/keras_zoo.py).

For every zoo model (built with tf.keras, quantized to int8 with TFLiteConverter, seeded):
TFLM's minimum arena is read from `print_allocations()` (C stderr, captured through fd 2):
"Arena allocation total" = head (the planned activation buffers and scratch) + tail (persistent
interpreter structs: tensors, node data, allocations). These are host (x86-64) numbers; TFLM's
persistent structs are smaller on a 32-bit Cortex-M. tinygen's arena and total SRAM come from the
build report of the same .tflite (`tinygen build --board host`).

    TF_USE_LEGACY_KERAS=1 TF_CPP_MIN_LOG_LEVEL=3 python benchmarks/tflm_arena.py [--board host]

Target: tinygen's arena at most 0.7x TFLM's total.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import warnings
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import tinygen  # noqa: E402
from tests.importers.keras_zoo import ZOO, calibration, make_keras, quantize  # noqa: E402
from tests.importers.tflite_builder import capture_c_stderr  # noqa: E402


def tflm_arena(model: bytes) -> tuple[int, int, int]:
    """(total, head, tail) bytes of TFLM's arena for the model."""
    from tflite_micro.python.tflite_micro import runtime

    interp = runtime.Interpreter.from_bytes(model, arena_size=1 << 22)
    with capture_c_stderr() as cap:
        interp.print_allocations()
    text = cap["text"]

    def grab(what: str) -> int:
        m = re.search(rf"Arena allocation {what} (\d+) bytes", text)
        if not m:
            raise RuntimeError(f"no '{what}' in TFLM's report: {text[:300]!r}")
        return int(m.group(1))

    return grab("total"), grab("head"), grab("tail")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--board", default="host")
    args = p.parse_args(argv)
    warnings.filterwarnings("ignore")  # the converter's "statistics for quantized inputs" notice
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (_, shape, _) in ZOO.items():
            data = quantize(make_keras(name), calibration(shape))
            path = Path(tmp) / f"{name}.tflite"
            path.write_bytes(data)
            total, head, tail = tflm_arena(data)
            program = tinygen.build(path, board=args.board, out_dir=Path(tmp) / name)
            rep = program.report
            rows.append((name, total, head, tail, rep["arena_bytes"], rep.get("peak_lower_bound_bytes"),
                         rep.get("sram_bytes")))
    hdr = f"{'model':<11} {'TFLM total':>10} {'head':>6} {'tail':>6} {'tinygen arena':>13} {'bound':>6} " \
          f"{'ratio':>6} {'tinygen SRAM':>12}"
    print(hdr)
    print("-" * len(hdr))
    for name, total, head, tail, arena, bound, sram in rows:
        print(f"{name:<11} {total:>10} {head:>6} {tail:>6} {arena:>13} {bound:>6} {arena / total:>6.2f} {sram:>12}")
    worst = max(r[4] / r[1] for r in rows)
    print(f"\nworst tinygen/TFLM arena ratio {worst:.2f} (target <= 0.70)")
    return 0 if worst <= 0.7 else 1


if __name__ == "__main__":
    raise SystemExit(main())

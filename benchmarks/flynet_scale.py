"""FlyNet-h3 at ImageNet shape on the STM32 boards: SRAM, flash and the largest input that fits.

For widths 0.4x and 0.5x, with 8-bit and 4-bit weights (random weights, calibrated activation
ranges; 1000 classes): the fit report of the 3x224x224 model (arena, SRAM, flash, weight bytes:
tinygen.report.make_report's estimates, as `tinygen build` prints them without an ELF), and for
f446re, f746zg and f767zi the largest square input resolution whose SRAM estimate (arena + I/O
buffers + stack) fits the board, searched over multiples of 8. The flash estimate does not depend
on the resolution. Each probe exports the model at that resolution and runs import -> lowering ->
scheduling -> memory planning (no C compile); the arena does not depend on the weight width.

    .venv/bin/python benchmarks/flynet_scale.py [--widths 0.4 0.5] [--bits 8 4] [--max-res 512]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "examples" / "flynet"))

import torch  # noqa: E402

import flynet as fly  # noqa: E402
from tinygen.boards import load_board  # noqa: E402
from tinygen.select import select_kernels, target_of  # noqa: E402
from tinygen.codegen import generate  # noqa: E402
from tinygen.pipeline import import_any, lower_model  # noqa: E402
from tinygen.plan import plan_with_schedule  # noqa: E402
from tinygen.report import make_report  # noqa: E402
from tinygen.report.make import STACK_BYTES  # noqa: E402

BOARDS = ("f446re", "f746zg", "f767zi")
FALLBACK = {"f446re": (128 * 1024, 512 * 1024), "f746zg": (320 * 1024, 1024 * 1024), "f767zi": (512 * 1024, 2048 * 1024)}
STEP, MIN_RES = 8, 32


def capacities(name: str) -> tuple[int, int]:
    """(SRAM, flash) bytes of a board, from its board file when tinygen.boards has it."""
    try:
        from tinygen.boards import load_board

        b = load_board(name)
        return b.ram_bytes, b.flash_bytes
    except Exception:
        return FALLBACK[name]


def make_model(width: float, bits: int) -> torch.nn.Module:
    torch.manual_seed(0)
    model = fly.flynet_imagenet(width, heads=3, weight_bits=bits)
    return fly.calibrate(model, (1, 3, 224, 224), batches=1, batch=2)


def lowered(model, res: int):
    graph, name = import_any(fly.export(model, (1, 3, res, res)))
    return plan_with_schedule(select_kernels(lower_model(graph, f"flynet@{res}"), target_of(load_board("f746zg"))))


class SramCurve:
    """SRAM estimate (arena + I/O + stack) by input resolution, probed on demand and cached."""

    def __init__(self, model):
        self.model, self.cache = model, {}

    def __call__(self, res: int) -> int:
        if res not in self.cache:
            graph, plan = lowered(self.model, res)
            io = sum(graph.t(t).nbytes for t in dict.fromkeys(graph.inputs + graph.outputs))
            self.cache[res] = plan.arena_bytes + io + STACK_BYTES
        return self.cache[res]

    def largest(self, capacity: int, hi: int) -> int | None:
        """Largest multiple of STEP in [MIN_RES, hi] whose SRAM fits (SRAM grows with resolution)."""
        lo_k, hi_k = MIN_RES // STEP, hi // STEP
        if self(lo_k * STEP) > capacity:
            return None
        while lo_k < hi_k:
            mid = (lo_k + hi_k + 1) // 2
            if self(mid * STEP) <= capacity:
                lo_k = mid
            else:
                hi_k = mid - 1
        return lo_k * STEP


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--widths", type=float, nargs="+", default=[0.4, 0.5])
    ap.add_argument("--bits", type=int, nargs="+", default=[8, 4])
    ap.add_argument("--max-res", type=int, default=512)
    args = ap.parse_args()
    torch.set_num_threads(2)
    caps = {b: capacities(b) for b in BOARDS}
    rows = []
    t0 = time.perf_counter()
    for width in args.widths:
        curve = None
        for bits in args.bits:
            model = make_model(width, bits)
            graph, plan = lowered(model, 224)
            gen = generate(graph, plan, "flynet")
            rep = make_report(graph, plan, gen.layers, "-")
            packed = sum(1 for n in graph.nodes if n.op.endswith("_packed"))
            if curve is None:  # activations are int8 whatever the weights: one SRAM curve per width
                curve = SramCurve(model)
                curve.cache[224] = rep["sram_bytes"]
            fits = {}
            for b in BOARDS:
                sram_cap, flash_cap = caps[b]
                if rep["flash_bytes"] > flash_cap:
                    fits[b] = "flash"
                else:
                    r = curve.largest(sram_cap, args.max_res)
                    fits[b] = str(r) if r is not None else "sram"
            rows.append((width, bits, fly.count_params(model), rep, packed, fits))
            print(f"  {width}x {bits}-bit done ({time.perf_counter() - t0:.0f} s, "
                  f"{len(curve.cache)} resolutions probed)", file=sys.stderr, flush=True)

    print("FlyNet-h3, 3x224x224, 1000 classes (tinygen estimates: no ELF; stack 1 KB assumed)")
    print("board capacities: " + ", ".join(f"{b} {caps[b][0] // 1024} KB SRAM / {caps[b][1] // 1024} KB flash"
                                           for b in BOARDS))
    head = (f"{'width':>5} {'wbits':>5} {'params':>8} {'MACs':>11} {'weights B':>10} {'arena B':>9} {'SRAM B':>9} "
            f"{'flash B':>10} {'packed':>6}  " + "  ".join(f"{b + ' max res':>15}" for b in BOARDS))
    print(head)
    print("-" * len(head))
    for width, bits, params, rep, packed, fits in rows:
        print(f"{width:>5} {bits:>5} {params:>8,} {rep['macs']:>11,} {rep['weight_bytes']:>10,} {rep['arena_bytes']:>9,} "
              f"{rep['sram_bytes']:>9,} {rep['flash_bytes']:>10,} {packed:>6}  "
              + "  ".join(f"{fits[b]:>15}" for b in BOARDS))
    print("max res: largest square input (multiple of 8) whose SRAM estimate fits; 'flash' = the weights do "
          "not fit the board's flash at any resolution, 'sram' = not even at 32x32. packed: layers with "
          "packed sub-byte weights")
    print(f"({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

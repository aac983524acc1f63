"""FlyNet-h3 at ImageNet shape on the STM32 boards: SRAM, flash and the largest input that fits.

For widths 0.4x and 0.5x, with 8-bit and 4-bit weights (random weights, calibrated activation
ranges; 1000 classes): the fit report of the 3x224x224 model (arena, SRAM, flash, weight bytes:
tinygen.report.make_report's estimates, as `tinygen build` prints them without an ELF), and for
f446re, f746zg and f767zi the largest square input resolution whose SRAM estimate (arena + I/O
buffers + stack) fits the board, searched over multiples of 8. The flash estimate does not depend
on the resolution. Each probe exports the model at that resolution and runs import -> lowering ->
scheduling -> memory planning (no C compile); the arena does not depend on the weight width.

    .venv/bin/python benchmarks/flynet_scale.py [--widths 0.4 0.5] [--bits 8 4] [--max-res 512]

With --elf RES (e.g. --widths 0.5 --bits 4 --elf 224) each model is also built as f746zg firmware
at RES x RES, the input in the arena, with patch-based stages (the default --patch-budget 0.1) and
without (--patch-budget 0), and the table gives total SRAM and flash from the linked ELF, the
planner's lower bound (and layer at a time), the tiled layers and their extra MACs; --qemu N
validates both builds bit-exact under QEMU on N seeded inputs and prints instructions per inference.
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


def elf_rows(model, width: float, bits: int, res: int, qemu: int) -> list[str]:
    """f746zg firmware at res x res with and without patch stages: sizes from the ELF, bounds,
    extra MACs, and (qemu > 0) bit-exact validation and instructions under QEMU."""
    import tinygen

    out = ROOT / "build" / "flynet_scale"
    out.mkdir(parents=True, exist_ok=True)
    src = out / f"flynet_{width}x_{bits}b_{res}.pt2"
    fly.export(model, (1, 3, res, res), src)
    rows = []
    for budget in (0.10, 0.0):
        tag = f"{src.stem}_patch{budget:g}"
        rep = tinygen.build(str(src), board="f746zg", out_dir=out / tag, patch_budget=budget).report
        sched = rep["schedule"]
        tiled = "; ".join(f"L{p['layers'][0]}..L{p['layers'][-1]} {p['tiles']} tiles" for p in sched["patched_layers"])
        line = (f"{width:>5} {bits:>5} {res:>4} {budget:>6g} {rep['sram_bytes']:>9,} {rep['flash_bytes']:>10,} "
                f"{rep['arena_bytes']:>9,} {sched['lower_bound_bytes']:>9,} {sched['plain_lower_bound_bytes']:>9,} "
                f"{sched['extra_macs']:>9,} {sched['extra_macs'] / rep['macs']:>6.2%}")
        if qemu:
            from tinygen.device.validate import validate

            prog = tinygen.build(str(src), board="f746zg", out_dir=out / (tag + "_qemu"), patch_budget=budget,
                                 emulate=True)
            v = validate(prog, qemu=True, count=qemu, seed=0)
            line += f" {'bit-exact' if v.passed else 'MISMATCH':>10} {v.latency:>13,.0f}"
        rows.append(line + f"  {tiled or '-'}")
        print(f"  built {tag} ({rep['sram_bytes']:,} B SRAM)", file=sys.stderr, flush=True)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--widths", type=float, nargs="+", default=[0.4, 0.5])
    ap.add_argument("--bits", type=int, nargs="+", default=[8, 4])
    ap.add_argument("--max-res", type=int, default=512)
    ap.add_argument("--elf", type=int, metavar="RES", help="also build f746zg firmware at RES x RES (see above)")
    ap.add_argument("--qemu", type=int, default=0, metavar="N", help="with --elf: validate under QEMU on N inputs")
    args = ap.parse_args()
    torch.set_num_threads(2)
    caps = {b: capacities(b) for b in BOARDS}
    rows, elf = [], []
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
            if args.elf:
                elf.extend(elf_rows(model, width, bits, args.elf, args.qemu))
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
    if elf:
        print(f"\nf746zg firmware (input in the arena; sizes from the linked ELF; board SRAM "
              f"{caps['f746zg'][0]:,} B, flash {caps['f746zg'][1]:,} B)")
        head = (f"{'width':>5} {'wbits':>5} {'res':>4} {'budget':>6} {'SRAM B':>9} {'flash B':>10} {'arena B':>9} "
                f"{'bound B':>9} {'plain B':>9} {'extra MAC':>9} {'extra':>6}"
                + (f" {'QEMU':>10} {'instructions':>13}" if args.qemu else "") + "  tiled layers")
        print(head)
        print("-" * len(head))
        print("\n".join(elf))
        print("budget: --patch-budget (0 = no patch stages); bound: the planner's lower bound for the chosen "
              "schedule; plain: layer at a time on whole tensors; instructions per inference under QEMU -icount")
    print(f"({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

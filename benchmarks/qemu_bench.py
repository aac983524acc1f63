"""Emulated instruction counts and image sizes per model and QEMU stand-in.

    .venv/bin/python benchmarks/qemu_bench.py                      # built-in conv models
    .venv/bin/python benchmarks/qemu_bench.py --dir build/flynet   # any `tinygen build` directory
    .venv/bin/python benchmarks/qemu_bench.py --boards f446re,f746zg --json bench.json

For each (model, board): the firmware is built for the board's QEMU stand-in (the board's own
compiler flags and memory limits), validated bit-exactly, and profiled. Counts are exact
emulated instructions from -icount (deterministic, not cycles: no wait states, caches or dual
issue). Sizes: the whole firmware image and the model library's objects alone.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tinygen.compile.firmware import build_firmware  # noqa: E402
from tinygen.compile.sizes import object_sizes  # noqa: E402
from tinygen.device.validate import validate  # noqa: E402
from tinygen.program import load  # noqa: E402


def builtin_models(root: Path) -> list[Path]:
    from tests.device.models import conv_chain, write_build

    return [write_build(conv_chain("conv8", hw=8, cin=3), root / "conv8").out_dir,
            write_build(conv_chain("conv32", hw=32, cin=8), root / "conv32").out_dir]


def bench_one(out_dir: Path, board: str, count: int) -> dict:
    program = load(out_dir)
    fw = build_firmware(out_dir, program.prefix, board, emulate=board not in ("netduinoplus2",))
    result = validate(program, qemu=True, board=board, count=count, seed=0, profile=True)
    if not result.passed:
        raise SystemExit(f"{program.prefix} on {board}: NOT bit-exact\n{result.summary_text()}")
    model_objs = sorted((fw.elf.parent / "model").glob("*.o"))
    insns = result.latency
    return {
        "model": program.prefix, "board": board, "stand_in": fw.board.name, "macs": result.macs,
        "instructions": insns, "instructions_min": min(result.latencies),
        "per_mac": insns / result.macs if result.macs else None,
        "layers": [{"name": p.name, "op": p.op, "instructions": p.count, "macs": p.macs, "per_mac": p.per_mac}
                   for p in result.profile],
        "firmware": {k: getattr(fw.sizes, k) for k in ("text", "rodata", "data", "bss", "stack")},
        "model_objects": object_sizes(model_objs), "arena_bytes": result.info.arena_bytes,
        "stack_peak": result.stack_peak, "stack_bound": fw.stack.worst_bytes,
    }


def print_row(r: dict) -> None:
    f, m = r["firmware"], r["model_objects"]
    print(f"{r['model']:<10} {r['board']:<14} {r['stand_in']:<14} {r['instructions']:>12,} {r['macs']:>10,} "
          f"{r['per_mac']:>8.2f}  fw text {f['text']:>6} rodata {f['rodata']:>7} data {f['data']:>4} bss {f['bss']:>7}"
          f" | model text {m['text']:>5} rodata {m['rodata']:>7}  stack {r['stack_peak']}/{r['stack_bound']}")
    for layer in r["layers"]:
        pm = f"{layer['per_mac']:.2f}" if layer["per_mac"] else "-"
        print(f"    {layer['name']:<20} {layer['op']:<12} {layer['instructions']:>12,} {layer['macs']:>10,} {pm:>8}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", action="append", type=Path, default=[], help="tinygen build directory (repeatable)")
    ap.add_argument("--boards", default="f446re,f746zg,f767zi,netduinoplus2")
    ap.add_argument("--count", type=int, default=3, help="inputs per model (all checked bit-exact)")
    ap.add_argument("--json", type=Path, help="write the results here")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        dirs = args.dir or builtin_models(Path(tmp))
        print(f"{'model':<10} {'board':<14} {'stand-in':<14} {'instr/inf':>12} {'MACs':>10} {'instr/MAC':>8}")
        rows = []
        for d in dirs:
            for board in args.boards.split(","):
                row = bench_one(d, board.strip(), args.count)
                print_row(row)
                rows.append(row)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Instructions per element of the int8 element-wise, pooling, data-movement and packed-weight
kernels, reference against fast variant, under QEMU -icount on the Cortex-M4 and M7 stand-ins.

    .venv/bin/python benchmarks/int8_misc_kernels.py [--boards f446re,f746zg] [--ops add,lut]

Each case is a one-node graph of a typical layer size; the cases of one variant run as one
firmware per board (validated bit-exact against the reference while profiled). The per-layer
count includes the call and its loop set-up; per element means per output element, except
for packed conv and fully connected (per MAC) and pooling (per output element, window stated).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tinygen.ir.graph import QuantParams  # noqa: E402
from tinygen.ops.base import get  # noqa: E402
from tinygen.select import HOST  # noqa: E402
from tinygen.select.kernels import candidates  # noqa: E402
from tinygen.testing import act, const, merge_graphs, single_op_graph  # noqa: E402


def _binary(op, shape1, shape2, const2):
    from tests.kernels.test_add import binary_graph
    from tinygen.ops.add import add_params
    from tinygen.ops.mul import mul_params

    rng = np.random.default_rng(0)
    qp = (0.05, 3, 0.04, -7, 0.08 if op == "add" else 0.03, 1)
    attrs = (add_params if op == "add" else mul_params)(*qp)
    graph, _ = binary_graph(op, attrs, (shape1, shape2), "2" if const2 else "", qp, rng)
    return graph


def cases() -> list[tuple[str, str, object]]:
    """(op, description, graph builder)"""
    out = [
        ("add", "1x8x8x32 + same", lambda: _binary("add", (1, 8, 8, 32), (1, 8, 8, 32), False)),
        ("add", "1x8x8x32 + const [32]", lambda: _binary("add", (1, 8, 8, 32), (1, 1, 1, 32), True)),
        ("mul", "1x8x8x32 * same", lambda: _binary("mul", (1, 8, 8, 32), (1, 8, 8, 32), False)),
        ("mul", "1x8x8x32 * const [32]", lambda: _binary("mul", (1, 8, 8, 32), (1, 1, 1, 32), True)),
        ("max_pool2d", "8x8x32 2x2/2", lambda: _pool("max_pool2d", 8, 8, 32, (2, 2), (2, 2), (0, 0, 0, 0))),
        ("max_pool2d", "9x9x24 3x3/2 pad 1", lambda: _pool("max_pool2d", 9, 9, 24, (3, 3), (2, 2), (1, 1, 1, 1))),
        ("avg_pool2d", "8x8x32 2x2/2", lambda: _pool("avg_pool2d", 8, 8, 32, (2, 2), (2, 2), (0, 0, 0, 0))),
        ("avg_pool2d", "7x7x64 global", lambda: _pool("avg_pool2d", 7, 7, 64, (7, 7), (1, 1), (0, 0, 0, 0))),
        ("mean", "7x7x64 over H,W", lambda: _mean((1, 7, 7, 64), (1, 2))),
        ("lut", "1x8x8x32", _lut),
        ("concat", "8x8x16 | 8x8x24 copy", lambda: _concat(("same", "same"))),
        ("concat", "8x8x16 | 8x8x24 requant", lambda: _concat(("same", "up"))),
        ("slice", "8x8x32 -> ch 8..23", lambda: _slice((1, 8, 8, 32), (0, 0, 0, 8), (1, 8, 8, 16))),
        ("pad", "8x8x32 pad 1 (h, w)", lambda: _pad((1, 8, 8, 32), ((0, 0), (1, 1), (1, 1), (0, 0)))),
        ("fully_connected", "int8 256->32 (comparison)", lambda: _fc(0)),
        ("fully_connected_packed", "4-bit 256->32", lambda: _fc(4)),
        ("fully_connected_packed", "2-bit 256->32", lambda: _fc(2)),
        ("fully_connected_packed", "1-bit 256->32", lambda: _fc(1)),
        ("conv2d_packed", "4-bit 3x3 8x8x32->32", lambda: _conv(4)),
        ("conv2d_packed", "2-bit 3x3 8x8x32->32", lambda: _conv(2)),
        ("conv2d_packed", "1-bit 3x3 8x8x32->32", lambda: _conv(1)),
    ]
    return out


def _conv(bits, hw=8, cin=32, cout=32):
    from tinygen.ops.conv2d_packed import Conv2dPackedAttrs
    from tinygen.reference import bitpack
    from tinygen.testing import random_requant

    rng = np.random.default_rng(10 + bits)
    mult, shift = random_requant(rng, cout, 1e-3, 1e-2)
    offset = 0 if bits == 1 else -(1 << (bits - 1))
    shape = (cout, 3, 3, cin)
    values = rng.choice([-1, 1], shape) if bits == 1 else rng.integers(offset, -offset, shape)
    attrs = Conv2dPackedAttrs((1, 1), (1, 1, 1, 1), (1, 1), 1, 5, -3, mult, shift, (3, 3), bits, offset)
    b = const("b", rng.integers(-500, 500, cout).astype(np.int32))
    w = const("w", bitpack.pack_weights(values, bits, offset))
    return single_op_graph("conv2d_packed", attrs, [act("x", (1, hw, hw, cin)), w, b], (1, hw, hw, cout))


def _fc(bits, k=256, cout=32):
    from tinygen.ops.fully_connected import FullyConnectedAttrs
    from tinygen.ops.fully_connected_packed import FullyConnectedPackedAttrs
    from tinygen.reference import bitpack
    from tinygen.testing import random_requant

    rng = np.random.default_rng(bits)
    mult, shift = random_requant(rng, cout, 1e-3, 1e-2)
    b = const("b", rng.integers(-500, 500, cout).astype(np.int32))
    if bits == 0:
        w = const("w", rng.integers(-128, 128, (cout, k)).astype(np.int8))
        attrs = FullyConnectedAttrs(5, -3, mult, shift)
        return single_op_graph("fully_connected", attrs, [act("x", (1, k)), w, b], (1, cout))
    offset = 0 if bits == 1 else -(1 << (bits - 1))
    values = rng.choice([-1, 1], (cout, k)) if bits == 1 else rng.integers(offset, -offset, (cout, k))
    attrs = FullyConnectedPackedAttrs(5, -3, mult, shift, bits, offset)
    w = const("w", bitpack.pack_weights(values, bits, offset))
    return single_op_graph("fully_connected_packed", attrs, [act("x", (1, k)), w, b], (1, cout))


def _pool(op, h, w, c, k, s, p):
    from tinygen.ops.avg_pool2d import avg_pool_params
    from tinygen.ops.max_pool2d import MaxPool2dAttrs, pool_out_hw

    attrs = (MaxPool2dAttrs(k, s, p) if op == "max_pool2d"
             else avg_pool_params(k, s, p, False, 0.05, 3, 0.04, -2, -128, 127))
    oh, ow = pool_out_hw((1, h, w, c), k, s, p)
    return single_op_graph(op, attrs, [act("x", (1, h, w, c))], (1, oh, ow, c))


def _mean(shape, axes):
    from tinygen.ops.mean import mean_out_shape, mean_params

    count = int(np.prod([shape[a] for a in axes]))
    attrs = mean_params(axes, False, count, 0.05, 3, 0.04, -2)
    return single_op_graph("mean", attrs, [act("x", shape)], mean_out_shape(shape, axes, False))


def _lut():
    from tinygen.ops.lut import LutAttrs

    table = tuple(int(v) for v in np.random.default_rng(0).integers(-128, 128, 256))
    return single_op_graph("lut", LutAttrs(table, "random"), [act("x", (1, 8, 8, 32))], (1, 8, 8, 32))


def _concat(grids):
    from tests.kernels.test_concat import make_graph

    return make_graph(((1, 8, 8, 16), (1, 8, 8, 24)), 3, grids, -1, np.random.default_rng(0))[0]


def _slice(shape, begin, size):
    from tinygen.ops.slice import SliceAttrs

    return single_op_graph("slice", SliceAttrs(begin, size, (1,) * len(shape)), [act("x", shape)], size)


def _pad(shape, pads):
    from tests.kernels.test_pad import _graph
    from tinygen.ops.pad import PadAttrs

    return _graph(shape, PadAttrs(pads, -5))


def per_unit(node, graph) -> tuple[int, str]:
    if node.op in ("conv2d_packed", "fully_connected_packed", "fully_connected"):
        return get(node.op).macs(node, graph), "MAC"
    return graph.t(node.outputs[0]).size, "elem"


def run(board: str, variant: str, graphs, workdir: Path) -> dict[int, int]:
    from tests.device.models import write_build
    from tinygen.device.validate import validate

    merged = merge_graphs(graphs, f"misc_{variant}")
    for g, n in zip(graphs, merged.nodes):
        ks = candidates(g.nodes[0], g, HOST)
        n.kernel = ks[-1].symbol if variant == "ref" else ks[0].symbol
    program = write_build(merged, workdir / f"{board}_{variant}", board)
    r = validate(program, qemu=True, board=board, count=1, seed=0, profile=True)
    if not r.passed:
        raise SystemExit(f"{variant} on {board}: {r.summary_text()}")
    counts = {}
    for p in r.profile:
        counts[int(p.name.split("_", 1)[0][1:])] = p.count
    return counts, [n.kernel for n in merged.nodes]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--boards", default="f446re,f746zg")
    ap.add_argument("--ops", default="", help="comma-separated op names (default: all)")
    args = ap.parse_args(argv)
    chosen = [c for c in cases() if not args.ops or c[0] in args.ops.split(",")]
    graphs = [build() for _, _, build in chosen]
    boards = args.boards.split(",")
    table = {}
    kernels = {}
    group = 4  # cases per firmware: all their tensors are live at once in the merged graph
    with tempfile.TemporaryDirectory() as tmp:
        for board in boards:
            for variant in ("ref", "fast"):
                table[board, variant], kernels[variant] = [], []
                for g0 in range(0, len(graphs), group):
                    counts, ks = run(board, variant, graphs[g0:g0 + group], Path(tmp) / str(g0))
                    table[board, variant] += [counts[i] for i in range(len(ks))]
                    kernels[variant] += ks
    head = f"{'op':<22} {'case':<30} {'unit':<5}"
    for board in boards:
        core = {"f446re": "M4", "f746zg": "M7"}.get(board, board)
        head += f" {core + ' ref':>9} {core + ' fast':>9} {'x':>5}"
    print(head + "  fast kernel")
    for i, ((op, desc, _), g) in enumerate(zip(chosen, graphs)):
        units, unit = per_unit(g.nodes[0], g)
        line = f"{op:<22} {desc:<30} {unit:<5}"
        for board in boards:
            ref, fast = table[board, "ref"][i] / units, table[board, "fast"][i] / units
            line += f" {ref:9.2f} {fast:9.2f} {ref / fast:5.1f}"
        print(line + "  " + kernels["fast"][i])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

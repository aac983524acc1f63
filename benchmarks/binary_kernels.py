"""Binary MACs per emulated instruction of the binary conv layers of a CIFAR-shaped BNN body,
and the same layers as int8 convolutions (the int8 twin's body), on the QEMU stand-ins.

    .venv/bin/python benchmarks/binary_kernels.py [--boards f446re,f746zg] [--kernels auto|ref]

Each binary layer is a lowered graph binarize -> bconv2d whose bconv2d alone is counted (3x3,
stride 1, zero padding as plain PyTorch BNNs have, binary output from random thresholds; the int8 twin: same shape, int8 weights and activations,
per-channel requantization). Each binary layer goes into a firmware of its own (the int8 twin layers too), validated
bit-exactly against the reference and profiled with -icount (exact emulated instructions, not
cycles). The int8 twin runs whatever conv2d kernel this tree selects (printed).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tinygen.ir.graph import DType, Node  # noqa: E402
from tinygen.ops.binarize import BinarizeAttrs  # noqa: E402
from tinygen.ops.bconv2d import BConv2dAttrs, out_hw, output_shape  # noqa: E402
from tinygen.ops.conv2d import Conv2dAttrs  # noqa: E402
from tinygen.reference import bitpack  # noqa: E402
from tinygen.testing import act, const, merge_graphs, random_requant, single_op_graph  # noqa: E402

# (label, hw, cin, cout, target binary MACs per instruction) from issue 11's table
LAYERS = [("45->45", 16, 45, 45, 2.5), ("64->128", 32, 64, 128, 3.0), ("128->128", 16, 128, 128, 4.0),
          ("128->256", 8, 128, 256, 4.0), ("256->256", 8, 256, 256, 4.0)]


def binary_layer(rng, hw, cin, cout):
    k = 9 * cin
    attrs = BConv2dAttrs((1, 1), (1, 1, 1, 1), (1, 1), cin, 0, "binary",
                         thresholds=tuple(int(t) for t in rng.integers(-int(k ** 0.5), int(k ** 0.5) + 1, cout)),
                         flip=tuple(int(f) for f in rng.integers(0, 2, cout)))
    # as in a model, a node writes the layer's packed input (a binarize of an int8 map here; only
    # the bconv2d is counted): its padding bits are 0, which the kernels may rely on
    g = single_op_graph("binarize", BinarizeAttrs(0), [act("x", (1, hw, hw, cin))],
                        (1, hw, hw, bitpack.words_for(cin)), out_dtype=DType.UINT32)
    g.tensors["bits"] = dataclasses.replace(g.t("out"), name="bits")
    del g.tensors["out"]
    g.nodes[0].outputs = ["bits"]
    x = g.t("bits")
    w = g.add_const("w", bitpack.pack_bits(rng.integers(0, 2, (cout, 3, 3, cin))))
    oh, ow = out_hw(x.shape, w.shape, attrs)
    shape, dtype = output_shape((1, oh, ow), cout, "binary")
    g.add_tensor(act("out", shape, dtype))
    g.add_node(Node("conv", "bconv2d", ["bits", w.name], ["out"], attrs))
    g.outputs = ["out"]
    return g


def int8_layer(rng, hw, cin, cout):
    mult, shift = random_requant(rng, cout, 2e-4, 2e-3)
    attrs = Conv2dAttrs((1, 1), (1, 1, 1, 1), (1, 1), 1, 3, -2, mult, shift, -128, 127)
    x = act("x", (1, hw, hw, cin), DType.INT8)
    w = const("w", rng.integers(-127, 128, (cout, 3, 3, cin)).astype(np.int8))
    b = const("b", rng.integers(-2000, 2000, cout).astype(np.int32))
    return single_op_graph("conv2d", attrs, [x, w, b], (1, hw, hw, cout), out_dtype=DType.INT8)


def profile(graphs, workdir: Path, board: str, policy: str):
    from tests.device.models import write_build
    from tinygen.device.validate import validate
    from tinygen.select import HOST, select_kernels

    merged = merge_graphs(graphs, "layers")
    select_kernels(merged, HOST, policy)
    program = write_build(merged, workdir / board, board)
    r = validate(program, qemu=True, board=board, count=1, seed=0, profile=True)
    if not r.passed:
        raise SystemExit(f"{board}: NOT bit-exact\n{r.summary_text()}")
    return [(n.kernel, p.count, p.macs) for n, p in zip(merged.nodes, r.profile) if n.op != "binarize"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--boards", default="f446re,f746zg")
    ap.add_argument("--kernels", default="auto", choices=("auto", "ref"))
    ap.add_argument("--no-int8", action="store_true", help="binary layers only (no int8 twin layers)")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    binary = [binary_layer(rng, hw, cin, cout) for _, hw, cin, cout, _ in LAYERS]
    # int8 twin layers at most 8x8 and 128 output channels (RAM and flash of the F446RE: 256->256
    # int8 weights are 590 KB; instructions per MAC hardly depend on image size or output channels),
    # one firmware per layer, scaled to the binary layer's MACs at the measured rate
    int8 = [int8_layer(rng, min(hw, 8), cin, min(cout, 128)) for _, hw, cin, cout, _ in LAYERS]
    with tempfile.TemporaryDirectory() as tmp:
        for board in args.boards.split(","):
            stand_in = {"f446re": "M4 mps2-an386", "f746zg": "M7 mps2-an500"}.get(board, board)
            # one firmware per layer: with its int8 input map the 64->128 layer alone takes 88 KB of RAM
            b = [profile([g], Path(tmp) / f"b{i}", board, args.kernels)[0] for i, g in enumerate(binary)]
            q = ([("-", 1, 1)] * len(int8) if args.no_int8 else
                 [profile([g], Path(tmp) / f"q{i}", board, args.kernels)[0] for i, g in enumerate(int8)])
            print(f"\n{board} ({stand_in}), 3x3 stride 1 zero padding, {args.kernels} kernels")
            print(f"{'layer':<9} {'hw':>3} {'binary kernel':<22} {'instr':>11} {'MAC/instr':>9} {'target':>10} "
                  f"{'int8 kernel':<20} {'instr':>11} {'MAC/instr':>9} {'int8/bin':>8}")
            tb = tq = mb = 0.0
            for (label, hw, _, _, target), (kb, cb, macs), (kq, cq, mq) in zip(LAYERS, b, q):
                ok = "ok" if macs / cb >= target else "MISS"
                cq_full = cq * macs / mq  # the int8 layer at the binary layer's size, at its measured rate
                print(f"{label:<9} {hw:>3} {kb:<22} {cb:>11,} {macs / cb:>9.2f} {target:>5.1f} {ok:<4} "
                      f"{kq:<20} {cq_full:>11,.0f} {mq / cq:>9.3f} {cq_full / cb:>8.2f}")
                tb, tq, mb = tb + cb, tq + cq_full, mb + macs
            print(f"{'body':<13} {'':<22} {tb:>11,.0f} {mb / tb:>9.2f} {'':>11} {'':<20} {tq:>11,.0f} "
                  f"{mb / tq:>9.3f} {tq / tb:>8.2f}  (int8 twin / BNN instructions per MAC; target >= 4)")


if __name__ == "__main__":
    main()

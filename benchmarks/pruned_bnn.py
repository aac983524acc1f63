"""Pruned kernels in a binarized network (issue 14 item 3) under QEMU: weight bytes, flash and
emulated instructions of a BNN with 50% of its binary kernels pruned, against the unpruned build.

    .venv/bin/python benchmarks/pruned_bnn.py                 # mps2-an386 (M4) stand-in
    .venv/bin/python benchmarks/pruned_bnn.py --board f746zg  # the M7 stand-in

The model (lowered graph, seeded random weights and thresholds): a packed binary 16x16x64 input,
then 3x3 binary convolutions 64->128, 128->128 /2, 128->256, 256->256 with binary outputs
(thresholds) and a last 3x3 256->64 with int8 output. Each binary convolution's kernels are
pruned to 50% per output channel: in 32x32 blocks ("blocks": the same 32-channel input groups
for each block of 32 outputs, what tinygen.nn.PrunedBinaryConv2d.prune_(0.5, group=32,
out_group=32) trains), in groups of 32 input channels chosen per output ("words": prune_(0.5,
group=32)), or kernel by kernel at random ("single kernels": counted under masks, shown for
honesty). "weights B" counts the weight words as stored (kept words only); "all params B" adds the
masks, segment or group streams and the per-border-class output-stage tables. Every build is
validated bit-exact against the reference. Prints numbers; not a test.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from compressed import measure  # noqa: E402
from tinygen.ir.graph import DType, Graph, Node, QuantParams, Tensor  # noqa: E402
from tinygen.ir.verify import verify  # noqa: E402
from tinygen.ops.bconv2d import BConv2dAttrs, output_shape  # noqa: E402
from tinygen.ops.common import out_hw  # noqa: E402
from tinygen.reference import bitpack  # noqa: E402

LAYERS = ((128, 1), (128, 2), (256, 1), (256, 1), (64, 1))  # (out channels, stride); the last one int8 out


def bnn(prune: str = "", seed: int = 0, shape=(1, 16, 16, 64)) -> Graph:
    """prune: "" (dense bconv2d), "blocks", "words" or "bits" (bconv2d_pruned at 50%)."""
    rng = np.random.default_rng(seed)
    g = Graph(f"bnn{prune}", dialect="lowered")
    cur = "x"
    g.add_tensor(Tensor(cur, shape[:3] + (bitpack.words_for(shape[3]),), DType.UINT32, QuantParams.per_tensor(1.0, 0)))
    g.inputs = [cur]
    cin = shape[3]
    for i, (cout, stride) in enumerate(LAYERS):
        last = i == len(LAYERS) - 1
        if prune in ("words", "blocks"):  # half of each output's 32-channel groups
            groups = -(-cin // 32)
            drop = np.stack([rng.permutation(groups) < groups // 2 for _ in range(cout)])
            if prune == "blocks":  # the same for each block of 32 outputs
                drop = drop[np.arange(cout) // 32 * 32]
            kept = ~np.repeat(drop, 32, axis=1)[:, :cin]
        elif prune == "bits":
            kept = np.stack([rng.permutation(cin) >= cin // 2 for _ in range(cout)])
        else:
            kept = np.ones((cout, cin), bool)
        bits = rng.integers(0, 2, (cout, 3, 3, cin)) * kept[:, None, None, :]
        k = 9 * int(kept.sum(1).mean())
        spread = max(1, int(np.sqrt(k)))
        if last:
            from tinygen.passes.lower.binary_output_params import int8_output_params

            stage = int8_output_params(rng.uniform(0.5, 1.0, cout) * 40 / spread, rng.uniform(-10, 10, cout), 1.0, 0,
                                       9 * cin, -128, 127).fields()
        else:
            stage = {"output": "binary", "thresholds": tuple(int(t) for t in rng.integers(-spread, spread + 1, cout)),
                     "flip": tuple(int(f) for f in rng.integers(0, 2, cout))}
        attrs = BConv2dAttrs((stride, stride), (1,) * 4, (1, 1), cin, 0, **stage)
        w = g.add_const("w", bitpack.pack_bits(bits))
        ins = [cur, w.name]
        if prune:
            ins.append(g.add_const("m", bitpack.pack_bits(kept)).name)
        x = g.t(cur)
        oh, ow = out_hw(x.shape, w.shape, attrs)
        oshape, odt = output_shape((1, oh, ow), cout, attrs.output)
        cur = g.unique_name("a")
        g.add_tensor(Tensor(cur, oshape, odt, QuantParams.per_tensor(1.0, 0)))
        g.add_node(Node(g.unique_name("conv", "node"), "bconv2d_pruned" if prune else "bconv2d", ins, [cur], attrs))
        cin = cout
    g.outputs = [cur]
    verify(g)
    return g


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--board", default="f446re")
    ap.add_argument("--work", type=Path, help="build directory (default: a temporary one)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        rows = [(label, measure(bnn(p), work / (p or "dense"), args.board))
                for label, p in (("unpruned", ""), ("50% 32x32 blocks", "blocks"), ("50% words", "words"),
                                 ("50% single kernels", "bits"))]
    dense = rows[0][1]
    print(f"BNN (5 binary 3x3 convolutions, 16x16x64 binary input), QEMU {args.board} stand-in (-icount), "
          "bit-exact on every build")
    print(f"{'build':<20} {'weights B':>10} {'x':>6} {'all params B':>12} {'x':>6} {'flash B':>9} {'x':>6} "
          f"{'instructions':>13} {'x':>6}  kernels")
    for label, m in rows:
        kernels = sorted({n.kernel.replace("tg_", "") for n in m["graph"].nodes})
        print(f"{label:<20} {m['weights']:>10,} {m['weights'] / dense['weights']:>6.3f} "
              f"{m['params']:>12,} {m['params'] / dense['params']:>6.3f} {m['flash']:>9,} "
              f"{m['flash'] / dense['flash']:>6.3f} {m['instructions']:>13,} "
              f"{m['instructions'] / dense['instructions']:>6.3f}  {', '.join(kernels)}")
    for label, m in rows[1:]:
        print(f"target, BNN with 50% of its kernels pruned ({label[4:]}): instructions "
              f"{m['instructions'] / dense['instructions']:.3f}x of unpruned (<= 0.6)")


if __name__ == "__main__":
    main()

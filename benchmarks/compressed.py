"""Compressed weights (issue 14) on a MobileNet-style int8 model under QEMU: weight bytes, flash
and emulated instructions at 0/50/80/90% unstructured sparsity and with 2/3/4-bit codebooks,
against the dense build of the same model; and the sparse kernels' break-even and cost model.

    .venv/bin/python benchmarks/compressed.py                 # the model table (mps2-an386, M4)
    .venv/bin/python benchmarks/compressed.py --break-even    # sparse vs dense per layer, the cost model fit
    .venv/bin/python benchmarks/compressed.py --board f746zg  # on the M7 stand-in (the fit's board)

The model (lowered int8 graph, seeded random weights): conv3x3/2 3->32, then depthwise 3x3 +
pointwise blocks 32->64, /2 64->128, 128->128, /2 128->256, /2 256->256, flatten 2x2x256, FC 10.
Sparsity: magnitude pruning of every conv (depthwise included) and the FC layer; codebooks: the
groups-1 convs' and the FC's weights snapped to 2^k levels per layer (depthwise layers stay dense:
no codebook kernel covers them). "weights B" counts the weight arrays in their stored form (int8 weights, or indices + tables,
or non-zeros + steps + row counts), without the bias/multiplier/shift arrays every form stores
alike; "all params B" includes them. Each build is validated bit-exact against the reference.
Prints numbers; not a test.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tinygen.codegen import generate  # noqa: E402
from tinygen.ir import serialize  # noqa: E402
from tinygen.ir.graph import DType, Graph, Node, QuantParams, Tensor  # noqa: E402
from tinygen.ir.verify import verify  # noqa: E402
from tinygen.ops.base import CArray, get  # noqa: E402
from tinygen.ops.common import out_hw  # noqa: E402
from tinygen.ops.conv2d import Conv2dAttrs  # noqa: E402
from tinygen.ops.fully_connected import FullyConnectedAttrs  # noqa: E402
from tinygen.ops.reshape import ReshapeAttrs  # noqa: E402
from tinygen.passes.compress import compress  # noqa: E402
from tinygen.passes.compress.sparse_weights import make_sparse  # noqa: E402
from tinygen.plan import plan_with_schedule  # noqa: E402
from tinygen.program import Program  # noqa: E402
from tinygen.quant.multiplier import quantize_multiplier  # noqa: E402
from tinygen.select import select_kernels, target_of  # noqa: E402

WEIGHT_FIELDS = ("weight", "index", "table", "values", "steps", "pairs")


class Builder:
    """A lowered int8 graph layer by layer, activations with zero point -5 and requantization
    scaled to keep outputs spread over the int8 range."""

    def __init__(self, shape, seed=0, name="mnet"):
        self.rng = np.random.default_rng(seed)
        self.g = Graph(name, dialect="lowered")
        self.cur = self._act(shape)
        self.g.inputs = [self.cur]

    def _act(self, shape):
        name = self.g.unique_name("a")
        self.g.add_tensor(Tensor(name, tuple(shape), DType.INT8, QuantParams.per_tensor(0.05, -5)))
        return name

    def _requant(self, cout, k):
        ms = [quantize_multiplier(float(m)) for m in self.rng.uniform(0.5, 2.0, cout) * 30.0 / (60.0 * 70.0 * np.sqrt(k))]
        return tuple(m for m, _ in ms), tuple(s for _, s in ms)

    def conv(self, cout, k=1, stride=1, groups=1):
        x = self.g.t(self.cur)
        cin = x.shape[3]
        pad = k // 2
        w = self.rng.integers(-127, 128, (cout, k, k, cin // groups)).astype(np.int8)
        mult, shift = self._requant(cout, k * k * cin // groups)
        a = Conv2dAttrs((stride, stride), (pad,) * 4, (1, 1), groups, 5, -5, mult, shift, -5, 127)
        out = self._act((1, *out_hw(x.shape, w.shape, a), cout))
        self._node("conv2d", [w, self.rng.integers(-2000, 2000, cout).astype(np.int32)], out, a)

    def fc(self, cout):
        x = self.g.t(self.cur)
        w = self.rng.integers(-127, 128, (cout, x.shape[1])).astype(np.int8)
        mult, shift = self._requant(cout, x.shape[1])
        out = self._act((1, cout))
        self._node("fully_connected", [w, self.rng.integers(-2000, 2000, cout).astype(np.int32)], out,
                   FullyConnectedAttrs(5, -5, mult, shift))

    def flatten(self):
        x = self.g.t(self.cur)
        shape = (1, int(np.prod(x.shape[1:])))
        out = self._act(shape)
        self._node("reshape", [], out, ReshapeAttrs(shape))

    def _node(self, op, consts, out, attrs):
        names = [self.g.add_const("w" if c.dtype == np.int8 else "b", c).name for c in consts]
        self.g.add_node(Node(self.g.unique_name(op, "node"), op, [self.cur, *names], [out], attrs))
        self.cur = out

    def done(self):
        self.g.outputs = [self.cur]
        verify(self.g)
        return self.g


def mobilenet(seed=0) -> Graph:
    b = Builder((1, 32, 32, 3), seed)
    b.conv(32, 3, 2)
    for cout, s in ((64, 1), (128, 2), (128, 1), (256, 2), (256, 2)):
        b.conv(b.g.t(b.cur).shape[3], 3, s, groups=b.g.t(b.cur).shape[3])
        b.conv(cout, 1)
    b.flatten()
    b.fc(10)
    return b.done()


def _dense_layers(g, depthwise=False):
    return [n for n in g.nodes if n.op == "fully_connected" or (n.op == "conv2d" and (depthwise or n.attrs.groups == 1))]


def prune(g: Graph, sparsity: float) -> Graph:
    """Zero the smallest-magnitude `sparsity` of each conv (depthwise included) / FC layer's weights."""
    g = g.copy()
    for n in _dense_layers(g, depthwise=True):
        t = g.t(n.inputs[1])
        w = t.data.copy()
        flat = w.reshape(-1)
        order = np.argsort(np.abs(flat.astype(np.int32)), kind="stable")
        flat[order[:int(round(sparsity * flat.size))]] = 0
        t.data = w
    return g


def snap(g: Graph, bits: int) -> Graph:
    """Snap each dense conv / FC layer's weights to 2^bits levels (quantiles, rounded to int8)."""
    g = g.copy()
    for n in _dense_layers(g):
        t = g.t(n.inputs[1])
        w = t.data.astype(np.int32)
        levels = np.unique(np.round(np.quantile(w, (np.arange(1 << bits) + 0.5) / (1 << bits))).astype(np.int32))
        t.data = levels[np.argmin(np.abs(w.reshape(-1, 1) - levels[None, :]), axis=1)].reshape(w.shape).astype(np.int8)
    return g


def weight_array_bytes(g: Graph) -> tuple[int, int]:
    """(weight arrays in stored form, all constant arrays) of the selected graph, as emitted."""
    weights = total = 0
    for n in g.nodes:
        for name, value in get(n.op).emit(n, g).fields:
            if isinstance(value, CArray):
                nbytes = value.values.size * np.dtype(value.ctype.replace("_t", "")).itemsize
                total += nbytes
                weights += nbytes if name in WEIGHT_FIELDS else 0
    return weights, total


def measure(g: Graph, out: Path, board: str, profile: bool = False) -> dict:
    """Select for the board, generate, build the firmware for its QEMU stand-in, validate
    bit-exact on 2 inputs; sizes from the ELF, instructions from -icount."""
    from tinygen.boards import load_board
    from tinygen.compile.firmware import build_firmware
    from tinygen.device.validate import validate

    g = select_kernels(g, target_of(load_board(board)))
    g, plan = plan_with_schedule(g)
    gen = generate(g, plan)
    gen.write(out / "model")
    serialize.save(g, out / "graph")
    (out / "tinygen.json").write_text(json.dumps({"prefix": gen.prefix, "board": board}))
    fw = build_firmware(out, gen.prefix, board, emulate=True)
    program = Program(out, g, gen.prefix, board)
    r = validate(program, qemu=True, board=board, count=2, seed=1, profile=profile, timeout=90.0)  # a loaded host boots slowly
    if not r.passed:
        raise SystemExit(f"{out.name}: not bit-exact\n{r.summary_text()}")
    weights, total = weight_array_bytes(g)
    return {"weights": weights, "params": total, "flash": fw.sizes.text + fw.sizes.rodata + fw.sizes.data,
            "instructions": r.latency, "profile": r.profile, "graph": g}


def model_table(board: str, work: Path) -> None:
    base = mobilenet()
    rows = []
    dense = measure(base.copy(), work / "dense", board)
    rows.append(("dense int8", dense))
    for s in (0.0, 0.5, 0.8, 0.9):
        rows.append((f"{int(s * 100)}% sparse", measure(compress(prune(base, s), "mnet"), work / f"s{int(s * 100)}", board)))
    for bits in (4, 3, 2):
        rows.append((f"{bits}-bit codebook", measure(compress(snap(base, bits), "mnet"), work / f"cb{bits}", board)))
    print(f"MobileNet-style int8 model, QEMU {board} stand-in (-icount), bit-exact on every build")
    print(f"{'build':<16} {'weights B':>10} {'x dense':>8} {'all params B':>13} {'flash B':>9} {'x dense':>8} "
          f"{'instructions':>13} {'x dense':>8}  layers")
    for label, m in rows:
        kinds = sorted({n.kernel.replace("tg_", "").replace("_s8", "") for n in m["graph"].nodes
                        if "sparse" in n.op or "codebook" in n.op})
        print(f"{label:<16} {m['weights']:>10,} {m['weights'] / dense['weights']:>8.3f} {m['params']:>13,} "
              f"{m['flash']:>9,} {m['flash'] / dense['flash']:>8.3f} {m['instructions']:>13,} "
              f"{m['instructions'] / dense['instructions']:>8.3f}  {', '.join(kinds) or '-'}")
    eighty = dict(rows)["80% sparse"]
    print(f"targets at 80% sparsity: weights {eighty['weights'] / dense['weights']:.3f}x (<= 0.35), "
          f"instructions {eighty['instructions'] / dense['instructions']:.3f}x (<= 0.6)")


# (kind, input shape, make the layer) of the break-even and cost-model measurements: the shapes of
# the MobileNet-style model and a few others
FIT_LAYERS = [
    ("conv1x1", (1, 16, 16, 32), lambda b: b.conv(64, 1)),
    ("conv1x1", (1, 8, 8, 64), lambda b: b.conv(128, 1)),
    ("conv1x1", (1, 8, 8, 64), lambda b: b.conv(64, 1)),
    ("conv1x1", (1, 4, 4, 128), lambda b: b.conv(256, 1)),
    ("conv1x1", (1, 2, 2, 256), lambda b: b.conv(256, 1)),
    ("conv1x1", (1, 6, 6, 48), lambda b: b.conv(96, 1)),
    ("conv", (1, 32, 32, 3), lambda b: b.conv(32, 3, 2)),
    ("conv", (1, 8, 8, 32), lambda b: b.conv(32, 3)),
    ("conv", (1, 8, 8, 16), lambda b: b.conv(48, 3)),
    ("conv", (1, 16, 16, 16), lambda b: b.conv(32, 3)),
    ("conv", (1, 4, 4, 32), lambda b: b.conv(64, 3)),
    ("dw", (1, 16, 16, 32), lambda b: b.conv(32, 3, groups=32)),
    ("dw", (1, 16, 16, 64), lambda b: b.conv(64, 3, 2, groups=64)),
    ("dw", (1, 8, 8, 128), lambda b: b.conv(128, 3, groups=128)),
    ("dw", (1, 8, 8, 128), lambda b: b.conv(128, 3, 2, groups=128)),
    ("dw", (1, 4, 4, 256), lambda b: b.conv(256, 3, 2, groups=256)),
    ("fc", (1, 1024), lambda b: b.fc(10)),
    ("fc", (1, 512), lambda b: b.fc(64)),
    ("fc", (1, 256), lambda b: b.fc(32)),
]
FIT_DENSITIES = (1.0, 0.5, 0.3, 0.2, 0.1)  # non-zeros; 1.0 is the dense layer


def break_even(board: str, work: Path) -> None:
    """Per layer of FIT_LAYERS: the dense fast kernel and the sparse one at FIT_DENSITIES, one
    firmware per kind; the break-even interpolated in stored entries (non-zeros + fillers + pads)
    as a fraction of the dense weights; then per kind the least-squares fit of the cost model of
    tinygen/passes/compress/sparse_cost.py (its COEFFS) and the model's break-even per layer."""
    from tinygen.passes.compress import sparse_cost
    from tinygen.testing import merge_graphs

    print(f"sparse vs dense instructions per layer, QEMU {board} stand-in (-icount)")
    fitted, points, per_kind = {}, {}, {}
    for kind in sparse_cost.KINDS:
        meta, count, kernel = [], {}, {}
        for li, (k_, shape, make) in enumerate(FIT_LAYERS):
            if k_ != kind:
                continue
            graphs = []
            for i, d in enumerate(FIT_DENSITIES):
                b = Builder(shape, seed=10 + 7 * li + i, name=f"{kind}{li}_{i}")
                make(b)
                g = b.done()
                node, w = g.nodes[-1], g.t(g.nodes[-1].inputs[1])
                flat = w.data.reshape(-1).copy()
                flat[flat == 0] = 1
                flat[np.random.default_rng(i).permutation(flat.size)[:int(round((1 - d) * flat.size))]] = 0
                w.data = flat.reshape(w.shape)
                c = sparse_cost.layer_counts(g, node)
                if i > 0:
                    make_sparse(g, node)
                graphs.append(g)
                meta.append((li, shape, d, c, f"{li}_g{i}_{g.nodes[-1].name}"))
            # one firmware per layer shape (all of a merged graph's inputs and outputs stay live)
            m = measure(merge_graphs(graphs, kind), work / f"be_{kind}{li}", board, profile=True)
            count.update({f"{li}_{p.name}": p.count for p in m["profile"]})
            kernel.update({f"{li}_{n.name}": n.kernel for n in m["graph"].nodes})
        for gi, (li, shape, d, c, name) in enumerate(meta):
            model = sparse_cost.MODEL[(kind, d < 1.0)]
            points.setdefault(model, ([], []))
            points[model][0].append(sparse_cost.features(model, c))
            points[model][1].append(count[name])
            meta[gi] = (li, shape, d, c, count[name], kernel[name])
        per_kind[kind] = meta
    for model, (a, y) in points.items():
        a, y = np.asarray(a, float), np.asarray(y, float)
        coef = np.linalg.lstsq(a, y, rcond=None)[0]
        fitted[model] = (coef, float((np.abs(a @ coef - y) / y).max()))
    for kind, meta in per_kind.items():
        for li in sorted({x[0] for x in meta}):
            pts = [x for x in meta if x[0] == li]
            dense, dmodel = pts[0][4], sparse_cost.MODEL[(kind, False)]
            est_dense = float(np.dot(fitted[dmodel][0], sparse_cost.features(dmodel, pts[0][3])))
            print(f"  {kind} {list(pts[0][1][1:])} -> {pts[0][3].cout}: dense {pts[0][5]} {dense:,} instructions "
                  f"(model {est_dense:,.0f})")
            curve, modelled = [], []
            for _, _, d, c, n, kern in pts[1:]:
                frac = c.entries / (c.cout * c.k)
                curve.append((frac, n))
                model = sparse_cost.MODEL[(kind, True)]
                est = float(np.dot(fitted[model][0], sparse_cost.features(model, c)))
                modelled.append((frac, est))
                print(f"    {kern:<36} non-zeros {100 * d:>3.0f}%  entries {100 * frac:>5.1f}%  {n:>9,} "
                      f"instructions = {n / dense:.3f}x dense (model {est:,.0f})")
            curve.sort()
            even = next((f0 + (dense - c0) * (f1 - f0) / (c1 - c0)
                         for (f0, c0), (f1, c1) in zip(curve, curve[1:]) if c0 <= dense <= c1), None)
            print(f"    break-even at entries = {100 * even:.1f}% of the dense weights" if even is not None
                  else "    no break-even in the measured range (sparse faster at every density measured)"
                  if curve[-1][1] < dense else "    no break-even in the measured range (sparse slower)")
            (f0, e0), (f1, e1) = min(modelled), max(modelled)  # the model, linear in entries between them
            model_even = f0 + (est_dense - e0) * (f1 - f0) / (e1 - e0) if e1 != e0 else float("nan")
            print("    the cost model's break-even: " + (
                "none (sparse slower at any density)" if not model_even > 0 else
                f"entries = {100 * model_even:.1f}% of the dense weights"
                + (f" (extrapolated beyond {100 * f1:.0f}%)" if model_even > f1 else "")))
    print("cost model fits (tinygen/passes/compress/sparse_cost.py COEFFS):")
    for model, (coef, err) in fitted.items():
        print(f"    \"{model}\": ({', '.join(f'{v:.4g}' for v in coef)}),  # worst error {100 * err:.1f}%")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--board", default="f446re")
    ap.add_argument("--break-even", action="store_true",
                    help="measure the sparse kernels' break-even and fit the cost model instead")
    ap.add_argument("--work", type=Path, help="build directory (default: a temporary one)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        (break_even if args.break_even else model_table)(args.board, work)


if __name__ == "__main__":
    main()

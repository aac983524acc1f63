"""Per-node fidelity of a lowered torch model against PyTorch's fake-quant program.

    .venv/bin/python benchmarks/torch_fidelity.py [MODEL.pt2] [--inputs X.npy] [--count N] [--all]

Default MODEL: examples/flynet/build/flynet_q8.pt on the first N Fashion-MNIST test images (or
the float NCHW images of --inputs).
For every lowered node whose output tensor can be found in the PyTorch program (the FX node of the
same name, or the first value on the tensor's int8 grid along its single-user chain), prints:

* local: the node's numpy reference fed with PyTorch's own (quantized) inputs, against PyTorch's
  output: fraction of elements equal, within one step, and the largest difference in steps. A
  node below 100% equal here rounds differently from PyTorch; nothing upstream is to blame.
* chain: the whole reference up to that node against PyTorch (errors accumulated on the way).

Nodes that are 100% equal locally are left out unless --all is given.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "examples" / "flynet"))


def capture(module, x: np.ndarray, batch: int) -> dict[str, np.ndarray]:
    """Every FX node's tensor output of `module` (a GraphModule), concatenated over batches."""
    import torch
    import torch.fx

    values: dict[str, list[np.ndarray]] = {}

    class Rec(torch.fx.Interpreter):
        def run_node(self, n):
            out = super().run_node(n)
            if isinstance(out, torch.Tensor) and out.dtype.is_floating_point and out.dim() > 0:
                values.setdefault(n.name, []).append(out.detach().numpy().copy())
            return out

    with torch.no_grad():
        for i in range(0, len(x), batch):
            Rec(module).run(torch.from_numpy(x[i:i + batch]))
    return {k: np.concatenate(v) for k, v in values.items() if sum(len(a) for a in v) == len(x)}


def to_lowered_layout(v: np.ndarray, shape) -> np.ndarray | None:
    shape = tuple(shape[1:])
    if v.shape[1:] == shape:
        return v
    if v.ndim == 4 and v.transpose(0, 2, 3, 1).shape[1:] == shape:
        return v.transpose(0, 2, 3, 1)
    if v.ndim == 3 and v.transpose(0, 2, 1).shape[1:] == shape:
        return v.transpose(0, 2, 1)
    if int(np.prod(v.shape[1:])) == int(np.prod(shape)) and v.ndim != 4:
        return v.reshape((len(v),) + shape)
    return None


def on_grid(v: np.ndarray, scale: float, zp: int) -> np.ndarray | None:
    """v as int64 grid indices q (v == (q - zp) * scale) if it lies on the grid, else None."""
    r = v.astype(np.float64) / scale
    q = np.round(r)
    if np.abs(r - q).max(initial=0) > 1e-3:
        return None
    q = q + zp
    if q.min() < -128 or q.max() > 127:
        return None
    return q.astype(np.int64)


def torch_grid_values(fx_graph, values, tensor) -> np.ndarray | None:
    """PyTorch's value of a lowered tensor, as int8 grid indices in the lowered layout."""
    nodes = {n.name: n for n in fx_graph.nodes}
    node = nodes.get(tensor.name)
    scale, zp = float(tensor.quant.scale[0]), int(tensor.quant.zero_point[0])
    picks = []  # (index, dim) of each torch.stack passed on the way (ECA's [mean, var])
    for _ in range(8):
        if node is None:
            return None
        if node.name in values:
            v = values[node.name]
            for index, dim in reversed(picks):
                v = np.take(v, index, axis=dim)
            v = to_lowered_layout(v, tensor.shape)
            if v is not None:
                q = on_grid(v, scale, zp)
                if q is not None:
                    return q
        users = list(node.users)
        if len(users) != 1:
            return None
        user = users[0]
        if "stack" in str(user.target):
            dim = user.args[1] if len(user.args) > 1 else user.kwargs.get("dim", 0)
            picks.append((list(user.args[0]).index(node), dim))
        node = user
    return None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", nargs="?", default=str(ROOT / "examples/flynet/build/flynet_q8.pt"))
    ap.add_argument("--inputs", help="float32 .npy of NCHW inputs (default: Fashion-MNIST test images)")
    ap.add_argument("--count", type=int, default=500)
    ap.add_argument("--all", action="store_true")
    ap.add_argument("--out", default="/tmp/torch_fidelity")
    args = ap.parse_args(argv)

    import torch

    import tinygen
    from tinygen.ops.base import get
    from tinygen.reference import interpreter

    torch.set_num_threads(2)
    if args.inputs:
        x = np.load(args.inputs).astype(np.float32)[:args.count]
    else:
        import train as flytrain

        x = flytrain.load_fashion().x_test[:args.count]
    ep = torch.export.load(args.model)
    module = ep.module()
    values = capture(module, x, 1)
    program = tinygen.build(args.model, board="host", out_dir=args.out)
    graph = program.graph
    env = interpreter.run(graph, [program.quantize(x, layout="NCHW")], keep_all=True)

    tq = {}
    for t in graph.tensors.values() if isinstance(graph.tensors, dict) else graph.tensors:
        if t.is_const or t.quant is None or t.dtype.value != "int8" or len(t.quant.scale) != 1:
            continue
        q = torch_grid_values(module.graph, values, t)
        if q is not None:
            tq[t.name] = q
    print(f"{len(tq)} of the lowered int8 tensors found in the PyTorch program; {len(x)} images")
    print(f"{'node':28s} {'op':16s} {'local eq':>9s} {'<=1':>7s} {'max':>4s}   {'chain eq':>9s} {'<=1':>7s} {'max':>4s}")
    for node in graph.nodes:
        out = graph.t(node.outputs[0])
        if out.name not in tq:
            continue
        want = tq[out.name]
        ins = []
        for name in node.inputs:
            t = graph.t(name)
            if t.is_const:
                ins.append(t.data)
            elif name in tq:
                ins.append(tq[name].astype(np.int8))
            else:
                ins = None
                break
        cells = []
        if ins is not None:
            got = get(node.op).reference(node, graph, ins)[0].astype(np.int64)
            d = np.abs(got - want)
            cells = [f"{(d == 0).mean():9.4f}", f"{(d <= 1).mean():7.4f}", f"{d.max():4d}"]
        else:
            cells = [f"{'-':>9s}", f"{'-':>7s}", f"{'-':>4s}"]
        d2 = np.abs(env[out.name].astype(np.int64) - want)
        local_exact = ins is not None and cells[0].strip() == "1.0000"
        if args.all or not local_exact:
            print(f"{node.name:28s} {node.op:16s} {' '.join(cells)}   {(d2 == 0).mean():9.4f} {(d2 <= 1).mean():7.4f} {d2.max():4d}")
    final = graph.outputs[0]
    t = torch.export.load(args.model).module()
    with torch.no_grad():
        logits = np.concatenate([t(torch.from_numpy(x[i:i + 1])).numpy() for i in range(len(x))])
    out = program.dequantize(env[final])
    steps = np.abs(out - logits) / np.float32(program.outputs[0].scale)
    print(f"logits within 1 step {(steps <= 1 + 1e-4).mean():.4f} (max {steps.max():.2f}); "
          f"top-1 agreement {(out.argmax(1) == logits.argmax(1)).mean():.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

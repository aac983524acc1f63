"""Sparse storage of int8 conv2d (groups 1 or depthwise) and fully_connected weights (unstructured sparsity):
conv2d_sparse / fully_connected_sparse store only the non-zeros with 4-bit position steps
(tinygen/reference/sparse.py) and their kernels skip the zeros.

Chosen per layer by measured cost, never slower or bigger than the dense layer: a layer becomes
sparse when its stored entries (non-zeros plus fillers and pads) are at most BREAK_EVEN[kind] of
its dense weights, where BREAK_EVEN is the entries fraction at which the sparse kernel's
instructions equal the dense fast kernel's, measured under QEMU on the Cortex-M4 stand-in
(benchmarks/compressed.py --break-even prints the measurement) and lowered by MARGIN, and when its
stored bytes are fewer than the dense int8 weights.
"""

from __future__ import annotations

from tinygen.ir.graph import Graph, Node
from tinygen.reference import sparse

# entries / (Cout * K) at which sparse and dense cost the same instructions (QEMU -icount,
# mps2-an386, gcc 12 -O2; benchmarks/compressed.py --break-even measured 24.5%, 29.1% and 20.3% on
# 8x8x64 1x1, 8x8x32 3x3 and 512->64 layers against the fast dense kernels tg_conv2d_s8_pw4,
# tg_conv2d_s8_im2col4 and tg_fully_connected_s8_w16). The sparse depthwise kernel is slower than
# tg_conv2d_s8_dw3x3s1 at every density measured (1.28x at 10% non-zeros): depthwise stays dense.
BREAK_EVEN = {"conv1x1": 0.245, "conv": 0.29, "fc": 0.20, "dw": 0.0}
MARGIN = 0.9  # choose sparse only clearly below the break-even


def layer_kind(graph: Graph, node: Node) -> str | None:
    if node.op == "fully_connected":
        return "fc"
    if node.op != "conv2d":
        return None
    a, w = node.attrs, graph.t(node.inputs[1])
    x, o = graph.t(node.inputs[0]), graph.t(node.outputs[0])
    if a.groups != 1:
        depthwise = a.groups == x.shape[3] == o.shape[3] and w.shape[1] * w.shape[2] <= 64
        return "dw" if depthwise else None
    direct = (w.shape[1:3] == (1, 1) and a.stride == (1, 1) and a.padding[0] == 0 and a.padding[2] == 0
              and x.shape[1:3] == o.shape[1:3])
    return "conv1x1" if direct else "conv"


def make_sparse(graph: Graph, node: Node) -> None:
    """Rewrite one conv2d (groups 1 or depthwise) / fully_connected node to its sparse form (any
    density)."""
    from tinygen.ops.conv2d_sparse import Conv2dSparseAttrs
    from tinygen.ops.fully_connected_sparse import FullyConnectedSparseAttrs

    a = node.attrs
    w = graph.t(node.inputs[1])
    values, steps, pairs = sparse.encode(w.data.reshape(w.shape[0], -1))
    names = [graph.add_const(f"{w.name}_{part}", data).name
             for part, data in (("nz", values), ("steps", steps), ("pairs", pairs))]
    if node.op == "conv2d":
        node.attrs = Conv2dSparseAttrs(a.stride, a.padding, a.dilation, a.input_offset, a.output_offset, a.multiplier,
                                       a.shift, (w.shape[1], w.shape[2]), a.act_min, a.act_max, a.groups)
        node.op = "conv2d_sparse"
    else:
        node.attrs = FullyConnectedSparseAttrs(a.input_offset, a.output_offset, a.multiplier, a.shift, a.act_min,
                                               a.act_max)
        node.op = "fully_connected_sparse"
    node.inputs = [node.inputs[0], *names, node.inputs[2]]
    node.kernel = ""


def sparse_weights(graph: Graph, source: str) -> Graph:
    """Lowered graph: sparse storage where it is cheaper and smaller (see the module doc)."""
    from tinygen.ops.base import get

    changed = False
    for node in graph.nodes:
        kind = layer_kind(graph, node)
        if kind is None or graph.t(node.inputs[0]).shape[0] != 1:
            continue
        w, b = graph.t(node.inputs[1]), graph.t(node.inputs[2])
        if not (w.is_const and b.is_const):
            continue
        dense = w.size
        zeros = dense - int((w.data != 0).sum())
        if zeros == 0:
            continue
        values, steps, pairs = sparse.encode(w.data.reshape(w.shape[0], -1))
        frac = values.size / dense
        stored = sparse.stored_bytes(values, steps, pairs)
        what = f"{100 * zeros / dense:.0f}% zeros: {values.size} entries = {100 * frac:.0f}% of the weights"
        if frac > BREAK_EVEN[kind] * MARGIN:
            if zeros / dense >= 0.25:
                graph.notes.setdefault(node.name, f"kept dense: {what}, above the sparse break-even "
                                                  f"{100 * BREAK_EVEN[kind]:.0f}%")
            continue
        if stored >= dense:
            graph.notes.setdefault(node.name, f"kept dense: {what}, but {stored} B stored >= {dense} B dense")
            continue
        trial = graph.copy()
        make_sparse(trial, next(n for n in trial.nodes if n.name == node.name))
        t_node = next(n for n in trial.nodes if n.name == node.name)
        if not any(not k.reference and k.supports(t_node, trial) for k in get(t_node.op).kernels):
            graph.notes.setdefault(node.name, f"kept dense: {what}, but its folded bias could overflow int32")
            continue
        make_sparse(graph, node)
        note = (f"sparse: {what} (break-even {100 * BREAK_EVEN[kind]:.0f}%), {8.0 * stored / dense:.2f} bits/weight, "
                f"{dense - stored} B saved")
        graph.notes[node.name] = (graph.notes[node.name] + "; " + note) if node.name in graph.notes else note
        changed = True
    if changed:
        graph.prune()
    return graph

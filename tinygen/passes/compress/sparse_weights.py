"""Sparse storage of int8 conv2d (groups 1 or depthwise) and fully_connected weights (unstructured sparsity):
conv2d_sparse / fully_connected_sparse store only the non-zeros with 4-bit position steps
(tinygen/reference/sparse.py) and their kernels skip the zeros.

Chosen per layer by measured cost, never slower or bigger than the dense layer: a layer becomes
sparse when the instruction cost model of tinygen/passes/compress/sparse_cost.py (fitted to QEMU
measurements) puts its sparse fast kernel at most MARGIN of its dense fast kernel, when that
sparse kernel applies to it (else it stays dense: the others are not modelled), and when its
stored bytes are fewer than the dense int8 weights.
"""

from __future__ import annotations

from tinygen.ir.graph import Graph, Node
from tinygen.passes.compress import sparse_cost
from tinygen.passes.compress.sparse_cost import layer_kind
from tinygen.reference import sparse

MARGIN = 0.9  # choose sparse only clearly below the dense estimate (the fits' worst errors are a few %)


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
        w2d = w.data.reshape(w.shape[0], -1)
        values, steps, pairs = sparse.encode(w2d)
        c = sparse_cost.layer_counts(graph, node)
        est, est_dense = sparse_cost.cost(kind, True, c), sparse_cost.cost(kind, False, c)
        stored = sparse.stored_bytes(values, steps, pairs)
        what = (f"{100 * zeros / dense:.0f}% zeros: {values.size} entries = {100 * values.size / dense:.0f}% of the "
                f"weights, about {est:,.0f} instructions sparse vs {est_dense:,.0f} dense")
        if est > MARGIN * est_dense:
            if zeros / dense >= 0.25:
                graph.notes.setdefault(node.name, f"kept dense: {what}")
            continue
        if stored >= dense:
            graph.notes.setdefault(node.name, f"kept dense: {what}, but {stored} B stored >= {dense} B dense")
            continue
        trial = graph.copy()
        make_sparse(trial, next(n for n in trial.nodes if n.name == node.name))
        t_node = next(n for n in trial.nodes if n.name == node.name)
        fast = next((k.symbol for k in get(t_node.op).kernels if not k.reference and k.supports(t_node, trial)), None)
        if fast != sparse_cost.MODEL[(kind, True)]:
            graph.notes.setdefault(node.name, f"kept dense: {what}, but {sparse_cost.MODEL[(kind, True)]} does not "
                                              f"apply (" + (f"{fast} would run)" if fast else "its folded bias could "
                                                            "overflow int32)"))
            continue
        make_sparse(graph, node)
        note = f"sparse: {what}, {8.0 * stored / dense:.2f} bits/weight, {dense - stored} B saved"
        graph.notes[node.name] = (graph.notes[node.name] + "; " + note) if node.name in graph.notes else note
        changed = True
    if changed:
        graph.prune()
    return graph

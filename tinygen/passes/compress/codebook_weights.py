"""Codebook storage of int8 conv2d (groups 1) and fully_connected weights (weight sharing,
thesis ch. 5.2.1; k-means and logarithmic weights from tinygen.nn, or any imported model whose
layers take few distinct values).

A layer whose weights take at most 16 distinct values per layer or per output channel becomes
conv2d_codebook / fully_connected_codebook with k-bit indices and the table(s) of those values
(tinygen/reference/codebook.py: exact, the table holds the values themselves), in the form with
the fewest bytes. It is applied only where it saves flash: each layer must store fewer bytes than
its dense int8 weights, and the layers together must save more than the codebook kernels' code.
Convolutions over fewer than 4 input channels stay dense (see _candidate).
"""

from __future__ import annotations

import numpy as np

from tinygen.ir.graph import Graph, Node
from tinygen.reference import codebook

# Thumb-2 bytes of the two fast codebook kernels plus the reference pulled in beside them (-O2,
# arm-none-eabi-gcc 12): what the layers' savings must exceed before any layer is converted.
KERNEL_CODE_BYTES = 700


def _candidate(graph: Graph, node: Node):
    if node.op == "conv2d" and node.attrs.groups != 1:
        return None
    if node.op not in ("conv2d", "fully_connected"):
        return None
    w = graph.t(node.inputs[1])
    if not (w.is_const and graph.t(node.inputs[2]).is_const):
        return None
    if node.op == "conv2d" and w.shape[3] < 4:
        # the codebook kernel's dot product works on channel quads; a 1- to 3-channel input
        # (an RGB stem) would run it scalar at several times the dense kernel's cost, for a few
        # hundred bytes at most
        return None
    w2d = w.data.reshape(w.shape[0], -1)
    enc = codebook.encode(w2d)
    if enc is None:
        return None
    index, table, bits = enc
    return node, index, table, bits, w2d.size - (index.size + table.size)


def _rewrite(graph: Graph, node: Node, index: np.ndarray, table: np.ndarray, bits: int) -> None:
    from tinygen.ops.conv2d_codebook import Conv2dCodebookAttrs
    from tinygen.ops.fully_connected_codebook import FullyConnectedCodebookAttrs

    a = node.attrs
    w = graph.t(node.inputs[1])
    it = graph.add_const(f"{w.name}_cb{bits}", index)
    tt = graph.add_const(f"{w.name}_table", table)
    if node.op == "conv2d":
        node.attrs = Conv2dCodebookAttrs(a.stride, a.padding, a.dilation, a.groups, a.input_offset, a.output_offset,
                                         a.multiplier, a.shift, (w.shape[1], w.shape[2]), bits, a.act_min, a.act_max)
        node.op = "conv2d_codebook"
    else:
        node.attrs = FullyConnectedCodebookAttrs(a.input_offset, a.output_offset, a.multiplier, a.shift, bits,
                                                 a.act_min, a.act_max)
        node.op = "fully_connected_codebook"
    node.inputs = [node.inputs[0], it.name, tt.name, node.inputs[2]]


def codebook_weights(graph: Graph, source: str) -> Graph:
    """Lowered graph: codebook storage where it saves flash (see the module doc)."""
    found = [c for c in (_candidate(graph, n) for n in graph.nodes) if c is not None]
    saving = [c for c in found if c[4] > 0]
    if sum(c[4] for c in saving) <= KERNEL_CODE_BYTES:
        for node, *_ in found:
            graph.notes.setdefault(node.name, f"kept dense: a codebook would save {sum(c[4] for c in saving)} B in "
                                              f"all, less than the codebook kernels' code")
        return graph
    for node, index, table, bits, saved in found:
        if saved <= 0:
            graph.notes.setdefault(node.name, "kept dense: its codebook (indices + table) is not smaller")
            continue
        count = graph.t(node.inputs[1]).size
        per = "one table per layer" if table.shape[0] == 1 else "one table per output channel"
        w2d = graph.t(node.inputs[1]).data.reshape(table.shape[0], -1)
        distinct = max(len(np.unique(r)) for r in w2d)
        _rewrite(graph, node, index, table, bits)
        note = (f"codebook: {bits}-bit indices, {per} ({distinct} distinct values), "
                f"{8.0 * (index.size + table.size) / count:.2f} bits/weight (dense 8), {saved} B saved")
        graph.notes[node.name] = (graph.notes[node.name] + "; " + note) if node.name in graph.notes else note
    graph.prune()
    return graph

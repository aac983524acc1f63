"""conv2d/linear/*_sign with float weights +-a_c  ==>  the same node with 1-bit integer weights.

A float (not fake-quantized) weight constant reaches the graph when the model binarizes weights
itself: sign(W) * alpha with alpha per output channel (tinygen.nn.BinaryConv2d, XNOR-Net style)
or sign(W) (scale=False); the importer has already evaluated that with torch. Every output
channel c must hold only the values +a_c and -a_c, a_c > 0. The weights then become the integers
+-1 with QuantParams(scale=(a_c), zero point 0, range [-1, 1], axis 0, bits=1): the same form as
fake-quantized weights, so BatchNorm folding and lowering treat both alike.

Other float weights are left alone; lowering refuses them with the layer's name and, from
`binary_scales`, the first channel that is not binary: tinygen never approximates weights.
"""

from __future__ import annotations

import numpy as np

from tinygen.ir.graph import Graph, QuantParams

WEIGHTED = {"conv2d", "linear", "conv2d_sign", "linear_sign"}


def binary_scales(w: np.ndarray) -> tuple[np.ndarray | None, str]:
    """(a per output channel, "") when every channel c holds only +-a_c (a_c > 0), else (None, why)."""
    rows = np.asarray(w, np.float32).reshape(w.shape[0], -1)
    a = np.abs(rows).max(axis=1)
    for c in range(rows.shape[0]):
        mags = np.unique(np.abs(rows[c]))
        if a[c] == 0 or len(mags) != 1 or not np.isfinite(a[c]):
            shown = ", ".join(f"{v:.6g}" for v in np.unique(rows[c])[:4])
            more = ", ..." if len(np.unique(rows[c])) > 4 else ""
            return None, f"output channel {c} holds {{{shown}{more}}}, not exactly {{+a, -a}} with a > 0"
    return a, ""


def binary_weights(graph: Graph, source: str = "model") -> Graph:
    for node in [n for n in graph.nodes if n.op in WEIGHTED]:
        w = graph.t(node.inputs[1])
        if not w.is_const or w.quant is not None:
            continue
        a, _ = binary_scales(w.data)
        if a is None:
            continue
        ints = np.where(w.data < 0, -1, 1).astype(np.int8)
        quant = QuantParams(tuple(float(v) for v in a), (0,) * len(a), -1, 1, 0, bits=1)
        node.inputs[1] = graph.add_const(w.name + "_b1", ints, quant).name
    graph.prune()
    return graph

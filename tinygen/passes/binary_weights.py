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


def zero_kernels(w: np.ndarray) -> tuple[np.ndarray | None, str]:
    """A conv weight [O, I, kh, kw]: (kept [O, I] bool, "") when its zeros are whole k x k kernels
    (a kernel mask, tinygen.nn.PrunedBinaryConv2d), else (None, why)."""
    k = np.asarray(w).reshape(w.shape[0], w.shape[1], -1) != 0
    kept, any_kept = k.all(axis=2), k.any(axis=2)
    bad = np.argwhere(any_kept & ~kept)
    if len(bad):
        o, i = (int(v) for v in bad[0])
        return None, (f"kernel (output {o}, input {i}) has {int((~k[o, i]).sum())} of {k.shape[2]} weights zero: "
                      "a kernel mask must remove whole k x k kernels")
    return kept, ""


def binary_scales(w: np.ndarray) -> tuple[np.ndarray | None, str]:
    """(a per output channel, "") when every channel c holds only +-a_c (a_c > 0), else (None, why).
    A conv weight may also hold whole zero kernels (pruned kernels; see `zero_kernels`); a channel
    whose kernels are all pruned gets a_c = 1."""
    rows = np.asarray(w, np.float32).reshape(w.shape[0], -1)
    a = np.abs(rows).max(axis=1)
    if np.ndim(w) == 4 and (rows == 0).any():
        kept, why = zero_kernels(w)
        if kept is None:
            return None, why
        a = np.where(a == 0, np.float32(1.0), a)
        rows = np.where(rows == 0, np.copysign(a[:, None], rows), rows)  # pruned kernels: only the mask counts
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
        ints = np.sign(w.data).astype(np.int8)  # pruned kernels stay 0 (lowering reads them as the mask)
        quant = QuantParams(tuple(float(v) for v in a), (0,) * len(a), -1, 1, 0, bits=1)
        node.inputs[1] = graph.add_const(w.name + "_b1", ints, quant).name
    graph.prune()
    return graph

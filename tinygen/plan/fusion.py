"""Fused row bands: a pointwise conv whose output only feeds the next conv is never materialised.

For m = 1x1 conv (stride 1, no padding: each output row needs only the same input row) followed
by n = a conv reading m's output E and nothing else reading E, n runs band by band
(runtime_c/include/tg_inplace_rows.h, tg_conv2d_fused_rows): for each band of n's output rows it
computes the rows of E the band reads (keeping those the previous band already made) into a band
buffer of (BAND_ROWS - 1) * stride + reach + 1 rows, with m's own kernel, then runs n's kernel on
it. Both kernels must be callable on row bands (`Kernel.inplace_lag` declared) and n's must take
scratch (the wrapper's signature); m's scratch, if it takes any, stays live until n. m's input then stays live until n, so a pair is fused only
when that costs less than E:  input bytes + band bytes < E bytes.

Applied to the node order the schedule chose (the DP counts whole tensors), when
`PlanOptions.fusion` is on.
"""

from __future__ import annotations

from tinygen.ir.graph import Graph, Node
from tinygen.ops.base import get
from tinygen.ops.inplace_rows import BAND_ROWS


def _row_kernel(node: Node) -> bool:
    """A conv kernel (tg_conv2d_params, whose fields the wrapper rewrites per band) callable on bands."""
    if not node.kernel:
        return False
    kern = get(node.op).kernel(node)
    return kern.params_type == "tg_conv2d_params" and kern.inplace_lag is not None


def _pointwise(node: Node, graph: Graph) -> bool:
    w = graph.t(node.inputs[1])
    a = node.attrs
    return w.shape[1:3] == (1, 1) and tuple(a.stride) == (1, 1) and not any(a.padding)


def band_bytes(n: Node, graph: Graph) -> int:
    """Bytes of the band buffer holding the rows of n's input one band of n reads."""
    e, w = graph.t(n.inputs[0]), graph.t(n.inputs[1])
    reach = (w.shape[1] - 1) * n.attrs.dilation[0]
    rows = min((BAND_ROWS - 1) * n.attrs.stride[0] + reach + 1, e.shape[1])
    return rows * e.shape[2] * e.shape[3] * e.dtype.itemsize


def fused_pairs(graph: Graph, ext: set[str]) -> dict[int, tuple[int, int]]:
    """{index of m: (index of n, band bytes)} for the pairs fused in this order (consecutive nodes)."""
    readers: dict[str, list[int]] = {}
    for i, node in enumerate(graph.nodes):
        for t in dict.fromkeys(node.inputs):
            readers.setdefault(t, []).append(i)
    candidates = []  # (bytes saved, bytes of E, i, band)
    for i in range(len(graph.nodes) - 1):
        m, n = graph.nodes[i], graph.nodes[i + 1]
        if not (_row_kernel(m) and _row_kernel(n) and _pointwise(m, graph)):
            continue
        e = m.outputs[0]
        if e in ext or readers.get(e) != [i + 1] or n.inputs[0] != e or n.inputs.count(e) != 1:
            continue
        if not get(n.op).scratch_bytes(n, graph):
            continue  # the wrapper calls n as k(p, in, out, scratch)
        x, et = graph.t(m.inputs[0]), graph.t(e)
        if x.shape[0] != 1 or et.shape[0] != 1:
            continue
        x_cost = 0 if m.inputs[0] in ext else x.nbytes
        band = band_bytes(n, graph)
        if x_cost + band < et.nbytes:
            candidates.append((et.nbytes - x_cost - band, et.nbytes, i, band))
    # a node is in one pair at most: the pairs saving most first, then the one removing the larger
    # tensor (peaks sit at wide tensors: x -1x1-> a -1x1-> E -dw-> fuses E, not a)
    out: dict[int, tuple[int, int]] = {}
    used: set[int] = set()
    for _, _, i, band in sorted(candidates, key=lambda c: (-c[0], -c[1], c[2])):
        if i not in used and i + 1 not in used:
            out[i] = (i + 1, band)
            used |= {i, i + 1}
    return dict(sorted(out.items()))

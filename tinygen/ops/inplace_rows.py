"""In place on row bands: a stride-1 "same" convolution whose output overwrites its input.

An output row r reads input rows [r - pad_t, r - pad_t + reach] (reach = (k_h - 1) * dil_h), and
writing it overwrites input row r. runtime_c/include/tg_inplace_rows.h runs the layer's own kernel
band by band (BAND_ROWS output rows per call, its params' in_h / out_h / pad_t describing the
band) on a lag buffer holding the band's input rows: those above the band, already overwritten in
the tensor, are kept from the previous band; the rest are copied in before the band runs. So the
layer needs the lag buffer, (BAND_ROWS + reach) input rows, instead of a whole second tensor.
Any channel grouping works (depthwise, dense, 1x1): a band reads whole input rows.

A kernel offers this by declaring `inplace_lag=lag_bytes` (its params describe any row band and
it reads rows at or beyond in_h as padding); the op's `inplace_input` must then name the input.
"""

from __future__ import annotations

from tinygen.ir.graph import Graph, Node

BAND_ROWS = 2  # output rows per kernel call: the C header's TG_INPLACE_BAND_ROWS
HEADER = "tg_inplace_rows.h"


def wrapper(has_scratch: bool) -> str:
    """The C function running a kernel of `void k(p, in, out[, scratch])` in place (tg_inplace_rows.h)."""
    return "tg_conv2d_rows_inplace" if has_scratch else "tg_conv2d_rows_inplace_noscratch"


def same_size_conv(node: Node, graph: Graph) -> bool:
    """One image, stride 1, output the input's shape and dtype (so rows are the same bytes), and no
    window reaching further above a row than below it (always so for "same" padding)."""
    x, w = graph.t(node.inputs[0]), graph.t(node.inputs[1])
    o = graph.t(node.outputs[0])
    a = node.attrs
    reach = (w.shape[1] - 1) * a.dilation[0]
    return (x.shape[0] == 1 and tuple(a.stride) == (1, 1) and x.shape == o.shape and x.dtype == o.dtype
            and 0 <= a.padding[0] <= reach)


def lag_bytes(node: Node, graph: Graph) -> int:
    """Bytes of the lag buffer: BAND_ROWS + reach input rows (0 when the layer cannot run in place)."""
    if not same_size_conv(node, graph):
        return 0
    x, w = graph.t(node.inputs[0]), graph.t(node.inputs[1])
    reach = (w.shape[1] - 1) * node.attrs.dilation[0]
    rows = min(BAND_ROWS + reach, x.shape[1])
    return rows * x.shape[2] * x.shape[3] * x.dtype.itemsize

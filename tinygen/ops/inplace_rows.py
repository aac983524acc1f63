"""In place on row bands: a stride-1 "same" convolution whose output overwrites its input.

An output row r reads input rows [r - pad_t, r - pad_t + reach] (reach = (k_h - 1) * dil_h), and
writing it overwrites input row r. runtime_c/include/tg_inplace_rows.h runs the layer's own kernel
band by band (BAND_ROWS output rows per call, its params' in_h / out_h / pad_t describing the
band) on a lag buffer holding the band's input rows: those above the band, already overwritten in
the tensor, are kept from the previous band; the rest are copied in before the band runs. So the
layer needs the lag buffer, (BAND_ROWS + reach) input rows, instead of a whole second tensor.
Any channel grouping works (depthwise, dense, 1x1): a band reads whole input rows.

A pointwise conv (1x1, stride 1, no padding) runs on pixel bands instead: output pixel q reads only
input pixel q, so the tensor is a row of H*W pixels, BAND_PIXELS per call (the kernel sees a 1 x n
image), and the lag holds just the band. Row bands would hand the kernel W-pixel rows, which on a
narrow map (DS-CNN's 5) leave the pixel tiles of the GEMM kernels a slow tail in every call.

A kernel offers this by declaring `inplace_lag=lag_bytes` (its params describe any row band and
it reads rows at or beyond in_h as padding); the op's `inplace_input` must then name the input.
"""

from __future__ import annotations

from tinygen.ir.graph import Graph, Node

BAND_ROWS = 2  # output rows per kernel call: the C header's TG_INPLACE_BAND_ROWS
BAND_PIXELS = 8  # pointwise: pixels per call, a multiple of every GEMM pixel tile (TG_INPLACE_BAND_PIXELS)
HEADER = "tg_inplace_rows.h"


def pointwise(node: Node, graph: Graph) -> bool:
    """1x1, stride 1, unpadded: each output pixel reads the same input pixel only."""
    w, a = graph.t(node.inputs[1]), node.attrs
    return w.shape[1:3] == (1, 1) and tuple(a.stride) == (1, 1) and not any(a.padding)


def wrapper(node: Node, graph: Graph, has_scratch: bool) -> str:
    """The C function running a kernel of `void k(p, in, out[, scratch])` in place (tg_inplace_rows.h)."""
    kind = "pixels" if pointwise(node, graph) else "rows"
    return f"tg_conv2d_{kind}_inplace" + ("" if has_scratch else "_noscratch")


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
    """Bytes of the lag buffer: BAND_ROWS + reach input rows, or BAND_PIXELS pixels for a pointwise
    conv (0 when the layer cannot run in place)."""
    if not same_size_conv(node, graph):
        return 0
    x, w = graph.t(node.inputs[0]), graph.t(node.inputs[1])
    if pointwise(node, graph):
        return min(BAND_PIXELS, x.shape[1] * x.shape[2]) * x.shape[3] * x.dtype.itemsize
    reach = (w.shape[1] - 1) * node.attrs.dilation[0]
    rows = min(BAND_ROWS + reach, x.shape[1])
    return rows * x.shape[2] * x.shape[3] * x.dtype.itemsize

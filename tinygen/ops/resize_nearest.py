"""resize_nearest: int8 nearest-neighbour resize of [N, H, W, C] to [N, OH, OW, C] by index tables.

    out[n, y, x, c] = in[n, y_index[y], x_index[x], c]

The tables are computed offline (for TFLite: TFLite Micro's float32 index rule, in
tinygen/reference/tflm.py), so the kernel only gathers. The output keeps the input's quantization.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinygen.ops.base import KernelCall, OpDef, c_values, reference_kernel, register


@dataclass(frozen=True)
class ResizeNearestAttrs:
    y_index: tuple[int, ...]  # input row of each output row
    x_index: tuple[int, ...]  # input column of each output column


def check_resize(node, graph, rows: int, cols: int) -> None:
    """The shape rules resize_nearest and resize_bilinear share."""
    x, out = graph.t(node.inputs[0]), graph.t(node.outputs[0])
    if len(node.inputs) != 1 or len(x.shape) != 4 or len(out.shape) != 4:
        raise ValueError("resize takes one [N, H, W, C] input")
    if out.shape != (x.shape[0], rows, cols, x.shape[3]):
        raise ValueError(f"output {list(out.shape)} should be {[x.shape[0], rows, cols, x.shape[3]]}")
    if x.dtype.value != "int8" or out.dtype.value != "int8":
        raise ValueError("resize is int8 only")
    if x.quant is not None and out.quant is not None and not x.quant.same_grid(out.quant):
        raise ValueError("output must keep the input's quantization")


@register
class ResizeNearest(OpDef):
    name = "resize_nearest"
    attrs_type = ResizeNearestAttrs
    kernels = (reference_kernel("tg_resize_nearest_s8_ref", "tg_resize.h", "tg_resize_nearest_params"),)

    def check(self, node, graph):
        a: ResizeNearestAttrs = node.attrs
        check_resize(node, graph, len(a.y_index), len(a.x_index))
        h, w = graph.t(node.inputs[0]).shape[1:3]
        if not (all(0 <= i < h for i in a.y_index) and all(0 <= i < w for i in a.x_index)):
            raise ValueError("an index table points outside the input")

    def reference(self, node, graph, inputs):
        a: ResizeNearestAttrs = node.attrs
        (x,) = inputs
        return [np.ascontiguousarray(x[:, list(a.y_index)][:, :, list(a.x_index)])]

    def emit(self, node, graph):
        a: ResizeNearestAttrs = node.attrs
        x, out = graph.t(node.inputs[0]), graph.t(node.outputs[0])
        fields = [("batches", x.shape[0]), ("in_h", x.shape[1]), ("in_w", x.shape[2]), ("channels", x.shape[3]),
                  ("out_h", out.shape[1]), ("out_w", out.shape[2]),
                  ("y_index", c_values(a.y_index, "int16_t", "input row of each output row")),
                  ("x_index", c_values(a.x_index, "int16_t", "input column of each output column"))]
        return KernelCall(fields, [node.inputs[0]], list(node.outputs),
                          comment=f"resize_nearest {list(x.shape)} -> {list(out.shape)}".replace(", ", ","))

"""max_pool2d_float: float32 max pooling over the in-image taps, NHWC (exact: max rounds nothing).

    out = clamp(max over in-image taps, act_lo, act_hi)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinygen.ir.graph import DType
from tinygen.ops.base import KernelCall, reference_kernel, OpDef, register
from tinygen.ops.common import pad_nhwc, windows
from tinygen.ops.float_util import bits, clamp
from tinygen.ops.max_pool2d import pool_out_hw


@dataclass(frozen=True)
class MaxPool2dFloatAttrs:
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int, int, int]  # top, bottom, left, right; every window keeps an in-image tap
    act_lo: float = float("-inf")
    act_hi: float = float("inf")


@register
class MaxPool2dFloat(OpDef):
    name = "max_pool2d_float"
    attrs_type = MaxPool2dFloatAttrs
    kernels = (reference_kernel("tg_max_pool2d_f32_ref", "tg_float.h", "tg_max_pool2d_f32_params"),)

    def check(self, node, graph):
        x, o = graph.t(node.inputs[0]), graph.t(node.outputs[0])
        a: MaxPool2dFloatAttrs = node.attrs
        if x.dtype != DType.FLOAT32 or o.dtype != DType.FLOAT32 or len(x.shape) != 4:
            raise ValueError("max_pool2d_float takes and writes a float32 NHWC tensor")
        if max(a.padding[:2]) >= a.kernel[0] or max(a.padding[2:]) >= a.kernel[1]:
            raise ValueError("padding must be smaller than the kernel")
        oh, ow = pool_out_hw(x.shape, a.kernel, a.stride, a.padding)
        if o.shape != (x.shape[0], oh, ow, x.shape[3]):
            raise ValueError(f"output shape should be {(x.shape[0], oh, ow, x.shape[3])}")

    def reference(self, node, graph, inputs):
        x = np.asarray(inputs[0], np.float32)
        a: MaxPool2dFloatAttrs = node.attrs
        oh, ow = pool_out_hw(x.shape, a.kernel, a.stride, a.padding)
        win = windows(pad_nhwc(x, a.padding, -np.inf), a.kernel[0], a.kernel[1], a.stride, (1, 1), oh, ow)
        return [clamp(win.max(axis=(3, 4)).astype(np.float32), a.act_lo, a.act_hi)]

    def emit(self, node, graph):
        x, o = graph.t(node.inputs[0]), graph.t(node.outputs[0])
        a: MaxPool2dFloatAttrs = node.attrs
        fields = [("in_h", x.shape[1]), ("in_w", x.shape[2]), ("channels", x.shape[3]), ("out_h", o.shape[1]),
                  ("out_w", o.shape[2]), ("k_h", a.kernel[0]), ("k_w", a.kernel[1]), ("stride_h", a.stride[0]),
                  ("stride_w", a.stride[1]), ("pad_t", a.padding[0]), ("pad_l", a.padding[2]),
                  ("act_lo", bits(a.act_lo)), ("act_hi", bits(a.act_hi))]
        return KernelCall(fields,
                          [node.inputs[0]], list(node.outputs),
                          comment=f"max_pool2d_float {a.kernel[0]}x{a.kernel[1]}/{a.stride[0]}x{a.stride[1]}")

"""bmax_pool2d: max pooling on bit-packed binary tensors.

The max of +-1 values is -1 only when every value is -1, so with bit 1 meaning -1

    out[n,y,x,:] = AND over in-image taps (i,j) of in[n, y*sh - pt + i, x*sw - pl + j, :]

word by word (out-of-image taps are ignored, as PyTorch's -inf padding). Padding bits stay 0.
Input and output uint32 [N,H,W,ceil(C/32)]; every padding side must be smaller than the kernel so
that each window holds an in-image tap. No scratch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinygen.ir.graph import DType
from tinygen.ops.base import Kernel, KernelCall, OpDef, reference_kernel, register
from tinygen.ops.common import out_hw, pad_nhwc, windows

_ALL_ONES = 0xFFFFFFFF  # identity of AND: what out-of-image taps contribute


@dataclass(frozen=True)
class BMaxPool2dAttrs:
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int, int, int]  # top, bottom, left, right


@register
class BMaxPool2d(OpDef):
    name = "bmax_pool2d"
    attrs_type = BMaxPool2dAttrs
    kernels = (Kernel("tg_bmax_pool2d_b1_rows", "tg_bmax_pool2d.h", "tg_bmax_pool2d_params"),
               reference_kernel("tg_bmax_pool2d_b1_ref", "tg_bmax_pool2d.h", "tg_bmax_pool2d_params"))

    def check(self, node, graph):
        x, o = graph.t(node.inputs[0]), graph.t(node.outputs[0])
        a: BMaxPool2dAttrs = node.attrs
        if x.dtype != DType.UINT32 or o.dtype != DType.UINT32 or len(x.shape) != 4:
            raise ValueError("bmax_pool2d takes and writes packed uint32 NHWC tensors")
        kh, kw = a.kernel
        t, b, l, r = a.padding
        if min(a.stride) < 1 or min(a.kernel) < 1 or min(a.padding) < 0:
            raise ValueError("kernel and stride must be >= 1 and padding >= 0")
        if max(t, b) >= kh or max(l, r) >= kw:
            raise ValueError("padding must be smaller than the kernel (a window would see no input)")
        oh, ow = out_hw(x.shape, a)
        if o.shape != (x.shape[0], oh, ow, x.shape[3]):
            raise ValueError(f"output shape should be {(x.shape[0], oh, ow, x.shape[3])}")

    def reference(self, node, graph, inputs):
        (x,) = inputs
        a: BMaxPool2dAttrs = node.attrs
        oh, ow = out_hw(x.shape, a)
        padded = pad_nhwc(np.asarray(x, np.uint32), a.padding, _ALL_ONES)
        win = windows(padded, a.kernel[0], a.kernel[1], a.stride, (1, 1), oh, ow)  # [N,oh,ow,kh,kw,W]
        return [np.bitwise_and.reduce(win.reshape(*win.shape[:3], -1, win.shape[5]), axis=3).astype(np.uint32)]

    def emit(self, node, graph):
        x = graph.t(node.inputs[0])
        a: BMaxPool2dAttrs = node.attrs
        oh, ow = out_hw(x.shape, a)
        fields = [
            ("in_h", x.shape[1]), ("in_w", x.shape[2]), ("words", x.shape[3]),
            ("out_h", oh), ("out_w", ow), ("k_h", a.kernel[0]), ("k_w", a.kernel[1]),
            ("stride_h", a.stride[0]), ("stride_w", a.stride[1]), ("pad_t", a.padding[0]), ("pad_l", a.padding[2]),
        ]
        return KernelCall(fields,
                          [node.inputs[0]], list(node.outputs),
                          comment=f"bmax_pool2d {a.kernel[0]}x{a.kernel[1]}/{a.stride[0]} on {x.shape[3]} words")

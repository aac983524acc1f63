"""max_pool2d: int8 max pooling, NHWC, same quantization in and out.

    out[n,y,x,c] = clamp(max_{i,j} in[n, y*sh - pt + i*dh, x*sw - pl + j*dw, c], act_min, act_max)

over the taps that fall inside the image (PyTorch semantics: padding never wins). A window with
no in-image tap yields clamp(-128). Output size: ops.common.conv_out_size. ceil_mode is resolved
by the lowering into extra bottom/right padding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinygen.ops.base import Kernel, KernelCall, OpDef, reference_kernel, register
from tinygen.ops.common import pad_nhwc, pool_out_hw, windows


@dataclass(frozen=True)
class MaxPool2dAttrs:
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int, int, int]  # top, bottom, left, right
    dilation: tuple[int, int] = (1, 1)
    act_min: int = -128
    act_max: int = 127


def in_image_taps(size: int, k: int, stride: int, pad_lo: int, dilation: int, out: int) -> np.ndarray:
    """Number of window taps inside [0, size) for each of the `out` positions along one axis."""
    pos = np.arange(out)[:, None] * stride - pad_lo + np.arange(k)[None, :] * dilation
    return ((pos >= 0) & (pos < size)).sum(axis=1)


def check_pool_geometry(x, o, kernel, stride, padding, dilation, act_min, act_max) -> tuple[int, int]:
    """Shared by the pools: validate window attributes and shapes, return (out_h, out_w)."""
    if len(x.shape) != 4 or x.dtype.value != "int8" or o.dtype.value != "int8":
        raise ValueError("pooling takes and returns an int8 NHWC tensor")
    if min(*kernel, *stride, *dilation) < 1 or min(padding) < 0:
        raise ValueError(f"bad window kernel={kernel} stride={stride} padding={padding} dilation={dilation}")
    if not -128 <= act_min <= act_max <= 127:
        raise ValueError(f"activation range [{act_min}, {act_max}] is not inside int8")
    oh, ow = pool_out_hw(x.shape, kernel, stride, padding, dilation)
    if oh < 1 or ow < 1 or o.shape != (x.shape[0], oh, ow, x.shape[3]):
        raise ValueError(f"output shape should be {(x.shape[0], oh, ow, x.shape[3])}")
    return oh, ow


def pool_fields(x, o, kernel, stride, padding, dilation, act_min, act_max) -> list:
    return [
        ("in_h", x.shape[1]), ("in_w", x.shape[2]), ("channels", x.shape[3]),
        ("out_h", o.shape[1]), ("out_w", o.shape[2]), ("k_h", kernel[0]), ("k_w", kernel[1]),
        ("stride_h", stride[0]), ("stride_w", stride[1]), ("dil_h", dilation[0]), ("dil_w", dilation[1]),
        ("pad_t", padding[0]), ("pad_l", padding[2]), ("act_min", act_min), ("act_max", act_max),
    ]




@register
class MaxPool2d(OpDef):
    name = "max_pool2d"
    attrs_type = MaxPool2dAttrs
    kernels = (Kernel("tg_max_pool2d_s8_fast", "tg_pool.h", "tg_pool_params", needs=frozenset({"dsp"})),
               reference_kernel("tg_max_pool2d_s8_ref", "tg_pool.h", "tg_pool_params"))

    def check(self, node, graph):
        x, o = graph.t(node.inputs[0]), graph.t(node.outputs[0])
        a: MaxPool2dAttrs = node.attrs
        check_pool_geometry(x, o, a.kernel, a.stride, a.padding, a.dilation, a.act_min, a.act_max)
        if x.quant and o.quant and not x.quant.same_grid(o.quant):
            raise ValueError("max_pool2d needs the same quantization on input and output")

    def reference(self, node, graph, inputs):
        (x,) = inputs
        a: MaxPool2dAttrs = node.attrs
        oh, ow = pool_out_hw(x.shape, a.kernel, a.stride, a.padding, a.dilation)
        xp = pad_nhwc(x, a.padding, -128)  # -128 never exceeds an in-image tap
        out = windows(xp, a.kernel[0], a.kernel[1], a.stride, a.dilation, oh, ow).max(axis=(3, 4))
        return [np.clip(out, a.act_min, a.act_max).astype(np.int8)]

    def macs(self, node, graph):  # one compare per tap
        a: MaxPool2dAttrs = node.attrs
        return graph.t(node.outputs[0]).size * a.kernel[0] * a.kernel[1]

    def emit(self, node, graph):
        x, o = graph.t(node.inputs[0]), graph.t(node.outputs[0])
        a: MaxPool2dAttrs = node.attrs
        unused_avg = [("count_include_pad", 0), ("input_offset", 0), ("output_offset", 0), ("divide", 0),
                      ("multiplier", None), ("shift", None), ("left_shift", 0)]
        return KernelCall(pool_fields(x, o, a.kernel, a.stride, a.padding, a.dilation, a.act_min, a.act_max)
                          + unused_avg, [node.inputs[0]], list(node.outputs),
            comment=f"max_pool {a.kernel[0]}x{a.kernel[1]}/{a.stride[0]}x{a.stride[1]} pad {list(a.padding)}"
            + (f" dilation {list(a.dilation)}" if a.dilation != (1, 1) else ""),
        )

"""conv2d_float: float32 convolution (the float first layer of Larq/LCE models), NHWC.

    acc = 0; for ky, kx, c over the in-image taps: acc = acc + in * w[o, ky, kx, c]   (float32)
    out = clamp(acc + bias[o], act_lo, act_hi)

Weight OHWI [Cout, kh, kw, Cin/groups] float32, bias [Cout] float32 (constants); groups = Cin with
Cout = Cin * multiplier is a depthwise convolution. Out-of-image taps are skipped (zero padding).
The summation order is tinygen's; TFLite's float kernels sum in another order (and may fuse
multiply-adds), so the two agree to float32 rounding, not bit for bit. See tinygen/ops/float_util.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinygen.ir.graph import DType
from tinygen.ops.base import KernelCall, OpDef, reference_kernel, register
from tinygen.ops.common import out_hw, pad_nhwc, windows
from tinygen.ops.float_util import bits, clamp, f32_bits


@dataclass(frozen=True)
class Conv2dFloatAttrs:
    stride: tuple[int, int]
    padding: tuple[int, int, int, int]  # top, bottom, left, right
    dilation: tuple[int, int]
    groups: int
    act_lo: float = float("-inf")
    act_hi: float = float("inf")


@register
class Conv2dFloat(OpDef):
    name = "conv2d_float"
    attrs_type = Conv2dFloatAttrs
    kernels = (reference_kernel("tg_conv2d_f32_ref", "tg_float.h", "tg_conv2d_f32_params"),)

    def check(self, node, graph):
        x, w, b = (graph.t(i) for i in node.inputs)
        a: Conv2dFloatAttrs = node.attrs
        if any(t.dtype != DType.FLOAT32 for t in (x, w, b)) or not (w.is_const and b.is_const):
            raise ValueError("conv2d_float takes a float32 input and constant float32 weight and bias")
        cout, _, _, cg = w.shape
        if x.shape[3] != cg * a.groups or cout % a.groups or b.shape != (cout,):
            raise ValueError(f"channels {x.shape[3]} -> {cout} do not fit groups={a.groups}")
        oh, ow = out_hw(x.shape, w.shape, a)
        if graph.t(node.outputs[0]).shape != (x.shape[0], oh, ow, cout):
            raise ValueError(f"output shape should be {(x.shape[0], oh, ow, cout)}")

    def reference(self, node, graph, inputs):
        x, w, b = (np.asarray(v, np.float32) for v in inputs)
        a: Conv2dFloatAttrs = node.attrs
        cout, kh, kw, cg = w.shape
        oh, ow = out_hw(x.shape, w.shape, a)
        n = x.shape[0]
        # taps outside the image are skipped: pad with NaN-free zeros and mask them out
        win = windows(pad_nhwc(x, a.padding, 0), kh, kw, a.stride, a.dilation, oh, ow)
        inside = windows(pad_nhwc(np.ones((1, x.shape[1], x.shape[2], 1), bool), a.padding, False), kh, kw,
                         a.stride, a.dilation, oh, ow)[..., 0]  # [1,oh,ow,kh,kw]
        opg = cout // a.groups
        chan = (np.arange(cout) // opg)[:, None] * cg + np.arange(cg)[None, :]  # input channel of (o, c)
        acc = np.zeros((n, oh, ow, cout), np.float32)
        for ky in range(kh):
            for kx in range(kw):
                m = inside[:, :, :, ky, kx][..., None]
                for c in range(cg):
                    prod = (win[..., ky, kx, chan[:, c]] * w[:, ky, kx, c]).astype(np.float32)
                    acc = np.where(m, (acc + prod).astype(np.float32), acc)
        return [clamp((acc + b).astype(np.float32), a.act_lo, a.act_hi)]

    def macs(self, node, graph):
        w = graph.t(node.inputs[1])
        return graph.t(node.outputs[0]).size * w.shape[1] * w.shape[2] * w.shape[3]

    def emit(self, node, graph):
        x, w, b = (graph.t(i) for i in node.inputs)
        o = graph.t(node.outputs[0])
        a: Conv2dFloatAttrs = node.attrs
        fields = [("in_h", x.shape[1]), ("in_w", x.shape[2]), ("in_c", x.shape[3]),
                  ("out_h", o.shape[1]), ("out_w", o.shape[2]), ("out_c", o.shape[3]),
                  ("k_h", w.shape[1]), ("k_w", w.shape[2]), ("stride_h", a.stride[0]), ("stride_w", a.stride[1]),
                  ("dil_h", a.dilation[0]), ("dil_w", a.dilation[1]), ("pad_t", a.padding[0]),
                  ("pad_l", a.padding[2]), ("groups", a.groups),
                  ("act_lo", bits(a.act_lo)), ("act_hi", bits(a.act_hi)),
                  ("weight", f32_bits(w.data, f"OHWI {list(w.shape)}")), ("bias", f32_bits(b.data))]
        return KernelCall(fields, [node.inputs[0]],
                          list(node.outputs),
                          comment=f"conv2d_float {w.shape[1]}x{w.shape[2]}/{a.stride[0]} {x.shape[3]}->{o.shape[3]}")

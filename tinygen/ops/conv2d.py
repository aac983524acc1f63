"""conv2d: int8 convolution with per-output-channel requantization (TFLM int8 scheme).

    acc[n,y,x,o] = bias[o] + sum_{i,j,c} w[o,i,j,c] * (in[n, y*sh - pt + i*dh, x*sw - pl + j*dw, g*cg + c]
                                                         + input_offset)
    out = clamp(requantize(acc, multiplier[o], shift[o]) + output_offset, act_min, act_max)

Input NHWC int8, weight OHWI int8 ([Cout, kh, kw, Cin/groups]), bias int32 [Cout]. Out-of-image
taps are skipped, which equals padding with the input zero point. `groups == Cin` with
`Cout = Cin * multiplier` is a depthwise convolution with channel multiplier.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinygen.ops.base import KernelCall, OpDef, reference_kernel, c_values, register
from tinygen.ops.common import out_hw, pad_nhwc, requantize_to_int8, windows


@dataclass(frozen=True)
class Conv2dAttrs:
    stride: tuple[int, int]
    padding: tuple[int, int, int, int]  # top, bottom, left, right
    dilation: tuple[int, int]
    groups: int
    input_offset: int  # -input zero point
    output_offset: int  # output zero point
    multiplier: tuple[int, ...]  # per output channel
    shift: tuple[int, ...]
    act_min: int = -128
    act_max: int = 127


@register
class Conv2d(OpDef):
    name = "conv2d"
    attrs_type = Conv2dAttrs
    kernels = (reference_kernel("tg_conv2d_s8_ref", "tg_conv2d.h", "tg_conv2d_params"),)

    def check(self, node, graph):
        x, w, b = (graph.t(i) for i in node.inputs)
        a: Conv2dAttrs = node.attrs
        cout, _, _, cg = w.shape
        if x.shape[3] != cg * a.groups or cout % a.groups:
            raise ValueError(f"channels {x.shape[3]} -> {cout} do not fit groups={a.groups}")
        if b.shape != (cout,) or len(a.multiplier) != cout or len(a.shift) != cout:
            raise ValueError("bias/multiplier/shift must have one entry per output channel")
        oh, ow = out_hw(x.shape, w.shape, a)
        if graph.t(node.outputs[0]).shape != (x.shape[0], oh, ow, cout):
            raise ValueError(f"output shape should be {(x.shape[0], oh, ow, cout)}")

    def reference(self, node, graph, inputs):
        x, w, b = inputs
        a: Conv2dAttrs = node.attrs
        cout, kh, kw, cg = w.shape
        oh, ow = out_hw(x.shape, w.shape, a)
        xc = pad_nhwc(x.astype(np.int32) + a.input_offset, a.padding, 0)
        win = windows(xc, kh, kw, a.stride, a.dilation, oh, ow)  # [N,oh,ow,kh,kw,Cin]
        n = x.shape[0]
        opg = cout // a.groups
        acc = np.empty((n, oh, ow, cout), np.int64)
        for g in range(a.groups):
            patch = win[..., g * cg:(g + 1) * cg].reshape(n * oh * ow, kh * kw * cg)
            wg = w[g * opg:(g + 1) * opg].reshape(opg, kh * kw * cg)
            # float64 products are exact here: |sum| < 2^53 for any int8 layer that fits a MCU.
            acc[..., g * opg:(g + 1) * opg] = (patch.astype(np.float64) @ wg.T.astype(np.float64)).reshape(n, oh, ow, opg)
        acc += b.astype(np.int64)
        return [requantize_to_int8(acc, a.multiplier, a.shift, a.output_offset, a.act_min, a.act_max)]

    def macs(self, node, graph):
        w = graph.t(node.inputs[1])
        o = graph.t(node.outputs[0])
        return int(np.prod(o.shape)) * w.shape[1] * w.shape[2] * w.shape[3]

    def emit(self, node, graph):
        x, w, b = (graph.t(i) for i in node.inputs)
        o = graph.t(node.outputs[0])
        a: Conv2dAttrs = node.attrs
        fields = [
            ("in_h", x.shape[1]), ("in_w", x.shape[2]), ("in_c", x.shape[3]),
            ("out_h", o.shape[1]), ("out_w", o.shape[2]), ("out_c", o.shape[3]),
            ("k_h", w.shape[1]), ("k_w", w.shape[2]),
            ("stride_h", a.stride[0]), ("stride_w", a.stride[1]),
            ("dil_h", a.dilation[0]), ("dil_w", a.dilation[1]),
            ("pad_t", a.padding[0]), ("pad_l", a.padding[2]), ("groups", a.groups),
            ("input_offset", a.input_offset), ("output_offset", a.output_offset),
            ("act_min", a.act_min), ("act_max", a.act_max),
            ("weight", c_values(w.data.reshape(-1), "int8_t", f"OHWI {list(w.shape)}")),
            ("bias", c_values(b.data, "int32_t")),
            ("multiplier", c_values(a.multiplier, "int32_t")),
            ("shift", c_values(a.shift, "int32_t")),
        ]
        kind = "depthwise " if a.groups == x.shape[3] and a.groups > 1 else ""
        return KernelCall(fields, [node.inputs[0]], list(node.outputs),
            comment=f"{kind}conv2d {w.shape[1]}x{w.shape[2]}/{a.stride[0]} {x.shape[3]}->{o.shape[3]}"
            + (f" groups={a.groups}" if a.groups > 1 else ""),
        )

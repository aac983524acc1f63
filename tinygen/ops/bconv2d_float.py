"""bconv2d_float: binary convolution with Larq Compute Engine's float32 output transform.

With a = sum over the kh*kw taps of popcount(in ^ w), out-of-image taps reading +1 (all bits 0),
K = kh*kw*Cin (so the +-1 dot product with +1 padding is K - 2a):

    x = clamp(2a, clamp_min, clamp_max)                                   int32
    y = float(x) * multiplier[o] + bias[o]                                two float32 operations
    pad_value 0 (zero padding, SAME): at pixels with out-of-image taps
    y = y + zp_multiplier[o] * float(sum over those taps of tap_sum[o, ky, kx])
          with tap_sum = Cin - 2*popcount(w[o, ky, kx])

The importer computes the parameters exactly as LCE does from the model's post-activation
multiplier m and bias b: multiplier = float32(-m), bias = float32(double(b) + K * double(m)),
zp_multiplier = float32(-m), and [clamp_min, clamp_max] from the fused activation applied to the
dot product. Every operation is a single IEEE float32 operation in LCE's order, so the output
equals LCE's to the bit. Input uint32 [N,H,W,ceil(Cin/32)], weight uint32 OHWI (packed, constant),
output float32 [N,oh,ow,Cout]. No scratch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinygen.ir.graph import DType
from tinygen.ops.base import KernelCall, reference_kernel, OpDef, c_values, register
from tinygen.ops.bconv2d import BConv2dAttrs, binary_conv_dot, check_packed_weights, out_hw
from tinygen.ops.common import pad_nhwc, windows
from tinygen.ops.float_util import f32_bits
from tinygen.reference import bitpack


@dataclass(frozen=True)
class BConv2dFloatAttrs:
    stride: tuple[int, int]
    padding: tuple[int, int, int, int]  # top, bottom, left, right
    dilation: tuple[int, int]
    in_channels: int
    pad_value: int  # 1: +1 padding (or VALID), 0: zero padding with LCE's correction
    clamp_min: int
    clamp_max: int
    multiplier: tuple[float, ...]  # float32 values, per output channel
    bias: tuple[float, ...]
    zp_multiplier: tuple[float, ...] = ()  # pad_value 0 only


def tap_sums(w: np.ndarray, in_channels: int) -> np.ndarray:
    """[Cout, kh, kw] int32: Cin - 2*popcount of each packed weight tap."""
    return (in_channels - 2 * bitpack.popcount32(w).sum(axis=-1)).astype(np.int32)


def _as_bconv(a: BConv2dFloatAttrs, pad_value: int) -> BConv2dAttrs:
    return BConv2dAttrs(a.stride, a.padding, a.dilation, a.in_channels, pad_value, "binary")


@register
class BConv2dFloat(OpDef):
    name = "bconv2d_float"
    attrs_type = BConv2dFloatAttrs
    kernels = (reference_kernel("tg_bconv2d_f32_ref", "tg_float.h", "tg_bconv2d_f32_params"),)

    def check(self, node, graph):
        x, w = (graph.t(i) for i in node.inputs)
        o = graph.t(node.outputs[0])
        a: BConv2dFloatAttrs = node.attrs
        if x.dtype != DType.UINT32 or len(x.shape) != 4 or len(w.shape) != 4 or o.dtype != DType.FLOAT32:
            raise ValueError("bconv2d_float takes packed uint32 NHWC input and OHWI weights, writes float32")
        if x.shape[3] != bitpack.words_for(a.in_channels):
            raise ValueError(f"{a.in_channels} input channels take {bitpack.words_for(a.in_channels)} words")
        check_packed_weights(w, a.in_channels)
        cout = w.shape[0]
        if len(a.multiplier) != cout or len(a.bias) != cout:
            raise ValueError("multiplier and bias need one value per output channel")
        if a.pad_value not in (0, 1) or (a.pad_value == 0 and len(a.zp_multiplier) != cout):
            raise ValueError("pad_value 0 needs one zp_multiplier per output channel")
        oh, ow = out_hw(x.shape, w.shape, _as_bconv(a, 1))
        if o.shape != (x.shape[0], oh, ow, cout):
            raise ValueError(f"output shape should be {(x.shape[0], oh, ow, cout)}")

    def reference(self, node, graph, inputs):
        x, w = inputs
        a: BConv2dFloatAttrs = node.attrs
        k = w.shape[1] * w.shape[2] * a.in_channels
        dot1 = binary_conv_dot(x, w, _as_bconv(a, 1)).astype(np.int64)  # +1 padding: K - 2a
        two_a = np.clip(k - dot1, a.clamp_min, a.clamp_max)
        m = np.asarray(a.multiplier, np.float32)
        y = ((two_a.astype(np.float32) * m).astype(np.float32) + np.asarray(a.bias, np.float32)).astype(np.float32)
        if a.pad_value == 1 or not any(a.padding):
            return [y]
        outside = dot1 - binary_conv_dot(x, w, _as_bconv(a, 0)).astype(np.int64)  # sum of out-of-image tap_sums
        h, wd = x.shape[1], x.shape[2]
        inside = windows(pad_nhwc(np.ones((1, h, wd, 1), np.int32), a.padding, 0), w.shape[1], w.shape[2],
                         a.stride, a.dilation, y.shape[1], y.shape[2])
        border = (inside.sum(axis=(3, 4, 5)) < w.shape[1] * w.shape[2])[..., None]  # [1,oh,ow,1]
        corr = (np.asarray(a.zp_multiplier, np.float32) * outside.astype(np.float32)).astype(np.float32)
        return [np.where(border, (y + corr).astype(np.float32), y).astype(np.float32)]

    def macs(self, node, graph):
        w = graph.t(node.inputs[1])
        o = graph.t(node.outputs[0])
        return int(o.size * w.shape[1] * w.shape[2] * node.attrs.in_channels)

    def emit(self, node, graph):
        x, w = (graph.t(i) for i in node.inputs)
        o = graph.t(node.outputs[0])
        a: BConv2dFloatAttrs = node.attrs
        cout, kh, kw, _ = w.shape
        zero_pad = a.pad_value == 0 and any(a.padding)
        fields = [
            ("in_h", x.shape[1]), ("in_w", x.shape[2]), ("in_c", a.in_channels),
            ("out_h", o.shape[1]), ("out_w", o.shape[2]), ("out_c", cout), ("k_h", kh), ("k_w", kw),
            ("stride_h", a.stride[0]), ("stride_w", a.stride[1]), ("dil_h", a.dilation[0]), ("dil_w", a.dilation[1]),
            ("pad_t", a.padding[0]), ("pad_l", a.padding[2]), ("pad_value", int(not zero_pad)),
            ("clamp_min", a.clamp_min), ("clamp_max", a.clamp_max),
            ("weight", c_values(w.data.reshape(-1), "uint32_t", f"OHWI {list(w.shape)}, 32 channels per word")),
            ("multiplier", f32_bits(a.multiplier, "LCE output transform multiplier")),
            ("bias", f32_bits(a.bias, "LCE output transform bias")),
            ("zp_multiplier", f32_bits(a.zp_multiplier if zero_pad else (), "zero-padding correction")),
            ("tap_sum", c_values(tap_sums(w.data, a.in_channels).reshape(-1) if zero_pad else np.zeros(0, int),
                                 "int32_t", "Cin - 2*popcount per weight tap")),
        ]
        return KernelCall(fields, [node.inputs[0]],
                          list(node.outputs),
                          comment=f"bconv2d_float {kh}x{kw}/{a.stride[0]} {a.in_channels}->{cout} float out"
                          + (", zero padding" if zero_pad else ""))

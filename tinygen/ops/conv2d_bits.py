"""conv2d_bits: int8 convolution whose output is the packed sign of a thresholded accumulator.

    acc[n,y,x,o] = sum_{i,j,c} w[o,i,j,c] * (in[n, y*sh - pt + i*dh, x*sw - pl + j*dw, c] + input_offset)
                   (out-of-image taps skipped: padding with the input zero point, as conv2d)
    bit[n,y,x,o] = flip[o] ? acc > thresholds[o] : acc < thresholds[o]        (bit 1 means -1)

Input int8 NHWC [N,H,W,Cin], weight int8 OHWI [Cout,kh,kw,Cin], output uint32
[N,oh,ow,ceil(Cout/32)] packed as tinygen/reference/bitpack.py (padding bits 0). It is the first
layer of a binarized network (int8 conv -> BN -> sign, folded into one threshold per channel by
tinygen/passes/lower/sign.py), written straight as bits instead of an int8 map that a binarize
packs: the arena holds Cout/8 bytes per pixel instead of Cout. Requires |acc| < 2^31 - 1 for every
reachable input, so a threshold of INT32_MAX (flip 0) is "always -1" and INT32_MIN "never".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinygen.ir.graph import DType
from tinygen.ops.base import Kernel, KernelCall, OpDef, c_values, reference_kernel, register
from tinygen.ops.common import out_hw, pad_nhwc, windows
from tinygen.reference import bitpack
from tinygen.reference import fixedpoint as fx


@dataclass(frozen=True)
class Conv2dBitsAttrs:
    stride: tuple[int, int]
    padding: tuple[int, int, int, int]  # top, bottom, left, right
    dilation: tuple[int, int]
    input_offset: int  # -input zero point
    thresholds: tuple[int, ...]  # per output channel
    flip: tuple[int, ...]  # 0 or 1 per output channel


def accumulators(x: np.ndarray, w: np.ndarray, a: Conv2dBitsAttrs) -> np.ndarray:
    """int64 [N,oh,ow,Cout] accumulators of the module docstring."""
    cout, kh, kw, cin = w.shape
    oh, ow = out_hw(x.shape, w.shape, a)
    win = windows(pad_nhwc(x.astype(np.int64) + a.input_offset, a.padding, 0), kh, kw, a.stride, a.dilation, oh, ow)
    patch = win.reshape(-1, kh * kw * cin).astype(np.float64)
    # float64 products are exact: |acc| < 2^31 (checked) is far below 2^53
    return (patch @ w.reshape(cout, -1).T.astype(np.float64)).astype(np.int64).reshape(x.shape[0], oh, ow, cout)


def _k(node, graph) -> int:
    w = graph.t(node.inputs[1])
    return w.shape[1] * w.shape[2] * w.shape[3]


def k_pad(node, graph) -> int:
    """The fast kernel's patch length: K rounded up to pairs of int16 (one SMLAD each)."""
    return (_k(node, graph) + 1) & ~1


def _fast_scratch(node, graph) -> int:
    return 2 * k_pad(node, graph)  # the int16 patch of one output pixel


def _fast_supports(node, graph) -> bool:
    return graph.t(node.inputs[0]).shape[0] == 1


@register
class Conv2dBits(OpDef):
    name = "conv2d_bits"
    attrs_type = Conv2dBitsAttrs
    kernels = (
        Kernel("tg_conv2d_bits_s8_fast", "tg_conv2d_bits.h", "tg_conv2d_bits_params", _fast_supports,
               frozenset({"dsp"}), _fast_scratch,
               layout="weight16: int16 [Cout][K rounded up to even], OHWI order, zero-filled"),
        reference_kernel("tg_conv2d_bits_s8_ref", "tg_conv2d_bits.h", "tg_conv2d_bits_params"),
    )

    def check(self, node, graph):
        if len(node.inputs) != 2:
            raise ValueError("conv2d_bits takes (input, weight)")
        x, w = (graph.t(i) for i in node.inputs)
        o = graph.t(node.outputs[0])
        a: Conv2dBitsAttrs = node.attrs
        if x.dtype != DType.INT8 or len(x.shape) != 4 or w.dtype != DType.INT8 or len(w.shape) != 4 or not w.is_const:
            raise ValueError("conv2d_bits takes int8 NHWC input and constant int8 OHWI weights")
        cout, kh, kw, cin = w.shape
        if x.shape[3] != cin:
            raise ValueError(f"input has {x.shape[3]} channels, weights {cin}")
        if min(a.stride) < 1 or min(a.dilation) < 1 or min(a.padding) < 0:
            raise ValueError("stride and dilation must be >= 1 and padding >= 0")
        if len(a.thresholds) != cout or len(a.flip) != cout or any(f not in (0, 1) for f in a.flip):
            raise ValueError("conv2d_bits needs one threshold and one flip (0 or 1) per output channel")
        if any(not fx.INT32_MIN <= t <= fx.INT32_MAX for t in a.thresholds):
            raise ValueError("thresholds must fit int32")
        if not -255 <= a.input_offset <= 255:
            raise ValueError(f"input_offset {a.input_offset} outside [-255, 255]")
        amax = (128 + abs(a.input_offset)) * int(np.abs(w.data.astype(np.int64)).reshape(cout, -1).sum(1).max(initial=0))
        if amax >= fx.INT32_MAX:
            raise ValueError("accumulators of this layer can reach INT32_MAX")
        oh, ow = out_hw(x.shape, w.shape, a)
        want = (x.shape[0], oh, ow, bitpack.words_for(cout))
        if o.shape != want or o.dtype != DType.UINT32:
            raise ValueError(f"output should be uint32 {list(want)}")

    def reference(self, node, graph, inputs):
        x, w = inputs
        a: Conv2dBitsAttrs = node.attrs
        acc = accumulators(x, w, a)
        thr = np.asarray(a.thresholds, np.int64)
        return [bitpack.pack_bits(np.where(np.asarray(a.flip, bool), acc > thr, acc < thr))]

    def macs(self, node, graph):
        o = graph.t(node.outputs[0])
        return int(np.prod(o.shape[:3])) * graph.t(node.inputs[1]).shape[0] * _k(node, graph)

    def emit(self, node, graph):
        x, w = (graph.t(i) for i in node.inputs)
        o = graph.t(node.outputs[0])
        a: Conv2dBitsAttrs = node.attrs
        cout, kh, kw, cin = w.shape
        if self.kernel(node).reference:
            weights = [("weight", c_values(w.data.reshape(-1), "int8_t", f"OHWI {list(w.shape)}")), ("weight16", None)]
        else:
            w16 = np.zeros((cout, k_pad(node, graph)), np.int16)
            w16[:, :_k(node, graph)] = w.data.reshape(cout, -1)
            weights = [("weight", None),
                       ("weight16", c_values(w16.reshape(-1), "int16_t",
                                             f"[{cout}][{w16.shape[1]}]: OHWI {list(w.shape)} as int16, zero-filled"))]
        fields = [
            ("in_h", x.shape[1]), ("in_w", x.shape[2]), ("in_c", cin),
            ("out_h", o.shape[1]), ("out_w", o.shape[2]), ("out_c", cout),
            ("k_h", kh), ("k_w", kw),
            ("stride_h", a.stride[0]), ("stride_w", a.stride[1]),
            ("dil_h", a.dilation[0]), ("dil_w", a.dilation[1]),
            ("pad_t", a.padding[0]), ("pad_l", a.padding[2]),
            ("input_offset", a.input_offset),
            *weights,
            ("thresholds", c_values(a.thresholds, "int32_t")),
            ("flip", c_values(a.flip, "uint8_t")),
        ]
        return KernelCall(fields, [node.inputs[0]], list(node.outputs),
                          comment=f"conv2d {kh}x{kw}/{a.stride[0]} {cin}->{cout}, sign thresholds, packed bits out")

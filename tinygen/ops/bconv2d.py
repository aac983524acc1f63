"""bconv2d: binary (+-1) convolution on bit-packed tensors (tinygen/reference/bitpack.py).

    dot[n,y,x,o] = sum over taps (i,j) of  Cin - 2*popcount(in[n, y*sh - pt + i*dh, x*sw - pl + j*dw, :]
                                                            ^ w[o, i, j, :])
    out-of-image taps: pad_value 0 -> contribute 0 (zero padding, as PyTorch: the sum runs over
                       in-image taps only, which is the exact zero-padding correction);
                       pad_value 1 -> the input is +1 there (Larq pad_values=1): Cin - 2*popcount(w)
    output "binary": bit = flip[o] ? dot > thresholds[o] : dot < thresholds[o]   (1 means -1)
    output "int8":   acc = dot * 2^pre_shift + bias[o]        (int32: |dot| <= kh*kw*Cin and the op
                                                               checks kh*kw*Cin*2^pre_shift + |bias| < 2^31)
                     out = clamp(requantize(acc, multiplier[o], shift[o]) + output_offset,
                                 act_min, act_max)

Input uint32 [N,H,W,ceil(Cin/32)], weight uint32 OHWI [Cout,kh,kw,ceil(Cin/32)] (padding bits 0),
output uint32 [N,oh,ow,ceil(Cout/32)] or int8 [N,oh,ow,Cout]. No scratch.

The output stage (thresholds or int8) is shared with bfully_connected; the folds that produce its
parameters are in tinygen/passes/lower/binary_output_params.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinygen.ir.graph import DType
from tinygen.ops import bconv2d_hs
from tinygen.ops.base import Kernel, KernelCall, OpDef, reference_kernel, c_values, register
from tinygen.ops.common import out_hw, pad_nhwc, windows
from tinygen.reference import bitpack
from tinygen.reference import fixedpoint as fx

OUTPUT_MODES = ("binary", "int8")
PRE_SHIFT_MAX = 30  # int8 output; with |dot| >= 1, dot * 2^pre_shift fitting int32 is the real limit
_TEMP_WORDS = 1 << 22  # the reference's per-step uint32 temporaries stay around 16 MB for big batches


@dataclass(frozen=True)
class BConv2dAttrs:
    stride: tuple[int, int]
    padding: tuple[int, int, int, int]  # top, bottom, left, right
    dilation: tuple[int, int]
    in_channels: int  # real input channels (the packed tensors hold ceil(in_channels/32) words)
    pad_value: int  # 0: zero padding (exact correction), 1: pad with +1 (Larq pad_values=1)
    output: str  # "binary" or "int8"
    thresholds: tuple[int, ...] = ()  # binary output, per output channel
    flip: tuple[int, ...] = ()  # binary output, 0 or 1 per output channel
    multiplier: tuple[int, ...] = ()  # int8 output, per output channel (may be negative)
    shift: tuple[int, ...] = ()
    bias: tuple[int, ...] = ()  # int8 output, added to dot * 2^pre_shift (units of 2^-pre_shift dot)
    pre_shift: int = 0  # int8 output: left shift of the dot before the bias, one per layer
    output_offset: int = 0  # int8 output: added after requantization (the output zero point)
    act_min: int = -128
    act_max: int = 127


# -- output stage shared with bfully_connected ------------------------------------------------------
def output_shape(prefix: tuple[int, ...], cout: int, mode: str) -> tuple[tuple[int, ...], DType]:
    if mode == "binary":
        return prefix + (bitpack.words_for(cout),), DType.UINT32
    return prefix + (cout,), DType.INT8


def check_output_stage(a, cout: int, k_max: int) -> None:
    """`a` has the output-stage fields of BConv2dAttrs (output, thresholds, flip, multiplier, ...);
    every dot product lies in [-k_max, k_max]."""
    if a.output not in OUTPUT_MODES:
        raise ValueError(f"output must be one of {OUTPUT_MODES}, got {a.output!r}")
    if a.output == "binary":
        if len(a.thresholds) != cout or len(a.flip) != cout:
            raise ValueError("binary output needs one threshold and one flip per output channel")
        if any(f not in (0, 1) for f in a.flip):
            raise ValueError("flip entries must be 0 or 1")
        if any(not fx.INT32_MIN <= t <= fx.INT32_MAX for t in a.thresholds):
            raise ValueError("thresholds must fit int32")
    else:
        if not (len(a.multiplier) == len(a.shift) == len(a.bias) == cout):
            raise ValueError("int8 output needs one multiplier, shift and bias per output channel")
        if not -128 <= a.act_min <= a.act_max <= 127:
            raise ValueError(f"activation range [{a.act_min}, {a.act_max}] is not inside int8")
        if any(not fx.INT32_MIN < m <= fx.INT32_MAX for m in a.multiplier):
            raise ValueError("multipliers must lie in (INT32_MIN, INT32_MAX]")
        if any(not -31 <= s <= 30 for s in a.shift):
            raise ValueError("shifts must lie in [-31, 30]")
        if not 0 <= a.pre_shift <= PRE_SHIFT_MAX:
            raise ValueError(f"pre_shift must lie in [0, {PRE_SHIFT_MAX}], got {a.pre_shift}")
        max_bias = max((abs(b) for b in a.bias), default=0)
        if k_max * 2 ** a.pre_shift + max_bias > fx.INT32_MAX:
            raise ValueError(f"dot * 2^{a.pre_shift} + bias can overflow int32 (|dot| <= {k_max}, |bias| up to "
                             f"{max_bias})")
        if not fx.INT32_MIN <= a.output_offset <= fx.INT32_MAX:
            raise ValueError("output_offset must fit int32")


def output_stage(dot: np.ndarray, a) -> np.ndarray:
    """int32 dot products [..., Cout] -> packed bits or int8, per the module docstring."""
    if a.output == "binary":
        thr = np.asarray(a.thresholds, np.int64)
        flip = np.asarray(a.flip, bool)
        bits = np.where(flip, dot > thr, dot < thr)
        return bitpack.pack_bits(bits)
    acc = np.asarray(dot, np.int64) * (1 << a.pre_shift) + np.asarray(a.bias, np.int64)  # int32 (checked)
    out = fx.requantize(acc, np.asarray(a.multiplier, np.int64), np.asarray(a.shift, np.int64))
    return np.clip(out + a.output_offset, a.act_min, a.act_max).astype(np.int8)


def output_fields(a) -> list:
    """Params-struct fields of the output stage; the other mode's fields are NULL and 0."""
    if a.output == "binary":
        return [("output_binary", 1),
                ("thresholds", c_values(a.thresholds, "int32_t")),
                ("flip", c_values(a.flip, "uint8_t")),
                ("multiplier", None), ("shift", None), ("bias", None),
                ("pre_shift", 0), ("output_offset", 0), ("act_min", 0), ("act_max", 0)]
    return [("output_binary", 0), ("thresholds", None), ("flip", None),
            ("multiplier", c_values(a.multiplier, "int32_t")),
            ("shift", c_values(a.shift, "int32_t")),
            ("bias", c_values(a.bias, "int32_t")),
            ("pre_shift", a.pre_shift), ("output_offset", a.output_offset),
            ("act_min", a.act_min), ("act_max", a.act_max)]


def geometry_fields(in_shape, out_hwc, kernel_hw, a) -> list:
    """Params-struct fields of a binary conv's shapes, strides, dilation and padding (shared by the
    bconv2d and bconv2d_pruned params, which declare them alike)."""
    (oh, ow, cout), (kh, kw) = out_hwc, kernel_hw
    return [("in_h", in_shape[1]), ("in_w", in_shape[2]), ("in_c", a.in_channels),
            ("out_h", oh), ("out_w", ow), ("out_c", cout), ("k_h", kh), ("k_w", kw),
            ("stride_h", a.stride[0]), ("stride_w", a.stride[1]), ("dil_h", a.dilation[0]), ("dil_w", a.dilation[1]),
            ("pad_t", a.padding[0]), ("pad_l", a.padding[2]), ("pad_value", a.pad_value)]


def check_packed_weights(w, in_channels: int) -> None:
    if w.dtype != DType.UINT32 or not w.is_const:
        raise ValueError("binary weights must be a constant uint32 tensor")
    if w.shape[-1] != bitpack.words_for(in_channels):
        raise ValueError(f"{in_channels} input channels take {bitpack.words_for(in_channels)} words, "
                         f"weights have {w.shape[-1]}")
    if not bitpack.padding_bits_zero(w.data, in_channels):
        raise ValueError("padding bits of the packed weights must be 0")


# -- the op --------------------------------------------------------------------------------------------
def binary_conv_dot(x: np.ndarray, w: np.ndarray, a: BConv2dAttrs) -> np.ndarray:
    """The int32 dot products [N,oh,ow,Cout] of the module docstring."""
    n, h, wd, _ = x.shape
    cout, kh, kw, _ = w.shape
    oh, ow = out_hw(x.shape, w.shape, a)
    # Out-of-image words are 0 (+1); with pad_value 0 their taps are then masked out.
    win = windows(pad_nhwc(np.asarray(x, np.uint32), a.padding, 0), kh, kw, a.stride, a.dilation, oh, ow)
    inside = windows(pad_nhwc(np.ones((1, h, wd, 1), np.int32), a.padding, 0), kh, kw, a.stride, a.dilation, oh, ow)
    dot = np.zeros((n, oh, ow, cout), np.int32)
    chunk = max(1, _TEMP_WORDS // max(1, oh * ow * cout * w.shape[3]))  # samples per step: bounded temporaries
    for b in range(0, n, chunk):
        for i in range(kh):
            for j in range(kw):
                tap = bitpack.binary_dot(win[b:b + chunk, :, :, i, j, None, :], w[:, i, j, :], a.in_channels)
                dot[b:b + chunk] += tap * inside[:, :, :, i, j] if a.pad_value == 0 else tap  # [n,oh,ow,Cout]
    return dot


@register
class BConv2d(OpDef):
    name = "bconv2d"
    attrs_type = BConv2dAttrs
    # carry-save variants (tinygen/ops/bconv2d_hs.py): with the blocks unrolled for the common field
    # sizes, then one per tail length of the receptive field
    kernels = tuple(
        Kernel(f"tg_bconv2d_b1_hs8k{k}", "tg_bconv2d.h", "tg_bconv2d_params", supports=bconv2d_hs.supports_words(k),
               scratch=lambda node, graph: 4 * bconv2d_hs.node_words(node, graph),
               )
        for k in bconv2d_hs.FIXED_WORDS
    ) + tuple(
        Kernel(f"tg_bconv2d_b1_hs8r{t}", "tg_bconv2d.h", "tg_bconv2d_params", supports=bconv2d_hs.supports(t),
               scratch=lambda node, graph: 4 * bconv2d_hs.node_words(node, graph),
               )
        for t in range(bconv2d_hs.BLOCK)
    ) + (reference_kernel("tg_bconv2d_b1_ref", "tg_bconv2d.h", "tg_bconv2d_params"),)

    def check(self, node, graph):
        x, w = (graph.t(i) for i in node.inputs)
        o = graph.t(node.outputs[0])
        a: BConv2dAttrs = node.attrs
        if len(node.inputs) != 2:
            raise ValueError("bconv2d takes (input, weight)")
        if x.dtype != DType.UINT32 or len(x.shape) != 4 or len(w.shape) != 4:
            raise ValueError("bconv2d takes packed uint32 NHWC input and OHWI weights")
        if x.shape[3] != bitpack.words_for(a.in_channels):
            raise ValueError(f"{a.in_channels} input channels take {bitpack.words_for(a.in_channels)} words, "
                             f"input has {x.shape[3]}")
        check_packed_weights(w, a.in_channels)
        if a.pad_value not in (0, 1):
            raise ValueError("pad_value must be 0 (zero padding) or 1 (+1 padding)")
        if min(a.stride) < 1 or min(a.dilation) < 1 or min(a.padding) < 0:
            raise ValueError("stride and dilation must be >= 1 and padding >= 0")
        cout = w.shape[0]
        check_output_stage(a, cout, w.shape[1] * w.shape[2] * a.in_channels)  # |dot| <= kh*kw*Cin
        oh, ow = out_hw(x.shape, w.shape, a)
        shape, dtype = output_shape((x.shape[0], oh, ow), cout, a.output)
        if o.shape != shape or o.dtype != dtype:
            raise ValueError(f"output should be {dtype.value} {list(shape)}")

    def reference(self, node, graph, inputs):
        x, w = inputs
        return [output_stage(binary_conv_dot(x, w, node.attrs), node.attrs)]

    def macs(self, node, graph):
        w = graph.t(node.inputs[1])
        o = graph.t(node.outputs[0])
        oh, ow = o.shape[1:3]
        return int(o.shape[0] * oh * ow * w.shape[0] * w.shape[1] * w.shape[2] * node.attrs.in_channels)

    def emit(self, node, graph):
        x, w = (graph.t(i) for i in node.inputs)
        o = graph.t(node.outputs[0])
        a: BConv2dAttrs = node.attrs
        cout, kh, kw, _ = w.shape
        oh, ow = out_hw(x.shape, w.shape, a)
        weight = c_values(w.data.reshape(-1), "uint32_t", f"OHWI {list(w.shape)}, 32 channels per word")
        compact = 0
        if not self.kernel(node).reference:
            compact = int(bconv2d_hs.compacts(node, graph))
            what = f"{kh}x{kw}x{a.in_channels} bits per output run together" if compact else f"OHWI {list(w.shape)}"
            weight = c_values(bconv2d_hs.stored_weights(w.data, a, bool(compact)).reshape(-1), "uint32_t",
                              what + (", flip channels inverted" if a.output == "binary" else ""))
        if self.kernel(node).reference:
            classes = [("class_thresholds", None), ("class_values", None), ("row_class", None), ("col_class", None),
                       ("n_col_class", 0)]
        else:
            rows, cols, rmasks, cmasks = bconv2d_hs.classes(x.shape, w.shape, a, oh, ow)
            values = bconv2d_hs.class_values(w.data, a, rmasks, cmasks, bconv2d_hs.node_words(node, graph)).reshape(-1)
            binary = a.output == "binary"
            table = c_values(values, "int16_t" if binary else "int32_t",
                             f"[{len(rmasks)}x{len(cmasks)} border classes][{cout}]")
            classes = [("class_thresholds", table if binary else None), ("class_values", None if binary else table),
                       ("row_class", c_values(rows, "uint8_t")), ("col_class", c_values(cols, "uint8_t")),
                       ("n_col_class", len(cmasks))]
        fields = [
            *geometry_fields(x.shape, (oh, ow, cout), (kh, kw), a),
            ("weight", weight),
            *output_fields(a),
            *classes,
            ("compact", compact),
        ]
        if not self.kernel(node).reference:  # class_values replace thresholds and bias
            fields = [(f, None) if f in ("thresholds", "bias", "flip") else (f, v) for f, v in fields]
        return KernelCall(fields, [node.inputs[0]], list(node.outputs),
            comment=f"bconv2d {kh}x{kw}/{a.stride[0]} {a.in_channels}->{cout} {a.output} out"
            + (", +1 padding" if a.pad_value and any(a.padding) else ""),
        )

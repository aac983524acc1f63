"""avg_pool2d: int8 average pooling, NHWC.

    acc   = sum over in-image taps of (in + input_offset)                      (int32)
    count = k_h * k_w if count_include_pad else the number of in-image taps
    out   = clamp(requantize(acc << left_shift, multipliers[count], shifts[count]) + output_offset,
                  act_min, act_max)

multipliers/shifts hold one (m, shift) per possible count (index 0 unused); the real multiplier
for count c is s_in / (s_out * c), divided by 2^left_shift: the pre-scale that rounds the result
once, as PyTorch does (tinygen/quant/params.py). Padded taps contribute 0 to acc, i.e. the input
zero point.

rounding = "divide" (TFLite Micro's int8 AVERAGE_POOL_2D, input and output on one grid) replaces the
requantization by an integer division rounded half away from zero:

    out = clamp(div_round_half_away(acc, count) + output_offset, act_min, act_max)

and leaves multipliers/shifts empty. TFLM sums the raw values (input_offset = output_offset = 0);
the offsets are kept for generality, but rounding half away does not commute with shifting by a
zero point, so an importer matching TFLM must set both to 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinygen.ops import requant_smmulr as rqf
from tinygen.ops.base import Kernel, KernelCall, reference_kernel, OpDef, c_values, register
from tinygen.ops.common import pad_nhwc, requantize_to_int8, windows
from tinygen.ops.max_pool2d import check_pool_geometry, in_image_taps, pool_fields, pool_out_hw
from tinygen.quant.params import avg_pool_requant


@dataclass(frozen=True)
class AvgPool2dAttrs:
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int, int, int]  # top, bottom, left, right
    count_include_pad: bool
    input_offset: int  # -input zero point
    output_offset: int  # output zero point
    multipliers: tuple[int, ...]  # indexed by divisor count, length k_h*k_w + 1
    shifts: tuple[int, ...]
    act_min: int = -128
    act_max: int = 127
    rounding: str = "requantize"  # or "divide" (see the module docstring)
    left_shift: int = 0  # pre-scale of the window sum ("requantize" only)


ROUNDINGS = ("requantize", "divide")


def div_round_half_away(acc: np.ndarray, count: np.ndarray) -> np.ndarray:
    """acc / count rounded to nearest, ties away from zero (C: (acc +- count/2) / count, truncating)."""
    acc = np.asarray(acc, np.int64)
    count = np.asarray(count, np.int64)
    mag = (np.abs(acc) + count // 2) // count
    return np.where(acc < 0, -mag, mag)


def avg_pool_params(kernel, stride, padding, count_include_pad, s_in, zp_in, s_out, zp_out,
                    act_min=-128, act_max=127) -> AvgPool2dAttrs:
    taps = int(kernel[0]) * int(kernel[1])
    left, ms, shifts = avg_pool_requant(s_in, s_out, taps, taps * rqf.offset_bound(-int(zp_in)))
    return AvgPool2dAttrs(
        tuple(int(k) for k in kernel), tuple(int(s) for s in stride), tuple(int(p) for p in padding),
        bool(count_include_pad), -int(zp_in), int(zp_out), ms, shifts, int(act_min), int(act_max),
        left_shift=left)


def divisor_counts(x_shape, a: AvgPool2dAttrs, oh: int, ow: int) -> np.ndarray:
    """[oh, ow] divisor count of each output position."""
    kh, kw = a.kernel
    if a.count_include_pad:
        return np.full((oh, ow), kh * kw)
    ch = in_image_taps(x_shape[1], kh, a.stride[0], a.padding[0], 1, oh)
    cw = in_image_taps(x_shape[2], kw, a.stride[1], a.padding[2], 1, ow)
    return ch[:, None] * cw[None, :]


def _fast_ok(node, graph) -> bool:
    """tg_avg_pool2d_s8_fast: window sums fit its int16 lanes (<= 256 taps) and the requantization
    operand, at most taps * max|x + input_offset|, is within tg_requant_smmulr.h's bound."""
    a = node.attrs
    taps = a.kernel[0] * a.kernel[1]
    if taps > 256:
        return False
    return a.rounding == "divide" or rqf.fits((taps * rqf.offset_bound(a.input_offset)) << a.left_shift, a.shifts[1:])


@register
class AvgPool2d(OpDef):
    name = "avg_pool2d"
    attrs_type = AvgPool2dAttrs
    kernels = (Kernel("tg_avg_pool2d_s8_fast", "tg_pool.h", "tg_pool_params", _fast_ok, needs=frozenset({"dsp"})),
               reference_kernel("tg_avg_pool2d_s8_ref", "tg_pool.h", "tg_pool_params"))

    def check(self, node, graph):
        x, o = graph.t(node.inputs[0]), graph.t(node.outputs[0])
        a: AvgPool2dAttrs = node.attrs
        oh, ow = check_pool_geometry(x, o, a.kernel, a.stride, a.padding, (1, 1), a.act_min, a.act_max)
        n = a.kernel[0] * a.kernel[1] + 1
        if a.rounding not in ROUNDINGS:
            raise ValueError(f"rounding must be one of {ROUNDINGS}, got {a.rounding!r}")
        if a.rounding == "divide":
            n = 0
        if len(a.multipliers) != n or len(a.shifts) != n:
            raise ValueError(f"multipliers/shifts need {n} entries (one per divisor count for 'requantize', "
                             "none for 'divide')")
        if not all(0 <= m < 2**31 for m in a.multipliers) or not all(-31 <= s <= 30 for s in a.shifts):
            raise ValueError("multiplier outside [0, 2^31) or shift outside [-31, 30]")
        taps = a.kernel[0] * a.kernel[1]
        if not 0 <= a.left_shift <= 30 or (a.left_shift and (a.rounding == "divide" or (taps * rqf.offset_bound(a.input_offset)) << a.left_shift >= 2**31)):
            raise ValueError(f"left_shift {a.left_shift}: the pre-scaled window sum must fit int32 ('requantize' only)")
        if (divisor_counts(x.shape, a, oh, ow) == 0).any():
            raise ValueError("a pooling window has no tap inside the image")

    def reference(self, node, graph, inputs):
        (x,) = inputs
        a: AvgPool2dAttrs = node.attrs
        oh, ow = pool_out_hw(x.shape, a.kernel, a.stride, a.padding)
        xp = pad_nhwc(x.astype(np.int32) + a.input_offset, a.padding, 0)
        acc = windows(xp, a.kernel[0], a.kernel[1], a.stride, (1, 1), oh, ow).sum(axis=(3, 4), dtype=np.int64)
        count = divisor_counts(x.shape, a, oh, ow)
        if a.rounding == "divide":
            out = div_round_half_away(acc, count[None, :, :, None]) + a.output_offset
            return [np.clip(out, a.act_min, a.act_max).astype(np.int8)]
        m = np.asarray(a.multipliers)[count][None, :, :, None]
        s = np.asarray(a.shifts)[count][None, :, :, None]
        return [requantize_to_int8(acc << a.left_shift, m, s, a.output_offset, a.act_min, a.act_max)]

    def macs(self, node, graph):  # one add per tap
        a: AvgPool2dAttrs = node.attrs
        return graph.t(node.outputs[0]).size * a.kernel[0] * a.kernel[1]

    def emit(self, node, graph):
        x, o = graph.t(node.inputs[0]), graph.t(node.outputs[0])
        a: AvgPool2dAttrs = node.attrs
        fields = pool_fields(x, o, a.kernel, a.stride, a.padding, (1, 1), a.act_min, a.act_max) + [
            ("count_include_pad", int(a.count_include_pad)), ("divide", int(a.rounding == "divide")),
            ("input_offset", a.input_offset), ("output_offset", a.output_offset),
            ("multiplier", c_values(a.multipliers, "int32_t", "indexed by divisor count")),
            ("shift", c_values(a.shifts, "int32_t")),
            ("left_shift", a.left_shift),
        ]
        return KernelCall(fields, [node.inputs[0]], list(node.outputs),
            comment=f"avg_pool {a.kernel[0]}x{a.kernel[1]}/{a.stride[0]}x{a.stride[1]} pad {list(a.padding)}"
            + (" count_include_pad" if a.count_include_pad else "") + (" divide" if a.rounding == "divide" else ""),
        )

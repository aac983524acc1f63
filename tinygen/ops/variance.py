"""variance: int8 variance over contiguous non-batch axes, in exact integer arithmetic.

With d = in + input_offset (|d| <= 255) and count values reduced per output:

    s1  = sum d,  s2 = sum d^2                                      (int64, exact)
    num = count * s2 - s1^2                                          (int64, exact, >= 0)
        = count^2 * (population variance of d)
    num = (num + 2^(pre_shift-1)) >> pre_shift   when pre_shift > 0  (round half up; fits int32)
    num = num << -pre_shift                       when pre_shift <= 0
    out = clamp(requantize(num, multiplier, shift) + output_offset, act_min, act_max)

`pre_shift` is chosen at compile time from the worst case: a variance of values inside a range of
width 255 is at most 255^2 / 4 (Popoviciu), so num <= floor(count^2 * 65025 / 4), and pre_shift
is the smallest shift that brings that bound into int32, negative (a left shift) when the bound
leaves room: requantize rounds twice (srdhm to 2^-e of an output step, then the right shift by e),
and num >= 0 is moved up to 2^-(e+1) of a step before the last rounding, which puts outputs within
that of a tie one step from PyTorch's single rounding (0.03 % of FlyNet's ECA variances at e =
11-13); each bit of left shift halves it. The real multiplier is

    s_in^2 * 2^pre_shift / (count * (count - correction) * s_out)

(correction 0: population variance, torch.var(unbiased=False); 1: the unbiased estimate). The
axes and the [outer][reduce][inner] view are those of `mean` (tinygen/ops/mean.py). No scratch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinygen.ops.base import Kernel, KernelCall, reference_kernel, OpDef, register
from tinygen.ops.common import requantize_to_int8
from tinygen.ops.mean import check_reduction, split_axes
from tinygen.quant.multiplier import quantize_multiplier
from tinygen.reference.fixedpoint import INT32_MAX

MAX_COUNT = 1 << 22  # count * s2 <= count^2 * 65025 stays inside int64


@dataclass(frozen=True)
class VarianceAttrs:
    axes: tuple[int, ...]  # sorted, contiguous, never the batch axis 0
    keepdims: bool
    input_offset: int  # -input zero point
    output_offset: int  # output zero point
    pre_shift: int  # right shift (rounding) of the int64 numerator; <= 0: left shift
    multiplier: int
    shift: int
    act_min: int = -128
    act_max: int = 127


def numerator_bound(count: int) -> int:
    """Largest possible count * s2 - s1^2 for int8 inputs: count^2 * 255^2 / 4, rounded down."""
    return count * count * 255 * 255 // 4


def pre_shift_for(count: int) -> int:
    bound, r = numerator_bound(count), 0
    while ((bound + ((1 << r) >> 1)) >> r) > INT32_MAX:
        r += 1
    if r == 0:
        while max(bound, 1) << (1 - r) <= INT32_MAX:
            r -= 1
    return r


def variance_params(axes, keepdims, count, s_in, zp_in, s_out, zp_out, correction: int = 0,
                    act_min: int = -128, act_max: int = 127) -> VarianceAttrs:
    count, correction = int(count), int(correction)
    if count - correction < 1:
        raise ValueError(f"variance of {count} values with correction {correction} is undefined")
    r = pre_shift_for(count)
    m, s = quantize_multiplier(float(s_in) ** 2 * 2.0**r / (count * (count - correction) * float(s_out)))
    if m == 0 and r < 0:  # outputs below half a step: no headroom to gain, and none to lose to the flush
        r = 0
        m, s = quantize_multiplier(float(s_in) ** 2 / (count * (count - correction) * float(s_out)))
    return VarianceAttrs(tuple(int(a) for a in axes), bool(keepdims), -int(zp_in), int(zp_out), r, m, s,
                         int(act_min), int(act_max))


def variance_numerator(x: np.ndarray, a: VarianceAttrs) -> np.ndarray:
    """The int64 numerator after the pre-shift, exactly as the kernel computes it."""
    d = x.astype(np.int64) + a.input_offset
    count = int(np.prod([x.shape[ax] for ax in a.axes]))
    s1 = d.sum(axis=a.axes, keepdims=a.keepdims)
    s2 = (d * d).sum(axis=a.axes, keepdims=a.keepdims)
    num = count * s2 - s1 * s1
    if a.pre_shift > 0:
        num = (num + (1 << (a.pre_shift - 1))) >> a.pre_shift
    else:
        num = num << -a.pre_shift
    return num


def _int32_sums(node, graph) -> bool:
    """tg_variance_s8_fast sums x^2 (|x| <= 128) of `reduce` values in int32: reduce < 2^17."""
    return split_axes(graph.t(node.inputs[0]).shape, node.attrs.axes)[1] < 1 << 17


@register
class Variance(OpDef):
    name = "variance"
    attrs_type = VarianceAttrs
    kernels = (Kernel("tg_variance_s8_fast", "tg_variance.h", "tg_variance_params", _int32_sums),
               reference_kernel("tg_variance_s8_ref", "tg_variance.h", "tg_variance_params"))

    def check(self, node, graph):
        x = graph.t(node.inputs[0])
        a: VarianceAttrs = node.attrs
        check_reduction(x, graph.t(node.outputs[0]), a.axes, a.keepdims, "variance")
        count = split_axes(x.shape, a.axes)[1]
        if count > MAX_COUNT:
            raise ValueError(f"{count} values per variance; at most {MAX_COUNT} keep the sums inside int64")
        want = pre_shift_for(count)
        if a.pre_shift != want and not (want < 0 and a.pre_shift == 0):  # 0: variance_params's fallback
            raise ValueError(f"pre_shift must be {want} for {count} values")
        if not 0 <= a.multiplier < 2**31 or not -31 <= a.shift <= 30:
            raise ValueError("multiplier outside [0, 2^31) or shift outside [-31, 30]")
        if abs(a.input_offset) > 255 or not -128 <= a.act_min <= a.act_max <= 127:
            raise ValueError("input offset or activation range out of range")

    def reference(self, node, graph, inputs):
        (x,) = inputs
        a: VarianceAttrs = node.attrs
        return [requantize_to_int8(variance_numerator(x, a), a.multiplier, a.shift, a.output_offset,
                                   a.act_min, a.act_max)]

    def macs(self, node, graph):  # one multiply-accumulate per input value
        return graph.t(node.inputs[0]).size

    def emit(self, node, graph):
        x = graph.t(node.inputs[0])
        a: VarianceAttrs = node.attrs
        outer, reduce, inner = split_axes(x.shape, a.axes)
        fields = [("outer", outer), ("reduce", reduce), ("inner", inner),
                  ("input_offset", a.input_offset), ("output_offset", a.output_offset),
                  ("pre_shift", a.pre_shift), ("multiplier", a.multiplier), ("shift", a.shift),
                  ("act_min", a.act_min), ("act_max", a.act_max)]
        return KernelCall(fields, [node.inputs[0]],
                          list(node.outputs), comment=f"variance over axes {list(a.axes)} ({reduce} values)")

"""mul: int8 elementwise multiplication with numpy broadcasting (TFLite Micro int8 scheme).

    out = clamp(requantize((x1 + input1_offset) * (x2 + input2_offset), multiplier, shift)
                + output_offset, act_min, act_max)

with real multiplier s1 * s2 / s_out (`mul_params`). Broadcasting and the C strides are those of
add (see tinygen/ops/add.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinygen.ops.add import batched_result, broadcast_fields, check_two_operands, full_shape_input, shapes_comment
from tinygen.ops.base import Kernel, KernelCall, OpDef, reference_kernel, register
from tinygen.ops import requant_smmulr as rqf
from tinygen.ops.common import requantize_to_int8
from tinygen.ops.conv_gemm import w16_stage_ok
from tinygen.quant.params import mul_requant


@dataclass(frozen=True)
class MulAttrs:
    input1_offset: int  # -zero point of input 1
    input2_offset: int
    output_offset: int  # output zero point
    multiplier: int
    shift: int
    act_min: int = -128
    act_max: int = 127


def mul_params(s1: float, zp1: int, s2: float, zp2: int, s_out: float, zp_out: int,
               act_min: int = -128, act_max: int = 127, mode: str = "torch") -> MulAttrs:
    m, sh = mul_requant(s1, s2, s_out, mode=mode)
    return MulAttrs(-int(zp1), -int(zp2), int(zp_out), m, sh, act_min, act_max)


def _fast_requant_ok(node, graph) -> bool:
    """tg_mul_s8_fast's requantization is exact: the product within tg_requant_smmulr.h's bound."""
    a: MulAttrs = node.attrs
    return rqf.fits(rqf.offset_bound(a.input1_offset) * rqf.offset_bound(a.input2_offset), [a.shift])


def _w16_ok(node, graph) -> bool:
    """tg_mul_s8_w16: the w16 record stage (tg_gemm_w16.h) is exact for this multiplier and shift;
    the product of two offset int8 values is within its operand bound."""
    a: MulAttrs = node.attrs
    return w16_stage_ok([a.multiplier], [a.shift])


def _once_ok(node, graph) -> bool:
    """tg_mul_s8_once: shift 0 and 0 < m < 2^30 (2m is its int32 multiplier), the single-rounding
    multipliers mul_requant gives PyTorch models."""
    a: MulAttrs = node.attrs
    return a.shift == 0 and 0 < a.multiplier < (1 << 30)


@register
class Mul(OpDef):
    name = "mul"
    attrs_type = MulAttrs
    kernels = (Kernel("tg_mul_s8_once", "tg_elementwise.h", "tg_mul_params", _once_ok, frozenset({"dsp"}),
                      inplace_ok=True),
               Kernel("tg_mul_s8_w16", "tg_elementwise.h", "tg_mul_params", _w16_ok, frozenset({"dsp"}),
                      inplace_ok=True),
               Kernel("tg_mul_s8_fast", "tg_elementwise.h", "tg_mul_params", _fast_requant_ok, inplace_ok=True),
               reference_kernel("tg_mul_s8_ref", "tg_elementwise.h", "tg_mul_params", inplace_ok=True))

    def check(self, node, graph):
        check_two_operands(node, graph)

    def reference(self, node, graph, inputs):
        a: MulAttrs = node.attrs
        x1, x2 = (np.asarray(x, np.int64) for x in inputs)
        raw = (x1 + a.input1_offset) * (x2 + a.input2_offset)
        y = requantize_to_int8(raw, a.multiplier, a.shift, a.output_offset, a.act_min, a.act_max)
        return [batched_result(y, node, graph)]

    def inplace_input(self, node, graph):
        return full_shape_input(node, graph)

    def emit(self, node, graph):
        a: MulAttrs = node.attrs
        fields = broadcast_fields(node, graph) + [
            ("input1_offset", a.input1_offset), ("input2_offset", a.input2_offset),
            ("output_offset", a.output_offset), ("multiplier", a.multiplier), ("shift", a.shift),
            ("act_min", a.act_min), ("act_max", a.act_max),
        ]
        return KernelCall(fields, list(node.inputs),
                          list(node.outputs), comment=shapes_comment(node, graph, "*"))

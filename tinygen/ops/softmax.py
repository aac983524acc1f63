"""softmax: int8 softmax over the last axis (rows of `row_size` consecutive values).

Two modes share the op; `mode` picks the arithmetic (and the C kernel variant).

mode "q30" (the default; PyTorch fake-quant models such as FlyNet). Temperature (beta = 1/T) and
the input scale are folded into an offline table of exp values:

    table[d] = round(2^15 * exp(-beta * s_in * d)), d = 0..255, cut where it rounds to 0
    d_i   = max_j in[j] - in[i];   e_i = table[d_i] (0 past the end);   sum = sum_i e_i
    p_i   = ((e_i << 30) + sum / 2) / sum                                 Q30 probability
    out_i = clamp(requantize(p_i, multiplier, shift) + output_offset, act_min, act_max)

with the real multiplier 1 / (2^30 * s_out).

mode "tflm" reproduces TFLite Micro's int8 SOFTMAX bit for bit (output grid 1/256, zero point
-128); `exp_q31` holds TFLM's fixed-point exp of each difference and the reciprocal of the sum
runs at run time:

    e_i   = exp_q31[max - in[i]]                 Q0.31, 0 where TFLM skips the difference
    sum   = sum_i rounding_divide_by_pot(e_i, 12)                         Q12.19
    scale, bits = reciprocal(sum)                1/sum = scale * 2^-bits, scale Q0.31
    out_i = clamp(rounding_divide_by_pot(srdhm(scale, e_i), bits + 23) - 128, -128, 127)

(see tinygen/reference/tflm.py). In both modes input and output have the same shape, the output
may overwrite the input, and there is no scratch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinygen.ir.graph import DType
from tinygen.ops.base import KernelCall, reference_kernel, OpDef, c_values, register
from tinygen.ops.common import requantize_to_int8
from tinygen.reference import tflm
from tinygen.quant.multiplier import quantize_multiplier

MODES = ("q30", "tflm")


@dataclass(frozen=True)
class SoftmaxAttrs:
    table: tuple[int, ...]  # q30: round(2^15 exp(-beta s_in d)), 1..256 entries
    output_offset: int
    multiplier: int
    shift: int
    act_min: int = -128
    act_max: int = 127
    mode: str = "q30"
    exp_q31: tuple[int, ...] = ()  # tflm: 256 Q0.31 values indexed by max - in


def exp_table(s_in: float, beta: float) -> tuple[int, ...]:
    """round(2^15 * exp(-beta * s_in * d)) for d = 0.. until it rounds to 0 (at most 256 entries)."""
    d = np.arange(256, dtype=np.float64)
    t = np.rint(32768.0 * np.exp(-float(beta) * float(s_in) * d)).astype(np.int64)
    zero = np.nonzero(t == 0)[0]
    return tuple(int(v) for v in (t[:zero[0]] if zero.size else t))


def softmax_params(s_in: float, beta: float, s_out: float, zp_out: int, qmin: int = -128,
                   qmax: int = 127) -> SoftmaxAttrs:
    m, sh = quantize_multiplier(1.0 / (float(1 << 30) * float(s_out)))
    return SoftmaxAttrs(exp_table(s_in, beta), int(zp_out), m, sh, int(qmin), int(qmax))


def tflm_softmax_params(beta: float, s_in: float) -> SoftmaxAttrs:
    """TFLM's int8 softmax for input scale s_in (output scale 1/256, zero point -128)."""
    exp_q31, _ = tflm.softmax_exp_table(beta, s_in)
    return SoftmaxAttrs((), -128, 0, 0, -128, 127, "tflm", tuple(int(v) for v in exp_q31))


def softmax_q30(x: np.ndarray, table) -> np.ndarray:
    """Q30 probabilities of the q30 mode over the last axis (int64)."""
    x = np.asarray(x, np.int64)
    full = np.zeros(257, np.int64)
    full[:len(table)] = table
    d = np.minimum(x.max(axis=-1, keepdims=True) - x, 256)
    e = full[d]
    s = e.sum(axis=-1, keepdims=True)
    return ((e << 30) + (s >> 1)) // s


def _reference_q30(a: SoftmaxAttrs, x: np.ndarray) -> np.ndarray:
    return requantize_to_int8(softmax_q30(x, a.table), a.multiplier, a.shift, a.output_offset, a.act_min, a.act_max)


def _reference_tflm(a: SoftmaxAttrs, x: np.ndarray) -> np.ndarray:
    return tflm.softmax_rows(x, np.asarray(a.exp_q31, np.int64))


_REFERENCES = {"q30": _reference_q30, "tflm": _reference_tflm}


@register
class Softmax(OpDef):
    name = "softmax"
    attrs_type = SoftmaxAttrs
    # Two reference algorithms, one per mode (TFLM's for imported models, tinygen's q30 table).
    kernels = (reference_kernel("tg_softmax_tflm_s8_ref", "tg_softmax.h", "tg_softmax_tflm_params",
                                lambda node, graph: node.attrs.mode == "tflm", inplace_ok=True),
               reference_kernel("tg_softmax_s8_ref", "tg_softmax.h", "tg_softmax_params",
                                lambda node, graph: node.attrs.mode != "tflm", inplace_ok=True))

    def check(self, node, graph):
        x, o = graph.t(node.inputs[0]), graph.t(node.outputs[0])
        a: SoftmaxAttrs = node.attrs
        if x.dtype != DType.INT8 or o.dtype != DType.INT8 or x.shape != o.shape or len(x.shape) < 2:
            raise ValueError("softmax maps an int8 [N, ..., row_size] tensor to int8 of the same shape")
        if a.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {a.mode!r}")
        if a.mode == "q30":
            if not 1 <= len(a.table) <= 256 or min(a.table) < 1 or max(a.table) > 32768 or a.table[0] != 32768:
                raise ValueError("table must hold 1..256 values in [1, 32768] starting at 32768")
            if x.shape[-1] > 65536:
                raise ValueError("rows longer than 65536 overflow the sum")
            if not -128 <= a.act_min <= a.act_max <= 127:
                raise ValueError(f"bad activation range [{a.act_min}, {a.act_max}]")
        else:
            if len(a.exp_q31) != 256 or min(a.exp_q31) < 0 or max(a.exp_q31) > 2**31 - 1:
                raise ValueError("tflm mode needs an exp_q31 table of 256 non-negative int32 values")
            if x.shape[-1] >= 4096:
                raise ValueError(f"rows of {x.shape[-1]} overflow TFLM's Q12.19 sum")

    def reference(self, node, graph, inputs):
        return [_REFERENCES[node.attrs.mode](node.attrs, inputs[0])]

    def inplace_input(self, node, graph):
        return 0

    def macs(self, node, graph):
        return graph.t(node.inputs[0]).size

    def emit(self, node, graph):
        x = graph.t(node.inputs[0])
        a: SoftmaxAttrs = node.attrs
        rows, row_size = x.size // x.shape[-1], x.shape[-1]
        comment = f"softmax {list(x.shape)} over the last axis".replace(", ", ",")
        if a.mode == "tflm":
            fields = [("rows", rows), ("row_size", row_size),
                      ("exp_q31", c_values(a.exp_q31, "int32_t", "TFLM exp(-beta * s_in * d), Q0.31, d = max - in"))]
            return KernelCall(fields,
                              [node.inputs[0]], list(node.outputs), comment=comment + " (TFLM)")
        fields = [("rows", rows), ("row_size", row_size), ("output_offset", a.output_offset),
                  ("multiplier", a.multiplier), ("shift", a.shift), ("act_min", a.act_min), ("act_max", a.act_max),
                  ("table_size", len(a.table)),
                  ("table", c_values(a.table, "uint16_t", "round(2^15 * exp(-beta * s_in * d))"))]
        return KernelCall(fields, [node.inputs[0]],
                          list(node.outputs), comment=comment)

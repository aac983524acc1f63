"""lut: any int8 -> int8 element-wise function as a 256-entry table computed offline.

    out = table[in + 128]

`make_table` builds tables that mirror a PyTorch fake-quant model (torch float32 on CPU):

    x = float32(s_in) * float32(q - zp_in)                       dequantize, float32
    y = fn(x)                                                     PyTorch's formula, float32
    table[q + 128] = clamp(rint(y * (1 / float32(s_out))) + zp_out, qmin, qmax)   rint: ties to even

which is torch.fake_quantize_per_tensor_affine's rounding. Element-wise arithmetic (+, *, /, min,
max) is IEEE-exact and matches torch bit for bit. exp/tanh are evaluated in float64 and rounded
to float32 once (torch's vectorised CPU paths may differ from that by a few ulp before
quantization; after quantization they agree unless y lands within those ulps of a rounding tie).

Tables registered with `int_table_fn` instead run an integer algorithm over all 256 inputs (the
"tflm_*" functions reproduce TFLite Micro's int8 kernels bit for bit; see tinygen/reference/tflm.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from tinygen.ops.base import Kernel, KernelCall, reference_kernel, OpDef, c_values, register

F32 = np.float32


@dataclass(frozen=True)
class LutAttrs:
    table: tuple[int, ...]  # 256 int8 values, indexed by in + 128
    fn: str  # what the table computes, for comments


# name -> float32 function of a float32 array (plus keyword parameters in real units)
TABLE_FNS: dict[str, Callable[..., np.ndarray]] = {}


def table_fn(name: str):
    def add(f):
        TABLE_FNS[name] = f
        return f
    return add


@table_fn("identity")
def _identity(x):
    return x


@table_fn("relu")
def _relu(x):
    return np.maximum(x, F32(0))


@table_fn("relu6")
def _relu6(x):
    return np.minimum(np.maximum(x, F32(0)), F32(6))


@table_fn("clamp")
def _clamp(x, lo=None, hi=None):
    if lo is not None:
        x = np.maximum(x, F32(lo))
    if hi is not None:
        x = np.minimum(x, F32(hi))
    return x


@table_fn("sigmoid")
def _sigmoid(x):  # torch: 1 / (1 + exp(-x)), each step rounded to float32
    with np.errstate(over="ignore"):
        e = np.exp(-x.astype(np.float64)).astype(F32)
    return F32(1) / (F32(1) + e)


@table_fn("tanh")
def _tanh(x):
    return np.tanh(x.astype(np.float64)).astype(F32)


@table_fn("hardswish")
def _hardswish(x):  # torch: x * clamp(x + 3, 0, 6) / 6
    return x * np.minimum(np.maximum(x + F32(3), F32(0)), F32(6)) / F32(6)


@table_fn("hardsigmoid")
def _hardsigmoid(x):  # torch: clamp(x + 3, 0, 6) / 6
    return np.minimum(np.maximum(x + F32(3), F32(0)), F32(6)) / F32(6)


# name -> integer table function (s_in, zp_in, s_out, zp_out, **params) -> 256 int values, for
# functions whose reference arithmetic is integer (TFLite Micro's kernels), not a float formula.
INT_TABLE_FNS: dict[str, Callable[..., np.ndarray]] = {}


def int_table_fn(name: str):
    def add(f):
        INT_TABLE_FNS[name] = f
        return f
    return add


@int_table_fn("tflm_logistic")
def _tflm_logistic(s_in, zp_in, s_out, zp_out):
    """TFLM int8 LOGISTIC (gemmlowp fixed point); TFLM fixes the output grid to 1/256, zero point -128."""
    from tinygen.reference import tflm

    if float(np.float32(s_out)) != 1.0 / 256 or int(zp_out) != -128:
        raise ValueError(f"TFLM's int8 logistic writes scale 1/256 zero point -128, not {s_out}, {zp_out}")
    return tflm.logistic_table(s_in, zp_in)


@int_table_fn("tflm_hard_swish")
def _tflm_hard_swish(s_in, zp_in, s_out, zp_out):
    """TFLM int8 HARD_SWISH (int16 fixed point)."""
    from tinygen.reference import tflm

    return tflm.hard_swish_table(s_in, zp_in, s_out, zp_out)


@int_table_fn("tflm_requantize")
def _tflm_requantize(s_in, zp_in, s_out, zp_out):
    """TFLM int8 -> int8 QUANTIZE: MultiplyByQuantizedMultiplier(q - zp_in, s_in / s_out) + zp_out."""
    from tinygen.reference import tflm

    return tflm.requantize_table(s_in, zp_in, s_out, zp_out)


@int_table_fn("tflm_tanh")
def _tflm_tanh(s_in, zp_in, s_out, zp_out):
    """TFLM int8 TANH (gemmlowp fixed point); TFLM fixes the output grid to 1/128, zero point 0."""
    from tinygen.reference import tflm

    if float(np.float32(s_out)) != 1.0 / 128 or int(zp_out) != 0:
        raise ValueError(f"TFLM's int8 tanh writes scale 1/128 zero point 0, not {s_out}, {zp_out}")
    return tflm.tanh_table(s_in, zp_in)


@int_table_fn("tflm_relu")
def _tflm_relu(s_in, zp_in, s_out, zp_out):
    """TFLM int8 RELU (requantize, then clamp at the output's zero)."""
    from tinygen.reference import tflm

    return tflm.relu_table(s_in, zp_in, s_out, zp_out)


@int_table_fn("tflm_relu6")
def _tflm_relu6(s_in, zp_in, s_out, zp_out):
    """TFLM int8 RELU6 (a clamp of the input codes, no requantization)."""
    from tinygen.reference import tflm

    return tflm.relu6_table(s_in, zp_in)


@int_table_fn("tflm_leaky_relu")
def _tflm_leaky_relu(s_in, zp_in, s_out, zp_out, alpha=0.2):
    """TFLM int8 LEAKY_RELU (two multipliers: identity above zero, alpha below)."""
    from tinygen.reference import tflm

    return tflm.leaky_relu_table(s_in, zp_in, s_out, zp_out, alpha)


def make_table(fn: str, s_in, zp_in, s_out, zp_out, qmin=-128, qmax=127, **params) -> tuple[int, ...]:
    if not -128 <= qmin <= qmax <= 127:
        raise ValueError(f"output range [{qmin}, {qmax}] is not inside int8")
    if fn in INT_TABLE_FNS:
        vals = np.asarray(INT_TABLE_FNS[fn](s_in, zp_in, s_out, zp_out, **params), np.int64)
        return tuple(int(v) for v in np.clip(vals, qmin, qmax))
    if fn not in TABLE_FNS:
        known = sorted(TABLE_FNS) + sorted(INT_TABLE_FNS)
        raise ValueError(f"no table function {fn!r} (known: {', '.join(known)})")
    q = np.arange(-128, 128, dtype=np.int32)
    x = F32(s_in) * (q - int(zp_in)).astype(F32)
    y = np.asarray(TABLE_FNS[fn](x, **params), dtype=F32)
    r = np.rint(y * (F32(1) / F32(s_out)))
    r = np.clip(r, -(2.0**24), 2.0**24)  # keep the int cast defined; the final clamp is narrower
    return tuple(int(v) for v in np.clip(r.astype(np.int64) + int(zp_out), qmin, qmax))




@register
class Lut(OpDef):
    name = "lut"
    attrs_type = LutAttrs
    kernels = (Kernel("tg_lut_s8_fast", "tg_lut.h", "tg_lut_params", inplace_ok=True),
               reference_kernel("tg_lut_s8_ref", "tg_lut.h", "tg_lut_params", inplace_ok=True))

    def check(self, node, graph):
        x, o = graph.t(node.inputs[0]), graph.t(node.outputs[0])
        t = node.attrs.table
        if len(t) != 256 or min(t) < -128 or max(t) > 127:
            raise ValueError("table must hold 256 int8 values")
        if x.dtype.value != "int8" or o.dtype.value != "int8" or x.shape != o.shape:
            raise ValueError("lut maps an int8 tensor to an int8 tensor of the same shape")

    def reference(self, node, graph, inputs):
        (x,) = inputs
        return [np.asarray(node.attrs.table, np.int8)[x.astype(np.int32) + 128]]

    def inplace_input(self, node, graph):
        return 0

    def emit(self, node, graph):
        o = graph.t(node.outputs[0])
        a: LutAttrs = node.attrs
        fields = [("size", o.size), ("table", c_values(a.table, "int8_t", f"{a.fn}: out = table[in + 128]"))]
        return KernelCall(fields, [node.inputs[0]],
                          list(node.outputs), comment=f"lut {a.fn}")

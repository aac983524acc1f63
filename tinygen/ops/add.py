"""add: int8 elementwise addition with numpy broadcasting (TFLite Micro int8 scheme).

    a   = requantize(sat32((x1 + input1_offset) << left_shift), input1_multiplier, input1_shift)
    b   = requantize(sat32((x2 + input2_offset) << left_shift), input2_multiplier, input2_shift)
    out = clamp(requantize(a + b, output_multiplier, output_shift) + output_offset, act_min, act_max)

(`requantize` saturates a + b to int32 first.) Both inputs are rescaled to a common scale with 20
fractional bits of headroom, summed, then rescaled to the output: see `add_params`.

Broadcasting, shared with mul: the output has rank 2..4 (NHWC, [N,F], [N,W,C]); every dim of an
input equals the output's or is 1. A constant input may have a lower rank (numpy right-alignment);
an activation input has the output's rank, since its leading dim is the batch. The C kernel walks
the output as [N,H,W,C] ([N,F] as [N,1,1,F]) and reads each input through per-dim strides that are
0 on broadcast dims.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinygen.ops.base import Kernel, KernelCall, reference_kernel, OpDef, c_values, register
from tinygen.ops.common import requantize_to_int8
from tinygen.quant.params import add_requant
from tinygen.ops import requant_smmulr as rqf
from tinygen.reference import fixedpoint as fx


@dataclass(frozen=True)
class AddAttrs:
    input1_offset: int  # -zero point of input 1
    input2_offset: int
    output_offset: int  # output zero point
    left_shift: int
    input1_multiplier: int
    input1_shift: int
    input2_multiplier: int
    input2_shift: int
    output_multiplier: int
    output_shift: int
    act_min: int = -128
    act_max: int = 127


def add_params(s1: float, zp1: int, s2: float, zp2: int, s_out: float, zp_out: int,
               act_min: int = -128, act_max: int = 127, mode: str = "torch") -> AddAttrs:
    """AddAttrs from input/output scales and zero points, the way TFLite Micro computes them
    (tinygen/quant/params.py; mode "tflm" saturates multipliers as TFLM does)."""
    r = add_requant(s1, s2, s_out, mode=mode)
    return AddAttrs(-int(zp1), -int(zp2), int(zp_out), *r, act_min, act_max)


# -- broadcasting, shared by add and mul ------------------------------------------------------------

def as_nhwc(shape) -> tuple[int, int, int, int]:
    """[N,H,W,C] as is, [N,W,C] -> [N,1,W,C], [N,F] -> [N,1,1,F]."""
    shape = tuple(shape)
    return (shape[0],) + (1,) * (4 - len(shape)) + shape[1:]


def broadcast_strides(in_shape, out_shape) -> tuple[int, int, int, int]:
    """Element strides of an input over the output's [N,H,W,C] walk; 0 on broadcast dims."""
    padded = (1,) * (len(out_shape) - len(in_shape)) + tuple(in_shape)
    dims = as_nhwc(padded)
    strides, step = [0, 0, 0, 0], 1
    for d in (3, 2, 1, 0):
        strides[d] = step if dims[d] > 1 else 0
        step *= dims[d]
    return tuple(strides)


def check_two_operands(node, graph) -> None:
    if len(node.inputs) != 2:
        raise ValueError(f"{node.op} takes two inputs")
    out = graph.t(node.outputs[0])
    if not 2 <= len(out.shape) <= 4:
        raise ValueError(f"output rank must be 2..4, got {list(out.shape)}")
    for name in node.inputs:
        t = graph.t(name)
        if t.dtype.value != "int8":
            raise ValueError(f"input {name!r} must be int8")
        if len(t.shape) > len(out.shape) or (not t.is_const and len(t.shape) != len(out.shape)):
            raise ValueError(f"input {name!r} {list(t.shape)} has the wrong rank for output {list(out.shape)}")
        padded = (1,) * (len(out.shape) - len(t.shape)) + tuple(t.shape)
        if any(d not in (1, o) for d, o in zip(padded, out.shape)):
            raise ValueError(f"input {name!r} {list(t.shape)} does not broadcast to {list(out.shape)}")
    shapes = [graph.t(i).shape for i in node.inputs]
    if tuple(np.broadcast_shapes(*shapes)) != tuple(out.shape):
        raise ValueError(f"output shape should be {list(np.broadcast_shapes(*shapes))}")
    a = node.attrs
    if not (abs(a.input1_offset) <= 255 and abs(a.input2_offset) <= 255 and -128 <= a.output_offset <= 127):
        raise ValueError("offsets out of range (inputs -255..255, output -128..127)")
    if not -128 <= a.act_min <= a.act_max <= 127:
        raise ValueError(f"bad activation range [{a.act_min}, {a.act_max}]")


def broadcast_fields(node, graph) -> list[tuple[str, int]]:
    out = graph.t(node.outputs[0]).shape
    fields = list(zip(("out_n", "out_h", "out_w", "out_c"), as_nhwc(out)))
    for k, name in enumerate(node.inputs, 1):
        strides = broadcast_strides(graph.t(name).shape, out)
        fields += list(zip((f"in{k}_sn", f"in{k}_sh", f"in{k}_sw", f"in{k}_sc"), strides))
    return fields


def full_shape_input(node, graph) -> int | None:
    """Index of an activation input with the output's shape (the output may overwrite it: element i
    of that input is read just before element i of the output is written)."""
    out = graph.t(node.outputs[0])
    for k, name in enumerate(node.inputs):
        t = graph.t(name)
        if not t.is_const and t.shape == out.shape:
            return k
    return None


def shapes_comment(node, graph, sign: str) -> str:
    x1, x2 = (list(graph.t(i).shape) for i in node.inputs)
    return f"{node.op} {x1} {sign} {x2}".replace(", ", ",")


def batched_result(y: np.ndarray, node, graph) -> np.ndarray:
    """Reshape when both operands were lower-rank constants (the result lacks the batch dim)."""
    out = graph.t(node.outputs[0]).shape
    return y.reshape((-1,) + tuple(out[1:])) if y.ndim != len(out) else y


def _fast_requant_ok(node, graph) -> bool:
    """tg_add_s8_fast's requantizations are exact: each operand within tg_requant_smmulr.h's bound."""
    a: AddAttrs = node.attrs
    sums = 0
    for off, m, sh in ((a.input1_offset, a.input1_multiplier, a.input1_shift),
                       (a.input2_offset, a.input2_multiplier, a.input2_shift)):
        shifted = rqf.offset_bound(off) << a.left_shift
        if not rqf.fits(shifted, [sh]):
            return False
        sums += rqf.requant_bound(shifted, m, sh)
    return rqf.fits(sums, [a.output_shift])


def _input_terms(a: AddAttrs) -> tuple[np.ndarray, np.ndarray]:
    """a and b of the module formula for every int8 input value (-128..127), by the reference's
    own arithmetic."""
    x = np.arange(-128, 128, dtype=np.int64)
    return tuple(fx.requantize(fx.sat32((x + off) << a.left_shift), m, sh)
                 for off, m, sh in ((a.input1_offset, a.input1_multiplier, a.input1_shift),
                                    (a.input2_offset, a.input2_multiplier, a.input2_shift)))


# Below this many output elements the two 1 KB tables cost more flash than the ~25 instructions
# per element they save are worth; tg_add_s8_fast runs those (and every add on a board without
# "roomy_flash", tinygen/select/target.py).
LUT_MIN_ELEMENTS = 512


def _lut_ok(node, graph) -> bool:
    """tg_add_s8_lut's conditions (its C file says why): the output requantization of any a + b
    of the tables exact in the fast form, a rounding shift of at least 1, and the output offset
    foldable into the rounding constant without overflow."""
    a: AddAttrs = node.attrs
    if int(np.prod(graph.t(node.outputs[0]).shape)) < LUT_MIN_ELEMENTS or a.output_shift >= 0:
        return False
    t1, t2 = _input_terms(a)
    total = int(np.abs(t1).max() + np.abs(t2).max())
    if not rqf.fits(total, [a.output_shift]):
        return False
    e = -a.output_shift
    y = ((total << 1) * abs(a.output_multiplier) >> 32) + 1  # |SMMULR(2 * (a + b), m)|, pre = 1
    return y + (1 << (e - 1)) + abs(a.output_offset) * (1 << e) < (1 << 31)


def lut_tables(a: AddAttrs) -> tuple[np.ndarray, np.ndarray]:
    """tg_add_s8_lut's tables (tg_elementwise.h): each input term shifted left by the output
    requantization's pre-shift, indexed by the int8 value + 128."""
    pre = max(a.output_shift, 0) + 1  # 1 where _lut_ok holds
    return tuple(t << pre for t in _input_terms(a))


# -- the op -----------------------------------------------------------------------------------------

@register
class Add(OpDef):
    name = "add"
    attrs_type = AddAttrs
    kernels = (Kernel("tg_add_s8_lut", "tg_elementwise.h", "tg_add_params", _lut_ok, needs=frozenset({"roomy_flash"}),
                      layout="lut", inplace_ok=True),
               Kernel("tg_add_s8_fast", "tg_elementwise.h", "tg_add_params", _fast_requant_ok, inplace_ok=True),
               reference_kernel("tg_add_s8_ref", "tg_elementwise.h", "tg_add_params", inplace_ok=True))

    def check(self, node, graph):
        check_two_operands(node, graph)
        if not 0 <= node.attrs.left_shift <= 30:
            raise ValueError(f"left_shift {node.attrs.left_shift} out of range 0..30")

    def reference(self, node, graph, inputs):
        a: AddAttrs = node.attrs
        x1, x2 = (np.asarray(x, np.int64) for x in inputs)
        s1 = fx.requantize(fx.sat32((x1 + a.input1_offset) << a.left_shift), a.input1_multiplier, a.input1_shift)
        s2 = fx.requantize(fx.sat32((x2 + a.input2_offset) << a.left_shift), a.input2_multiplier, a.input2_shift)
        y = requantize_to_int8(s1 + s2, a.output_multiplier, a.output_shift, a.output_offset, a.act_min, a.act_max)
        return [batched_result(y, node, graph)]

    def inplace_input(self, node, graph):
        return full_shape_input(node, graph)

    def emit(self, node, graph):
        a: AddAttrs = node.attrs
        fields = broadcast_fields(node, graph) + [
            ("input1_offset", a.input1_offset), ("input2_offset", a.input2_offset),
            ("output_offset", a.output_offset), ("left_shift", a.left_shift),
            ("input1_multiplier", a.input1_multiplier), ("input1_shift", a.input1_shift),
            ("input2_multiplier", a.input2_multiplier), ("input2_shift", a.input2_shift),
            ("output_multiplier", a.output_multiplier), ("output_shift", a.output_shift),
            ("act_min", a.act_min), ("act_max", a.act_max),
        ]
        if node.kernel and self.kernel(node).layout == "lut":
            t1, t2 = lut_tables(a)
            fields += [("table1", c_values(t1, "int32_t", "a << pre by input 1 value + 128")),
                       ("table2", c_values(t2, "int32_t", "b << pre by input 2 value + 128"))]
        else:
            fields += [("table1", None), ("table2", None)]
        return KernelCall(fields, list(node.inputs),
                          list(node.outputs), comment=shapes_comment(node, graph, "+"))

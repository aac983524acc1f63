"""concat: int8 concatenation along one axis, requantizing inputs whose grid differs from the output's.

    y_i = clamp(requantize((x_i + input_offsets[i]) << left_shifts[i], multipliers[i], shifts[i])
                + output_offset, -128, 127)
          if requant[i], else x_i (a plain copy: same scale and zero point as the output)

multipliers[i] / shifts[i] hold s_in / s_out divided by 2^left_shifts[i], the pre-scale that makes
y_i round(x_i * s_in / s_out) as PyTorch rounds it (tinygen/quant/params.py).
    out = concatenate([y_0, y_1, ...], axis)

`axis` indexes the lowered layout (3 = channels of NHWC) and is never 0, the batch. The C kernel
takes the inputs as an array of pointers and, for each of `outer` = prod(shape[:axis]) slabs,
appends axis_size[i] * inner elements of every input in turn (inner = prod(shape[axis+1:])).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinygen.ops import requant_smmulr as rqf
from tinygen.ops.base import Kernel, KernelCall, reference_kernel, OpDef, c_values, register
from tinygen.ops.common import requantize_to_int8
from tinygen.quant.params import concat_requant


@dataclass(frozen=True)
class ConcatAttrs:
    axis: int
    input_offsets: tuple[int, ...]  # -zero point of each input
    multipliers: tuple[int, ...]  # s_in / s_out per input
    shifts: tuple[int, ...]
    output_offset: int  # output zero point
    requant: tuple[int, ...]  # 1: requantize input i, 0: copy it (same grid as the output)
    left_shifts: tuple[int, ...] = ()  # pre-scale of each requantized input (empty: none)

    def left_shift(self, i: int) -> int:
        return self.left_shifts[i] if self.left_shifts else 0


def concat_params(in_qparams, out_qparams, axis: int) -> ConcatAttrs:
    """ConcatAttrs from [(scale, zero_point), ...] of the inputs and (scale, zero_point) of the output."""
    s_out, zp_out = out_qparams
    rs = [concat_requant(s, s_out, rqf.offset_bound(-int(zp))) for s, zp in in_qparams]
    return ConcatAttrs(
        axis, tuple(-int(zp) for _, zp in in_qparams), tuple(r.multiplier for r in rs), tuple(r.shift for r in rs),
        int(zp_out), tuple(int(not (s == s_out and zp == zp_out)) for s, zp in in_qparams),
        tuple(r.left_shift for r in rs),
    )


def _fast_ok(node, graph) -> bool:
    """tg_concat_s8_fast: every requantized input within tg_requant_smmulr.h's bound."""
    a = node.attrs
    return all(rqf.fits(rqf.offset_bound(off) << a.left_shift(i), [sh])
               for i, (off, sh, rq) in enumerate(zip(a.input_offsets, a.shifts, a.requant)) if rq)


@register
class Concat(OpDef):
    name = "concat"
    attrs_type = ConcatAttrs
    kernels = (Kernel("tg_concat_s8_fast", "tg_concat.h", "tg_concat_params", _fast_ok),
               reference_kernel("tg_concat_s8_ref", "tg_concat.h", "tg_concat_params"))

    def check(self, node, graph):
        a: ConcatAttrs = node.attrs
        ins = [graph.t(i) for i in node.inputs]
        out = graph.t(node.outputs[0])
        k = len(ins)
        if k == 0 or not all(len(v) == k for v in (a.input_offsets, a.multipliers, a.shifts, a.requant)):
            raise ValueError("input_offsets/multipliers/shifts/requant need one entry per input")
        if not 1 <= a.axis < len(out.shape):
            raise ValueError(f"axis {a.axis} must be in 1..{len(out.shape) - 1} (axis 0 is the batch)")
        for t in ins + [out]:
            if t.dtype.value != "int8":
                raise ValueError(f"tensor {t.name!r} must be int8")
        for t in ins:
            if len(t.shape) != len(out.shape) or any(
                    d != o for j, (d, o) in enumerate(zip(t.shape, out.shape)) if j != a.axis):
                raise ValueError(f"input {list(t.shape)} does not fit output {list(out.shape)} on axis {a.axis}")
        if sum(t.shape[a.axis] for t in ins) != out.shape[a.axis]:
            raise ValueError(f"inputs sum to {sum(t.shape[a.axis] for t in ins)} on axis {a.axis}, "
                             f"output has {out.shape[a.axis]}")
        if not -128 <= a.output_offset <= 127 or any(abs(o) > 255 for o in a.input_offsets):
            raise ValueError("offsets out of range (inputs -255..255, output -128..127)")
        if a.left_shifts and (len(a.left_shifts) != k or not all(0 <= s <= 22 for s in a.left_shifts)):
            raise ValueError("left_shifts need one entry per input, each in 0..22 (383 << 22 fits int32)")

    def reference(self, node, graph, inputs):
        a: ConcatAttrs = node.attrs
        batch = max(x.shape[0] for x in inputs)  # constant inputs have batch 1
        ys = []
        for i, x in enumerate(inputs):
            if a.requant[i]:
                x = requantize_to_int8((x.astype(np.int64) + a.input_offsets[i]) << a.left_shift(i),
                                       a.multipliers[i], a.shifts[i], a.output_offset, -128, 127)
            ys.append(np.broadcast_to(x, (batch,) + x.shape[1:]))
        return [np.concatenate(ys, axis=a.axis).astype(np.int8)]

    def emit(self, node, graph):
        a: ConcatAttrs = node.attrs
        ins = [graph.t(i) for i in node.inputs]
        out = graph.t(node.outputs[0])
        fields = [
            ("num_inputs", len(ins)),
            ("outer", int(np.prod(out.shape[:a.axis]))), ("inner", int(np.prod(out.shape[a.axis + 1:]))),
            ("output_offset", a.output_offset),
            ("axis_size", c_values([t.shape[a.axis] for t in ins], "int32_t", "per input, along the axis")),
            ("input_offset", c_values(a.input_offsets, "int32_t")),
            ("multiplier", c_values(a.multipliers, "int32_t")),
            ("shift", c_values(a.shifts, "int32_t")),
            ("requant", c_values(a.requant, "int32_t", "1 = requantize, 0 = copy")),
            ("left_shift", c_values([a.left_shift(i) for i in range(len(ins))], "int32_t", "pre-scale")),
        ]
        shapes = " ".join(str(list(t.shape)).replace(", ", ",") for t in ins)
        return KernelCall(fields, list(node.inputs), list(node.outputs),
            inputs_as_array=True,
            comment=f"concat axis={a.axis} {shapes} -> {list(out.shape)}".replace(", ", ","),
        )

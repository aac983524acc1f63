"""Builtin int8 TFLite ops that map each element on its own (or against a second operand):

* TANH, RELU, RELU6, LEAKY_RELU -> lut: each is a function of one int8 code, so a 256-entry table
  of TFLM's integer algorithm (tinygen/reference/tflm.py) is exact;
* PRELU -> prelu (alpha differs per position; TFLM's two multipliers);
* MAXIMUM, MINIMUM -> maximum / minimum (TFLM compares the raw codes; the converter puts both
  inputs and the output on one grid, checked here). A constant operand is broadcast offline.
"""

from __future__ import annotations

import numpy as np

from tinygen.errors import QuantizationError
from tinygen.importers.tflite.builtin import table_op
from tinygen.importers.tflite.context import TflImport, TflOp, handles
from tinygen.importers.tflite.reader import shape_text
from tinygen.ops.lut import LutAttrs, make_table
from tinygen.ops.maximum import MaximumAttrs
from tinygen.ops.prelu import PreluAttrs
from tinygen.quant.multiplier import quantize_multiplier

handles("TANH", max_version=3)(table_op("tflm_tanh"))
handles("RELU", max_version=3)(table_op("tflm_relu"))
handles("RELU6", max_version=3)(table_op("tflm_relu6"))


@handles("LEAKY_RELU", max_version=2)
def leaky_relu(ctx: TflImport, op: TflOp) -> None:
    x_idx, out_idx = op.inputs[0], op.outputs[0]
    ctx.require(x_idx, "int8", "input")
    ctx.require(out_idx, "int8", "output")
    alpha = float(op.options.alpha) if op.options is not None else 0.2
    if not 0 <= alpha <= 1 << 16:
        raise ctx.error(f"alpha {alpha:g}: tinygen imports LEAKY_RELU with 0 <= alpha (a negative slope needs a "
                        "negative multiplier)")
    (s_in, zp_in), (s_out, zp_out) = ctx.qp(x_idx), ctx.qp(out_idx)
    try:
        table = make_table("tflm_leaky_relu", s_in, zp_in, s_out, zp_out, alpha=alpha)
    except ValueError as e:
        raise ctx.error(f"no leaky_relu table for input scale {s_in:g}, output scale {s_out:g}: {e}",
                        QuantizationError) from None
    ctx.emit("lut", [ctx.act(x_idx)], [ctx.out(out_idx)], LutAttrs(table, f"tflm_leaky_relu alpha {alpha:g}"))


def _multiplier(ctx: TflImport, real: float, what: str) -> tuple[int, int]:
    try:
        return quantize_multiplier(real, saturate=True)
    except ValueError as e:
        raise ctx.error(f"{what} multiplier {real:g}: {e}", QuantizationError) from None


@handles("PRELU", max_version=1)
def prelu(ctx: TflImport, op: TflOp) -> None:
    x_idx, a_idx, out_idx = op.inputs[0], op.inputs[1], op.outputs[0]
    ctx.require(x_idx, "int8", "input")
    ctx.require(out_idx, "int8", "output")
    ctx.require(a_idx, "int8", "alpha")
    alpha = ctx.const_data(a_idx, "alpha")
    shape = tuple(ctx.t(x_idx).shape)
    if tuple(ctx.t(out_idx).shape) != shape:
        raise ctx.error(f"output {shape_text(ctx.t(out_idx).shape)} differs from the input {shape_text(shape)} "
                        "(a broadcasting alpha larger than the input is not supported)")
    inner = shape[1:]
    a_shape = tuple(alpha.shape)
    if len(a_shape) == len(shape):
        if a_shape[0] != 1:
            raise ctx.error(f"alpha {shape_text(a_shape)} varies along the batch axis")
        a_shape = a_shape[1:]
    if len(a_shape) > len(inner):
        raise ctx.error(f"alpha {shape_text(alpha.shape)} does not broadcast to {shape_text(shape)}")
    a_shape = (1,) * (len(inner) - len(a_shape)) + a_shape
    try:
        full = np.broadcast_to(alpha.reshape(a_shape), inner)
    except ValueError:
        raise ctx.error(f"alpha {shape_text(alpha.shape)} does not broadcast to {shape_text(shape)}") from None
    lead = next((d for d, n in enumerate(a_shape) if n != 1), len(a_shape))  # alpha repeats over inner[lead:]
    values = np.ascontiguousarray(full[(0,) * lead]).reshape(-1).astype(np.int8)
    s_a, zp_a = ctx.qp(a_idx)
    (s_in, zp_in), (s_out, zp_out) = ctx.qp(x_idx), ctx.qp(out_idx)
    m1, sh1 = _multiplier(ctx, float(s_in) / float(s_out), "identity")
    m2, sh2 = _multiplier(ctx, float(s_in) * float(s_a) / float(s_out), "alpha")
    attrs = PreluAttrs(-zp_in, -zp_a, zp_out, m1, sh1, m2, sh2)
    aname = ctx.const("alpha", values)
    ctx.emit("prelu", [ctx.act(x_idx), aname], [ctx.out(out_idx)], attrs)


def _max_min(op_name: str):
    def handler(ctx: TflImport, op: TflOp) -> None:
        out_idx = op.outputs[0]
        ctx.require(out_idx, "int8", "output")
        shape = tuple(ctx.t(out_idx).shape)
        names = []
        for i in op.inputs:
            t = ctx.require(i, "int8", "input")
            ctx.same_grid(i, out_idx, op_name)
            if tuple(t.shape) == shape:
                names.append(ctx.act(i))
            elif t.is_const:
                try:
                    full = np.broadcast_to(t.data, shape)
                except ValueError:
                    raise ctx.error(f"constant '{t.label}' {shape_text(t.shape)} does not broadcast to "
                                    f"{shape_text(shape)}") from None
                names.append(ctx.const("operand", np.ascontiguousarray(full, dtype=np.int8), ctx.quant(i)))
            else:
                raise ctx.error(f"input '{t.label}' {shape_text(t.shape)} would broadcast to {shape_text(shape)}; "
                                f"tinygen's {op_name} takes two activations of the output's shape")
        ctx.emit(op_name, names, [ctx.out(out_idx)], MaximumAttrs())
    return handler


handles("MAXIMUM", max_version=4)(_max_min("maximum"))
handles("MINIMUM", max_version=4)(_max_min("minimum"))

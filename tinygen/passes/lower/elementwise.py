"""add, mul (TFLM int8 schemes, with broadcasting) and one-input element-wise functions (tables)."""

from __future__ import annotations

import numpy as np

from tinygen.errors import QuantizationError
from tinygen.passes.lower.context import LowerCtx, act_range, lowers


def _operand(ctx: LowerCtx, name: str, out_rank: int):
    """Lowered name of an add/mul operand, constants reshaped for broadcasting in NHWC."""
    src = ctx.src.t(name)
    if not src.is_const:
        t = ctx.x(name)
        if len(t.shape) != out_rank:
            raise ctx.error(f"operand shapes {list(src.shape)} need rank broadcasting, which is not supported")
        return t.name, src.quant
    if src.quant is None or src.quant.per_channel:
        raise ctx.error(f"constant operand '{name}' must be fake-quantized per tensor", QuantizationError)
    data = src.data.reshape((1,) * (out_rank - src.data.ndim) + src.data.shape)
    if out_rank == 4:
        data = data.transpose(0, 2, 3, 1)
    return ctx.const(name, np.ascontiguousarray(data), src.quant).name, src.quant


@lowers("add", "mul")
def lower_add_mul(ctx: LowerCtx, node) -> None:
    from tinygen.ops.add import add_params
    from tinygen.ops.mul import mul_params

    rank = len(ctx.src.t(node.outputs[0]).shape)
    (a, qa), (b, qb) = (_operand(ctx, i, rank) for i in node.inputs)
    qo = ctx.quant(node.outputs[0])
    lo, hi = act_range(qo, node.attrs.activation)
    make = add_params if node.op == "add" else mul_params
    attrs = make(qa.scale[0], qa.zero_point[0], qb.scale[0], qb.zero_point[0], qo.scale[0], qo.zero_point[0], lo, hi)
    ctx.emit(node.op, [a, b], [ctx.out(node.outputs[0]).name], attrs)


@lowers("clamp")
def lower_clamp(ctx: LowerCtx, node) -> None:
    x = ctx.x(node.inputs[0])
    ctx.emit_lut("clamp", x.name, ctx.quant(node.inputs[0]), node.outputs[0], lo=node.attrs.lo, hi=node.attrs.hi)


@lowers("unary")
def lower_unary(ctx: LowerCtx, node) -> None:
    x = ctx.x(node.inputs[0])
    ctx.emit_lut(node.attrs.fn, x.name, ctx.quant(node.inputs[0]), node.outputs[0])


@lowers("fake_quant")
def lower_requantize(ctx: LowerCtx, node) -> None:
    """A fake-quant that could not be absorbed: move values from one int8 grid to another."""
    x = ctx.x(node.inputs[0])
    ctx.emit_lut("identity", x.name, ctx.quant(node.inputs[0]), node.outputs[0])

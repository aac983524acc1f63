"""softmax -> int8 softmax (exp table + integer normalisation); x * c and x / c -> an int8 table."""

from __future__ import annotations

import numpy as np

from tinygen.ops.lut import table_fn
from tinygen.passes.lower.context import LowerCtx, lowers, nhwc_axis

F32 = np.float32


@table_fn("mul_scalar")
def _mul_scalar(x, factor):  # torch: x * c in float32
    return x * F32(factor)


@table_fn("div_scalar")
def _div_scalar(x, divisor):  # torch: x / c in float32
    return x / F32(divisor)


@lowers("scale")
def lower_scale(ctx: LowerCtx, node) -> None:
    x = ctx.x(node.inputs[0])
    a = node.attrs
    fn, params = ("div_scalar", {"divisor": a.factor}) if a.divide else ("mul_scalar", {"factor": a.factor})
    ctx.emit_lut(fn, x.name, ctx.quant(node.inputs[0]), node.outputs[0], **params)


@lowers("softmax")
def lower_softmax(ctx: LowerCtx, node) -> None:
    from tinygen.ops.softmax import softmax_params

    x = ctx.x(node.inputs[0])
    src_shape = ctx.src.t(node.inputs[0]).shape
    if nhwc_axis(node.attrs.axis, len(src_shape)) != len(x.shape) - 1:
        raise ctx.error(f"softmax over dim {node.attrs.axis} of {list(src_shape)}: only the channels of a 4-D map or "
                        "the last dim of a lower-rank tensor are supported")
    qi, qo = ctx.quant(node.inputs[0]), ctx.quant(node.outputs[0])
    attrs = softmax_params(qi.scale[0], node.attrs.beta, qo.scale[0], qo.zero_point[0], qo.qmin, qo.qmax)
    ctx.emit("softmax", [x.name], [ctx.out(node.outputs[0]).name], attrs)

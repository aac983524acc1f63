"""concat, slice and reshape: data movement in the channels-last layout."""

from __future__ import annotations

import numpy as np

from tinygen.passes.lower.context import LowerCtx, lowers, nhwc_axis, nhwc_shape, storage_order


@lowers("concat")
def lower_concat(ctx: LowerCtx, node) -> None:
    from tinygen.ops.concat import concat_params

    xs = [ctx.x(i) for i in node.inputs]
    rank = len(ctx.src.t(node.outputs[0]).shape)
    qo = ctx.quant(node.outputs[0])
    ins = [(ctx.quant(i).scale[0], ctx.quant(i).zero_point[0]) for i in node.inputs]
    attrs = concat_params(ins, (qo.scale[0], qo.zero_point[0]), nhwc_axis(node.attrs.axis, rank))
    ctx.emit("concat", [x.name for x in xs], [ctx.out(node.outputs[0]).name], attrs)


@lowers("slice")
def lower_slice(ctx: LowerCtx, node) -> None:
    from tinygen.ops.slice import SliceAttrs

    x = ctx.x(node.inputs[0])
    a = node.attrs
    rank = len(x.shape)
    axis = nhwc_axis(a.axis, rank)
    size = len(range(a.start, a.end, a.step))
    begin = tuple(a.start if i == axis else 0 for i in range(rank))
    sizes = tuple(size if i == axis else d for i, d in enumerate(x.shape))
    steps = tuple(a.step if i == axis else 1 for i in range(rank))
    ctx.emit_on_input_grid("slice", [x.name], SliceAttrs(begin, sizes, steps), node.outputs[0], ctx.quant(node.inputs[0]))


@lowers("reshape")
def lower_reshape(ctx: LowerCtx, node) -> None:
    """Same bytes, new shape. The element order must survive the NCHW -> NHWC change: either it
    does (order unchanged), or the result is a flat vector whose order is remembered in ctx.perm
    (a following linear layer permutes its weight columns to match)."""
    from tinygen.ops.reshape import ReshapeAttrs

    x = ctx.x(node.inputs[0], allow_perm=True)
    src_in, src_out = ctx.src.t(node.inputs[0]).shape, ctx.src.t(node.outputs[0]).shape
    in_order = ctx.perm.get(x.name, storage_order(src_in))
    out_order = storage_order(src_out)
    out_shape = nhwc_shape(src_out)
    ctx.emit_on_input_grid("reshape", [x.name], ReshapeAttrs(tuple(out_shape)), node.outputs[0],
                           ctx.quant(node.inputs[0]), shape=out_shape)
    if not np.array_equal(in_order, out_order):
        if len(src_out) != 2:
            raise ctx.error(f"reshape {list(src_in)} -> {list(src_out)} reorders elements in tinygen's channels-last "
                            "layout; only flattening to [1, features] is supported")
        ctx.perm[ctx.names[node.outputs[0]]] = in_order

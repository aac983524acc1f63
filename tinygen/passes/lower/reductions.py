"""group_max (max-out), maximum and variance -> int8 ops.

Reductions keep the element order of tinygen's layout: a 4-D map is channels-last, lower ranks
are stored row-major. `_emit_reduction` checks that the reduced tensor's storage order equals the
order the source output would have, and adds an in-place reshape when only the shape differs
(e.g. a dropped trailing axis); orders that would need a transpose are refused.
"""

from __future__ import annotations

import numpy as np

from tinygen.ir.graph import QuantParams
from tinygen.passes.lower.context import LowerCtx, lowers, nhwc_axis, nhwc_shape, storage_order


def _lowered_order_ok(src_in, src_axes, low_axes, keepdim: bool) -> bool:
    """True when reducing the lowered tensor over low_axes stores the results in the order the
    source output (reduced over src_axes) has in tinygen's layout."""
    ids = np.arange(int(np.prod(src_in))).reshape(src_in)
    src_out = ids.min(axis=tuple(src_axes), keepdims=keepdim)
    low = (ids.transpose(0, 2, 3, 1) if len(src_in) == 4 else ids).min(axis=tuple(low_axes), keepdims=keepdim)
    return np.array_equal(low.reshape(-1), src_out.reshape(-1)[storage_order(src_out.shape)])


def _finish(ctx: LowerCtx, node, op: str, x_name: str, attrs, low_shape, quant: QuantParams) -> None:
    """Emit `op` writing a tensor of low_shape, then a reshape to the source output's layout if needed."""
    from tinygen.ops.reshape import ReshapeAttrs

    src_out = node.outputs[0]
    want = nhwc_shape(ctx.src.t(src_out).shape)
    if tuple(low_shape) == tuple(want):
        ctx.emit(op, [x_name], [ctx.out(src_out, want).name], attrs)
        return
    tmp = ctx.new_act(src_out + "_" + op, low_shape, quant)
    ctx.emit(op, [x_name], [tmp.name], attrs)
    ctx.emit("reshape", [tmp.name], [ctx.out(src_out, want).name], ReshapeAttrs(tuple(want)), suffix="_reshape")


def requantize_into(ctx: LowerCtx, name: str, q_in: QuantParams, q_out: QuantParams, base: str) -> str:
    """A new tensor holding `name` moved onto q_out's grid (an identity table)."""
    from tinygen.ops.lut import LutAttrs, make_table

    table = make_table("identity", q_in.scale[0], q_in.zero_point[0], q_out.scale[0], q_out.zero_point[0],
                       q_out.qmin, q_out.qmax)
    t = ctx.new_act(base, ctx.dst.t(name).shape, q_out)
    ctx.emit("lut", [name], [t.name], LutAttrs(tuple(int(v) for v in table), "identity"), suffix="_requant")
    return t.name


def _on_grid(q: QuantParams, target: QuantParams) -> bool:
    return q.same_grid(target) and target.qmin <= q.qmin and q.qmax <= target.qmax


@lowers("group_max")
def lower_group_max(ctx: LowerCtx, node) -> None:
    from tinygen.ops.group_max import GroupMaxAttrs, group_max_out_shape

    x = ctx.x(node.inputs[0])
    src_in = ctx.src.t(node.inputs[0]).shape
    a = node.attrs
    if nhwc_axis(a.axis, len(src_in)) != len(x.shape) - 1:
        raise ctx.error(f"max over dim {a.axis} of {list(src_in)}: only the channels of a 4-D map or the last dim "
                        "of a lower-rank tensor can be reduced")
    q_in, q_out = ctx.quant(node.inputs[0]), ctx.quant(node.outputs[0])
    low_shape = group_max_out_shape(x.shape, a.group)
    if _on_grid(q_in, q_out):
        _finish(ctx, node, "group_max", x.name, GroupMaxAttrs(a.group), low_shape, q_in)
        return
    # A quantizer after the max: max on the input grid, then requantize (monotonic, so exact).
    tmp = ctx.new_act(node.outputs[0] + "_pre", low_shape, q_in)
    ctx.emit("group_max", [x.name], [tmp.name], GroupMaxAttrs(a.group))
    _finish_lut(ctx, node, tmp.name, q_in)


def _finish_lut(ctx: LowerCtx, node, name: str, q_in: QuantParams) -> None:
    from tinygen.ops.reshape import ReshapeAttrs

    src_out = node.outputs[0]
    want = nhwc_shape(ctx.src.t(src_out).shape)
    if tuple(ctx.dst.t(name).shape) != tuple(want):
        r = ctx.new_act(src_out + "_reshape", want, q_in)
        ctx.emit("reshape", [name], [r.name], ReshapeAttrs(tuple(want)), suffix="_reshape")
        name = r.name
    ctx.emit_lut("identity", name, q_in, src_out)


@lowers("maximum")
def lower_maximum(ctx: LowerCtx, node) -> None:
    from tinygen.ops.maximum import MaximumAttrs

    q_out = ctx.quant(node.outputs[0])
    want = nhwc_shape(ctx.src.t(node.outputs[0]).shape)
    names = []
    for k, src in enumerate(node.inputs):
        if ctx.src.t(src).is_const:
            raise ctx.error("maximum with a constant operand is not supported")
        x = ctx.x(src)
        if tuple(x.shape) != tuple(want):
            raise ctx.error(f"maximum of shapes {list(ctx.src.t(node.inputs[0]).shape)} and "
                            f"{list(ctx.src.t(node.inputs[1]).shape)}: broadcasting is not supported")
        q = ctx.quant(src)
        names.append(x.name if _on_grid(q, q_out) else requantize_into(ctx, x.name, q, q_out, f"{node.outputs[0]}_in{k}"))
    ctx.emit("maximum", names, [ctx.out(node.outputs[0]).name], MaximumAttrs())


@lowers("variance")
def lower_variance(ctx: LowerCtx, node) -> None:
    from tinygen.ops.mean import mean_out_shape
    from tinygen.ops.variance import variance_params

    x = ctx.x(node.inputs[0])
    src_in = ctx.src.t(node.inputs[0]).shape
    rank = len(src_in)
    a = node.attrs
    axes = tuple(sorted(nhwc_axis(d, rank) for d in a.axes))
    if not axes or axes[0] == 0 or list(axes) != list(range(axes[0], axes[-1] + 1)):
        raise ctx.error(f"variance over dims {list(a.axes)} of {list(src_in)}: the dims must exclude the batch and be "
                        "contiguous in tinygen's layout (e.g. (2, 3), the spatial dims of a 4-D map)")
    if not _lowered_order_ok(src_in, a.axes, axes, a.keepdim):
        raise ctx.error(f"variance over dims {list(a.axes)} of {list(src_in)} without keepdim reorders elements in "
                        "tinygen's channels-last layout; use keepdim=True")
    count = int(np.prod([x.shape[d] for d in axes]))
    qi, qo = ctx.quant(node.inputs[0]), ctx.quant(node.outputs[0])
    try:
        attrs = variance_params(axes, a.keepdim, count, qi.scale[0], qi.zero_point[0], qo.scale[0], qo.zero_point[0],
                                a.correction, qo.qmin, qo.qmax)
    except ValueError as e:
        raise ctx.error(str(e)) from None
    _finish(ctx, node, "variance", x.name, attrs, mean_out_shape(x.shape, axes, a.keepdim), qo)

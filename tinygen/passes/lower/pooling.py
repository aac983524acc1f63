"""max/avg pooling and mean over spatial axes."""

from __future__ import annotations

import numpy as np

from tinygen.passes.lower.context import LowerCtx, lowers, nhwc_axis


@lowers("max_pool2d")
def lower_max_pool(ctx: LowerCtx, node) -> None:
    from tinygen.ops.max_pool2d import MaxPool2dAttrs

    x = ctx.x(node.inputs[0])
    q = ctx.quant(node.inputs[0])
    a = node.attrs
    ctx.emit_on_input_grid("max_pool2d", [x.name], MaxPool2dAttrs(a.kernel, a.stride, a.padding, a.dilation, q.qmin, q.qmax),
                           node.outputs[0], q)


@lowers("avg_pool2d")
def lower_avg_pool(ctx: LowerCtx, node) -> None:
    from tinygen.ops.avg_pool2d import avg_pool_params

    x = ctx.x(node.inputs[0])
    qi, qo = ctx.quant(node.inputs[0]), ctx.quant(node.outputs[0])
    a = node.attrs
    attrs = avg_pool_params(a.kernel, a.stride, a.padding, a.count_include_pad, qi.scale[0], qi.zero_point[0],
                            qo.scale[0], qo.zero_point[0], qo.qmin, qo.qmax)
    ctx.emit("avg_pool2d", [x.name], [ctx.out(node.outputs[0]).name], attrs)


@lowers("mean")
def lower_mean(ctx: LowerCtx, node) -> None:
    from tinygen.ops.mean import mean_params

    x = ctx.x(node.inputs[0])
    src_shape = ctx.src.t(node.inputs[0]).shape
    rank = len(src_shape)
    axes = tuple(sorted(nhwc_axis(a, rank) for a in node.attrs.axes))
    if rank != 4 or not set(axes) <= {1, 2}:
        raise ctx.error(f"mean over axes {node.attrs.axes} of a rank-{rank} tensor; only spatial means are supported")
    count = int(np.prod([x.shape[a] for a in axes]))
    qi, qo = ctx.quant(node.inputs[0]), ctx.quant(node.outputs[0])
    attrs = mean_params(axes, node.attrs.keepdim, count, qi.scale[0], qi.zero_point[0], qo.scale[0], qo.zero_point[0])
    shape = tuple(1 if i in axes else d for i, d in enumerate(x.shape)) if node.attrs.keepdim else \
        tuple(d for i, d in enumerate(x.shape) if i not in axes)
    ctx.emit("mean", [x.name], [ctx.out(node.outputs[0], shape).name], attrs)

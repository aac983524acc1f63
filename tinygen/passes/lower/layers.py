"""conv2d and linear -> int8 conv2d / fully_connected with per-channel requantization.

    bias_q[o]   = round(bias[o] / (s_in * s_w[o]))            (int32, ties away from zero)
    M[o]        = s_in * s_w[o] / s_out  -> (multiplier, shift)  (fixedpoint.quantize_multiplier)
"""

from __future__ import annotations

import numpy as np

from tinygen.errors import QuantizationError
from tinygen.passes.lower.context import LowerCtx, act_range, check_symmetric_weights, lowers
from tinygen.reference.fixedpoint import quantize_multiplier, round_half_away


def _bias_and_requant(ctx: LowerCtx, node, s_w: np.ndarray, s_in: float, s_out: float):
    cout = len(s_w)
    bias = ctx.src.t(node.inputs[2]).data.astype(np.float64) if len(node.inputs) > 2 else np.zeros(cout)
    bias_q = round_half_away(bias / (np.float64(s_in) * s_w))
    if np.abs(bias_q).max(initial=0) >= 2**31:
        raise ctx.error("bias does not fit int32 at scale s_in * s_w", QuantizationError)
    ms = [quantize_multiplier(float(np.float64(s_in) * sw / np.float64(s_out))) for sw in s_w]
    return bias_q.astype(np.int32), tuple(m for m, _ in ms), tuple(s for _, s in ms)


@lowers("conv2d")
def lower_conv2d(ctx: LowerCtx, node) -> None:
    from tinygen.ops.conv2d import Conv2dAttrs

    x = ctx.x(node.inputs[0])
    w = ctx.src.t(node.inputs[1])
    s_w = check_symmetric_weights(ctx, w, "conv2d")
    qx, qo = ctx.quant(node.inputs[0]), ctx.quant(node.outputs[0])
    bias, mult, shift = _bias_and_requant(ctx, node, s_w, qx.scale[0], qo.scale[0])
    a = node.attrs
    lo, hi = act_range(qo, a.activation)
    attrs = Conv2dAttrs(a.stride, a.padding, a.dilation, a.groups, -qx.zero_point[0], qo.zero_point[0], mult, shift, lo, hi)
    wt = ctx.const(w.name, np.ascontiguousarray(w.data.transpose(0, 2, 3, 1)), w.quant)  # OIHW -> OHWI
    bt = ctx.const(node.name + "_bias", bias)
    ctx.emit("conv2d", [x.name, wt.name, bt.name], [ctx.out(node.outputs[0]).name], attrs)


@lowers("linear")
def lower_linear(ctx: LowerCtx, node) -> None:
    from tinygen.ops.fully_connected import FullyConnectedAttrs

    x = ctx.x(node.inputs[0], allow_perm=True)
    if len(x.shape) != 2:
        raise ctx.error(f"linear on a rank-{len(x.shape)} input; flatten to [1, features] first")
    w = ctx.src.t(node.inputs[1])
    s_w = check_symmetric_weights(ctx, w, "linear")
    qx, qo = ctx.quant(node.inputs[0]), ctx.quant(node.outputs[0])
    bias, mult, shift = _bias_and_requant(ctx, node, s_w, qx.scale[0], qo.scale[0])
    data = w.data
    if x.name in ctx.perm:  # the input's features are stored channels-last: reorder the columns to match
        data = data[:, ctx.perm[x.name]]
    lo, hi = act_range(qo, node.attrs.activation)
    attrs = FullyConnectedAttrs(-qx.zero_point[0], qo.zero_point[0], mult, shift, lo, hi)
    wt = ctx.const(w.name, np.ascontiguousarray(data), w.quant)
    bt = ctx.const(node.name + "_bias", bias)
    ctx.emit("fully_connected", [x.name, wt.name, bt.name], [ctx.out(node.outputs[0]).name], attrs)

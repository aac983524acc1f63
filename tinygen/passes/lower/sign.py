"""int8 -> binary: sign, and conv2d_sign / linear_sign whose input is int8.

sign(x), x int8 with zero point zp  ->  binarize: bit = (q < zp), so real 0 gives +1. Exact.

conv2d_sign / linear_sign on an int8 input (the first binary layer of a network):

    acc[c]  = sum w_q * (x_q - zp_x)                   (the integer accumulator, no bias)
    y(acc)  = BN_c(s_x * s_w[c] * acc + bias[c])       (float64; BN optional), sign: y >= 0 -> +1

y is monotone in acc, so sign(y) = [acc >= T_c] when gamma_c > 0, [acc <= T_c] when gamma_c < 0,
and a constant when gamma_c = 0. T_c is found by bisection of y over the reachable accumulators
|acc| <= A_c = 255 * sum |w_q[c]|, which makes it agree with the float64 expression at every
integer, ties included. The lowered form is an int8 conv2d / fully_connected whose output is
v = acc - T_c (or T_c - acc, with negated weights; or 0 / -1 for constant channels), requantized
by exactly 1.0 and clamped to int8, which keeps the sign of v, followed by binarize with zero
point 0: bit = (v < 0). Exact as long as 2 * (2 * A_c + 1) < 2^31, which is checked. A conv2d
with int8-stored weights and groups 1 becomes one conv2d_bits node instead, bit = acc' < -bias
(acc' with the direction in the weights), which writes the packed bits without the int8 map.
"""

from __future__ import annotations

import numpy as np

from tinygen.errors import QuantizationError
from tinygen.ir import float_ops as F
from tinygen.ir.graph import QuantParams
from tinygen.passes.lower.context import LowerCtx, check_symmetric_weights, lowers, nhwc_shape
from tinygen.passes.lower.packed import emit_conv, emit_fully_connected, weight_storage
from tinygen.reference import bitpack

IDENTITY = (1 << 30, 1)  # (multiplier, shift) of exactly 1.0
NO_BN = F.BatchNormParams((1.0,), (0.0,), (0.0,), (1.0,), 0.0)


def bn_arrays(bn: F.BatchNormParams | None, cout: int) -> tuple[np.ndarray, ...]:
    """gamma, beta, mean, var (float64, one per channel) and eps of an optional BatchNorm."""
    bn = bn or NO_BN
    arrs = (np.broadcast_to(np.asarray(v, np.float64), (cout,)) for v in (bn.gamma, bn.beta, bn.mean, bn.var))
    return (*arrs, float(bn.eps))


def accumulator_thresholds(r: np.ndarray, bias: np.ndarray, bn: F.BatchNormParams | None,
                           amax: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(direction d[c] in {1, -1, 0}, T[c]) per the module docstring. For d = 0, T is 0 when the
    constant sign is +1 and -1 when it is -1 (so v = T directly)."""
    cout = len(r)
    gamma, beta, mean, var, eps = bn_arrays(bn, cout)
    d = np.zeros(cout, np.int64)
    t = np.zeros(cout, np.int64)
    for c in range(cout):
        inv = 1.0 / np.sqrt(var[c] + eps)

        def nonneg(acc: int, c=c, inv=inv) -> bool:
            return bool(gamma[c] * (r[c] * acc + bias[c] - mean[c]) * inv + beta[c] >= 0)

        a = int(amax[c])
        if gamma[c] == 0 or r[c] == 0:
            t[c] = 0 if nonneg(0) else -1
            continue
        if gamma[c] > 0:  # smallest T in [-a, a + 1] with y(T) >= 0 (a + 1: never)
            lo, hi = -a, a + 1
            while lo < hi:
                mid = (lo + hi) // 2
                lo, hi = (lo, mid) if nonneg(mid) else (mid + 1, hi)
            d[c], t[c] = 1, lo
        else:  # largest T in [-a - 1, a] with y(T) >= 0 (-a - 1: never)
            lo, hi = -a - 1, a
            while lo < hi:
                mid = (lo + hi + 1) // 2
                lo, hi = (mid, hi) if nonneg(mid) else (lo, mid - 1)
            d[c], t[c] = -1, lo
    return d, t


def _threshold_layer(ctx: LowerCtx, node, w_rows: np.ndarray):
    """Weights (direction applied), int32 bias and requantization of the thresholding layer."""
    w = ctx.src.t(node.inputs[1])
    s_w = check_symmetric_weights(ctx, w, node.op)
    qx = ctx.quant(node.inputs[0])
    cout = len(s_w)
    bias = ctx.src.t(node.inputs[2]).data.astype(np.float64) if len(node.inputs) > 2 else np.zeros(cout)
    amax = 255 * np.abs(w_rows.reshape(cout, -1).astype(np.int64)).sum(axis=1)
    if 2 * (2 * int(amax.max(initial=0)) + 1) >= 2**31:
        raise ctx.error("accumulators of this layer are too wide for an exact int32 sign threshold", QuantizationError)
    d, t = accumulator_thresholds(np.float64(qx.scale[0]) * s_w, bias, node.attrs.bn, amax)
    shape = (-1,) + (1,) * (w_rows.ndim - 1)
    weights = (w_rows.astype(np.int64) * d.reshape(shape)).astype(np.int8)
    bias_q = np.where(d == 0, t, -d * t).astype(np.int32)
    return weights, w.quant, bias_q, (IDENTITY[0],) * cout, (IDENTITY[1],) * cout, bool(np.any(d < 0))


def _binarize_acc(ctx: LowerCtx, node, emit_layer) -> None:
    from tinygen.ops.binarize import BinarizeAttrs

    shape = nhwc_shape(ctx.src.t(node.outputs[0]).shape)
    acc = ctx.new_act(node.outputs[0] + "_acc", shape, QuantParams.per_tensor(1.0, 0))
    emit_layer(acc.name)
    out = ctx.out_binary(node.outputs[0], shape[:-1] + (bitpack.words_for(shape[-1]),))
    ctx.emit("binarize", [acc.name], [out.name], BinarizeAttrs(0), suffix="_bits")


@lowers("conv2d_sign")
def lower_conv2d_sign(ctx: LowerCtx, node) -> None:
    x = ctx.x(node.inputs[0])
    w = ctx.src.t(node.inputs[1])
    weights, q, bias, mult, shift, negated = _threshold_layer(ctx, node, w.data)
    zp = ctx.quant(node.inputs[0]).zero_point[0]
    if weight_storage(weights, q, negated)[0] == 8 and node.attrs.conv.groups == 1:
        # one conv2d_bits node: bit = acc + bias < 0 <=> acc < -bias, written packed (no int8 map)
        from tinygen.ops.conv2d_bits import Conv2dBitsAttrs

        a = node.attrs.conv
        shape = nhwc_shape(ctx.src.t(node.outputs[0]).shape)
        out = ctx.out_binary(node.outputs[0], shape[:-1] + (bitpack.words_for(shape[-1]),))
        wt = ctx.const(w.name, np.ascontiguousarray(weights.transpose(0, 2, 3, 1)).astype(np.int8), q)
        attrs = Conv2dBitsAttrs(a.stride, a.padding, a.dilation, -zp, tuple(-int(b) for b in bias),
                                (0,) * len(bias))
        ctx.emit("conv2d_bits", [x.name, wt.name], [out.name], attrs)
        return
    _binarize_acc(ctx, node, lambda out: emit_conv(ctx, x.name, weights, q, bias, node.attrs.conv, -zp, 0, mult, shift,
                                                  -128, 127, out, w.name, negated))


@lowers("linear_sign")
def lower_linear_sign(ctx: LowerCtx, node) -> None:
    x = ctx.x(node.inputs[0], allow_perm=True)
    if len(x.shape) != 2:
        raise ctx.error(f"linear on a rank-{len(x.shape)} input; flatten to [1, features] first")
    w = ctx.src.t(node.inputs[1])
    weights, q, bias, mult, shift, negated = _threshold_layer(ctx, node, w.data)
    if x.name in ctx.perm:
        weights = weights[:, ctx.perm[x.name]]
    zp = ctx.quant(node.inputs[0]).zero_point[0]
    _binarize_acc(ctx, node, lambda out: emit_fully_connected(ctx, x.name, weights, q, bias, -zp, 0, mult, shift,
                                                             -128, 127, out, w.name, negated))


@lowers("sign")
def lower_sign(ctx: LowerCtx, node) -> None:
    from tinygen.ops.binarize import BinarizeAttrs

    src = ctx.src.t(node.inputs[0])
    if src.quant is None:
        raise ctx.error("sign of a tensor without int8 quantization parameters; put a tinygen.nn.QuantAct before "
                        "the BinaryAct, or let the sign follow a conv2d/linear (+ BatchNorm, max pool) directly",
                        QuantizationError)
    x = ctx.x(node.inputs[0], allow_perm=True)
    out = ctx.out_binary(node.outputs[0], x.shape[:-1] + (bitpack.words_for(x.shape[-1]),))
    ctx.emit("binarize", [x.name], [out.name], BinarizeAttrs(src.quant.zero_point[0]))
    if x.name in ctx.perm:  # a flattened map: the bits keep its (channels-last) element order
        ctx.perm[out.name] = ctx.perm[x.name]

"""Float ops whose input is binary (+-1, bit-packed): registered with `@lowers(..., binary=True)`.

    conv2d_sign / linear_sign  ->  bconv2d / bfully_connected, binary output:
        sign(BN(alpha_c * dot + bias_c)) folded by binary_output_params.bn_sign_thresholds into one integer
        threshold and direction per channel (negative and zero gamma included), exactly
    conv2d / linear (int8 output: a fake-quant follows, BN already folded into alpha and bias)
                               ->  bconv2d / bfully_connected, int8 output:
        y = alpha_c * dot + bias_c requantized by binary_output_params.int8_output_params, rounding once
        (bias_c / alpha_c joins the dot at 2^pre_shift resolution; zero alpha: constant channel)
    max_pool2d                 ->  bmax_pool2d (bit-AND; windows must hold an in-image tap)
    reshape (flatten)          ->  reshape of the packed words: [1,1,1,W] -> [1,W] always; a CxHxW
                                   map with H*W > 1 only when C % 32 == 0 (features in HWC order,
                                   the next layer's weight columns follow); otherwise refused
    sign                       ->  nothing (the sign of +-1 is itself)

Weights must be binary: every output channel +-1 with scale alpha_c (tinygen.nn.BinaryConv2d),
or all zero after BatchNorm folding with gamma_c = 0 (alpha_c = 0). PyTorch's zero padding of a
+-1 map is exact as bconv2d pad_value 0 (out-of-image taps contribute 0). Grouped convolution and
non-binary weights on binary inputs are refused, naming the layer.
"""

from __future__ import annotations

import numpy as np

from tinygen.errors import QuantizationError
from tinygen.passes.lower.context import (LowerCtx, act_range, lowers, nhwc_shape, not_quantized_message,
                                          storage_order)
from tinygen.passes.lower.binary_output_params import bn_sign_thresholds, int8_output_params
from tinygen.passes.binary_weights import zero_kernels
from tinygen.passes.lower.sign import bn_arrays
from tinygen.reference import bitpack


def _packed_shape(shape) -> tuple[int, ...]:
    return tuple(shape[:-1]) + (bitpack.words_for(shape[-1]),)


def pm1_weights(ctx: LowerCtx, node, allow_mask: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(+-1 int8 weights, alpha per output channel (0 for an all-zero channel), kept [O, I] bool).

    With `allow_mask` (convolutions) zero weights that form whole k x k kernels are pruned kernels
    (tinygen.nn.PrunedBinaryConv2d): kept is False there and their +-1 weights read +1."""
    w = ctx.src.t(node.inputs[1])
    if w.quant is None:
        raise ctx.error(not_quantized_message(w, f"{node.op} on a binary input needs binary weights; its"),
                        QuantizationError)
    if any(z != 0 for z in w.quant.zero_point) or w.quant.axis not in (None, 0):
        raise ctx.error("a layer on a binary input needs binary weights (tinygen.nn.BinaryConv2d/BinaryLinear)",
                        QuantizationError)
    data = w.data.astype(np.int64)
    rows = data.reshape(w.shape[0], -1)
    zero = ~rows.any(axis=1)
    masked = allow_mask and data.ndim == 4
    for c in range(rows.shape[0]):  # +-1, or with a kernel mask also 0
        if not zero[c] and not np.all(np.isin(rows[c], (-1, 0, 1) if masked else (-1, 1))):
            raise ctx.error(f"a layer on a binary input needs binary weights (tinygen.nn.BinaryConv2d/BinaryLinear); "
                            f"output channel {c} holds {sorted(set(rows[c].tolist()))[:5]} (scale "
                            f"{w.quant.scale[min(c, len(w.quant.scale) - 1)]:.6g}), not +-1", QuantizationError)
    kept = np.ones(data.shape[:2], bool)
    if masked and (data == 0).any():
        mask, why = zero_kernels(data)
        if mask is None:
            raise ctx.error(f"cannot read the kernel mask of this binary convolution: {why}", QuantizationError)
        kept = mask
    alpha = np.broadcast_to(np.asarray(w.quant.scale, np.float64), (w.shape[0],)).copy()
    alpha[zero] = 0.0
    kept[zero] = True  # an all-zero channel (gamma 0, or every kernel pruned) is a constant channel (alpha 0)
    pm1 = np.where(w.data < 0, -1, 1).astype(np.int8)
    return pm1, alpha, kept


def _bias(ctx: LowerCtx, node, cout: int) -> np.ndarray:
    return ctx.src.t(node.inputs[2]).data.astype(np.float64) if len(node.inputs) > 2 else np.zeros(cout)


def _sign_stage(ctx: LowerCtx, node, alpha: np.ndarray, k_max: int) -> dict:
    gamma, beta, mean, var, eps = bn_arrays(node.attrs.bn, len(alpha))
    bias = _bias(ctx, node, len(alpha))
    try:  # y = gamma * ((alpha * dot + bias) - mean) / sqrt(var + eps) + beta
        thr, flip = bn_sign_thresholds(alpha, gamma, beta, mean - bias, var, eps, k_max)
    except (ValueError, FloatingPointError) as e:
        raise ctx.error(f"BatchNorm + sign cannot be folded into integer thresholds: {e}", QuantizationError) from None
    return {"output": "binary", "thresholds": thr, "flip": flip}


def _int8_stage(ctx: LowerCtx, node, alpha: np.ndarray, k_max: int) -> dict:
    qo = ctx.quant(node.outputs[0])
    lo, hi = act_range(qo, node.attrs.activation)
    return int8_output_params(alpha, _bias(ctx, node, len(alpha)), qo.scale[0], qo.zero_point[0], k_max,
                              lo, hi).fields()


def _bconv2d(ctx: LowerCtx, node, conv, stage) -> None:
    from tinygen.ops.bconv2d import BConv2dAttrs, out_hw

    if conv.groups != 1:
        raise ctx.error(f"binary convolution with groups={conv.groups} is not supported (bconv2d has no groups)")
    x = ctx.x(node.inputs[0])
    pm1, alpha, kept = pm1_weights(ctx, node, allow_mask=True)
    cout, cin, kh, kw = pm1.shape
    wt = ctx.const(node.inputs[1] + "_bits", bitpack.pack_pm1(pm1.transpose(0, 2, 3, 1)))
    fields = stage(ctx, node, alpha, kh * kw * cin)
    attrs = BConv2dAttrs(conv.stride, conv.padding, conv.dilation, cin, 0, **fields)
    oh, ow = out_hw(x.shape, wt.shape, attrs)
    if attrs.output == "binary":
        out = ctx.out_binary(node.outputs[0], (x.shape[0], oh, ow, bitpack.words_for(cout))).name
    else:
        out = ctx.out(node.outputs[0]).name
    if kept.all():
        ctx.emit("bconv2d", [x.name, wt.name], [out], attrs)
        return
    # pruned kernels: bconv2d_pruned sums over the kept (output, input) pairs only
    mask = ctx.const(node.inputs[1] + "_mask", bitpack.pack_bits(kept))
    ctx.emit("bconv2d_pruned", [x.name, wt.name, mask.name], [out], attrs)


def _bfully_connected(ctx: LowerCtx, node, stage) -> None:
    from tinygen.ops.bfully_connected import BFullyConnectedAttrs

    x = ctx.x(node.inputs[0], allow_perm=True)
    k = ctx.src.t(node.inputs[0]).shape
    if len(k) != 2:
        raise ctx.error(f"linear on a rank-{len(k)} input; flatten to [1, features] first")
    pm1, alpha, _ = pm1_weights(ctx, node)
    if x.name in ctx.perm:  # features stored in HWC order: reorder the weight columns to match
        pm1 = pm1[:, ctx.perm[x.name]]
    wt = ctx.const(node.inputs[1] + "_bits", bitpack.pack_pm1(pm1))
    fields = stage(ctx, node, alpha, k[1])
    attrs = BFullyConnectedAttrs(k[1], **fields)
    cout = pm1.shape[0]
    if attrs.output == "binary":
        out = ctx.out_binary(node.outputs[0], (x.shape[0], bitpack.words_for(cout))).name
    else:
        out = ctx.out(node.outputs[0]).name
    ctx.emit("bfully_connected", [x.name, wt.name], [out], attrs)


@lowers("conv2d_sign", binary=True)
def lower_bconv2d_sign(ctx: LowerCtx, node) -> None:
    _bconv2d(ctx, node, node.attrs.conv, _sign_stage)


@lowers("conv2d", binary=True)
def lower_bconv2d_int8(ctx: LowerCtx, node) -> None:
    _bconv2d(ctx, node, node.attrs, _int8_stage)


@lowers("linear_sign", binary=True)
def lower_bfc_sign(ctx: LowerCtx, node) -> None:
    _bfully_connected(ctx, node, _sign_stage)


@lowers("linear", binary=True)
def lower_bfc_int8(ctx: LowerCtx, node) -> None:
    _bfully_connected(ctx, node, _int8_stage)


@lowers("max_pool2d", binary=True)
def lower_bmax_pool(ctx: LowerCtx, node) -> None:
    from tinygen.ops.bmax_pool2d import BMaxPool2dAttrs

    a = node.attrs
    t, b, l, r = a.padding
    if a.dilation != (1, 1):
        raise ctx.error(f"max pooling of a binary tensor with dilation {a.dilation} is not supported")
    if max(t, b) >= a.kernel[0] or max(l, r) >= a.kernel[1]:
        raise ctx.error(f"max pooling of a binary tensor with padding {a.padding} not smaller than the kernel "
                        f"{a.kernel} (a window would see no input)")
    x = ctx.x(node.inputs[0])
    out = ctx.out_binary(node.outputs[0], _packed_shape(nhwc_shape(ctx.src.t(node.outputs[0]).shape)))
    ctx.emit("bmax_pool2d", [x.name], [out.name], BMaxPool2dAttrs(a.kernel, a.stride, a.padding))


@lowers("reshape", binary=True)
def lower_breshape(ctx: LowerCtx, node) -> None:
    from tinygen.ops.reshape import ReshapeAttrs

    x = ctx.x(node.inputs[0])
    src_in, src_out = ctx.src.t(node.inputs[0]).shape, ctx.src.t(node.outputs[0]).shape
    if tuple(src_in) == tuple(src_out):
        ctx.names[node.outputs[0]] = x.name
        return
    if len(src_in) != 4 or tuple(src_out) != (src_in[0], int(np.prod(src_in[1:]))):
        raise ctx.error(f"reshape {list(src_in)} -> {list(src_out)} of a binary tensor; only flattening a "
                        "CxHxW map to [1, C*H*W] is supported")
    _, c, h, w = src_in
    if h * w > 1 and c % 32:
        raise ctx.error(f"flattening a binary {c}x{h}x{w} map needs a channel count that is a multiple of 32 "
                        f"(bit-packed words hold 32 channels; {c} would need a repack); use {32 * (c // 32 + 1)} "
                        "channels, or pool to 1x1 before flattening")
    shape = (x.shape[0], int(np.prod(x.shape[1:])))
    out = ctx.out_binary(node.outputs[0], shape)
    ctx.emit("reshape", [x.name], [out.name], ReshapeAttrs(shape))
    if h * w > 1:
        ctx.perm[out.name] = storage_order(src_in)


@lowers("sign", binary=True)
def lower_sign_of_binary(ctx: LowerCtx, node) -> None:
    ctx.names[node.outputs[0]] = ctx.x(node.inputs[0]).name

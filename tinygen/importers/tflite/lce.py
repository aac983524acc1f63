"""Larq Compute Engine models: LCE's custom ops and the float32 builtin ops around them.

What tinygen runs, and how exactly (decided for LCE 0.16's converter output):

* LceQuantize      float32 -> `binarize_float` (bit = x < 0), int8 -> `binarize` (bit = q < zero
                   point); both exact. Packed tensors use LCE's convention already (bit 1 = -1,
                   channel 0 in bit 0, 32 per word, padding bits 0): no repacking.
* LceBconv2d       bitpacked output (thresholds) -> `bconv2d` "binary" with +1 padding, exact:
                   LCE writes bit 1 when popcount(x ^ w) > t, i.e. when dot < K - 2t.
                   float32 output -> `bconv2d_float`, LCE's output transform with the multiplier
                   and bias folded exactly as LCE folds them (double precision, stored as float32),
                   and LCE's zero-padding correction: equal to LCE's output to the bit.
* LceBMaxPool2d    -> `bmax_pool2d` (AND of the packed words over the in-image taps), exact.
* LceDequantize    float32 output -> `unbinarize_float` (+-1.0), exact.
* float32 CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, MEAN, SOFTMAX: float kernels whose result
  agrees with TFLite's float kernels to float32 rounding (summation order and exp differ; see
  tinygen/ops/*_float.py). float32 ADD, MUL, MAX_POOL_2D, RELU, RELU6, RESHAPE: exact.

Refused with a clear error: grouped binary convolutions, int8 output of LceBconv2d/LceDequantize
and the int8 "experimental_default_int8_range" variant (it mixes float32 and int8 around every
binary layer; convert the Larq model without int8 inference types), zero-padded binary
convolutions whose image is so small that LCE's own padding correction is incomplete, and float
ops not listed above.
"""

from __future__ import annotations

import numpy as np

from tinygen.errors import UnsupportedOpError
from tinygen.importers.tflite.context import (FLOAT_HANDLERS, TflImport, TflOp, fused_activation, handles,
                                             MAX_GEOMETRY, handles_custom, spatial_padding)
from tinygen.ir.graph import DType
from tinygen.ops.binarize import BinarizeAttrs
from tinygen.ops.binarize_float import UnbinarizeFloatAttrs
from tinygen.ops.bconv2d import BConv2dAttrs
from tinygen.ops.bconv2d_float import BConv2dFloatAttrs
from tinygen.ops.bmax_pool2d import BMaxPool2dAttrs
from tinygen.ops.conv2d_float import Conv2dFloatAttrs
from tinygen.ops.fully_connected_float import FullyConnectedFloatAttrs
from tinygen.ops.add_float import ElementwiseFloatAttrs
from tinygen.ops.max_pool2d_float import MaxPool2dFloatAttrs
from tinygen.ops.mean_float import MeanFloatAttrs
from tinygen.ops.reshape import ReshapeAttrs
from tinygen.ops.softmax_float import SoftmaxFloatAttrs
from tinygen.quant.activation_range import float_range, int32_range
from tinygen.reference import bitpack

F32 = np.float32


def _custom_options(ctx: TflImport, op: TflOp) -> dict:
    from flatbuffers import flexbuffers

    try:
        return flexbuffers.Loads(op.custom_options) if op.custom_options else {}
    except Exception as e:
        raise ctx.error(f"unreadable custom options ({e})") from None


def _opt_int(ctx: TflImport, o: dict, key: str, default: int | None = None, lo: int | None = None,
             hi: int | None = None) -> int:
    """An integer field of LCE's custom options, present (or defaulted) and in [lo, hi]."""
    if not isinstance(o, dict) or (key not in o and default is None):
        raise ctx.malformed(f"custom option '{key}' is missing")
    v = o.get(key, default)
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if not isinstance(v, (int, bool)) or (lo is not None and v < lo) or (hi is not None and v > hi):
        raise ctx.malformed(f"custom option '{key}' is {str(v)[:40]}; it must be an integer in [{lo}, {hi}]")
    return int(v)


def _geometry(ctx: TflImport, o: dict, *keys: str, default: int | None = None) -> tuple[int, ...]:
    return tuple(_opt_int(ctx, o, k, default, 1, MAX_GEOMETRY) for k in keys)


def _float_act(ctx: TflImport, fused: int) -> tuple[float, float]:
    return float_range(fused_activation(ctx, fused))


def _packed(ctx: TflImport, idx: int, what: str) -> str:
    t = ctx.t(idx)
    if t.type_name != "int32":
        raise ctx.error(f"{what} '{t.label}' should be bit-packed int32, is {t.type_name}")
    name = ctx.act(idx)
    if ctx.g.t(name).dtype != DType.UINT32:
        raise ctx.error(f"{what} '{t.label}' is not a bit-packed tensor")
    return name


# -- custom ops ------------------------------------------------------------------------------------------
@handles_custom("LceQuantize")
def lce_quantize(ctx: TflImport, op: TflOp) -> None:
    x_idx, out_idx = op.inputs[0], op.outputs[0]
    src = ctx.t(x_idx)
    out = ctx.out(out_idx, dtype=DType.UINT32)
    if src.type_name == "float32":
        ctx.emit("binarize_float", [ctx.act(x_idx)], [out], None)
    elif src.type_name == "int8":
        ctx.emit("binarize", [ctx.act(x_idx)], [out], BinarizeAttrs(ctx.qp(x_idx)[1]))
    else:
        raise ctx.error(f"input type {src.type_name} (float32 or int8 expected)")


@handles_custom("LceDequantize")
def lce_dequantize(ctx: TflImport, op: TflOp) -> None:
    x_idx, out_idx = op.inputs[0], op.outputs[0]
    dst = ctx.t(out_idx)
    if dst.type_name != "float32":
        raise ctx.error(f"{dst.type_name} output (the int8 LCE variant) is not supported; convert the Larq model "
                        "with float32 inference types (lce.convert_keras_model(model))")
    attrs = UnbinarizeFloatAttrs(int(dst.shape[-1]))
    ctx.emit("unbinarize_float", [_packed(ctx, x_idx, "input")], [ctx.out(out_idx, dtype=DType.FLOAT32)], attrs)


@handles_custom("LceBMaxPool2d")
def lce_bmaxpool(ctx: TflImport, op: TflOp) -> None:
    o = _custom_options(ctx, op)
    x = _packed(ctx, op.inputs[0], "input")
    shape = ctx.t(op.inputs[0]).shape
    kernel = _geometry(ctx, o, "filter_height", "filter_width")
    stride = _geometry(ctx, o, "stride_height", "stride_width")
    padding = spatial_padding(ctx, _opt_int(ctx, o, "padding", 1), shape, kernel, stride)
    ctx.emit("bmax_pool2d", [x], [ctx.out(op.outputs[0], dtype=DType.UINT32)], BMaxPool2dAttrs(kernel, stride, padding))


def _lce_correction_complete(in_hw, k_eff, stride, out_hw, pad_before) -> bool:
    """True when LCE's zero-padding correction (ApplyCorrection's four border cases) covers every
    output pixel whose window leaves the image, so LCE computes a true zero-padded convolution."""
    h, w = in_hw
    for oy in range(out_hw[0]):
        top = pad_before[0] - oy * stride[0]
        bot = -top - h + k_eff[0]
        for ox in range(out_hw[1]):
            left = pad_before[1] - ox * stride[1]
            right = -left - w + k_eff[1]
            sticks_out = top > 0 or bot > 0 or left > 0 or right > 0
            covered = ((right <= 0 and top > 0 and bot < 0) or (left < 0 and right > 0 and bot <= 0)
                       or (left > 0 and right < 0 and top <= 0) or (left <= 0 and top < 0 and bot > 0))
            if sticks_out and not covered:
                return False
    return True


@handles_custom("LceBconv2d")
def lce_bconv2d(ctx: TflImport, op: TflOp) -> None:
    o = _custom_options(ctx, op)
    x_idx, w_idx, out_idx = op.inputs[0], op.inputs[1], op.outputs[0]
    x = _packed(ctx, x_idx, "input")
    w = ctx.const_data(w_idx, "filter").view(np.uint32)  # OHWI, packed along Cin: LCE's layout already
    cin = _opt_int(ctx, o, "channels_in", None, 1, 1 << 20)
    cout, kh, kw, words = w.shape
    if words != bitpack.words_for(cin):
        raise ctx.error(f"grouped binary convolution ({words} filter words for {cin} input channels) is not supported")
    if not bitpack.padding_bits_zero(w, cin):
        raise ctx.error("the packed filter has non-zero padding bits")
    stride = _geometry(ctx, o, "stride_height", "stride_width")
    dilation = _geometry(ctx, o, "dilation_height_factor", "dilation_width_factor", default=1)
    in_shape = ctx.t(x_idx).shape
    padding = spatial_padding(ctx, _opt_int(ctx, o, "padding"), in_shape, (kh, kw), stride, dilation)
    pad_values = _opt_int(ctx, o, "pad_values", 0)
    fused = _opt_int(ctx, o, "fused_activation_function", 0)
    k = kh * kw * cin
    out = ctx.t(out_idx)
    zero_pad = pad_values == 0 and any(padding)
    if out.type_name == "int32":  # bitpacked output: bit 1 iff popcount > t iff dot < K - 2t
        if zero_pad:
            raise ctx.error("bitpacked output with zero padding (pad_values=0, SAME) is not supported by LCE's "
                            "optimized kernels; use pad_values=1.0 in the Larq layer")
        t = ctx.const_data(ctx.input(4), "output thresholds").reshape(-1).astype(np.int64)
        if t.size != cout:
            raise ctx.malformed(f"{t.size} output thresholds for {cout} output channels")
        thresholds = tuple(int(v) for v in k - 2 * np.clip(t, -1, k))
        attrs = BConv2dAttrs(stride, padding, dilation, cin, 1, "binary", thresholds, (0,) * cout)
        ctx.emit("bconv2d", [x, ctx.const("bweight", w)], [ctx.out(out_idx, dtype=DType.UINT32)], attrs)
        return
    if out.type_name != "float32":
        raise ctx.error(f"{out.type_name} output (the int8 LCE variant) is not supported; convert the Larq model "
                        "with float32 inference types")
    m = ctx.const_data(ctx.input(2), "post_activation_multiplier").reshape(-1).astype(np.float32)
    b = ctx.const_data(ctx.input(3), "post_activation_bias").reshape(-1).astype(np.float32)
    if m.size != cout or b.size != cout:
        raise ctx.malformed(f"{m.size} multipliers and {b.size} biases for {cout} output channels")
    lo, hi = int32_range(fused_activation(ctx, fused))  # LCE clamps the dot product itself
    if zero_pad and fused != 0:
        raise ctx.error("zero padding with a fused activation is not supported by LCE's optimized kernels")
    lo, hi = max(lo, -k), min(hi, k)
    mult = (-m.astype(np.float64)).astype(np.float32)
    bias = (b.astype(np.float64) + float(k) * m.astype(np.float64)).astype(np.float32)
    if zero_pad:
        out_hw = out.shape[1:3]
        k_eff = ((kh - 1) * dilation[0] + 1, (kw - 1) * dilation[1] + 1)
        if not _lce_correction_complete(in_shape[1:3], k_eff, stride, out_hw, (padding[0], padding[2])):
            raise ctx.error(f"zero padding on a {in_shape[1]}x{in_shape[2]} input with a {k_eff[0]}x{k_eff[1]} "
                            "window: LCE skips its padding correction at some border pixels here (the image is "
                            "too small for the kernel), so its output is not a zero-padded convolution; use "
                            "pad_values=1.0 or a larger input")
    attrs = BConv2dFloatAttrs(stride, padding, dilation, cin, 0 if zero_pad else 1, -hi + k, -lo + k,
                              tuple(float(v) for v in mult), tuple(float(v) for v in bias),
                              tuple(float(v) for v in (-m)) if zero_pad else ())
    ctx.emit("bconv2d_float", [x, ctx.const("bweight", w)], [ctx.out(out_idx, dtype=DType.FLOAT32)], attrs)


# -- float32 builtin ops (accepted in LCE models only) ----------------------------------------------------
def _float_in(ctx: TflImport, idx: int) -> str:
    t = ctx.t(idx)
    if t.type_name != "float32":
        raise ctx.error(f"input '{t.label}' is {t.type_name}; this float op needs float32")
    if t.is_const:
        return ctx.const_tensor(idx)
    return ctx.act(idx)


def _float_conv(ctx: TflImport, op: TflOp, w: np.ndarray, groups: int) -> None:
    opt = op.options
    x = _float_in(ctx, op.inputs[0])
    in_shape = ctx.t(op.inputs[0]).shape
    cout, kh, kw, _ = w.shape
    stride = (opt.strideH, opt.strideW)
    dilation = (max(opt.dilationHFactor, 1), max(opt.dilationWFactor, 1))
    padding = spatial_padding(ctx, opt.padding, in_shape, (kh, kw), stride, dilation)
    b_idx = op.inputs[2] if len(op.inputs) > 2 else -1
    bias = ctx.const_data(b_idx, "bias").reshape(-1).astype(np.float32) if b_idx >= 0 else np.zeros(cout, F32)
    lo, hi = _float_act(ctx, opt.fusedActivationFunction)
    attrs = Conv2dFloatAttrs(stride, padding, dilation, groups, lo, hi)
    ins = [x, ctx.const("fweight", np.ascontiguousarray(w, np.float32)), ctx.const("fbias", bias)]
    ctx.emit("conv2d_float", ins, [ctx.out(op.outputs[0], dtype=DType.FLOAT32)], attrs)


@handles("CONV_2D", max_version=8, table=FLOAT_HANDLERS)
def conv_2d_float(ctx: TflImport, op: TflOp) -> None:
    w = ctx.const_data(op.inputs[1], "filter").astype(np.float32)
    cin = ctx.t(op.inputs[0]).shape[3]
    if cin % w.shape[3]:
        raise ctx.error(f"input channels {cin} are not a multiple of the filter's {w.shape[3]}")
    _float_conv(ctx, op, w, cin // w.shape[3])


@handles("DEPTHWISE_CONV_2D", max_version=7, table=FLOAT_HANDLERS)
def depthwise_conv_2d_float(ctx: TflImport, op: TflOp) -> None:
    w = ctx.const_data(op.inputs[1], "filter").astype(np.float32)
    cin = ctx.t(op.inputs[0]).shape[3]
    _float_conv(ctx, op, np.transpose(w, (3, 1, 2, 0)), cin)


@handles("FULLY_CONNECTED", max_version=12, table=FLOAT_HANDLERS)
def fully_connected_float(ctx: TflImport, op: TflOp) -> None:
    opt = op.options
    w = ctx.const_data(op.inputs[1], "weights").astype(np.float32)
    cout, k = w.shape
    x = _float_in(ctx, op.inputs[0])
    if ctx.g.t(x).shape != (1, k):
        if int(np.prod(ctx.g.t(x).shape)) != k:
            raise ctx.error(f"input {list(ctx.g.t(x).shape)} does not flatten to one row of {k} features")
        flat = ctx.tmp(ctx.g.t(x).name + "_flat", (1, k), DType.FLOAT32)
        ctx.emit("reshape", [x], [flat], ReshapeAttrs((1, k)), suffix="_flatten")
        x = flat
    b_idx = op.inputs[2] if len(op.inputs) > 2 else -1
    bias = ctx.const_data(b_idx, "bias").reshape(-1).astype(np.float32) if b_idx >= 0 else np.zeros(cout, F32)
    lo, hi = _float_act(ctx, opt.fusedActivationFunction if opt is not None else 0)
    ins = [x, ctx.const("fweight", w), ctx.const("fbias", bias)]
    out_shape = tuple(ctx.t(op.outputs[0]).shape)
    if out_shape == (1, cout):
        ctx.emit("fully_connected_float", ins, [ctx.out(op.outputs[0], dtype=DType.FLOAT32)],
                 FullyConnectedFloatAttrs(lo, hi))
        return
    tmp = ctx.tmp("fc_out", (1, cout), DType.FLOAT32)
    ctx.emit("fully_connected_float", ins, [tmp], FullyConnectedFloatAttrs(lo, hi))
    ctx.emit("reshape", [tmp], [ctx.out(op.outputs[0], dtype=DType.FLOAT32)], ReshapeAttrs(out_shape), "_keepdims")


def _elementwise_float(op_name: str):
    def handler(ctx: TflImport, op: TflOp) -> None:
        out = ctx.t(op.outputs[0])
        names = [_float_in(ctx, i) for i in op.inputs[:2]]
        for name in names:
            t = ctx.g.t(name)
            if not t.is_const and len(t.shape) != len(out.shape):
                raise ctx.error(f"input {list(t.shape)} has another rank than the output {list(out.shape)}")
        lo, hi = _float_act(ctx, op.options.fusedActivationFunction if op.options is not None else 0)
        ctx.emit(op_name, names, [ctx.out(op.outputs[0], dtype=DType.FLOAT32)], ElementwiseFloatAttrs(lo, hi))
    return handler


handles("ADD", max_version=5, table=FLOAT_HANDLERS)(_elementwise_float("add_float"))
handles("MUL", max_version=7, table=FLOAT_HANDLERS)(_elementwise_float("mul_float"))


def _float_max_pool(ctx: TflImport, op: TflOp, kernel, stride, padding, lo, hi) -> None:
    x = _float_in(ctx, op.inputs[0])
    if len(ctx.g.t(x).shape) != 4:
        raise ctx.error("float pooling and activations take a 4-D NHWC tensor")
    attrs = MaxPool2dFloatAttrs(kernel, stride, padding, lo, hi)
    ctx.emit("max_pool2d_float", [x], [ctx.out(op.outputs[0], dtype=DType.FLOAT32)], attrs)


@handles("MAX_POOL_2D", max_version=3, table=FLOAT_HANDLERS)
def max_pool_2d_float(ctx: TflImport, op: TflOp) -> None:
    opt = op.options
    kernel, stride = (opt.filterHeight, opt.filterWidth), (opt.strideH, opt.strideW)
    padding = spatial_padding(ctx, opt.padding, ctx.t(op.inputs[0]).shape, kernel, stride)
    _float_max_pool(ctx, op, kernel, stride, padding, *_float_act(ctx, opt.fusedActivationFunction))


def _float_activation(fused: int):
    def handler(ctx: TflImport, op: TflOp) -> None:  # a 1x1 max pool is the identity, then the clamp
        _float_max_pool(ctx, op, (1, 1), (1, 1), (0, 0, 0, 0), *_float_act(ctx, fused))
    return handler


handles("RELU", max_version=3, table=FLOAT_HANDLERS)(_float_activation(1))
handles("RELU_N1_TO_1", max_version=1, table=FLOAT_HANDLERS)(_float_activation(2))
handles("RELU6", max_version=3, table=FLOAT_HANDLERS)(_float_activation(3))


@handles("MEAN", max_version=3, table=FLOAT_HANDLERS)
def mean_float(ctx: TflImport, op: TflOp) -> None:
    _, axes, keep = ctx.mean_axes(op)
    ctx.emit("mean_float", [_float_in(ctx, op.inputs[0])], [ctx.out(op.outputs[0], dtype=DType.FLOAT32)],
             MeanFloatAttrs(tuple(axes), keep))


@handles("SOFTMAX", max_version=3, table=FLOAT_HANDLERS)
def softmax_float(ctx: TflImport, op: TflOp) -> None:
    beta = float(F32(op.options.beta)) if op.options is not None else 1.0
    ctx.emit("softmax_float", [_float_in(ctx, op.inputs[0])], [ctx.out(op.outputs[0], dtype=DType.FLOAT32)],
             SoftmaxFloatAttrs(beta))


def _int8_variant(ctx: TflImport, op: TflOp) -> None:
    raise UnsupportedOpError(
        f"{ctx.where()}: float32 <-> int8 conversion inside a Larq model (LCE's int8 variant, converted with "
        "inference_input_type=tf.int8 / experimental_default_int8_range) is not supported: it mixes float32 and "
        "int8 around every binary layer. Convert with lce.convert_keras_model(model) (float32 I/O)")


handles("QUANTIZE", "DEQUANTIZE", max_version=6, table=FLOAT_HANDLERS)(_int8_variant)

"""Builtin int8 TFLite ops -> lowered tinygen ops, parameters computed as TFLite Micro computes them.

One handler per op (or family), registered in `context.INT_HANDLERS` with the highest op version
whose int8 semantics it knows. TFLM's conventions followed here:

* multipliers (conv, add, mul, mean) and fused-activation bounds: tinygen/quant/ in mode "tflm"
  (TFLM's double-precision Prepare arithmetic on the float32 scales of the file);
* SAME padding puts the extra row/column at the bottom/right (context.spatial_padding);
* TFLM-specific, here only: AVERAGE_POOL_2D divides the raw sum, rounding half away (avg_pool2d
  rounding "divide"); LOGISTIC, HARD_SWISH and int8->int8 QUANTIZE are 256-entry tables of TFLM's
  integer algorithm (tinygen/reference/tflm.py); SOFTMAX is tinygen's softmax op in mode "tflm".
"""

from __future__ import annotations

import numpy as np

from tinygen.errors import QuantizationError
from tinygen.importers.tflite.context import (FLOAT_HANDLERS, TflImport, TflOp, fused_activation, handles,
                                             spatial_padding)
from tinygen.importers.tflite.reader import shape_text
from tinygen.ir.graph import DType
from tinygen.ops.add import add_params
from tinygen.ops.avg_pool2d import AvgPool2dAttrs
from tinygen.ops.concat import concat_params
from tinygen.ops.conv2d import Conv2dAttrs
from tinygen.ops.fully_connected import FullyConnectedAttrs
from tinygen.ops.lut import LutAttrs, make_table
from tinygen.ops.max_pool2d import MaxPool2dAttrs
from tinygen.ops.mean import mean_out_shape, mean_params
from tinygen.ops.mul import mul_params
from tinygen.ops.pad import PadAttrs
from tinygen.ops.reshape import ReshapeAttrs
from tinygen.ops.softmax import tflm_softmax_params
from tinygen.quant.activation_range import quantized_range
from tinygen.quant.params import conv_requant

F32 = np.float32


def act_range(ctx: TflImport, fused: int, out_idx: int) -> tuple[int, int]:
    """TFLM CalculateActivationRangeQuantized on the output grid."""
    s, zp = ctx.qp(out_idx)
    return quantized_range(fused_activation(ctx, fused), s, zp, mode="tflm")


def weight_scales(ctx: TflImport, idx: int, channels: int, axis: int) -> np.ndarray:
    """Per-output-channel float32 weight scales (a per-tensor scale is broadcast); zero points must be 0."""
    w = ctx.require(idx, "int8", "weights")
    if not w.quantized:
        raise ctx.error(f"weights '{w.label}' are not quantized", QuantizationError)
    if np.any(w.zero_point != 0):
        raise ctx.error(f"weights '{w.label}' have non-zero zero points; TFLite int8 weights are symmetric",
                        QuantizationError)
    if len(w.scale) not in (1, channels) or (len(w.scale) > 1 and w.quantized_dimension != axis):
        raise ctx.error(f"weights '{w.label}' have {len(w.scale)} scales along axis {w.quantized_dimension}; "
                        f"expected 1 or {channels} along axis {axis}", QuantizationError)
    return np.broadcast_to(w.scale, (channels,))


def bias_data(ctx: TflImport, idx: int, channels: int) -> np.ndarray:
    if idx < 0:
        return np.zeros(channels, np.int32)
    b = ctx.require(idx, "int32", "bias")
    data = ctx.const_data(idx, "bias").reshape(-1)
    if data.size != channels:
        raise ctx.error(f"bias '{b.label}' has {data.size} values for {channels} channels")
    return data.astype(np.int32)


def take_pending_pad(ctx: TflImport, idx: int) -> tuple[str, tuple[int, int, int, int]]:
    """The conv input: either a plain activation, or the input of a PAD folded into this conv."""
    if idx in ctx.pending_pad:
        return ctx.pending_pad.pop(idx)
    return ctx.act(idx), (0, 0, 0, 0)


def _conv_common(ctx: TflImport, op: TflOp, w: np.ndarray, w_scales, groups: int, opt) -> None:
    x_idx, out_idx = op.inputs[0], op.outputs[0]
    ctx.require(x_idx, "int8", "input")
    ctx.require(out_idx, "int8", "output")
    x_name, extra = take_pending_pad(ctx, x_idx)
    in_shape = ctx.t(x_idx).shape
    cout, kh, kw, _ = w.shape
    stride = (opt.strideH, opt.strideW)
    dilation = (max(opt.dilationHFactor, 1), max(opt.dilationWFactor, 1))
    own = spatial_padding(ctx, opt.padding, in_shape, (kh, kw), stride, dilation)
    padding = tuple(a + b for a, b in zip(own, extra))
    s_in, zp_in = ctx.qp(x_idx)
    s_out, zp_out = ctx.qp(out_idx)
    mult, shift = conv_requant(s_in, w_scales, s_out, mode="tflm")
    lo, hi = act_range(ctx, opt.fusedActivationFunction, out_idx)
    attrs = Conv2dAttrs(stride, padding, dilation, groups, -zp_in, zp_out, mult, shift, lo, hi)
    wname = ctx.const("weight", np.ascontiguousarray(w, dtype=np.int8))
    bname = ctx.const("bias", bias_data(ctx, op.inputs[2] if len(op.inputs) > 2 else -1, cout))
    ctx.emit("conv2d", [x_name, wname, bname], [ctx.out(out_idx)], attrs)


@handles("CONV_2D", max_version=8)
def conv_2d(ctx: TflImport, op: TflOp) -> None:
    w = ctx.const_data(op.inputs[1], "filter")
    cout, _, _, cin_g = w.shape
    cin = ctx.t(op.inputs[0]).shape[3]
    if cin % cin_g:
        raise ctx.error(f"input channels {cin} are not a multiple of the filter's {cin_g}")
    _conv_common(ctx, op, w, weight_scales(ctx, op.inputs[1], cout, 0), cin // cin_g, op.options)


@handles("DEPTHWISE_CONV_2D", max_version=7)
def depthwise_conv_2d(ctx: TflImport, op: TflOp) -> None:
    w = ctx.const_data(op.inputs[1], "filter")  # [1, kh, kw, Cin * multiplier]
    cin = ctx.t(op.inputs[0]).shape[3]
    cout = w.shape[3]
    if w.shape[0] != 1 or cout % cin:
        raise ctx.error(f"depthwise filter {list(w.shape)} does not fit {cin} input channels")
    scales = weight_scales(ctx, op.inputs[1], cout, 3)
    _conv_common(ctx, op, np.transpose(w, (3, 1, 2, 0)), scales, cin, op.options)


@handles("FULLY_CONNECTED", max_version=12)
def fully_connected(ctx: TflImport, op: TflOp) -> None:
    opt = op.options
    if opt is not None and opt.weightsFormat != 0:
        raise ctx.error("shuffled weights (weights_format != DEFAULT) are not supported")
    x_idx, w_idx, out_idx = op.inputs[0], op.inputs[1], op.outputs[0]
    ctx.require(x_idx, "int8", "input")
    ctx.require(out_idx, "int8", "output")
    w = ctx.const_data(w_idx, "weights")
    cout, k = w.shape
    x = ctx.act(x_idx)
    xs = ctx.g.t(x).shape
    if int(np.prod(xs)) != k:
        raise ctx.error(f"input {list(xs)} does not flatten to one row of {k} features (batch must be 1)")
    if xs != (1, k):
        flat = ctx.tmp(ctx.g.t(x).name + "_flat", (1, k), DType.INT8, ctx.g.t(x).quant)
        ctx.emit("reshape", [x], [flat], ReshapeAttrs((1, k)), suffix="_flatten")
        x = flat
    s_in, zp_in = ctx.qp(x_idx)
    s_out, zp_out = ctx.qp(out_idx)
    mult, shift = conv_requant(s_in, weight_scales(ctx, w_idx, cout, 0), s_out, mode="tflm")
    lo, hi = act_range(ctx, opt.fusedActivationFunction if opt is not None else 0, out_idx)
    attrs = FullyConnectedAttrs(-zp_in, zp_out, mult, shift, lo, hi)
    wname = ctx.const("weight", w.astype(np.int8))
    bname = ctx.const("bias", bias_data(ctx, op.inputs[2] if len(op.inputs) > 2 else -1, cout))
    out_shape = ctx.t(out_idx).shape
    if tuple(out_shape) == (1, cout):
        ctx.emit("fully_connected", [x, wname, bname], [ctx.out(out_idx)], attrs)
        return
    tmp = ctx.tmp("fc_out", (1, cout), DType.INT8, ctx.quant(out_idx))
    ctx.emit("fully_connected", [x, wname, bname], [tmp], attrs)
    ctx.emit("reshape", [tmp], [ctx.out(out_idx)], ReshapeAttrs(tuple(out_shape)), suffix="_keepdims")


def _two_operand_inputs(ctx: TflImport, op: TflOp) -> tuple[list[str], tuple[float, int], tuple[float, int]]:
    out = ctx.t(op.outputs[0])
    if not 2 <= len(out.shape) <= 4:
        raise ctx.error(f"output rank {len(out.shape)}; tinygen's element-wise kernels take rank 2..4")
    names = []
    for i in op.inputs[:2]:
        ctx.require(i, "int8", "input")
        t = ctx.t(i)
        name = ctx.act(i)
        if not t.is_const and len(t.shape) != len(out.shape):
            raise ctx.error(f"input '{t.label}' {shape_text(t.shape)} has another rank than the output "
                            f"{shape_text(out.shape)}")
        names.append(name)
    ctx.require(op.outputs[0], "int8", "output")
    return names, ctx.qp(op.inputs[0]), ctx.qp(op.inputs[1])


def _two_operand(op_name: str, make_params):
    """ADD, SUB, MUL: TFLM prepares their multipliers from the three scales (tinygen/quant/params.py)."""
    def handler(ctx: TflImport, op: TflOp) -> None:
        names, (s1, z1), (s2, z2) = _two_operand_inputs(ctx, op)
        s_out, zp_out = ctx.qp(op.outputs[0])
        lo, hi = act_range(ctx, op.options.fusedActivationFunction if op.options is not None else 0, op.outputs[0])
        attrs = make_params(s1, z1, s2, z2, s_out, zp_out, lo, hi, mode="tflm")
        ctx.emit(op_name, names, [ctx.out(op.outputs[0])], attrs)
    return handler


handles("ADD", max_version=5)(_two_operand("add", add_params))
handles("SUB", max_version=3)(_two_operand("sub", add_params))  # SUB's attributes are ADD's (ops/sub.py)
handles("MUL", max_version=7)(_two_operand("mul", mul_params))


def _pool_geometry(ctx: TflImport, op: TflOp):
    opt = op.options
    ctx.require(op.inputs[0], "int8", "input")
    ctx.require(op.outputs[0], "int8", "output")
    ctx.same_grid(op.inputs[0], op.outputs[0], "pooling")
    in_shape = ctx.t(op.inputs[0]).shape
    kernel, stride = (opt.filterHeight, opt.filterWidth), (opt.strideH, opt.strideW)
    return kernel, stride, spatial_padding(ctx, opt.padding, in_shape, kernel, stride), \
        act_range(ctx, opt.fusedActivationFunction, op.outputs[0])


@handles("AVERAGE_POOL_2D", max_version=3)
def average_pool_2d(ctx: TflImport, op: TflOp) -> None:
    kernel, stride, padding, (lo, hi) = _pool_geometry(ctx, op)
    # TFLM: raw sum over in-image taps / their count, rounded half away from zero; offsets 0
    attrs = AvgPool2dAttrs(kernel, stride, padding, False, 0, 0, (), (), lo, hi, "divide")
    ctx.emit("avg_pool2d", [ctx.act(op.inputs[0])], [ctx.out(op.outputs[0])], attrs)


@handles("MAX_POOL_2D", max_version=3)
def max_pool_2d(ctx: TflImport, op: TflOp) -> None:
    kernel, stride, padding, (lo, hi) = _pool_geometry(ctx, op)
    attrs = MaxPool2dAttrs(kernel, stride, padding, (1, 1), lo, hi)
    ctx.emit("max_pool2d", [ctx.act(op.inputs[0])], [ctx.out(op.outputs[0])], attrs)


@handles("MEAN", max_version=3)
def mean(ctx: TflImport, op: TflOp) -> None:
    x_idx, out_idx = op.inputs[0], op.outputs[0]
    ctx.require(x_idx, "int8", "input")
    ctx.require(out_idx, "int8", "output")
    shape, axes, keep = ctx.mean_axes(op)
    if mean_out_shape(shape, axes, keep) != tuple(ctx.t(out_idx).shape):
        raise ctx.error(f"output shape {list(ctx.t(out_idx).shape)} does not match mean over {axes}")
    count = int(np.prod([shape[a] for a in axes]))
    if count < 1:
        raise ctx.malformed(f"mean over axes {axes} of {list(shape)} reduces an empty axis")
    s_in, zp_in = ctx.qp(x_idx)
    s_out, zp_out = ctx.qp(out_idx)
    try:
        attrs = mean_params(axes, keep, count, s_in, zp_in, s_out, zp_out, mode="tflm")
    except ValueError as e:  # a count or scale ratio TFLM's multiplier cannot represent (e.g. a negative shift)
        raise ctx.error(f"no TFLM mean multiplier for {count} values, input scale {s_in:g}, output scale "
                        f"{s_out:g}: {e}", QuantizationError) from None
    ctx.emit("mean", [ctx.act(x_idx)], [ctx.out(out_idx)], attrs)


@handles("RESHAPE", "SQUEEZE", "EXPAND_DIMS", max_version=2)
@handles("RESHAPE", "SQUEEZE", "EXPAND_DIMS", max_version=2, table=FLOAT_HANDLERS)  # LCE models: float32 too
def reshape(ctx: TflImport, op: TflOp) -> None:
    x_idx, out_idx = op.inputs[0], op.outputs[0]
    x = ctx.act(x_idx)
    xt = ctx.g.t(x)
    out_shape = tuple(ctx.t(out_idx).shape)
    if ctx.t(out_idx).type_name != ctx.t(x_idx).type_name:
        raise ctx.error("reshape changes the element type")
    if xt.dtype == DType.INT8:
        ctx.same_grid(x_idx, out_idx, "reshape")
    ctx.emit("reshape", [x], [ctx.out(out_idx, dtype=xt.dtype, quant=xt.quant)], ReshapeAttrs(out_shape))


@handles("SOFTMAX", max_version=3)
def softmax(ctx: TflImport, op: TflOp) -> None:
    x_idx, out_idx = op.inputs[0], op.outputs[0]
    ctx.require(x_idx, "int8", "input")
    ctx.require(out_idx, "int8", "output")
    s_out, zp_out = ctx.qp(out_idx)
    if F32(s_out) != F32(1 / 256) or zp_out != -128:
        raise ctx.error(f"int8 softmax output must use scale 1/256 and zero point -128 (TFLM), not {s_out}, {zp_out}",
                        QuantizationError)
    beta = float(op.options.beta) if op.options is not None else 1.0
    try:
        attrs = tflm_softmax_params(beta, ctx.qp(x_idx)[0])
    except ValueError as e:
        raise ctx.error(str(e), QuantizationError) from None
    ctx.emit("softmax", [ctx.act(x_idx)], [ctx.out(out_idx)], attrs)


def table_op(fn: str):
    def handler(ctx: TflImport, op: TflOp) -> None:
        x_idx, out_idx = op.inputs[0], op.outputs[0]
        ctx.require(x_idx, "int8", "input")
        ctx.require(out_idx, "int8", "output")
        (s_in, zp_in), (s_out, zp_out) = ctx.qp(x_idx), ctx.qp(out_idx)
        try:
            table = make_table(fn, s_in, zp_in, s_out, zp_out)
        except ValueError as e:  # scales TFLM's integer algorithm cannot represent (e.g. a negative shift)
            raise ctx.error(f"no {fn} table for input scale {s_in:g} and output scale {s_out:g}: {e}",
                            QuantizationError) from None
        ctx.emit("lut", [ctx.act(x_idx)], [ctx.out(out_idx)], LutAttrs(table, fn))
    return handler


handles("LOGISTIC", max_version=3)(table_op("tflm_logistic"))
handles("HARD_SWISH", max_version=1)(table_op("tflm_hard_swish"))


@handles("QUANTIZE", max_version=3)
def quantize(ctx: TflImport, op: TflOp) -> None:
    src, dst = ctx.t(op.inputs[0]), ctx.t(op.outputs[0])
    if (src.type_name, dst.type_name) != ("int8", "int8"):
        raise ctx.error(f"QUANTIZE {src.type_name} -> {dst.type_name} inside the graph: only int8 -> int8 "
                        "requantization is supported (float32 -> int8 only at a graph input)")
    table_op("tflm_requantize")(ctx, op)


@handles("DEQUANTIZE", max_version=6)
def dequantize(ctx: TflImport, op: TflOp) -> None:
    if ctx.lce:
        raise ctx.error("int8 -> float32 inside a Larq model (LCE's int8 variant, converted with "
                        "inference_input_type=tf.int8 / experimental_default_int8_range) is not supported; convert "
                        "with lce.convert_keras_model(model) (float32 I/O)")
    raise ctx.error("DEQUANTIZE inside the graph (only int8 -> float32 at a graph output is supported); "
                    "convert with inference_output_type=tf.int8")


@handles("CONCATENATION", max_version=4)
def concatenation(ctx: TflImport, op: TflOp) -> None:
    out_idx = op.outputs[0]
    ctx.require(out_idx, "int8", "output")
    rank = len(ctx.t(out_idx).shape)
    if rank == 0:
        raise ctx.malformed("the output is a scalar")
    axis = int(op.options.axis) % rank
    if axis == 0:
        raise ctx.error("concatenation along the batch axis is not supported")
    if op.options.fusedActivationFunction != 0:
        raise ctx.error("a fused activation on CONCATENATION is not supported")
    names = []
    for i in op.inputs:
        ctx.require(i, "int8", "input")
        ctx.same_grid(i, out_idx, "concatenation")
        names.append(ctx.act(i))
    attrs = concat_params([ctx.qp(i) for i in op.inputs], ctx.qp(out_idx), axis)
    ctx.emit("concat", names, [ctx.out(out_idx)], attrs)


def _pad_foldable(ctx: TflImport, op: TflOp, pads: np.ndarray, value: int) -> bool:
    """A PAD of H and W with the zero point whose only reader is a convolution's input: folding it
    into the convolution's padding is exact (out-of-image taps contribute 0 there)."""
    out_idx = op.outputs[0]
    readers = ctx.consumers(out_idx)
    conv_ops = (ctx.codes.CONV_2D, ctx.codes.DEPTHWISE_CONV_2D)
    return (len(pads) == 4 and not pads[0].any() and not pads[3].any()
            and value == ctx.qp(op.inputs[0])[1] and out_idx not in ctx.m.outputs
            and len(readers) == 1 and readers[0].builtin in conv_ops and readers[0].inputs[0] == out_idx)


@handles("PAD", "PADV2", max_version=4)
def pad(ctx: TflImport, op: TflOp) -> None:
    x_idx, out_idx = op.inputs[0], op.outputs[0]
    ctx.require(x_idx, "int8", "input")
    ctx.require(out_idx, "int8", "output")
    ctx.same_grid(x_idx, out_idx, "pad")
    rank = len(ctx.t(x_idx).shape)
    pads = ctx.const_data(op.inputs[1], "paddings").reshape(rank, 2).astype(np.int64)
    value = ctx.qp(out_idx)[1]
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        ctx.require(op.inputs[2], "int8", "constant value")
        value = int(ctx.const_data(op.inputs[2], "constant value").reshape(-1)[0])
    if pads[0].any():
        raise ctx.error("padding the batch axis is not supported")
    x = ctx.act(x_idx)
    if _pad_foldable(ctx, op, pads, value):
        ctx.pending_pad[out_idx] = (x, (int(pads[1, 0]), int(pads[1, 1]), int(pads[2, 0]), int(pads[2, 1])))
        return
    attrs = PadAttrs(tuple((int(a), int(b)) for a, b in pads), int(value))
    ctx.emit("pad", [x], [ctx.out(out_idx)], attrs)

"""aten handlers of the common layers: fake quantization, convolutions (2-D and 1-D), linear, batch
norm, element-wise ops (incl. multiplication and division by a number: `scale`), data movement
(cat, stack, slice, reshape) and pooling.
"""

from __future__ import annotations

import numpy as np

from tinygen.errors import QuantizationError, UnsupportedOpError
from tinygen.importers.torch.context import Ctx, arg, handles, target_name
from tinygen.ir import float_ops as F
from tinygen.ir import float_ops_extra as FX
from tinygen.ir.graph import QuantParams


def _pair(v) -> tuple[int, int]:
    if isinstance(v, int):
        return (v, v)
    v = list(v)
    return (int(v[0]), int(v[-1])) if v else (1, 1)


def _padding(v) -> tuple[int, int, int, int]:
    ph, pw = _pair(v) if not isinstance(v, (list, tuple)) or len(v) else (0, 0)
    return (ph, ph, pw, pw)


# -- fake quantization ----------------------------------------------------------------------------
def fake_quant_tensor(ctx: Ctx, x, scale, zp, qmin, qmax, axis=None) -> str:
    import torch

    scale_t = torch.as_tensor(scale, dtype=torch.float32).reshape(-1)
    zp_t = torch.as_tensor(zp).reshape(-1)
    if zp_t.is_floating_point() and not torch.equal(zp_t, zp_t.round()):
        raise ctx.error("non-integer zero point", QuantizationError)
    scales = tuple(float(s) for s in scale_t)
    zps = tuple(int(z) for z in zp_t.round().to(torch.int64))
    if any(s <= 0 for s in scales):
        raise ctx.error("quantization scale must be positive", QuantizationError)
    attrs = F.FakeQuant(scales, zps, int(qmin), int(qmax), axis)
    if ctx.is_const(x):
        return quantized_const(ctx, x, attrs)
    return ctx.emit("fake_quant", [ctx.act(x)], attrs)


def quantized_const(ctx: Ctx, x, a: F.FakeQuant) -> str:
    """Integer values of a fake-quantized constant, checked against torch's own fake-quant."""
    import torch

    w = ctx.const(x).detach().float()
    if a.qmax - a.qmin > 255:
        raise ctx.error(f"constant quantized to {a.qmax - a.qmin + 1} levels; at most 256 fit int8", QuantizationError)
    shape = [1] * w.dim()
    if a.axis is not None:
        shape[a.axis] = -1
    s = torch.tensor(a.scale, dtype=torch.float32).reshape(shape)
    z = torch.tensor(a.zero_point, dtype=torch.float32).reshape(shape)
    q = torch.clamp(torch.round(w * (1.0 / s)) + z, a.qmin, a.qmax)
    if a.axis is None:
        ref = torch.fake_quantize_per_tensor_affine(w, a.scale[0], a.zero_point[0], a.qmin, a.qmax)
    else:
        ref = torch.fake_quantize_per_channel_affine(w, s.reshape(-1), z.reshape(-1).to(torch.int32), a.axis, a.qmin, a.qmax)
    if not torch.equal((q - z) * s, ref):
        raise ctx.error("cannot reproduce PyTorch's fake-quantized constant exactly", QuantizationError)
    dtype = np.int8 if a.qmin >= -128 and a.qmax <= 127 else np.int16
    quant = QuantParams(a.scale, a.zero_point, a.qmin, a.qmax, a.axis)
    return ctx.const_tensor(x, quant, q.numpy().astype(dtype))


@handles("aten.fake_quantize_per_tensor_affine.default", "aten.fake_quantize_per_tensor_affine.tensor_qparams")
def _fq_tensor(ctx, node, args, kw):
    x, scale, zp, qmin, qmax = args[:5]
    return fake_quant_tensor(ctx, x, ctx.const(scale), ctx.const(zp), qmin, qmax)


@handles("aten.fake_quantize_per_channel_affine.default")
def _fq_channel(ctx, node, args, kw):
    x, scale, zp, axis, qmin, qmax = args[:6]
    return fake_quant_tensor(ctx, x, ctx.const(scale), ctx.const(zp), qmin, qmax, int(axis))


@handles("aten._fake_quantize_learnable_per_tensor_affine.default")
def _fq_learnable(ctx, node, args, kw):
    x, scale, zp, qmin, qmax = args[:5]
    return fake_quant_tensor(ctx, x, ctx.const(scale).abs(), ctx.const(zp).round().clamp(qmin, qmax), qmin, qmax)


# -- layers ---------------------------------------------------------------------------------------
def _conv(ctx, x, w, b, stride, padding, dilation, groups):
    if len(ctx.shape(x)) != 4:
        raise ctx.error("only 2-D convolution on NCHW inputs is supported", UnsupportedOpError)
    wshape = ctx.graph.t(ctx.act(w)).shape
    if isinstance(padding, str):
        if padding == "valid":
            pad = (0, 0, 0, 0)
        else:  # "same", stride 1: PyTorch puts the extra pixel at the end
            dil = _pair(dilation)
            th, tw = dil[0] * (wshape[2] - 1), dil[1] * (wshape[3] - 1)
            pad = (th // 2, th - th // 2, tw // 2, tw - tw // 2)
    else:
        pad = _padding(padding)
    inputs = [ctx.act(x), ctx.act(w)] + ([ctx.act(b)] if b is not None else [])
    return ctx.emit("conv2d", inputs, F.Conv2d(_pair(stride), pad, _pair(dilation), int(groups)))


@handles("aten.conv2d.default", "aten.conv2d.padding")
def _conv2d(ctx, node, args, kw):
    return _conv(ctx, args[0], args[1], arg(args, kw, 2, "bias"), arg(args, kw, 3, "stride", 1),
                 arg(args, kw, 4, "padding", 0), arg(args, kw, 5, "dilation", 1), arg(args, kw, 6, "groups", 1))


@handles("aten.convolution.default", "aten._convolution.default")
def _convolution(ctx, node, args, kw):
    x, w, b, stride, padding, dilation, transposed, _output_padding, groups = args[:9]
    if transposed:
        raise ctx.error("transposed convolution is not supported", UnsupportedOpError)
    conv = _conv1d if len(ctx.shape(x)) == 3 else _conv
    return conv(ctx, x, w, b, stride, padding, dilation, groups)


def _one(v) -> int:
    if isinstance(v, (list, tuple)):
        return int(v[0]) if v else 0
    return int(v)


def _conv1d(ctx, x, w, b, stride, padding, dilation, groups) -> str:
    if len(ctx.shape(x)) != 3:
        raise ctx.error("conv1d takes a [N, C, L] input", UnsupportedOpError)
    k = ctx.graph.t(ctx.act(w)).shape[2]
    dil = _one(dilation)
    if isinstance(padding, str):
        total = dil * (k - 1) if padding == "same" else 0
        pad = (total // 2, total - total // 2)
    else:
        p = _one(padding)
        pad = (p, p)
    inputs = [ctx.act(x), ctx.act(w)] + ([ctx.act(b)] if b is not None else [])
    return ctx.emit("conv1d", inputs, FX.Conv1d(_one(stride), pad, dil, int(groups)))


@handles("aten.conv1d.default", "aten.conv1d.padding")
def _conv1d_handler(ctx, node, args, kw):
    return _conv1d(ctx, args[0], args[1], arg(args, kw, 2, "bias"), arg(args, kw, 3, "stride", 1),
                   arg(args, kw, 4, "padding", 0), arg(args, kw, 5, "dilation", 1), arg(args, kw, 6, "groups", 1))


@handles("aten.linear.default")
def _linear(ctx, node, args, kw):
    b = arg(args, kw, 2, "bias")
    return ctx.emit("linear", [ctx.act(args[0]), ctx.act(args[1])] + ([ctx.act(b)] if b is not None else []), F.Linear())


@handles("aten.batch_norm.default", "aten._native_batch_norm_legit_no_training.default")
def _batch_norm(ctx, node, args, kw):
    x, w, b, mean, var = args[:5]
    eps = args[7] if "batch_norm.default" in target_name(node.target) else args[6]
    c = ctx.shape(x)[1]
    import torch

    w = ctx.const_tensor(None, data=(ctx.const(w) if w is not None else torch.ones(c)).detach().numpy().astype(np.float32))
    b = ctx.const_tensor(None, data=(ctx.const(b) if b is not None else torch.zeros(c)).detach().numpy().astype(np.float32))
    out = ctx.emit("batch_norm", [ctx.act(x), ctx.act(mean), ctx.act(var), w, b], F.BatchNorm(float(eps)),
                   shape=ctx.shape(x))
    return [out, out, out] if "legit" in target_name(node.target) else out


# -- element-wise ---------------------------------------------------------------------------------
@handles("aten.add.Tensor", "aten.add_.Tensor")
def _add(ctx, node, args, kw):
    if arg(args, kw, 2, "alpha", 1) != 1:
        raise ctx.error("add with alpha != 1 is not supported", UnsupportedOpError)
    return ctx.emit("add", [ctx.act(args[0]), ctx.act(args[1])], F.Elementwise())


def _number(ctx, v) -> float | None:
    """v as a Python float when it is a number or a one-element unquantized constant."""
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    if ctx.is_const(v):
        c = ctx.const(v)
        if hasattr(c, "numel") and c.numel() == 1 and c.is_floating_point():
            return float(c.reshape(-1)[0])
    return None


@handles("aten.mul.Tensor", "aten.mul_.Tensor", "aten.mul.Scalar")
def _mul(ctx, node, args, kw):
    """Multiplication by a number: `scale` (an int8 table after lowering); of two tensors: `mul`."""
    a, b = args[:2]
    for x, y in ((a, b), (b, a)):
        c = _number(ctx, y)
        if c is not None and not ctx.is_const(x):
            return ctx.emit("scale", [ctx.act(x)], FX.Scale(c))
    if target_name(node.target) == "aten.mul.Scalar":
        raise ctx.error("multiplication of two tensors is not supported here", UnsupportedOpError)
    return ctx.emit("mul", [ctx.act(a), ctx.act(b)], F.Elementwise())


@handles("aten.div.Tensor", "aten.div.Scalar")
def _div(ctx, node, args, kw):
    c = _number(ctx, args[1])
    if c is None or ctx.is_const(args[0]):
        raise ctx.error("division is supported only of an activation by a number (e.g. a softmax temperature)",
                        UnsupportedOpError)
    if c == 0:
        raise ctx.error("division by zero", UnsupportedOpError)
    return ctx.emit("scale", [ctx.act(args[0])], FX.Scale(c, divide=True))


@handles("aten.relu.default", "aten.relu_.default")
def _relu(ctx, node, args, kw):
    return ctx.emit("clamp", [ctx.act(args[0])], F.Clamp(0.0, None))


@handles("aten.relu6.default", "aten.hardtanh.default", "aten.hardtanh_.default")
def _hardtanh(ctx, node, args, kw):
    lo = float(arg(args, kw, 1, "min_val", 0.0 if "relu6" in target_name(node.target) else -1.0))
    hi = float(arg(args, kw, 2, "max_val", 6.0 if "relu6" in target_name(node.target) else 1.0))
    return ctx.emit("clamp", [ctx.act(args[0])], F.Clamp(lo, hi))


@handles("aten.clamp.default")
def _clamp(ctx, node, args, kw):
    lo, hi = arg(args, kw, 1, "min"), arg(args, kw, 2, "max")
    return ctx.emit("clamp", [ctx.act(args[0])], F.Clamp(None if lo is None else float(lo), None if hi is None else float(hi)))


def _unary(fn: str):
    def handler(ctx, node, args, kw):
        return ctx.emit("unary", [ctx.act(args[0])], F.Unary(fn))
    return handler


for _fn in ("sigmoid", "tanh", "hardswish", "hardsigmoid"):
    handles(f"aten.{_fn}.default", f"aten.{_fn}_.default")(_unary(_fn))


# -- data movement --------------------------------------------------------------------------------
@handles("aten.cat.default", "aten.concat.default")
def _cat(ctx, node, args, kw):
    tensors = args[0]
    rank = len(ctx.shape(tensors[0]))
    axis = int(arg(args, kw, 1, "dim", 0)) % rank
    return ctx.emit("concat", [ctx.act(t) for t in tensors], F.Concat(axis))


@handles("aten.stack.default")
def _stack(ctx, node, args, kw):
    tensors = args[0]
    rank = len(ctx.shape(tensors[0]))
    dim = int(arg(args, kw, 1, "dim", 0)) % (rank + 1)
    parts = []
    for t in tensors:
        shape = list(ctx.shape(t))
        shape.insert(dim, 1)
        parts.append(ctx.emit("reshape", [ctx.act(t)], F.Reshape(tuple(shape)), shape=tuple(shape)))
    return ctx.emit("concat", parts, F.Concat(dim))


@handles("aten.slice.Tensor")
def _slice(ctx, node, args, kw):
    shape = ctx.shape(args[0])
    dim = int(arg(args, kw, 1, "dim", 0)) % len(shape)
    start = arg(args, kw, 2, "start", None)
    end = arg(args, kw, 3, "end", None)
    step = int(arg(args, kw, 4, "step", 1))
    start, end, step = slice(start, end, step).indices(shape[dim])
    return ctx.emit("slice", [ctx.act(args[0])], F.Slice(dim, start, end, step))


@handles("aten.narrow.default")
def _narrow(ctx, node, args, kw):
    x, dim, start, length = args[:4]
    return ctx.emit("slice", [ctx.act(x)], F.Slice(int(dim) % len(ctx.shape(x)), int(start), int(start) + int(length), 1))


@handles("aten.view.default", "aten.reshape.default", "aten._unsafe_view.default", "aten.flatten.using_ints",
         "aten.squeeze.dim", "aten.squeeze.dims", "aten.unsqueeze.default", "aten.view.dtype")
def _reshape(ctx, node, args, kw):
    out_shape = tuple(int(d) for d in node.meta["val"].shape)
    return ctx.emit("reshape", [ctx.act(args[0])], F.Reshape(out_shape))


# -- pooling --------------------------------------------------------------------------------------
def _ceil_extra(size, k, s, p, d, ceil_mode) -> int:
    """Extra bottom/right padding that makes floor-mode arithmetic produce ceil-mode sizes."""
    if not ceil_mode:
        return 0
    eff = d * (k - 1) + 1
    out = -(-(size + 2 * p - eff) // s) + 1
    if (out - 1) * s >= size + p:  # PyTorch: the last window must start inside the input
        out -= 1
    return max(0, (out - 1) * s + eff - (size + 2 * p))


@handles("aten.max_pool2d.default", "aten.max_pool2d_with_indices.default")
def _max_pool(ctx, node, args, kw):
    x = args[0]
    k = _pair(args[1])
    stride = arg(args, kw, 2, "stride", None) or k
    stride = _pair(stride)
    p = _pair(arg(args, kw, 3, "padding", 0))
    d = _pair(arg(args, kw, 4, "dilation", 1))
    ceil_mode = bool(arg(args, kw, 5, "ceil_mode", False))
    _, _, h, w = ctx.shape(x)
    pad = (p[0], p[0] + _ceil_extra(h, k[0], stride[0], p[0], d[0], ceil_mode),
           p[1], p[1] + _ceil_extra(w, k[1], stride[1], p[1], d[1], ceil_mode))
    val = node.meta["val"]
    shape = tuple(int(v) for v in (val[0] if isinstance(val, (list, tuple)) else val).shape)
    out = ctx.emit("max_pool2d", [ctx.act(x)], F.Pool2d(k, stride, pad, d), shape=shape)
    return [out, out] if "with_indices" in target_name(node.target) else out


@handles("aten.avg_pool2d.default")
def _avg_pool(ctx, node, args, kw):
    x = args[0]
    k = _pair(args[1])
    stride = _pair(arg(args, kw, 2, "stride", None) or k)
    p = _pair(arg(args, kw, 3, "padding", 0))
    ceil_mode = bool(arg(args, kw, 4, "ceil_mode", False))
    include_pad = bool(arg(args, kw, 5, "count_include_pad", True))
    if arg(args, kw, 6, "divisor_override", None) is not None:
        raise ctx.error("avg_pool2d with divisor_override is not supported", UnsupportedOpError)
    _, _, h, w = ctx.shape(x)
    if ceil_mode and (_ceil_extra(h, k[0], stride[0], p[0], 1, True) or _ceil_extra(w, k[1], stride[1], p[1], 1, True)):
        raise ctx.error("avg_pool2d with ceil_mode that adds windows is not supported", UnsupportedOpError)
    return ctx.emit("avg_pool2d", [ctx.act(x)], F.Pool2d(k, stride, (p[0], p[0], p[1], p[1]), (1, 1), include_pad))


@handles("aten.adaptive_avg_pool2d.default", "aten._adaptive_avg_pool2d.default")
def _adaptive_avg(ctx, node, args, kw):
    x = args[0]
    _, _, h, w = ctx.shape(x)
    oh, ow = _pair(args[1])
    if (oh, ow) == (1, 1):
        return ctx.emit("mean", [ctx.act(x)], F.Mean((2, 3), True))
    if h % oh or w % ow:
        raise ctx.error(f"adaptive_avg_pool2d from {h}x{w} to {oh}x{ow} is not a plain pooling", UnsupportedOpError)
    k = (h // oh, w // ow)
    return ctx.emit("avg_pool2d", [ctx.act(x)], F.Pool2d(k, k))


@handles("aten.mean.dim", "aten.mean.default")
def _mean(ctx, node, args, kw):
    rank = len(ctx.shape(args[0]))
    dims = arg(args, kw, 1, "dim", None)
    dims = tuple(range(rank)) if dims is None else tuple(sorted(int(d) % rank for d in dims))
    keep = bool(arg(args, kw, 2, "keepdim", False))
    return ctx.emit("mean", [ctx.act(args[0])], F.Mean(dims, keep))

"""Fake-quant spellings of PyTorch's eager (`torch.ao.quantization.prepare_qat`) and FX
(`prepare_qat_fx`) QAT, exported with torch.export in eval mode; handlers registered into
torch.context.HANDLERS.

* `FusedMovingAvgObsFakeQuantize` exports as `aten.fused_moving_avg_obs_fake_quant`. With its
  observer disabled it is a plain fake-quant on the stored scale and zero point (per tensor, or
  per channel along ch_axis when per_row_fake_quant); with the observer on, the program
  re-estimates its range on every call, which no fixed integer program reproduces: refused.
* The fused QAT Conv-BN modules (nniqat.ConvBn2d, ConvBnReLU2d) export as

      conv(x, fq(w * k), 0) / k  [+ b]  -> batch_norm      k = gamma / sqrt(var + eps)

  Dividing a convolution's output by a per-channel k is the same convolution with weight scales
  s_w / k (the integers unchanged; a negative k also negates them), and adding a per-channel
  constant is its bias, so both fold into the conv node here; batch_norm then folds as usual.
"""

from __future__ import annotations

import numpy as np

from tinygen.errors import QuantizationError, UnsupportedOpError
from tinygen.importers.torch.context import HANDLERS, KEEP_QUANTIZED_CONSTS, handles
from tinygen.importers.torch.layers import fake_quant_tensor
from tinygen.ir.graph import QuantParams

_FUSED = "aten.fused_moving_avg_obs_fake_quant.default"
KEEP_QUANTIZED_CONSTS.add(_FUSED)


def _flag(ctx, a) -> int:
    v = ctx.const(a)
    return int(v.reshape(-1)[0]) if hasattr(v, "reshape") else int(v)


@handles(_FUSED)
def _fused_fake_quant(ctx, node, args, kw):
    x, observer_on, fq_on, _rmin, _rmax, scale, zp, _avg, qmin, qmax, axis = args[:11]
    per_row = bool(args[11]) if len(args) > 11 else bool(kw.get("per_row_fake_quant", False))
    if not ctx.is_const(observer_on) or _flag(ctx, observer_on):
        raise ctx.error("the observer is still enabled, so the program re-estimates its scale on every call; call "
                        "model.apply(torch.ao.quantization.disable_observer) before torch.export", QuantizationError)
    if not ctx.is_const(fq_on) or not _flag(ctx, fq_on):
        raise ctx.error("fake-quant is disabled here, so this tensor stays float; call "
                        "model.apply(torch.ao.quantization.enable_fake_quant) before torch.export", QuantizationError)
    return fake_quant_tensor(ctx, x, ctx.const(scale), ctx.const(zp), qmin, qmax, int(axis) if per_row else None)


def _per_channel(ctx, a, channels: int) -> np.ndarray | None:
    """a as a float64 [channels] vector when it is a constant shaped [C], [1, C] or [1, C, 1, 1]."""
    if not ctx.is_const(a) or isinstance(a, (int, float)):
        return None
    c = ctx.const(a)
    if not hasattr(c, "shape") or not c.is_floating_point():
        return None
    shape = tuple(c.shape)
    if len(shape) == 1 and shape[0] == channels or len(shape) >= 2 and shape[1] == channels and \
            all(d == 1 for i, d in enumerate(shape) if i != 1):
        return c.detach().double().reshape(-1).numpy()
    return None


def _own_conv(ctx, a):
    """The conv2d node writing activation `a`, if `a` is read only by the node being translated."""
    if ctx.is_const(a) or len(getattr(a, "users", ())) != 1:
        return None
    name = ctx.act(a)
    prod = ctx.graph.producer(name)
    if prod is None or prod.op != "conv2d" or ctx.graph.uses(name) != 0:
        return None
    return prod


def _bias(ctx, conv, cout: int) -> np.ndarray:
    return ctx.graph.t(conv.inputs[2]).data.astype(np.float64) if len(conv.inputs) > 2 else np.zeros(cout)


def _wrap_div(name: str):
    previous = HANDLERS.get(name)

    def handler(ctx, node, args, kw):
        conv = _own_conv(ctx, args[0])
        if conv is not None:
            w = ctx.graph.t(conv.inputs[1])
            k = _per_channel(ctx, args[1], w.shape[0])
            if k is not None and w.quant is not None and w.quant.axis in (None, 0) and np.all(k != 0):
                _rescale_conv(ctx, conv, w, k)
                return conv.outputs[0]
        if previous is None:
            raise ctx.error("division is not supported here", UnsupportedOpError)
        return previous(ctx, node, args, kw)
    HANDLERS[name] = handler


def _rescale_conv(ctx, conv, w, k: np.ndarray) -> None:
    """conv(x, s_w * q) / k == conv(x, (s_w / |k|) * (sign(k) * q)); the bias is divided too."""
    q = w.quant
    cout = w.shape[0]
    if any(z != 0 for z in q.zero_point):
        raise ctx.error("Conv-BN weights must be quantized symmetrically (zero point 0)", QuantizationError)
    sign = np.where(k < 0, -1, 1).astype(np.int64)
    ints = w.data.astype(np.int64) * sign.reshape((-1,) + (1,) * (w.data.ndim - 1))
    scales = np.broadcast_to(np.asarray(q.scale, np.float64), (cout,)) / np.abs(k)
    lo, hi = (min(q.qmin, -q.qmax), max(q.qmax, -q.qmin)) if np.any(k < 0) else (q.qmin, q.qmax)
    # A flipped -128 is 128: kept in int16 here; the BatchNorm fold that follows flips it back.
    data = ints.astype(np.int8 if lo >= -128 and hi <= 127 else np.int16)
    quant = QuantParams(tuple(float(s) for s in scales), (0,) * cout, lo, hi, 0, q.bits)
    conv.inputs[1] = ctx.graph.add_const(w.name + "_div", data, quant).name
    bias = _bias(ctx, conv, cout) / k
    conv.inputs[2:] = [ctx.graph.add_const(conv.name + "_bias_div", bias.astype(np.float32)).name]


def _wrap_add(name: str):
    previous = HANDLERS.get(name)

    def handler(ctx, node, args, kw):
        a, b = args[:2]
        for x, y in ((a, b), (b, a)):
            conv = _own_conv(ctx, x)
            if conv is not None:
                cout = ctx.graph.t(conv.inputs[1]).shape[0]
                c = _per_channel(ctx, y, cout)
                alpha = args[2] if len(args) > 2 else kw.get("alpha", 1)
                if c is not None and alpha == 1:
                    bias = _bias(ctx, conv, cout) + c
                    conv.inputs[2:] = [ctx.graph.add_const(conv.name + "_bias_add", bias.astype(np.float32)).name]
                    return conv.outputs[0]
        return previous(ctx, node, args, kw)
    HANDLERS[name] = handler


for _name in ("aten.div.Tensor",):
    _wrap_div(_name)
for _name in ("aten.add.Tensor",):
    _wrap_add(_name)

"""PT2E quantize/dequantize programs (torchao's `convert_pt2e`), handlers registered into
torch.context.HANDLERS.

    dequantize(quantize(x, s, z, qmin, qmax), s, z, qmin, qmax)  ==  fake_quant(x, s, z, qmin, qmax)

so a Q/DQ pair on an activation becomes one `fake_quant` node, and a dequantize of an integer
constant (convert_pt2e folds weight quantization) becomes a quantized constant with exactly those
integers. An int32 constant (a bias quantized with s_in * s_w) is dequantized to float: tinygen
quantizes biases itself with the same scale, which gives back the same integers.
A quantize whose result is used other than by its dequantize, a per-channel activation, and
dynamic quantization (choose_qparams on an activation) are refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinygen.errors import QuantizationError, UnsupportedOpError
from tinygen.importers.torch.context import KEEP_QUANTIZED_CONSTS, handles
from tinygen.importers.torch.layers import fake_quant_tensor, quantized_const
from tinygen.ir import float_ops as F

_NS = "quantized_decomposed"
_Q_TENSOR = [f"{_NS}.quantize_per_tensor.{o}" for o in ("default", "tensor", "tensor2")]
_DQ_TENSOR = [f"{_NS}.dequantize_per_tensor.{o}" for o in ("default", "tensor", "tensor2")]
_Q_CHANNEL = [f"{_NS}.quantize_per_channel.default"]
_DQ_CHANNEL = [f"{_NS}.dequantize_per_channel.default"]
KEEP_QUANTIZED_CONSTS.update(_Q_TENSOR + _DQ_TENSOR + _Q_CHANNEL + _DQ_CHANNEL)

_libraries_loaded = False


def register_op_libraries() -> None:
    """Register the `quantized_decomposed` ops a convert_pt2e program calls, so torch.export.load
    resolves them without the user importing anything. torch still ships their definitions (the
    same ones torchao registers), so this needs no torchao, and avoids its CUDA-library noise."""
    global _libraries_loaded
    if _libraries_loaded:
        return
    import torch.ao.quantization.fx._decomposed  # noqa: F401  (defines quantized_decomposed.*)

    _libraries_loaded = True


@dataclass(frozen=True)
class Quantized:
    """The integer result of a quantize node, waiting for its dequantize."""

    x: object  # fx node of the float input
    scale: object
    zero_point: object
    qmin: int
    qmax: int
    axis: int | None = None

    def refuse(self) -> str:
        return ("an integer (quantize) result is used other than by a dequantize; tinygen reads PT2E programs "
                "as quantize -> dequantize pairs (convert_pt2e's output)")


def _params(args, kw, per_channel: bool):
    if per_channel:  # (input, scales, zero_points, axis, quant_min, quant_max, dtype)
        x, s, z, axis, qmin, qmax = args[:6]
        return x, s, z, int(qmin), int(qmax), int(axis)
    x, s, z, qmin, qmax = args[:5]
    return x, s, z, int(qmin), int(qmax), None


def _quantize(per_channel: bool):
    def handler(ctx, node, args, kw):
        x, s, z, qmin, qmax, axis = _params(args, kw, per_channel)
        if not ctx.is_const(s) or not ctx.is_const(z):
            raise ctx.error("the scale is computed at run time (dynamic quantization); tinygen needs static scales: "
                            "quantize activations statically (is_dynamic=False) and calibrate", QuantizationError)
        return Quantized(x, ctx.const(s), ctx.const(z), qmin, qmax, axis)
    return handler


def _dequantize(per_channel: bool):
    def handler(ctx, node, args, kw):
        src, s, z, qmin, qmax, axis = _params(args, kw, per_channel)
        if not ctx.is_const(s) or not ctx.is_const(z):
            raise ctx.error("the scale is computed at run time (dynamic quantization); tinygen needs static scales",
                            QuantizationError)
        s, z = ctx.const(s), ctx.const(z)
        q = ctx.names.get(src.name) if hasattr(src, "name") else None
        if isinstance(q, Quantized):
            if (q.qmin, q.qmax, q.axis) != (qmin, qmax, axis) or not _same(q.scale, s) or not _same(q.zero_point, z):
                raise ctx.error("dequantize with other parameters than its quantize", QuantizationError)
            if ctx.is_const(q.x):  # a weight quantized in the program (not folded by convert_pt2e)
                return fake_quant_tensor(ctx, q.x, s, z, qmin, qmax, axis)
            if axis is not None:
                raise ctx.error("per-channel quantization of an activation is not supported; quantize activations "
                                "per tensor", QuantizationError)
            # convert_pt2e gives each reader its own dequantize of one quantize: one fake_quant for all.
            done = ctx.__dict__.setdefault("_pt2e_dequantized", {})
            if src.name not in done:
                done[src.name] = _hoist(ctx, fake_quant_tensor(ctx, q.x, s, z, qmin, qmax))
            return done[src.name]
        if ctx.is_const(src):
            return _dequantize_const(ctx, node, src, s, z, qmin, qmax, axis)
        raise ctx.error("dequantize of a tensor that no quantize produced", UnsupportedOpError)
    return handler


# Ops that commute with rounding onto a grid: fq(op(x)) == op(fq(x)) exactly.
_COMMUTING = {"reshape", "max_pool2d", "slice"}


def _hoist(ctx, fq_out: str) -> str:
    """Move a fake_quant up through reshape / max pool / slice whose input has no quantizer and no
    other reader (X86InductorQuantizer quantizes after flatten and max pooling, not at the conv-relu
    that feeds them), so the op producing the float tensor takes the grid directly. Returns the
    tensor that now holds the quantized value."""
    g = ctx.graph
    fq = g.producer(fq_out)
    out = fq_out
    while True:
        src = fq.inputs[0]
        op = g.producer(src)
        if op is None or op.op not in _COMMUTING or g.uses(src) != 1 or len(op.inputs) != 1:
            return out
        inner = op.inputs[0]
        inner_prod = g.producer(inner)
        if g.uses(inner) != 1 or inner_prod is None or inner_prod.op == "fake_quant":
            return out
        # inner -> op -> src -> fq -> old   becomes   inner -> fq -> mid -> op -> src (old's readers read src)
        old = fq.outputs[0]
        t = g.t(inner)
        mid = g.add_tensor(type(t)(g.unique_name(inner + "_q"), t.shape, t.dtype)).name
        g.nodes.remove(fq)
        fq.inputs, fq.outputs = [inner], [mid]
        op.inputs = [mid]
        g.nodes.insert(g.nodes.index(op), fq)
        g.replace_uses(old, src)
        g.tensors.pop(old, None)
        if out == old:
            out = src


def _same(a, b) -> bool:
    import torch

    return torch.equal(torch.as_tensor(a, dtype=torch.float64).reshape(-1), torch.as_tensor(b, dtype=torch.float64).reshape(-1))


def _dequantize_const(ctx, node, src, s, z, qmin, qmax, axis):
    import torch

    data = ctx.const(src)
    with torch.no_grad():
        real = node.target(*ctx.const(list(node.args)), **ctx.const(dict(node.kwargs)))
    if data.dtype not in (torch.int8, torch.uint8) or qmax - qmin > 255:
        ctx.consts[node.name] = real  # e.g. an int32 bias: its float value (see the module docstring)
        return ctx.const_tensor(node)
    ints = data.to(torch.int64)
    if data.dtype == torch.uint8:  # shift onto int8: the same real values
        ints, z, qmin, qmax = ints - 128, torch.as_tensor(z) - 128, qmin - 128, qmax - 128
    # Rebuild the float weight and let the fake-quant path recover the same integers (it checks
    # them against torch's own fake-quant), so this stays one definition of a quantized constant.
    ctx.consts[node.name] = real
    a = _attrs(ctx, s, z, qmin, qmax, axis)
    return quantized_const(ctx, node, a)


def _attrs(ctx, s, z, qmin, qmax, axis):
    import torch

    scales = tuple(float(v) for v in torch.as_tensor(s, dtype=torch.float64).reshape(-1))
    zps = tuple(int(v) for v in torch.as_tensor(z).reshape(-1).round().to(torch.int64))
    if any(v <= 0 for v in scales):
        raise ctx.error("quantization scale must be positive", QuantizationError)
    return F.FakeQuant(scales, zps, int(qmin), int(qmax), axis)


for _n in _Q_TENSOR:
    handles(_n)(_quantize(False))
for _n in _Q_CHANNEL:
    handles(_n)(_quantize(True))
for _n in _DQ_TENSOR:
    handles(_n)(_dequantize(False))
for _n in _DQ_CHANNEL:
    handles(_n)(_dequantize(True))


@handles(f"{_NS}.choose_qparams.tensor", f"{_NS}.choose_qparams_symmetric.tensor",
         f"{_NS}.choose_qparams_per_token_asymmetric.default")
def _choose_qparams(ctx, node, args, kw):
    raise ctx.error("dynamic quantization (scales chosen at run time) is not supported; quantize activations "
                    "statically and calibrate (e.g. tinygen.quantizer.TinygenQuantizer)", QuantizationError)

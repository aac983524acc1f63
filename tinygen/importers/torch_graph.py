"""ExportedProgram -> float-dialect Graph.

Walks the exported aten graph once. Any call whose tensor inputs are all constants (weight
quantizer scales, reshapes of parameters, ...) is evaluated with torch right here, except
fake-quant of a constant, which becomes an integer constant with its quantization parameters.
Every other call is translated by the handler registered for its aten op in `HANDLERS`; the
sign patterns of binarized networks are recognised by the handlers in torch_sign.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from tinygen.errors import QuantizationError, TinygenError, UnsupportedOpError
from tinygen.importers.torch_load import load_exported_program
from tinygen.ir import float_ops as F
from tinygen.ir.graph import DType, Graph, Node, QuantParams, Tensor

HANDLERS: dict[str, Callable[["Ctx", Any, list, dict], Any]] = {}

# Ops that only carry metadata or are the identity at inference time.
PASS_THROUGH = {
    "aten.detach.default", "aten.clone.default", "aten.contiguous.default", "aten.alias.default",
    "aten.dropout.default", "aten.to.dtype", "aten._to_copy.default", "aten.lift_fresh_copy.default",
}
IGNORED = {"aten._assert_tensor_metadata.default", "aten.sym_size.int", "aten._assert_scalar.default"}
# Quantization ops that go to their handler even when every input is a constant, so a quantized
# weight keeps its integers and scales (other modules add their spellings: torch_qat, torch_pt2e).
KEEP_QUANTIZED_CONSTS: set[str] = set()


def handles(*names: str):
    def deco(fn):
        for n in names:
            HANDLERS[n] = fn
        return fn
    return deco


class Ctx:
    def __init__(self, graph: Graph, source: Path):
        import torch

        self.torch = torch
        self.graph = graph
        self.source = source
        self.consts: dict[str, Any] = {}  # fx node name -> torch tensor (not yet in the IR)
        self.names: dict[str, str] = {}  # fx node name -> IR tensor name (activations)
        self.fx_node = None

    # -- arguments ------------------------------------------------------------------------------
    def is_const(self, a) -> bool:
        import torch.fx

        if isinstance(a, torch.fx.Node):
            return a.name in self.consts
        if isinstance(a, (list, tuple)):
            return all(self.is_const(x) for x in a)
        return True

    def const(self, a):
        import torch.fx

        if isinstance(a, torch.fx.Node):
            return self.consts[a.name]
        if isinstance(a, (list, tuple)):
            return type(a)(self.const(x) for x in a)
        return a

    def act(self, a) -> str:
        """IR tensor name for an activation argument."""
        import torch.fx

        if isinstance(a, torch.fx.Node):
            if a.name in self.names:
                v = self.names[a.name]
                if hasattr(v, "refuse"):  # a symbolic piece of a sign pattern (torch_sign.py)
                    raise self.error(v.refuse(), UnsupportedOpError)
                return v
            if a.name in self.consts:
                return self.const_tensor(a)
        raise self.error(f"expected a tensor argument, got {a!r}")

    def const_tensor(self, a, quant: QuantParams | None = None, data: np.ndarray | None = None) -> str:
        if data is None:
            data = self.const(a).detach().cpu().numpy()
            if data.dtype == np.float64:
                data = data.astype(np.float32)
        return self.graph.add_const(getattr(a, "name", "const"), data, quant).name

    def shape(self, a) -> tuple[int, ...]:
        return tuple(self.graph.t(self.act(a)).shape)

    # -- outputs --------------------------------------------------------------------------------
    def emit(self, op: str, inputs: list[str], attrs=None, shape=None, dtype=DType.FLOAT32) -> str:
        node = self.fx_node
        if shape is None:
            val = node.meta.get("val")
            if val is None or not hasattr(val, "shape"):
                raise self.error("has no shape information")
            shape = tuple(int(d) for d in val.shape)
        out = self.graph.add_tensor(Tensor(self.graph.unique_name(node.name), shape, dtype)).name
        self.graph.add_node(Node(self.graph.unique_name(node.name, "node"), op, inputs, [out], attrs, source=self.where()))
        return out

    def where(self) -> str:
        n = self.fx_node
        stack = n.meta.get("nn_module_stack") if n is not None else None
        module = list(stack.values())[-1][0] if stack else ""
        return f"{n.name}" + (f" in module '{module}'" if module else "") if n is not None else ""

    def error(self, msg: str, cls=TinygenError) -> TinygenError:
        return cls(f"{self.source}: node {self.where()} ({self.fx_node.target}): {msg}")


def _target_name(target) -> str:
    return str(target).replace("torch.ops.", "", 1) if not isinstance(target, str) else target


def import_torch(path: Path, input_shape=None, trust_pickle: bool = False) -> Graph:
    import tinygen.nn  # noqa: F401  (registers tinygen::sign_ste, which torch.export.load must resolve)

    ep, traced = load_exported_program(path, input_shape, trust_pickle)
    return import_exported_program(ep, Path(path), traced)


def import_torch_calibrated(path: Path, input_shape, trust_pickle: bool, calibration) -> Graph:
    """A model file plus calibration samples (torch_ptq.py says what they are used for)."""
    import tinygen.nn  # noqa: F401
    from tinygen.importers.torch_ptq import import_calibrated

    ep, traced = load_exported_program(path, input_shape, trust_pickle)
    return import_calibrated(ep, calibration, Path(path), traced)


def import_torch_object(model, input_shape=None) -> tuple[Graph, str]:
    """An in-memory nn.Module (exported here with `input_shape`) or ExportedProgram -> (graph, name)."""
    import torch

    name = type(model).__name__.lower()
    if isinstance(model, torch.nn.Module):
        if input_shape is None:
            raise TinygenError("building an nn.Module needs input_shape, e.g. (1, 1, 16, 16)")
        model = torch.export.export(model.eval(), (torch.zeros(tuple(input_shape)),))
    elif not isinstance(model, torch.export.ExportedProgram):
        raise TinygenError(f"cannot build a {type(model).__name__}: pass a model file path, an nn.Module with "
                           "input_shape, or a torch.export.ExportedProgram")
    return import_exported_program(model, Path(name)), name


def import_exported_program(ep, path: Path, traced: bool = False) -> Graph:
    """Translate an in-memory ExportedProgram; `path` names the model in messages and output.
    `traced`: the program was traced here from a concrete input, so symbolic sizes are concrete."""
    sig = ep.graph_signature
    const_of: dict[str, Any] = {}
    for ph, name in {**sig.inputs_to_parameters, **sig.inputs_to_buffers}.items():
        const_of[ph] = ep.state_dict[name] if name in ep.state_dict else ep.constants[name]
    for ph, name in getattr(sig, "inputs_to_lifted_tensor_constants", {}).items():
        const_of[ph] = ep.constants[name]

    graph = Graph(Path(path).stem)
    ctx = Ctx(graph, Path(path))
    user_inputs = list(sig.user_inputs)
    for node in ep.graph.nodes:
        ctx.fx_node = node
        if node.op == "placeholder":
            if node.name in const_of:
                ctx.consts[node.name] = const_of[node.name]
            elif node.name in user_inputs:
                val = node.meta.get("val")
                if val is None:
                    raise ctx.error("input without shape information")
                if not traced and not all(isinstance(d, int) for d in val.shape):
                    raise TinygenError(f"{path}: input '{node.name}' has a dynamic shape {list(val.shape)}; export "
                                       "with static shapes (no dynamic_shapes), batch 1")
                shape = tuple(int(d) for d in val.shape)
                if shape and shape[0] != 1:
                    raise TinygenError(f"{path}: input '{node.name}' has batch {shape[0]}; export with batch 1")
                graph.add_tensor(Tensor(node.name, shape, DType.FLOAT32))
                graph.inputs.append(node.name)
                ctx.names[node.name] = node.name
            else:
                ctx.consts[node.name] = None  # unused token (e.g. an input the program ignores)
        elif node.op == "call_function":
            _call(ctx, node)
        elif node.op == "output":
            outs = node.args[0]
            for o in outs if isinstance(outs, (list, tuple)) else [outs]:
                graph.outputs.append(ctx.act(o))
    if not graph.inputs:
        raise TinygenError(f"{path}: the model takes no tensor input")
    graph.prune()
    return graph


def _call(ctx: Ctx, node) -> None:
    name = _target_name(node.target)
    if name in IGNORED:
        return
    if name == "getitem" or node.target.__name__ == "getitem" if hasattr(node.target, "__name__") else False:
        src, idx = node.args
        if src.name in ctx.consts:
            ctx.consts[node.name] = ctx.consts[src.name][idx]
        else:
            outs = ctx.names[src.name]
            ctx.names[node.name] = outs[idx] if isinstance(outs, list) else outs
        return
    is_fq = "fake_quantize" in name or name in KEEP_QUANTIZED_CONSTS
    if not is_fq and ctx.is_const(list(node.args)) and ctx.is_const(list(node.kwargs.values())):
        with ctx.torch.no_grad():
            ctx.consts[node.name] = node.target(*ctx.const(list(node.args)), **ctx.const(dict(node.kwargs)))
        return
    if name in PASS_THROUGH:
        ctx.names[node.name] = ctx.act(node.args[0])
        return
    handler = HANDLERS.get(name)
    if handler is None:
        raise ctx.error(f"unsupported op '{name}'; `tinygen build --list-ops` lists the ops tinygen translates",
                        UnsupportedOpError)
    ctx.names[node.name] = handler(ctx, node, list(node.args), dict(node.kwargs))


def _arg(args, kwargs, i, name, default=None):
    if len(args) > i:
        return args[i]
    return kwargs.get(name, default)


def _pair(v) -> tuple[int, int]:
    if isinstance(v, int):
        return (v, v)
    v = list(v)
    return (int(v[0]), int(v[-1])) if v else (1, 1)


def _padding(v) -> tuple[int, int, int, int]:
    ph, pw = _pair(v) if not isinstance(v, (list, tuple)) or len(v) else (0, 0)
    return (ph, ph, pw, pw)


# -- fake quantization ----------------------------------------------------------------------------
def _fake_quant(ctx: Ctx, x, scale, zp, qmin, qmax, axis=None) -> str:
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
        return _quantized_const(ctx, x, attrs)
    return ctx.emit("fake_quant", [ctx.act(x)], attrs)


def _quantized_const(ctx: Ctx, x, a: F.FakeQuant) -> str:
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
    return _fake_quant(ctx, x, ctx.const(scale), ctx.const(zp), qmin, qmax)


@handles("aten.fake_quantize_per_channel_affine.default")
def _fq_channel(ctx, node, args, kw):
    x, scale, zp, axis, qmin, qmax = args[:6]
    return _fake_quant(ctx, x, ctx.const(scale), ctx.const(zp), qmin, qmax, int(axis))


@handles("aten._fake_quantize_learnable_per_tensor_affine.default")
def _fq_learnable(ctx, node, args, kw):
    x, scale, zp, qmin, qmax = args[:5]
    return _fake_quant(ctx, x, ctx.const(scale).abs(), ctx.const(zp).round().clamp(qmin, qmax), qmin, qmax)


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
    return _conv(ctx, args[0], args[1], _arg(args, kw, 2, "bias"), _arg(args, kw, 3, "stride", 1),
                 _arg(args, kw, 4, "padding", 0), _arg(args, kw, 5, "dilation", 1), _arg(args, kw, 6, "groups", 1))


@handles("aten.convolution.default", "aten._convolution.default")
def _convolution(ctx, node, args, kw):
    x, w, b, stride, padding, dilation, transposed, _output_padding, groups = args[:9]
    if transposed:
        raise ctx.error("transposed convolution is not supported", UnsupportedOpError)
    return _conv(ctx, x, w, b, stride, padding, dilation, groups)


@handles("aten.linear.default")
def _linear(ctx, node, args, kw):
    b = _arg(args, kw, 2, "bias")
    return ctx.emit("linear", [ctx.act(args[0]), ctx.act(args[1])] + ([ctx.act(b)] if b is not None else []), F.Linear())


@handles("aten.batch_norm.default", "aten._native_batch_norm_legit_no_training.default")
def _batch_norm(ctx, node, args, kw):
    x, w, b, mean, var = args[:5]
    eps = args[7] if "batch_norm.default" in _target_name(node.target) else args[6]
    c = ctx.shape(x)[1]
    import torch

    w = ctx.const_tensor(None, data=(ctx.const(w) if w is not None else torch.ones(c)).detach().numpy().astype(np.float32))
    b = ctx.const_tensor(None, data=(ctx.const(b) if b is not None else torch.zeros(c)).detach().numpy().astype(np.float32))
    out = ctx.emit("batch_norm", [ctx.act(x), ctx.act(mean), ctx.act(var), w, b], F.BatchNorm(float(eps)),
                   shape=ctx.shape(x))
    return [out, out, out] if "legit" in _target_name(node.target) else out


# -- element-wise ---------------------------------------------------------------------------------
@handles("aten.add.Tensor", "aten.add_.Tensor")
def _add(ctx, node, args, kw):
    if _arg(args, kw, 2, "alpha", 1) != 1:
        raise ctx.error("add with alpha != 1 is not supported", UnsupportedOpError)
    return ctx.emit("add", [ctx.act(args[0]), ctx.act(args[1])], F.Elementwise())


@handles("aten.mul.Tensor", "aten.mul_.Tensor")
def _mul(ctx, node, args, kw):
    return ctx.emit("mul", [ctx.act(args[0]), ctx.act(args[1])], F.Elementwise())


@handles("aten.relu.default", "aten.relu_.default")
def _relu(ctx, node, args, kw):
    return ctx.emit("clamp", [ctx.act(args[0])], F.Clamp(0.0, None))


@handles("aten.relu6.default", "aten.hardtanh.default", "aten.hardtanh_.default")
def _hardtanh(ctx, node, args, kw):
    lo = float(_arg(args, kw, 1, "min_val", 0.0 if "relu6" in _target_name(node.target) else -1.0))
    hi = float(_arg(args, kw, 2, "max_val", 6.0 if "relu6" in _target_name(node.target) else 1.0))
    return ctx.emit("clamp", [ctx.act(args[0])], F.Clamp(lo, hi))


@handles("aten.clamp.default")
def _clamp(ctx, node, args, kw):
    lo, hi = _arg(args, kw, 1, "min"), _arg(args, kw, 2, "max")
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
    axis = int(_arg(args, kw, 1, "dim", 0)) % rank
    return ctx.emit("concat", [ctx.act(t) for t in tensors], F.Concat(axis))


@handles("aten.slice.Tensor")
def _slice(ctx, node, args, kw):
    shape = ctx.shape(args[0])
    dim = int(_arg(args, kw, 1, "dim", 0)) % len(shape)
    start = _arg(args, kw, 2, "start", None)
    end = _arg(args, kw, 3, "end", None)
    step = int(_arg(args, kw, 4, "step", 1))
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
    stride = _arg(args, kw, 2, "stride", None) or k
    stride = _pair(stride)
    p = _pair(_arg(args, kw, 3, "padding", 0))
    d = _pair(_arg(args, kw, 4, "dilation", 1))
    ceil_mode = bool(_arg(args, kw, 5, "ceil_mode", False))
    _, _, h, w = ctx.shape(x)
    pad = (p[0], p[0] + _ceil_extra(h, k[0], stride[0], p[0], d[0], ceil_mode),
           p[1], p[1] + _ceil_extra(w, k[1], stride[1], p[1], d[1], ceil_mode))
    val = node.meta["val"]
    shape = tuple(int(v) for v in (val[0] if isinstance(val, (list, tuple)) else val).shape)
    out = ctx.emit("max_pool2d", [ctx.act(x)], F.Pool2d(k, stride, pad, d), shape=shape)
    return [out, out] if "with_indices" in _target_name(node.target) else out


@handles("aten.avg_pool2d.default")
def _avg_pool(ctx, node, args, kw):
    x = args[0]
    k = _pair(args[1])
    stride = _pair(_arg(args, kw, 2, "stride", None) or k)
    p = _pair(_arg(args, kw, 3, "padding", 0))
    ceil_mode = bool(_arg(args, kw, 4, "ceil_mode", False))
    include_pad = bool(_arg(args, kw, 5, "count_include_pad", True))
    if _arg(args, kw, 6, "divisor_override", None) is not None:
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
    dims = _arg(args, kw, 1, "dim", None)
    dims = tuple(range(rank)) if dims is None else tuple(sorted(int(d) % rank for d in dims))
    keep = bool(_arg(args, kw, 2, "keepdim", False))
    return ctx.emit("mean", [ctx.act(args[0])], F.Mean(dims, keep))


from tinygen.importers import torch_sign  # noqa: E402,F401  (registers the sign handlers)
from tinygen.importers import torch_handlers_extra  # noqa: E402,F401  (max-out, variance, softmax, conv1d, ...)
from tinygen.importers import torch_qat  # noqa: E402,F401  (eager/FX QAT fake-quant, fused Conv-BN; after extra)
from tinygen.importers import torch_pt2e  # noqa: E402,F401  (PT2E quantize/dequantize)

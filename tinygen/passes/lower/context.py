"""The lowering driver and the state lowering functions share."""

from __future__ import annotations

from typing import Callable

import numpy as np

from tinygen.errors import QuantizationError, UnsupportedOpError
from tinygen.ir.graph import DType, Graph, Node, QuantParams, Tensor
from tinygen.quant.activation_range import quantized_range

LOWERINGS: dict[str, Callable[["LowerCtx", Node], None]] = {}
# Lowerings of float ops whose activation input is binary (+-1, dtype uint32): the driver picks
# this table for such nodes, so no lowering function branches on its input's kind.
BINARY_LOWERINGS: dict[str, Callable[["LowerCtx", Node], None]] = {}


def lowers(*ops: str, binary: bool = False):
    table = BINARY_LOWERINGS if binary else LOWERINGS

    def deco(fn):
        for op in ops:
            table[op] = fn
        return fn
    return deco


def reads_binary(graph: Graph, node: Node) -> bool:
    """True when the node's first activation input is a binary tensor."""
    acts = [graph.t(i) for i in node.inputs if not graph.t(i).is_const]
    return bool(acts) and acts[0].dtype == DType.UINT32


def nhwc_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    return (shape[0], shape[2], shape[3], shape[1]) if len(shape) == 4 else tuple(shape)


def nhwc_axis(axis: int, rank: int) -> int:
    return (0, 3, 1, 2)[axis] if rank == 4 else axis


def storage_order(shape: tuple[int, ...]) -> np.ndarray:
    """For each storage position of a lowered tensor, the row-major index in the source layout."""
    idx = np.arange(int(np.prod(shape))).reshape(shape)
    return (idx.transpose(0, 2, 3, 1) if len(shape) == 4 else idx).reshape(-1)


class LowerCtx:
    def __init__(self, src: Graph, source: str):
        self.src = src
        self.source = source
        self.dst = Graph(src.name, dialect="lowered")
        self.names: dict[str, str] = {}
        # Storage order of lowered tensors whose elements are not in source row-major order
        # beyond the NCHW->NHWC transpose (e.g. an HWC-ordered flatten): storage j = source perm[j].
        self.perm: dict[str, np.ndarray] = {}
        self.node: Node | None = None

    # -- tensors --------------------------------------------------------------------------------
    def x(self, src_name: str, allow_perm: bool = False) -> Tensor:
        name = self.names[src_name]
        if name in self.perm and not allow_perm:
            raise UnsupportedOpError(
                f"{self.source}: {self.node.describe()} reads a flattened feature map; tinygen keeps feature maps "
                "channels-last, so a flatten of a CxHxW map (H*W > 1) may only feed a linear layer")
        return self.dst.t(name)

    def quant(self, src_name: str) -> QuantParams:
        q = self.src.t(src_name).quant
        assert q is not None
        return q

    def new_act(self, base: str, shape, quant: QuantParams, dtype: DType = DType.INT8) -> Tensor:
        return self.dst.add_tensor(Tensor(self.dst.unique_name(base), tuple(shape), dtype, quant))

    def out_binary(self, src_name: str, shape) -> Tensor:
        """The lowered (bit-packed uint32, no quantization) tensor for a binary source output."""
        t = self.dst.add_tensor(Tensor(self.dst.unique_name(src_name), tuple(shape), DType.UINT32))
        self.names[src_name] = t.name
        return t

    def out(self, src_name: str, shape=None) -> Tensor:
        """The lowered tensor for a source output (NHWC shape unless given)."""
        src = self.src.t(src_name)
        t = self.new_act(src_name, shape if shape is not None else nhwc_shape(src.shape), src.quant)
        self.names[src_name] = t.name
        return t

    def const(self, base: str, data: np.ndarray, quant: QuantParams | None = None) -> Tensor:
        return self.dst.add_const(base, data, quant)

    def emit(self, op: str, inputs: list[str], outputs: list[str], attrs, suffix: str = "") -> Node:
        n = self.node
        return self.dst.add_node(Node(self.dst.unique_name(n.name + suffix, "node"), op, inputs, outputs, attrs,
                                      source=n.source or n.name))

    def emit_on_input_grid(self, op: str, inputs: list[str], attrs, src_out: str, in_quant: QuantParams,
                           shape=None) -> None:
        """Emit an op whose output stays on its input's grid, requantizing afterwards if the source
        tensor was assigned a different grid."""
        target = self.src.t(src_out).quant
        if in_quant.same_grid(target) and (in_quant.qmin, in_quant.qmax) == (target.qmin, target.qmax):
            self.emit(op, inputs, [self.out(src_out, shape).name], attrs)
            return
        tmp = self.new_act(src_out + "_pre", shape if shape is not None else nhwc_shape(self.src.t(src_out).shape), in_quant)
        self.emit(op, inputs, [tmp.name], attrs)
        self.emit_lut("identity", tmp.name, in_quant, src_out)

    def emit_lut(self, fn: str, in_name: str, in_q: QuantParams, src_out: str, **params) -> None:
        from tinygen.ops.lut import LutAttrs, make_table

        out_q = self.src.t(src_out).quant
        table = make_table(fn, in_q.scale[0], in_q.zero_point[0], out_q.scale[0], out_q.zero_point[0],
                           out_q.qmin, out_q.qmax, **params)
        out = self.out(src_out, self.dst.t(in_name).shape)
        self.emit("lut", [in_name], [out.name], LutAttrs(tuple(int(v) for v in table), fn), suffix="_lut")

    def error(self, msg: str, cls=UnsupportedOpError):
        return cls(f"{self.source}: {self.node.describe()}: {msg}")


def act_range(q: QuantParams, activation: str) -> tuple[int, int]:
    """Integer bounds of a fused activation on the output grid (exactly what fake-quant would give)."""
    return quantized_range(activation, q.scale[0], q.zero_point[0], q.qmin, q.qmax, mode="torch")


def lower(graph: Graph, source: str = "model") -> Graph:
    """Lower a quantized float-dialect graph; see the package docstring."""
    ctx = LowerCtx(graph, source)
    for name in graph.inputs:
        t = graph.t(name)
        ctx.dst.add_tensor(Tensor(name, nhwc_shape(t.shape), DType.INT8, t.quant))
        ctx.dst.inputs.append(name)
        ctx.names[name] = name
    for node in graph.nodes:
        ctx.node = node
        if reads_binary(graph, node):
            fn = BINARY_LOWERINGS.get(node.op)
            if fn is None:
                raise UnsupportedOpError(f"{source}: {node.describe()}: '{node.op}' on a binary (+-1) tensor is not "
                                         f"supported; binary tensors feed: {', '.join(sorted(BINARY_LOWERINGS))}")
        else:
            fn = LOWERINGS.get(node.op)
            if fn is None:
                raise UnsupportedOpError(f"{source}: {node.describe()}: no integer lowering for '{node.op}'; "
                                         f"supported: {', '.join(sorted(LOWERINGS))}")
        fn(ctx, node)
    for name in graph.outputs:
        low = ctx.names[name]
        if low in ctx.perm:
            raise UnsupportedOpError(f"{source}: output '{name}' is a flattened CxHxW map; tinygen's outputs are "
                                     "channels-last; flatten after pooling to 1x1 or end with a linear layer")
        if low in ctx.dst.outputs or low in ctx.dst.inputs:
            raise UnsupportedOpError(f"{source}: output '{name}' is also an input or another output")
        ctx.dst.outputs.append(low)
    ctx.dst.prune()
    return ctx.dst


def check_symmetric_weights(ctx: LowerCtx, w: Tensor, what: str) -> np.ndarray:
    """Per-output-channel weight scales of a symmetric quantized weight tensor."""
    if w.quant is None:
        raise ctx.error(not_quantized_message(w, what), QuantizationError)
    q = w.quant
    bad = [(c, int(z)) for c, z in enumerate(q.zero_point) if z != 0]
    if bad:
        shown = ", ".join(f"channel {c}: {z}" for c, z in bad[:4]) + (", ..." if len(bad) > 4 else "")
        raise ctx.error(f"{what} weights must be symmetric (zero point 0), but {len(bad)} of {len(q.zero_point)} "
                        f"zero points are not ({shown}); tinygen's int8 weights cannot represent an offset "
                        "exactly: quantize weights with a symmetric qscheme (PyTorch's per-channel QAT observer "
                        "can give a channel whose weights all share one sign an affine zero point: retrain, or "
                        "fix that channel's range)", QuantizationError)
    if q.axis not in (None, 0):
        raise ctx.error(f"{what} weights must be quantized per output channel (axis 0) or per tensor, not along "
                        f"axis {q.axis}", QuantizationError)
    if w.data.dtype != np.int8:
        raise ctx.error(f"{what} weights use more than 8 bits", QuantizationError)
    return np.broadcast_to(np.asarray(q.scale, np.float64), (w.shape[0],)).copy()


def not_quantized_message(w: Tensor, what: str) -> str:
    from tinygen.passes.binary_weights import binary_scales

    _, why = binary_scales(w.data)
    return (f"{what} weights are not quantized, nor binary ({why}); use tinygen.nn.QConv2d/QLinear (int8), "
            "KBitConv2d/KBitLinear (2 or 4 bits), BinaryConv2d/BinaryLinear (1 bit), or "
            "torch.fake_quantize_per_channel_affine on the weights")

"""Give every activation tensor its quantization parameters, from the fake-quant nodes.

1. absorb: `fake_quant(t)` where t is a graph input, or is written by one node and read only
   by this fake-quant, is removed and t takes its parameters: the producer writes integers on
   that grid directly. A fake-quant that cannot be absorbed stays (it lowers to a requantization).
2. propagate: ops that keep values on their input's grid (max pool, max-out, reshape, slice,
   clamp, concat and maximum of equal grids, and average/mean, which round back onto it) give their output the
   input's parameters when no fake-quant assigned any.
3. check: any activation still without parameters is refused, naming the node that writes it.

Binary tensors (dtype uint32: outputs of sign and of ops that keep +-1 values) need no
parameters: they are bit-packed signs. A fake-quant of a binary tensor is refused.
"""

from __future__ import annotations

from tinygen.errors import QuantizationError
from tinygen.ir.graph import DType, Graph, QuantParams

# The flows that put a quantizer on every tensor; named in every "not quantized" error.
HOW_TO_QUANTIZE = ("Quantize every layer with one of: tinygen.nn modules (QuantAct after it); PT2E with "
                   "tinygen.quantizer.TinygenQuantizer (or `tinygen build --calibration x.npy` on the float model); "
                   "an int8 .tflite")

GRID_PRESERVING = {"max_pool2d", "reshape", "slice", "clamp", "avg_pool2d", "mean", "group_max"}


def _qparams(attrs) -> QuantParams:
    qmin, qmax, zps = attrs.qmin, attrs.qmax, attrs.zero_point
    if attrs.axis is not None:
        raise QuantizationError("per-channel quantization of activations is not supported")
    if qmin >= 0 and qmax <= 255 and qmax > 127:
        # uint8 grid (e.g. torch.quint8 observers): the same values shifted by 128 fit int8 exactly.
        qmin, qmax, zps = qmin - 128, qmax - 128, tuple(z - 128 for z in zps)
    if qmin < -128 or qmax > 127:
        raise QuantizationError(f"activation range [{attrs.qmin}, {attrs.qmax}] does not fit 8 bits")
    return QuantParams(attrs.scale, zps, qmin, qmax)


def assign_quant(graph: Graph, source: str = "model") -> Graph:
    # 1. absorb
    for fq in [n for n in graph.nodes if n.op == "fake_quant"]:
        try:
            q = _qparams(fq.attrs)
        except QuantizationError as e:
            raise QuantizationError(f"{source}: {fq.describe()}: {e}") from None
        t = graph.t(fq.inputs[0])
        if t.dtype == DType.UINT32:
            raise QuantizationError(
                f"{source}: {fq.describe()}: fake-quantizing a binary (+-1) tensor is not supported; binary "
                "activations feed binary layers (BinaryConv2d/BinaryLinear) or max pooling")
        prod = graph.producer(t.name)
        absorbable = t.quant is None and (t.name in graph.inputs or (prod is not None and graph.uses(t.name) == 1))
        if absorbable:
            t.quant = q
            graph.replace_uses(fq.outputs[0], t.name)
            graph.remove_node(fq)
        else:
            graph.t(fq.outputs[0]).quant = q
    # 2. propagate
    for node in graph.nodes:
        out = graph.t(node.outputs[0])
        if out.quant is not None or out.dtype == DType.UINT32:
            continue
        ins = [graph.t(i).quant for i in node.inputs if not graph.t(i).is_const]
        if node.op in GRID_PRESERVING and ins and ins[0] is not None:
            out.quant = ins[0]
        elif node.op in ("concat", "maximum") and ins and all(q is not None and q.same_grid(ins[0]) for q in ins):
            out.quant = ins[0]
    # 3. check
    for name in graph.inputs:
        if graph.t(name).quant is None:
            raise QuantizationError(
                f"{source}: model input '{name}' is not quantized (no quantizer reads it). {HOW_TO_QUANTIZE}")
    for node in graph.nodes:
        for o in node.outputs:
            if graph.t(o).quant is None and graph.t(o).dtype != DType.UINT32 and \
                    any(graph.t(i).dtype == DType.UINT32 for i in node.inputs):
                raise QuantizationError(
                    f"{source}: {node.describe()} reads a binary (+-1) tensor and produces a tensor without "
                    "quantization parameters; end a binary conv/linear with a BinaryAct (binary output) or a "
                    "tinygen.nn.QuantAct (int8 output); other ops on binary tensors are not supported")
            if graph.t(o).quant is None and graph.t(o).dtype != DType.UINT32:
                raise QuantizationError(
                    f"{source}: {node.describe()} produces a tensor without quantization parameters (no quantizer "
                    f"after it: it would run in float). {HOW_TO_QUANTIZE}")
    return graph

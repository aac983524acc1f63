"""fully_connected_sparse: int8 fully connected layer storing only its non-zero weights, each
with a 4-bit step to its position (tinygen/reference/sparse.py, tg_sparse.h). Exactly
fully_connected on the decoded weights.

Inputs: x [N,K] int8, values int8 [E], steps uint8 [E/2], pairs int32 [Cout] (emitted as
uint16), bias int32 [Cout].
"""

from __future__ import annotations

from dataclasses import dataclass

from tinygen.ir.graph import DType, Node
from tinygen.ops.base import Kernel, KernelCall, OpDef, c_values, reference_kernel, register
from tinygen.ops.common import check_channel_output
from tinygen.ops.conv2d_sparse import FOLDED_STREAM, check_sparse, density, smmulr_ok, sparse_fields
from tinygen.ops.conv_gemm import folded_bias
from tinygen.ops.fully_connected import FullyConnected, FullyConnectedAttrs
from tinygen.reference import sparse


@dataclass(frozen=True)
class FullyConnectedSparseAttrs:
    input_offset: int  # -input zero point
    output_offset: int  # output zero point
    multiplier: tuple[int, ...]  # per output channel
    shift: tuple[int, ...]
    act_min: int = -128
    act_max: int = 127


def decoded(node, graph):
    v, s, n = (graph.t(i).data for i in node.inputs[1:4])
    return sparse.decode(v, s, n, graph.t(node.inputs[0]).shape[1])


def _fast_bias(node, graph):
    return folded_bias(decoded(node, graph), graph.t(node.inputs[4]).data, node.attrs.input_offset)


@register
class FullyConnectedSparse(OpDef):
    name = "fully_connected_sparse"
    attrs_type = FullyConnectedSparseAttrs
    kernels = (Kernel("tg_fully_connected_sparse_s8_fast", "tg_sparse.h", "tg_fully_connected_sparse_params",
                      lambda n, g: smmulr_ok(decoded(n, g), _fast_bias(n, g), n.attrs.shift),
                      layout=FOLDED_STREAM),
               reference_kernel("tg_fully_connected_sparse_s8_ref", "tg_sparse.h", "tg_fully_connected_sparse_params"))

    def check(self, node, graph):
        if len(node.inputs) != 5:
            raise ValueError("fully_connected_sparse takes (input, values, steps, pairs, bias)")
        x, values, steps, pairs, b = (graph.t(i) for i in node.inputs)
        if x.dtype != DType.INT8 or len(x.shape) != 2:
            raise ValueError("fully_connected_sparse takes an int8 [N,K] input")
        check_sparse(values, steps, pairs, x.shape[1], pairs.shape[0])
        check_channel_output(node, graph, node.attrs, b, (x.shape[0], pairs.shape[0]))

    def reference(self, node, graph, inputs):
        x, values, steps, pairs, b = inputs
        a = node.attrs
        w = sparse.decode(values, steps, pairs, x.shape[1])
        fc = Node(node.name, "fully_connected", [node.inputs[0], "", node.inputs[4]], node.outputs,
                  FullyConnectedAttrs(a.input_offset, a.output_offset, a.multiplier, a.shift, a.act_min, a.act_max))
        return FullyConnected().reference(fc, graph, [x, w, b])

    def macs(self, node, graph):
        """Dense-equivalent MACs."""
        x, pairs = graph.t(node.inputs[0]), graph.t(node.inputs[3])
        return int(x.shape[0] * x.shape[1] * pairs.shape[0])

    def emit(self, node, graph):
        x, values, steps, pairs, b = (graph.t(i) for i in node.inputs)
        a: FullyConnectedSparseAttrs = node.attrs
        k = x.shape[1]
        kernel = self.kernel(node)
        bias = b.data if kernel.reference else _fast_bias(node, graph)
        fields = [
            ("batches", x.shape[0]), ("in_features", k), ("out_features", pairs.shape[0]),
            ("input_offset", a.input_offset), ("output_offset", a.output_offset),
            ("act_min", a.act_min), ("act_max", a.act_max),
            *sparse_fields(values, steps, pairs, k, bias, as_stream=kernel.layout == FOLDED_STREAM),
            ("multiplier", c_values(a.multiplier, "int32_t")),
            ("shift", c_values(a.shift, "int32_t")),
        ]
        return KernelCall(fields, [node.inputs[0]], list(node.outputs),
            comment=f"fully_connected_sparse {k}->{pairs.shape[0]}, {100 * density(values, pairs, k):.0f}% non-zero, "
                    f"{8.0 * sparse.stored_bytes(values.data, steps.data, pairs.data) / (pairs.shape[0] * k):.2f} bits/weight")

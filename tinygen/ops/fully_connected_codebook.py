"""fully_connected_codebook: int8 fully connected layer whose weights are k-bit indices into a
small int8 table (tinygen/reference/codebook.py, tg_codebook.h). Exactly fully_connected on

    w[o, k] = table[t(o), index(o, k)]     t(o) = 0 or o

Inputs: x [N,K] int8, index uint8 [Cout, row_bytes], table int8 [1 or Cout, 2^k], bias int32 [Cout].
"""

from __future__ import annotations

from dataclasses import dataclass

from tinygen.ir.graph import DType, Node
from tinygen.ops.base import Kernel, KernelCall, OpDef, c_values, reference_kernel, register
from tinygen.ops.common import check_channel_output
from tinygen.ops.conv2d_codebook import bits_per_weight, check_codebook, codebook_fields
from tinygen.ops.conv_gemm import requant_fast_ok
from tinygen.ops.fully_connected import FullyConnected, FullyConnectedAttrs
from tinygen.reference import codebook


@dataclass(frozen=True)
class FullyConnectedCodebookAttrs:
    input_offset: int  # -input zero point
    output_offset: int  # output zero point
    multiplier: tuple[int, ...]  # per output channel
    shift: tuple[int, ...]
    index_bits: int  # 1..4
    act_min: int = -128
    act_max: int = 127


def _fast_scratch(node, graph) -> int:
    return (2 * graph.t(node.inputs[0]).shape[1] + 3) & ~3


@register
class FullyConnectedCodebook(OpDef):
    name = "fully_connected_codebook"
    attrs_type = FullyConnectedCodebookAttrs
    kernels = (Kernel("tg_fully_connected_codebook_s8_fast", "tg_codebook.h", "tg_fully_connected_codebook_params",
                      lambda n, g: requant_fast_ok(n.attrs.multiplier, n.attrs.shift),
                      needs=frozenset({"dsp"}), scratch=_fast_scratch,
                      layout="codebook indices and table as stored; rows decoded to int16 in scratch"),
               reference_kernel("tg_fully_connected_codebook_s8_ref", "tg_codebook.h",
                                "tg_fully_connected_codebook_params"))

    def check(self, node, graph):
        if len(node.inputs) != 4:
            raise ValueError("fully_connected_codebook takes (input, index, table, bias)")
        x, index, table, b = (graph.t(i) for i in node.inputs)
        if x.dtype != DType.INT8 or len(x.shape) != 2:
            raise ValueError("fully_connected_codebook takes an int8 [N,K] input")
        check_codebook(index, table, x.shape[1], node.attrs.index_bits, index.shape[0])
        check_channel_output(node, graph, node.attrs, b, (x.shape[0], index.shape[0]))

    def weights(self, node, graph):
        x, index, table = (graph.t(i) for i in node.inputs[:3])
        return codebook.decode(index.data, table.data, node.attrs.index_bits, x.shape[1])

    def reference(self, node, graph, inputs):
        x, index, table, b = inputs
        a = node.attrs
        w = codebook.decode(index, table, a.index_bits, x.shape[1])
        fc = Node(node.name, "fully_connected", [node.inputs[0], "", node.inputs[3]], node.outputs,
                  FullyConnectedAttrs(a.input_offset, a.output_offset, a.multiplier, a.shift, a.act_min, a.act_max))
        return FullyConnected().reference(fc, graph, [x, w, b])

    def macs(self, node, graph):
        x, index = graph.t(node.inputs[0]), graph.t(node.inputs[1])
        return int(x.shape[0] * x.shape[1] * index.shape[0])

    def emit(self, node, graph):
        x, index, table, b = (graph.t(i) for i in node.inputs)
        a: FullyConnectedCodebookAttrs = node.attrs
        fields = [
            ("batches", x.shape[0]), ("in_features", x.shape[1]), ("out_features", index.shape[0]),
            ("input_offset", a.input_offset), ("output_offset", a.output_offset),
            ("act_min", a.act_min), ("act_max", a.act_max),
            *codebook_fields(index, table, a.index_bits, x.shape[1]),
            ("bias", c_values(b.data, "int32_t")),
            ("multiplier", c_values(a.multiplier, "int32_t")),
            ("shift", c_values(a.shift, "int32_t")),
        ]
        return KernelCall(fields, [node.inputs[0]], list(node.outputs),
            comment=f"fully_connected_codebook {x.shape[1]}->{index.shape[0]} {a.index_bits}-bit indices, "
                    f"{bits_per_weight(index, table, x.shape[1]):.2f} bits/weight")

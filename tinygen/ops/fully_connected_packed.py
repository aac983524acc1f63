"""fully_connected_packed: int8 fully connected layer with sub-byte (1, 2 or 4-bit) packed weights.

Exactly fully_connected (tinygen/ops/fully_connected.py) on the decoded weights

    w[o, k] = code * step + offset   (bitpack.weight_step_offset: (-2, 1) for 1 bit,
                                      (1, weight_offset) for 2 and 4 bits)

where code is element k of output channel o's packed row (tinygen/reference/bitpack.py). Input
[N,K] int8, weight uint8 [Cout, ceil(K*bits/8)], bias int32 [Cout], output [N,Cout] int8.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinygen.ir.graph import DType, Node
from tinygen.ops.base import Kernel, KernelCall, reference_kernel, OpDef, c_values, register
from tinygen.ops.common import check_channel_output
from tinygen.ops.conv2d_packed import check_packed_weights, packed_weight_fields
from tinygen.ops.fully_connected import FullyConnected, FullyConnectedAttrs
from tinygen.ops.packed_pairs import fits_int32, folded_bias, pair_layout
from tinygen.reference import bitpack


@dataclass(frozen=True)
class FullyConnectedPackedAttrs:
    input_offset: int  # -input zero point
    output_offset: int  # output zero point
    multiplier: tuple[int, ...]  # per output channel
    shift: tuple[int, ...]
    weight_bits: int  # 1, 2 or 4
    weight_offset: int  # value = code + weight_offset for 2 and 4 bits; must be 0 for 1 bit
    act_min: int = -128
    act_max: int = 127


def fully_connected_attrs(a: FullyConnectedPackedAttrs) -> FullyConnectedAttrs:
    return FullyConnectedAttrs(a.input_offset, a.output_offset, a.multiplier, a.shift, a.act_min, a.act_max)


def _fast_bias(node, graph) -> np.ndarray:
    """bias + step*input_offset*sum(codes) + K*weight_offset*input_offset, per output (int64)."""
    x, w, b = (graph.t(i) for i in node.inputs)
    a = node.attrs
    return folded_bias(b.data, w.data, a.weight_bits, a.weight_offset, a.input_offset, x.shape[1])


def _fast_ok(node, graph) -> bool:
    return fits_int32(_fast_bias(node, graph))


@register
class FullyConnectedPacked(OpDef):
    name = "fully_connected_packed"
    attrs_type = FullyConnectedPackedAttrs
    kernels = (Kernel("tg_fully_connected_packed_s8_fast", "tg_fully_connected_packed.h",
                      "tg_fully_connected_packed_params", _fast_ok, needs=frozenset({"dsp"}),
                      layout="pairs: whole words of 32/bits codes, SXTB16 pair order; offsets folded into bias"),
               reference_kernel("tg_fully_connected_packed_s8_ref", "tg_fully_connected_packed.h", "tg_fully_connected_packed_params"),)

    def check(self, node, graph):
        if len(node.inputs) != 3:
            raise ValueError("fully_connected_packed takes (input, weight, bias)")
        x, w, b = (graph.t(i) for i in node.inputs)
        a: FullyConnectedPackedAttrs = node.attrs
        if x.dtype != DType.INT8 or len(x.shape) != 2:
            raise ValueError("fully_connected_packed takes an int8 [N,K] input")
        check_packed_weights(w, x.shape[1], a.weight_bits, a.weight_offset)
        cout = w.shape[0]
        check_channel_output(node, graph, a, b, (x.shape[0], cout))

    def reference(self, node, graph, inputs):
        x, w, b = inputs
        a: FullyConnectedPackedAttrs = node.attrs
        values = bitpack.unpack_weights(w, a.weight_bits, a.weight_offset, x.shape[1])
        fc = Node(node.name, "fully_connected", node.inputs, node.outputs, fully_connected_attrs(a))
        return FullyConnected().reference(fc, graph, [x, values, b])

    def macs(self, node, graph):
        x, w = graph.t(node.inputs[0]), graph.t(node.inputs[1])
        return int(x.shape[0] * x.shape[1] * w.shape[0])

    def emit(self, node, graph):
        x, w, b = (graph.t(i) for i in node.inputs)
        a: FullyConnectedPackedAttrs = node.attrs
        weight_fields = packed_weight_fields(w, a.weight_bits, a.weight_offset, x.shape[1])
        bias = c_values(b.data, "int32_t")
        if self.kernel(node).symbol == "tg_fully_connected_packed_s8_fast":
            codes = bitpack.unpack_codes(w.data, a.weight_bits, x.shape[1])
            packed = pair_layout(codes, a.weight_bits)
            weight_fields = [(name, value) for name, value in weight_fields if name not in ("row_bytes", "weight")] + [
                ("row_bytes", packed.shape[1]),
                ("weight", c_values(packed.reshape(-1), "uint8_t",
                                    f"{w.shape[0]} rows of {packed.shape[1] // 4} words, {a.weight_bits}-bit codes "
                                    "in SXTB16 pair order (tg_fully_connected_packed_s8_fast.c)"))]
            bias = c_values(_fast_bias(node, graph).astype(np.int32), "int32_t",
                            "bias + step*input_offset*sum(codes) + K*weight_offset*input_offset")
        fields = [
            ("batches", x.shape[0]), ("in_features", x.shape[1]), ("out_features", w.shape[0]),
            ("input_offset", a.input_offset), ("output_offset", a.output_offset),
            ("act_min", a.act_min), ("act_max", a.act_max),
            *weight_fields,
            ("bias", bias),
            ("multiplier", c_values(a.multiplier, "int32_t")),
            ("shift", c_values(a.shift, "int32_t")),
        ]
        return KernelCall(fields, [node.inputs[0]], list(node.outputs),
            comment=f"fully_connected_packed {x.shape[1]}->{w.shape[0]} {a.weight_bits}-bit weights",
        )

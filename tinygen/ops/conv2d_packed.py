"""conv2d_packed: int8 convolution with sub-byte (1, 2 or 4-bit) packed weights.

Exactly conv2d (tinygen/ops/conv2d.py) on the decoded weights

    w[o, i, j, c] = code * step + offset   (bitpack.weight_step_offset: (-2, 1) for 1 bit,
                                            (1, weight_offset) for 2 and 4 bits)

where code is element (i*kw + j)*Cin_g + c of output channel o's packed row (tinygen/reference/
bitpack.py: little-endian within bytes, each row starting on a byte boundary). Input NHWC int8,
weight uint8 [Cout, ceil(kh*kw*Cin_g*bits/8)], bias int32 [Cout], output int8. No scratch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinygen.ir.graph import DType, Node
from tinygen.ops.base import Kernel, KernelCall, OpDef, reference_kernel, c_values, register
from tinygen.ops.common import check_channel_output, out_hw
from tinygen.ops.conv2d import Conv2d, Conv2dAttrs, conv_fields
from tinygen.ops.packed_pairs import fits_int32, folded_bias, pair_layout
from tinygen.reference import bitpack


@dataclass(frozen=True)
class Conv2dPackedAttrs:
    stride: tuple[int, int]
    padding: tuple[int, int, int, int]  # top, bottom, left, right
    dilation: tuple[int, int]
    groups: int
    input_offset: int  # -input zero point
    output_offset: int  # output zero point
    multiplier: tuple[int, ...]  # per output channel
    shift: tuple[int, ...]
    kernel: tuple[int, int]  # kh, kw (the packed weight tensor is 2-D)
    weight_bits: int  # 1, 2 or 4
    weight_offset: int  # value = code + weight_offset for 2 and 4 bits; must be 0 for 1 bit
    act_min: int = -128
    act_max: int = 127


def conv2d_attrs(a: Conv2dPackedAttrs) -> Conv2dAttrs:
    return Conv2dAttrs(a.stride, a.padding, a.dilation, a.groups, a.input_offset, a.output_offset,
                       a.multiplier, a.shift, a.act_min, a.act_max)


def row_elements(in_c: int, a: Conv2dPackedAttrs) -> int:
    return a.kernel[0] * a.kernel[1] * (in_c // a.groups)


def check_packed_weights(w, count: int, bits: int, weight_offset: int) -> None:
    """Shared with fully_connected_packed: w is uint8 [Cout, ceil(count*bits/8)], padding bits 0."""
    if bits not in bitpack.SUBBYTE_BITS:
        raise ValueError(f"weight_bits must be one of {bitpack.SUBBYTE_BITS}, got {bits}")
    if bits == 1 and weight_offset != 0:
        raise ValueError("1-bit weights are +-1 (value = 1 - 2*code): weight_offset must be 0")
    if w.dtype != DType.UINT8 or not w.is_const or len(w.shape) != 2:
        raise ValueError("packed weights must be a constant uint8 [Cout, row_bytes] tensor")
    if w.shape[1] != bitpack.row_bytes(count, bits):
        raise ValueError(f"{count} {bits}-bit weights per output channel take {bitpack.row_bytes(count, bits)} "
                         f"bytes, got {w.shape[1]}")
    if not bitpack.row_padding_zero(w.data, bits, count):
        raise ValueError("unused bits of the packed weight rows must be 0")


def packed_weight_fields(w, bits: int, weight_offset: int, count: int) -> list:
    step, offset = bitpack.weight_step_offset(bits, weight_offset)
    return [
        ("weight_bits", bits), ("weight_step", step), ("weight_offset", offset),
        ("row_bytes", w.shape[1]),
        ("weight", c_values(w.data.reshape(-1), "uint8_t",
                            f"{w.shape[0]} rows of {count} {bits}-bit codes, value = code*{step} + {offset}")),
    ]


def _fast_bias(node, graph):
    x, w, b = (graph.t(i) for i in node.inputs)
    a = node.attrs
    return folded_bias(b.data, w.data, a.weight_bits, a.weight_offset, a.input_offset, row_elements(x.shape[3], a))


def _fast_ok(node, graph) -> bool:
    """tg_conv2d_packed_s8_fast: one group, the padding code -input_offset an int8, bias' an int32."""
    a = node.attrs
    return a.groups == 1 and -127 <= a.input_offset <= 128 and fits_int32(_fast_bias(node, graph))


def _fast_scratch(node, graph) -> int:
    """One im2col row: k_h*k_w*in_c bytes, rounded up to a word."""
    k = row_elements(graph.t(node.inputs[0]).shape[3], node.attrs)
    return (k + 3) & ~3


@register
class Conv2dPacked(OpDef):
    name = "conv2d_packed"
    attrs_type = Conv2dPackedAttrs
    kernels = (Kernel("tg_conv2d_packed_s8_fast", "tg_conv2d_packed.h", "tg_conv2d_packed_params", _fast_ok,
                      needs=frozenset({"dsp"}), scratch=_fast_scratch,
                      layout="pairs: whole words of 32/bits codes, SXTB16 pair order; offsets folded into bias"),
               reference_kernel("tg_conv2d_packed_s8_ref", "tg_conv2d_packed.h", "tg_conv2d_packed_params"),)

    def check(self, node, graph):
        x, w, b = (graph.t(i) for i in node.inputs)
        a: Conv2dPackedAttrs = node.attrs
        if x.dtype != DType.INT8 or len(x.shape) != 4:
            raise ValueError("conv2d_packed takes an int8 NHWC input")
        cout = w.shape[0]
        if a.groups < 1 or x.shape[3] % a.groups or cout % a.groups:
            raise ValueError(f"channels {x.shape[3]} -> {cout} do not fit groups={a.groups}")
        check_packed_weights(w, row_elements(x.shape[3], a), a.weight_bits, a.weight_offset)
        check_channel_output(node, graph, a, b, (x.shape[0], *out_hw(x.shape, a), cout))

    def reference(self, node, graph, inputs):
        x, w, b = inputs
        a: Conv2dPackedAttrs = node.attrs
        cg = x.shape[3] // a.groups
        values = bitpack.unpack_weights(w, a.weight_bits, a.weight_offset, row_elements(x.shape[3], a))
        values = values.reshape(w.shape[0], a.kernel[0], a.kernel[1], cg)
        conv = Node(node.name, "conv2d", node.inputs, node.outputs, conv2d_attrs(a))
        return Conv2d().reference(conv, graph, [x, values, b])

    def macs(self, node, graph):
        x = graph.t(node.inputs[0])
        o = graph.t(node.outputs[0])
        return int(o.size * row_elements(x.shape[3], node.attrs))

    def emit(self, node, graph):
        x, w, b = (graph.t(i) for i in node.inputs)
        o = graph.t(node.outputs[0])
        a: Conv2dPackedAttrs = node.attrs
        kh, kw = a.kernel
        k = row_elements(x.shape[3], a)
        weight_fields = packed_weight_fields(w, a.weight_bits, a.weight_offset, k)
        bias = c_values(b.data, "int32_t")
        if self.kernel(node).symbol == "tg_conv2d_packed_s8_fast":
            packed = pair_layout(bitpack.unpack_codes(w.data, a.weight_bits, k), a.weight_bits)
            weight_fields = [(n, v) for n, v in weight_fields if n not in ("row_bytes", "weight")] + [
                ("row_bytes", packed.shape[1]),
                ("weight", c_values(packed.reshape(-1), "uint8_t",
                                    f"{w.shape[0]} rows of {packed.shape[1] // 4} words, {a.weight_bits}-bit codes "
                                    "in SXTB16 pair order (tg_packed_dot.h)"))]
            bias = c_values(_fast_bias(node, graph).astype(np.int32), "int32_t",
                            "bias + step*input_offset*sum(codes) + K*weight_offset*input_offset")
        fields = conv_fields(x, o, (kh, kw), a, [*weight_fields, ("bias", bias)])
        return KernelCall(fields,
            [node.inputs[0]], list(node.outputs),
            comment=f"conv2d_packed {kh}x{kw}/{a.stride[0]} {x.shape[3]}->{o.shape[3]} {a.weight_bits}-bit weights"
            + (f" groups={a.groups}" if a.groups > 1 else ""),
        )

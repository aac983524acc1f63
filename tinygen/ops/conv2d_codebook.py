"""conv2d_codebook: int8 convolution whose weights are k-bit indices into a small int8 table
(weight sharing, issue 14; format in tinygen/reference/codebook.py and tg_codebook.h).

Exactly conv2d (tinygen/ops/conv2d.py) on the decoded weights

    w[o, i, j, c] = table[t(o), index(o, (i*kw + j)*Cin_g + c)]     t(o) = 0 or o

Inputs: x NHWC int8, index uint8 [Cout, row_bytes], table int8 [1 or Cout, 2^k], bias int32 [Cout].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinygen.ir.graph import DType, Node
from tinygen.ops.base import Kernel, KernelCall, OpDef, c_values, reference_kernel, register
from tinygen.ops.common import check_channel_output, out_hw
from tinygen.ops.conv2d import Conv2d, Conv2dAttrs, conv_fields
from tinygen.ops.conv_gemm import requant_fast_ok
from tinygen.reference import codebook


@dataclass(frozen=True)
class Conv2dCodebookAttrs:
    stride: tuple[int, int]
    padding: tuple[int, int, int, int]  # top, bottom, left, right
    dilation: tuple[int, int]
    groups: int
    input_offset: int  # -input zero point
    output_offset: int  # output zero point
    multiplier: tuple[int, ...]  # per output channel
    shift: tuple[int, ...]
    kernel: tuple[int, int]  # kh, kw
    index_bits: int  # 1..4
    act_min: int = -128
    act_max: int = 127


def conv2d_attrs(a: Conv2dCodebookAttrs) -> Conv2dAttrs:
    return Conv2dAttrs(a.stride, a.padding, a.dilation, a.groups, a.input_offset, a.output_offset,
                       a.multiplier, a.shift, a.act_min, a.act_max)


def check_codebook(index, table, count: int, bits: int, cout: int) -> None:
    """Shared with fully_connected_codebook."""
    if bits not in codebook.INDEX_BITS:
        raise ValueError(f"index_bits must be one of {codebook.INDEX_BITS}, got {bits}")
    if index.dtype != DType.UINT8 or not index.is_const or index.shape != (cout, codebook.row_bytes(count, bits)):
        raise ValueError(f"codebook indices must be a constant uint8 [{cout}, {codebook.row_bytes(count, bits)}] tensor")
    if table.dtype != DType.INT8 or not table.is_const or table.shape not in ((1, 1 << bits), (cout, 1 << bits)):
        raise ValueError(f"codebook table must be a constant int8 [1 or {cout}, {1 << bits}] tensor")
    if not codebook.padding_zero(index.data, bits, count):
        raise ValueError("unused bits of the codebook index rows must be 0")


def codebook_fields(index, table, bits: int, count: int) -> list:
    stride = 0 if table.shape[0] == 1 else table.shape[1]
    per = "one table for the layer" if stride == 0 else "one table per output channel"
    return [("index_bits", bits), ("row_bytes", index.shape[1]), ("table_stride", stride),
            ("index", c_values(index.data.reshape(-1), "uint8_t", f"{index.shape[0]} rows of {count} {bits}-bit indices")),
            ("table", c_values(table.data.reshape(-1), "int8_t", f"{table.shape[0]} x {table.shape[1]} values, {per}"))]


def bits_per_weight(index, table, count: int) -> float:
    return 8.0 * (index.data.size + table.data.size) / (index.shape[0] * count)


def _row_elements(node, graph) -> int:
    a = node.attrs
    return a.kernel[0] * a.kernel[1] * (graph.t(node.inputs[0]).shape[3] // a.groups)


def _fast_scratch(node, graph) -> int:
    return (2 * _row_elements(node, graph) + 3) & ~3


@register
class Conv2dCodebook(OpDef):
    name = "conv2d_codebook"
    attrs_type = Conv2dCodebookAttrs
    kernels = (Kernel("tg_conv2d_codebook_s8_fast", "tg_codebook.h", "tg_conv2d_codebook_params",
                      lambda n, g: n.attrs.groups == 1 and requant_fast_ok(n.attrs.multiplier, n.attrs.shift),
                      frozenset({"dsp"}), _fast_scratch,
                      layout="codebook indices and table as stored; rows decoded to int16 in scratch"),
               reference_kernel("tg_conv2d_codebook_s8_ref", "tg_codebook.h", "tg_conv2d_codebook_params"))

    def check(self, node, graph):
        x, index, table, b = (graph.t(i) for i in node.inputs)
        a: Conv2dCodebookAttrs = node.attrs
        if x.dtype != DType.INT8 or len(x.shape) != 4:
            raise ValueError("conv2d_codebook takes an int8 NHWC input")
        cout = index.shape[0]
        if a.groups < 1 or x.shape[3] % a.groups or cout % a.groups:
            raise ValueError(f"channels {x.shape[3]} -> {cout} do not fit groups={a.groups}")
        check_codebook(index, table, _row_elements(node, graph), a.index_bits, cout)
        check_channel_output(node, graph, a, b, (x.shape[0], *out_hw(x.shape, a), cout))

    def weights(self, node, graph) -> np.ndarray:
        """The decoded weights, OHWI."""
        x, index, table = (graph.t(i) for i in node.inputs[:3])
        a = node.attrs
        w = codebook.decode(index.data, table.data, a.index_bits, _row_elements(node, graph))
        return w.reshape(index.shape[0], a.kernel[0], a.kernel[1], x.shape[3] // a.groups)

    def reference(self, node, graph, inputs):
        x, index, table, b = inputs
        a = node.attrs
        w = codebook.decode(index, table, a.index_bits, _row_elements(node, graph))
        w = w.reshape(index.shape[0], a.kernel[0], a.kernel[1], x.shape[3] // a.groups)
        conv = Node(node.name, "conv2d", [node.inputs[0], "", node.inputs[3]], node.outputs, conv2d_attrs(a))
        return Conv2d().reference(conv, graph, [x, w, b])

    def macs(self, node, graph):
        return int(graph.t(node.outputs[0]).size * _row_elements(node, graph))

    def emit(self, node, graph):
        x, index, table, b = (graph.t(i) for i in node.inputs)
        o = graph.t(node.outputs[0])
        a: Conv2dCodebookAttrs = node.attrs
        kh, kw = a.kernel
        k = _row_elements(node, graph)
        fields = conv_fields(x, o, (kh, kw), a, [*codebook_fields(index, table, a.index_bits, k),
                                                ("bias", c_values(b.data, "int32_t"))])
        return KernelCall(fields, [node.inputs[0]], list(node.outputs),
            comment=f"conv2d_codebook {kh}x{kw}/{a.stride[0]} {x.shape[3]}->{o.shape[3]} {a.index_bits}-bit indices, "
                    f"{bits_per_weight(index, table, k):.2f} bits/weight" + (f" groups={a.groups}" if a.groups > 1 else ""))

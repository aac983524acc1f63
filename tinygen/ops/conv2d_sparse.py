"""conv2d_sparse: int8 convolution (groups 1, or depthwise) storing only its non-zero weights, each with a
4-bit step to its position (unstructured sparsity, issue 14; tinygen/reference/sparse.py,
tg_sparse.h). Exactly conv2d (tinygen/ops/conv2d.py) on the decoded weights, OHWI rows.

Inputs: x NHWC int8, values int8 [E], steps uint8 [E/2], pairs int32 [Cout] (emitted as
uint16), bias int32 [Cout].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinygen.ir.graph import DType, Node
from tinygen.ops.base import Kernel, KernelCall, OpDef, c_values, reference_kernel, register
from tinygen.ops.common import check_channel_output, out_hw
from tinygen.ops.conv2d import Conv2d, Conv2dAttrs, conv_fields
from tinygen.ops import requant_smmulr
from tinygen.ops.conv_gemm import folded_bias, requant_fast_ok, w16_stage_ok
from tinygen.reference import sparse


@dataclass(frozen=True)
class Conv2dSparseAttrs:
    stride: tuple[int, int]
    padding: tuple[int, int, int, int]  # top, bottom, left, right
    dilation: tuple[int, int]
    input_offset: int  # -input zero point
    output_offset: int  # output zero point
    multiplier: tuple[int, ...]  # per output channel
    shift: tuple[int, ...]
    kernel: tuple[int, int]  # kh, kw
    act_min: int = -128
    act_max: int = 127
    groups: int = 1  # 1, or in_c == out_c (depthwise)


def check_sparse(values, steps, pairs, k: int, cout: int) -> None:
    """Shared with fully_connected_sparse: the three constants decode to a [cout, k] matrix."""
    if values.dtype != DType.INT8 or steps.dtype != DType.UINT8 or pairs.dtype != DType.INT32:
        raise ValueError("sparse weights are int8 values, uint8 steps and int32 pair counts")
    if not (values.is_const and steps.is_const and pairs.is_const) or pairs.shape != (cout,):
        raise ValueError(f"sparse weights must be constants with one pair count per output channel ({cout})")
    if pairs.data.min(initial=0) < 0 or pairs.data.max(initial=0) > sparse.MAX_PAIRS:
        raise ValueError(f"sparse pair counts must lie in [0, {sparse.MAX_PAIRS}]")
    if values.shape != (2 * int(pairs.data.sum()),) or steps.shape != (int(pairs.data.sum()),):
        raise ValueError("sparse values/steps do not match the pair counts")
    sparse.decode(values.data, steps.data, pairs.data, k)  # raises when a row steps past its end


def stream(values: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """The entries as one byte stream, per pair: its step byte, then its two values (the layout of
    the kernels that walk one pointer, STREAM_LAYOUT)."""
    out = np.empty((steps.size, 3), np.uint8)
    out[:, 0] = steps
    out[:, 1:] = np.asarray(values, np.int8).view(np.uint8).reshape(-1, 2)
    return out.reshape(-1)


STREAM_LAYOUT = "entries as one stream in steps (per pair: step byte, two values), values NULL"


def sparse_fields(values, steps, pairs, k: int, bias: np.ndarray, as_stream: bool = False) -> list:
    e = values.shape[0]
    if as_stream:
        entries = [("values", None),
                   ("steps", c_values(stream(values.data, steps.data), "uint8_t",
                                      f"{e} entries: per pair its two 4-bit steps (low nibble first), two int8 values"))]
    else:
        entries = [("values", c_values(values.data, "int8_t", f"{e} entries (non-zeros, fillers and pads)")),
                   ("steps", c_values(steps.data, "uint8_t", "two 4-bit position steps per byte, low nibble first"))]
    return [*entries,
            ("pairs", c_values(pairs.data.astype(np.uint16), "uint16_t", "entry pairs per output channel")),
            ("bias", c_values(bias, "int32_t"))]


def density(values, pairs, k: int) -> float:
    return float(np.count_nonzero(values.data)) / max(1, pairs.shape[0] * k)


def _k(node, graph) -> int:
    a = node.attrs
    return a.kernel[0] * a.kernel[1] * (graph.t(node.inputs[0]).shape[3] // a.groups)


def decoded(node, graph) -> np.ndarray:
    """The [Cout, K] weight matrix the constants encode."""
    v, s, n = (graph.t(i).data for i in node.inputs[1:4])
    return sparse.decode(v, s, n, _k(node, graph))


def _fast_bias(node, graph):
    return folded_bias(decoded(node, graph), graph.t(node.inputs[4]).data, node.attrs.input_offset)


def smmulr_ok(w2d: np.ndarray, bias: np.ndarray | None, shifts) -> bool:
    """The fast kernels' accumulator bias' + sum w*x (int8 x, |x| <= 128) within the bound of
    tg_requant_smmulr.h for every channel's shift (shared with fully_connected_sparse)."""
    if bias is None:
        return False
    bound = np.abs(bias.astype(np.int64)) + 128 * np.abs(w2d.astype(np.int64)).sum(axis=1)
    return all(requant_smmulr.fits(int(b), [s]) for b, s in zip(bound, shifts))


def _fast_ok(node, graph) -> bool:
    return (node.attrs.groups == 1 and graph.t(node.inputs[0]).shape[0] == 1
            and smmulr_ok(decoded(node, graph), _fast_bias(node, graph), node.attrs.shift))


LANE_LIMIT = 1 << 22  # tg_conv2d_sparse_s8_px8.c: two pixels' sums share one 64-bit accumulator
PX8_MAX_K = 512  # its scratch is 16 bytes per receptive-field position


def _px8_ok(node, graph) -> bool:
    a = node.attrs
    if (a.groups != 1 or graph.t(node.inputs[0]).shape[0] != 1 or _k(node, graph) > PX8_MAX_K
            or not w16_stage_ok(a.multiplier, a.shift)):
        return False
    bias = _fast_bias(node, graph)
    if bias is None:
        return False
    sums = 128 * np.abs(decoded(node, graph).astype(np.int64)).sum(axis=1)
    return bool((sums < LANE_LIMIT).all() and (np.abs(bias.astype(np.int64)) + LANE_LIMIT < 2 ** 31).all())


def _px8_scratch(node, graph) -> int:
    """16 bytes per receptive-field position, then an 8-word output stage record per channel."""
    return 16 * _k(node, graph) + 32 * graph.t(node.inputs[3]).shape[0]


DW4_BAND_BYTES = 8192  # tg_conv2d_sparse_s8_dw4.c TG_DW4_BAND_BYTES: its padded input band in scratch
DW4_MAX_ROWS = 16384  # and the largest band of one output row it is chosen for


def dw4_band_of(out_hw, channels: int, kernel, stride, dilation) -> tuple[int, int]:
    """(output rows per band, padded band bytes), as tg_conv2d_sparse_s8_dw4.c computes them."""
    row_bytes = ((out_hw[1] - 1) * stride[1] + (kernel[1] - 1) * dilation[1] + 1) * channels
    rows = lambda band: (band - 1) * stride[0] + (kernel[0] - 1) * dilation[0] + 1  # noqa: E731
    band = 1
    while band < out_hw[0] and rows(band + 1) * row_bytes <= DW4_BAND_BYTES:
        band += 1
    return band, rows(band) * row_bytes


def dw4_band(node, graph) -> tuple[int, int]:
    a, o = node.attrs, graph.t(node.outputs[0])
    return dw4_band_of(o.shape[1:3], graph.t(node.inputs[0]).shape[3], a.kernel, a.stride, a.dilation)


def _dw4_ok(node, graph) -> bool:
    a, x = node.attrs, graph.t(node.inputs[0])
    if not (a.groups == x.shape[3] == graph.t(node.inputs[3]).shape[0] and a.kernel[0] * a.kernel[1] <= 64
            and x.shape[0] == 1 and w16_stage_ok(a.multiplier, a.shift)):
        return False
    bias = _fast_bias(node, graph)
    if dw4_band(node, graph)[1] > DW4_MAX_ROWS or bias is None:
        return False
    sums = 128 * np.abs(decoded(node, graph).astype(np.int64)).sum(axis=1)
    return bool((np.abs(bias.astype(np.int64)) + sums < 2 ** 31).all())


def _dw4_scratch(node, graph) -> int:
    """Per channel a 5-word output stage record and a tap count, two words per stored entry (the
    decoded taps), a word per kernel position, then the padded input band."""
    cout, entries = graph.t(node.inputs[3]).shape[0], graph.t(node.inputs[1]).shape[0]
    a = node.attrs
    return 4 * (6 * cout + 2 * entries + a.kernel[0] * a.kernel[1]) + dw4_band(node, graph)[1]


def _dw_ok(node, graph) -> bool:
    a, x = node.attrs, graph.t(node.inputs[0])
    return (a.groups == x.shape[3] == graph.t(node.inputs[3]).shape[0] and a.kernel[0] * a.kernel[1] <= 64
            and x.shape[0] == 1 and requant_fast_ok(a.multiplier, a.shift) and _fast_bias(node, graph) is not None)


def _fast_scratch(node, graph) -> int:
    return 4 * _k(node, graph)


_FOLDED = "sparse entries as stored; bias + input_offset*sum(w); four pixels interleaved in scratch"
FOLDED_STREAM = "bias + input_offset*sum(w); " + STREAM_LAYOUT


@register
class Conv2dSparse(OpDef):
    name = "conv2d_sparse"
    attrs_type = Conv2dSparseAttrs
    kernels = (Kernel("tg_conv2d_sparse_s8_px8", "tg_sparse.h", "tg_conv2d_sparse_params", _px8_ok,
                      scratch=_px8_scratch, layout=FOLDED_STREAM),
               Kernel("tg_conv2d_sparse_s8_fast", "tg_sparse.h", "tg_conv2d_sparse_params", _fast_ok,
                      scratch=_fast_scratch, layout=_FOLDED),
               Kernel("tg_conv2d_sparse_s8_dw4", "tg_sparse.h", "tg_conv2d_sparse_params", _dw4_ok,
                      scratch=_dw4_scratch, layout="sparse entries as stored; bias + input_offset*sum(w)"),
               Kernel("tg_conv2d_sparse_s8_dw", "tg_sparse.h", "tg_conv2d_sparse_params", _dw_ok,
                      layout="sparse entries as stored (one row of k_h*k_w taps per channel)"),
               reference_kernel("tg_conv2d_sparse_s8_ref", "tg_sparse.h", "tg_conv2d_sparse_params"))

    def check(self, node, graph):
        if len(node.inputs) != 5:
            raise ValueError("conv2d_sparse takes (input, values, steps, pairs, bias)")
        x, values, steps, pairs, b = (graph.t(i) for i in node.inputs)
        if x.dtype != DType.INT8 or len(x.shape) != 4:
            raise ValueError("conv2d_sparse takes an int8 NHWC input")
        cout = pairs.shape[0]
        if node.attrs.groups not in (1, x.shape[3]) or (node.attrs.groups > 1 and cout != x.shape[3]):
            raise ValueError(f"conv2d_sparse takes groups 1 or depthwise (groups == in_c == out_c), got groups="
                             f"{node.attrs.groups} for {x.shape[3]} -> {cout}")
        check_sparse(values, steps, pairs, _k(node, graph), cout)
        check_channel_output(node, graph, node.attrs, b, (x.shape[0], *out_hw(x.shape, node.attrs), pairs.shape[0]))

    def reference(self, node, graph, inputs):
        x, values, steps, pairs, b = inputs
        a: Conv2dSparseAttrs = node.attrs
        w = sparse.decode(values, steps, pairs, _k(node, graph)).reshape(len(pairs), *a.kernel, x.shape[3] // a.groups)
        attrs = Conv2dAttrs(a.stride, a.padding, a.dilation, a.groups, a.input_offset, a.output_offset, a.multiplier,
                            a.shift, a.act_min, a.act_max)
        conv = Node(node.name, "conv2d", [node.inputs[0], "", node.inputs[4]], node.outputs, attrs)
        return Conv2d().reference(conv, graph, [x, w, b])

    def macs(self, node, graph):
        """Dense-equivalent MACs (the layer's shape), so instructions/MAC compare with the dense build."""
        return int(graph.t(node.outputs[0]).size * _k(node, graph))

    def emit(self, node, graph):
        x, values, steps, pairs, b = (graph.t(i) for i in node.inputs)
        o = graph.t(node.outputs[0])
        a: Conv2dSparseAttrs = node.attrs
        k = _k(node, graph)
        kernel = self.kernel(node)
        folded = not kernel.reference and kernel.symbol != "tg_conv2d_sparse_s8_dw"
        bias = _fast_bias(node, graph) if folded else b.data
        fields = conv_fields(x, o, a.kernel, a, sparse_fields(values, steps, pairs, k, bias,
                                                              as_stream=kernel.layout == FOLDED_STREAM))
        return KernelCall(fields, [node.inputs[0]], list(node.outputs),
            comment=f"{'depthwise ' if a.groups > 1 else ''}conv2d_sparse {a.kernel[0]}x{a.kernel[1]}/{a.stride[0]} "
                    f"{x.shape[3]}->{o.shape[3]}, "
                    f"{100 * density(values, pairs, k):.0f}% non-zero, "
                    f"{8.0 * sparse.stored_bytes(values.data, steps.data, pairs.data) / (pairs.shape[0] * k):.2f} bits/weight")

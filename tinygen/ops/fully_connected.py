"""fully_connected: int8 matrix-vector product with per-output-channel requantization (TFLM scheme).

    acc[n,o] = bias[o] + sum_k w[o,k] * (x[n,k] + input_offset)
    out[n,o] = clamp(requantize(acc, multiplier[o], shift[o]) + output_offset, act_min, act_max)

Input [N,K] int8, weight [Cout,K] int8 (constant), bias [Cout] int32 (constant), output [N,Cout].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinygen.ops.base import Kernel, KernelCall, reference_kernel, OpDef, c_values, register
from tinygen.ops.common import check_channel_output, requantize_to_int8
from tinygen.ops.conv_gemm import (fc_w16_records, fc_w16_weights, folded_bias, gemm_weights, k4, requant_fast_ok,
                                   w16_stage_ok)


@dataclass(frozen=True)
class FullyConnectedAttrs:
    input_offset: int  # -input zero point
    output_offset: int  # output zero point
    multiplier: tuple[int, ...]  # per output channel
    shift: tuple[int, ...]
    act_min: int = -128
    act_max: int = 127


def _rows_ok(node, graph) -> bool:
    w, b = graph.t(node.inputs[1]), graph.t(node.inputs[2])
    a: FullyConnectedAttrs = node.attrs
    return (w.is_const and b.is_const and requant_fast_ok(a.multiplier, a.shift)
            and folded_bias(w.data, b.data, a.input_offset) is not None)


def _w16_ok(node, graph) -> bool:
    # below 8 outputs the zero-padded 4-channel groups waste more than the two-row tile loses
    # (MobileNetV1's 2-class head: 4.7 instr/MAC against 2.4)
    return (graph.t(node.inputs[1]).shape[0] >= 8 and w16_stage_ok(node.attrs.multiplier, node.attrs.shift)
            and _rows_ok(node, graph))


def _w16_scratch(node, graph) -> int:
    return 2 * k4(graph.t(node.inputs[1]).shape[1])


@register
class FullyConnected(OpDef):
    name = "fully_connected"
    attrs_type = FullyConnectedAttrs
    kernels = (
        Kernel("tg_fully_connected_s8_w16", "tg_fully_connected.h", "tg_fully_connected_params", _w16_ok,
               frozenset({"dsp"}), _w16_scratch,
               "groups of 4 channels (zero padded), per 4-k block (K zero padded) each channel's 4 bytes "
               "(tg_fully_connected_s8_w16.c); bias = {bias + input_offset*sum(w), m, k_lo, k_hi, sh} "
               "records (tg_gemm_w16.h)"),
        Kernel("tg_fully_connected_s8_rows", "tg_fully_connected.h", "tg_fully_connected_params", _rows_ok,
               frozenset({"dsp"}), layout="GEMM tile: row pairs, 4-k blocks interleaved (tg_conv_gemm.h); "
                                             "bias + input_offset*sum(w)"),
        reference_kernel("tg_fully_connected_s8_ref", "tg_fully_connected.h", "tg_fully_connected_params"),
    )

    def check(self, node, graph):
        if len(node.inputs) != 3:
            raise ValueError("fully_connected takes (input, weight, bias)")
        x, w, b = (graph.t(i) for i in node.inputs)
        a: FullyConnectedAttrs = node.attrs
        if not (w.is_const and b.is_const):
            raise ValueError("weight and bias must be constant")
        if len(x.shape) != 2 or len(w.shape) != 2 or w.shape[1] != x.shape[1]:
            raise ValueError(f"input {list(x.shape)} and weight {list(w.shape)} must be [N,K] and [Cout,K]")
        cout = w.shape[0]
        check_channel_output(node, graph, a, b, (x.shape[0], cout))

    def reference(self, node, graph, inputs):
        x, w, b = inputs
        a: FullyConnectedAttrs = node.attrs
        xc = x.astype(np.float64) + a.input_offset
        # float64 products are exact here: |sum| < 2^53 for any K an MCU can hold.
        acc = (xc @ w.T.astype(np.float64)).astype(np.int64) + b.astype(np.int64)
        return [requantize_to_int8(acc, a.multiplier, a.shift, a.output_offset, a.act_min, a.act_max)]

    def macs(self, node, graph):
        x, w = graph.t(node.inputs[0]), graph.t(node.inputs[1])
        return x.shape[0] * w.shape[1] * w.shape[0]

    def _weight_fields(self, node, graph):
        """weight and bias as the node's kernel reads them (see each Kernel's layout)."""
        w, b = graph.t(node.inputs[1]), graph.t(node.inputs[2])
        kernel = self.kernel(node)
        if kernel.reference:
            return [("weight", c_values(w.data.reshape(-1), "int8_t", f"[Cout, K] {list(w.shape)}")),
                    ("bias", c_values(b.data, "int32_t"))]
        if kernel.symbol == "tg_fully_connected_s8_w16":
            a: FullyConnectedAttrs = node.attrs
            bias = folded_bias(w.data, b.data, a.input_offset)
            return [("weight", c_values(fc_w16_weights(w.data), "int8_t", f"4-channel groups of [Cout, K] {list(w.shape)}")),
                    ("bias", c_values(fc_w16_records(bias, a.multiplier, a.shift, a.output_offset), "int32_t",
                                      "{bias + input_offset * sum(w), m, k_lo, k_hi, sh} per channel"))]
        return [("weight", c_values(gemm_weights(w.data), "int8_t", f"GEMM tile order of [Cout, K] {list(w.shape)}")),
                ("bias", c_values(folded_bias(w.data, b.data, node.attrs.input_offset), "int32_t",
                                  "bias + input_offset * sum(w)"))]

    def emit(self, node, graph):
        x, w, b = (graph.t(i) for i in node.inputs)
        a: FullyConnectedAttrs = node.attrs
        fields = [
            ("batches", x.shape[0]), ("in_features", w.shape[1]), ("out_features", w.shape[0]),
            ("input_offset", a.input_offset), ("output_offset", a.output_offset),
            ("act_min", a.act_min), ("act_max", a.act_max),
            *self._weight_fields(node, graph),
            ("multiplier", c_values(a.multiplier, "int32_t")),
            ("shift", c_values(a.shift, "int32_t")),
        ]
        return KernelCall(fields,
            [node.inputs[0]], list(node.outputs), comment=f"fully_connected {w.shape[1]}->{w.shape[0]}",
        )

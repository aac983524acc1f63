"""bfully_connected: binary (+-1) fully connected layer on bit-packed vectors.

    dot[n,o] = K - 2*popcount(in[n, :] ^ w[o, :])      (K = in_features; padding bits cancel)
    output "binary" or "int8": the output stage of bconv2d (tinygen/ops/bconv2d.py), |dot| <= K

Input uint32 [N,ceil(K/32)], weight uint32 [Cout,ceil(K/32)] (padding bits 0), output uint32
[N,ceil(Cout/32)] or int8 [N,Cout]. No scratch.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinygen.ir.graph import DType
from tinygen.ops.base import Kernel, KernelCall, reference_kernel, OpDef, c_values, register
from tinygen.ops.bconv2d import check_output_stage, check_packed_weights, output_fields, output_shape, output_stage
from tinygen.reference import bitpack


@dataclass(frozen=True)
class BFullyConnectedAttrs:
    in_features: int  # real input features K (the packed tensors hold ceil(K/32) words)
    output: str  # "binary" or "int8"
    thresholds: tuple[int, ...] = ()
    flip: tuple[int, ...] = ()
    multiplier: tuple[int, ...] = ()
    shift: tuple[int, ...] = ()
    bias: tuple[int, ...] = ()  # units of 2^-pre_shift dot
    pre_shift: int = 0
    output_offset: int = 0
    act_min: int = -128
    act_max: int = 127


@register
class BFullyConnected(OpDef):
    name = "bfully_connected"
    attrs_type = BFullyConnectedAttrs
    kernels = (Kernel("tg_bfully_connected_b1_hs8", "tg_bfully_connected.h", "tg_bfully_connected_params"),
               reference_kernel("tg_bfully_connected_b1_ref", "tg_bfully_connected.h", "tg_bfully_connected_params"))

    def check(self, node, graph):
        if len(node.inputs) != 2:
            raise ValueError("bfully_connected takes (input, weight)")
        x, w = (graph.t(i) for i in node.inputs)
        o = graph.t(node.outputs[0])
        a: BFullyConnectedAttrs = node.attrs
        if x.dtype != DType.UINT32 or len(x.shape) != 2 or len(w.shape) != 2:
            raise ValueError("bfully_connected takes packed uint32 [N,words] input and [Cout,words] weights")
        if x.shape[1] != bitpack.words_for(a.in_features):
            raise ValueError(f"{a.in_features} features take {bitpack.words_for(a.in_features)} words, "
                             f"input has {x.shape[1]}")
        check_packed_weights(w, a.in_features)
        check_output_stage(a, w.shape[0], a.in_features)  # |dot| <= K
        shape, dtype = output_shape((x.shape[0],), w.shape[0], a.output)
        if o.shape != shape or o.dtype != dtype:
            raise ValueError(f"output should be {dtype.value} {list(shape)}")

    def reference(self, node, graph, inputs):
        x, w = inputs
        dot = bitpack.binary_dot(x[:, None, :], w[None, :, :], node.attrs.in_features)  # [N, Cout]
        return [output_stage(dot, node.attrs)]

    def macs(self, node, graph):
        return int(graph.t(node.inputs[0]).shape[0] * graph.t(node.inputs[1]).shape[0] * node.attrs.in_features)

    def emit(self, node, graph):
        w = graph.t(node.inputs[1])
        a: BFullyConnectedAttrs = node.attrs
        fields = [
            ("in_features", a.in_features), ("out_c", w.shape[0]),
            ("weight", c_values(w.data.reshape(-1), "uint32_t", f"[{w.shape[0]}][{w.shape[1]}], 32 features per word")),
            *output_fields(a),
        ]
        return KernelCall(fields,
                          [node.inputs[0]], list(node.outputs),
                          comment=f"bfully_connected {a.in_features}->{w.shape[0]} {a.output} out")

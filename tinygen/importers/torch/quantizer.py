"""`TinygenQuantizer`: a torchao PT2E Quantizer that annotates a float model in exactly the scheme
tinygen runs (TFLite Micro's):

* activations: int8 [-128, 127], asymmetric per tensor (min/max observer; a moving-average
  fake-quant for QAT), on the input of every quantizable op and the output of every op;
* weights of conv2d / linear: int8 [-127, 127], symmetric per output channel (axis 0);
* biases stay float in the program: tinygen quantizes them to int32 with scale s_in * s_w;
* conv/linear followed by batch_norm and/or relu/relu6: one quantizer after the chain (the
  fused-activation form tinygen lowers); max/avg pooling, flatten, reshape, slice and concat keep
  their input's grid (SharedQuantizationSpec), so they need no requantization.

`weight_bits` < 8 quantizes weights to [-(2^(b-1) - 1), 2^(b-1) - 1] levels (sub-byte weights).
Imported lazily through tinygen.quantizer; needs torchao (an optional dependency).
"""

from __future__ import annotations

import torch
from torch.fx import Node
from torchao.quantization.pt2e import fake_quantize as tfq
from torchao.quantization.pt2e import observer as tobs
from torchao.quantization.pt2e.quantizer import (QuantizationAnnotation, QuantizationSpec, Quantizer,
                                                 SharedQuantizationSpec)

aten = torch.ops.aten
ANCHORS = {aten.conv2d.default, aten.conv2d.padding, aten.linear.default}
# Folded into the anchor's output (BN first, then one activation).
CHAIN_BN = {aten.batch_norm.default, aten._native_batch_norm_legit_no_training.default}
CHAIN_ACT = {aten.relu.default, aten.relu_.default, aten.relu6.default, aten.hardtanh.default, aten.hardtanh_.default}
# Ops with their own output grid.
OWN_GRID = {aten.add.Tensor, aten.add_.Tensor, aten.mul.Tensor, aten.hardswish.default, aten.hardswish_.default,
            aten.sigmoid.default, aten.tanh.default, aten.hardsigmoid.default, aten.relu.default,
            aten.relu_.default, aten.relu6.default, aten.hardtanh.default}
# Ops whose output stays on their (first) input's grid.
SHARED_GRID = {aten.max_pool2d.default, aten.avg_pool2d.default, aten.adaptive_avg_pool2d.default,
               aten.mean.dim, aten.flatten.using_ints, aten.view.default, aten.reshape.default,
               aten.slice.Tensor, aten.squeeze.dim, aten.unsqueeze.default, aten.dropout.default}
CONCAT = {aten.cat.default, aten.concat.default}


class TinygenQuantizer(Quantizer):
    """PT2E quantizer for tinygen's int8 scheme; `is_qat=True` for prepare_qat_pt2e."""

    def __init__(self, is_qat: bool = False, weight_bits: int = 8):
        super().__init__()
        if not 2 <= weight_bits <= 8:
            raise ValueError("weight_bits must be 2..8")
        wmax = 2 ** (weight_bits - 1) - 1
        if is_qat:
            act_ctr = tfq.FakeQuantize.with_args(observer=tobs.MovingAverageMinMaxObserver)
            w_ctr = tfq.FakeQuantize.with_args(observer=tobs.MovingAveragePerChannelMinMaxObserver)
        else:
            act_ctr = tobs.MinMaxObserver.with_args(eps=2 ** -12)
            w_ctr = tobs.PerChannelMinMaxObserver.with_args(eps=2 ** -12)
        self.act = QuantizationSpec(torch.int8, act_ctr, -128, 127, torch.per_tensor_affine)
        self.weight = QuantizationSpec(torch.int8, w_ctr, -wmax, wmax, torch.per_channel_symmetric, ch_axis=0)

    def validate(self, model) -> None:
        pass

    def annotate(self, model: torch.fx.GraphModule) -> torch.fx.GraphModule:
        for node in model.graph.nodes:
            if node.op != "call_function" or _annotated(node) or not _is_float(node):
                continue  # (integer ops: e.g. BatchNorm's num_batches_tracked += 1 in QAT graphs)
            if node.target in ANCHORS:
                self._anchor(node)
            elif node.target in CONCAT:
                self._concat(node)
            elif node.target in SHARED_GRID and isinstance(node.args[0], Node):
                x = node.args[0]
                _set(node, {x: self.act}, SharedQuantizationSpec((x, node)))
            elif node.target in OWN_GRID:
                _set(node, {a: self.act for a in node.args if isinstance(a, Node) and _is_float(a)}, self.act)
        return model

    def _anchor(self, node: Node) -> None:
        x, w = node.args[:2]
        _set(node, {x: self.act, w: self.weight}, None)
        last = node
        for group in (CHAIN_BN, CHAIN_ACT):
            users = list(last.users)
            if len(users) == 1 and users[0].target in group and not _annotated(users[0]):
                last = users[0]
                if last is not node:
                    _set(last, {}, None)
        last.meta["quantization_annotation"].output_qspec = self.act

    def _concat(self, node: Node) -> None:
        parts = [p for p in node.args[0] if isinstance(p, Node)]
        if not parts:
            return
        first = (parts[0], node)
        qmap = {parts[0]: self.act} | {p: SharedQuantizationSpec(first) for p in parts[1:]}
        _set(node, qmap, SharedQuantizationSpec(first))


def _is_float(n: Node) -> bool:
    val = n.meta.get("val")
    return val is not None and hasattr(val, "dtype") and val.dtype.is_floating_point


def _annotated(n: Node) -> bool:
    a = n.meta.get("quantization_annotation")
    return a is not None and a._annotated


def _set(node: Node, qmap: dict, out) -> None:
    node.meta["quantization_annotation"] = QuantizationAnnotation(input_qspec_map=qmap, output_qspec=out,
                                                                  _annotated=True)

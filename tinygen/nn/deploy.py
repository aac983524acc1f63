"""`snap_bias`: give a trained tinygen.nn model the biases its deployed int8 graph realizes.

tinygen stores a conv/linear bias (BatchNorm folded) as an integer at scale s_in * s_w[c], lifted so
that the kernels round once (tinygen/quant/params.py, lifted_conv_bias); the bias the MCU then
computes with, b', is within half an accumulator unit of the float bias b PyTorch uses. That half
unit is up to M / 2 of an output step (M = s_in s_w / s_out, about 2^-9): enough to put 0.05-0.1 %
of a layer's outputs one step from PyTorch, and over some thirty layers the differences grow. This
writes b' back into the model (BatchNorm beta, or the layer's own bias), so that the eval-mode
PyTorch model computes what the MCU computes; training is unaffected (the move is below the
bias's quantization step), and the model exports as before.

Not imported by tinygen.nn itself: it runs tinygen's importer and lowering, which import tinygen.nn.
"""

from __future__ import annotations

import numpy as np
import torch

from tinygen.quant.params import acc_bound, realized_bias

ROUNDS = 4  # a moved bias can change the lift of its layer: lower again until nothing moves


def _lowered(ep):
    from tinygen.importers.torch.graph import import_torch_object
    from tinygen.pipeline import lower_model

    graph, name = import_torch_object(ep, None)
    return lower_model(graph, name, compress="none")


def _state_name(ep, node) -> str | None:
    """The state-dict name of a placeholder node of `ep`'s graph (a parameter or buffer)."""
    sig = ep.graph_signature
    return sig.inputs_to_parameters.get(node.name) or sig.inputs_to_buffers.get(node.name)


def _targets(ep, fx_node):
    """(how the layer's real bias b is written, the tensors it needs) for a conv/linear FX node:
    ("bn", conv bias name or None, BN names (gamma, beta, mean, var), eps) when a BatchNorm
    follows, ("bias", name) for the layer's own bias, None when it has neither."""
    users = list(fx_node.users)
    bias = fx_node.args[2] if len(fx_node.args) > 2 else None
    bias_name = _state_name(ep, bias) if bias is not None else None
    if len(users) == 1 and "batch_norm" in str(users[0].target):
        bn = users[0]
        names = tuple(_state_name(ep, a) for a in bn.args[1:5])
        eps = float(bn.args[7]) if len(bn.args) > 7 else 1e-5
        return ("bn", bias_name, names, eps) if all(names) else None
    return ("bias", bias_name) if bias_name else None


def _write(model, target, b_real: np.ndarray) -> float:
    """Set the model's tensors so that its real bias is b_real; returns the largest change."""
    params = dict(model.named_parameters())
    params.update(dict(model.named_buffers()))
    with torch.no_grad():
        if target[0] == "bias":
            t = params[target[1]]
            new = torch.as_tensor(b_real, dtype=t.dtype).reshape(t.shape)
        else:
            _, bias_name, (g, beta, mean, var), eps = target
            f = {k: params[k].detach().double().numpy() for k in (g, beta, mean, var)}
            k = f[g] / np.sqrt(f[var] + eps)
            conv_b = params[bias_name].detach().double().numpy() if bias_name else 0.0
            t = params[beta]  # tinygen folds b = (conv_b - mean) * k + beta
            new = torch.as_tensor(b_real - (conv_b - f[mean]) * k, dtype=t.dtype).reshape(t.shape)
        moved = float((new - t).abs().max())
        t.copy_(new)
    return moved


def snap_bias(model: torch.nn.Module, example: torch.Tensor) -> int:
    """Move every conv/linear bias of `model` (eval mode, frozen quantizers) onto the value its
    deployed int8 graph realizes; returns how many layers were written. Call it after training,
    before export."""
    model.eval()
    written = 0
    for _ in range(ROUNDS):
        ep = torch.export.export(model, (example,))
        graph = _lowered(ep)
        fx = {n.name: n for n in ep.graph.nodes}
        moved, written = 0.0, 0
        for node in graph.nodes:
            if node.op not in ("conv2d", "fully_connected") or node.name not in fx:
                continue
            target = _targets(ep, fx[node.name])
            if target is None:
                continue
            a = node.attrs
            s_in = graph.t(node.inputs[0]).quant.scale[0]
            s_w = np.asarray(graph.t(node.inputs[1]).quant.scale, np.float64)
            bias_q = graph.t(node.inputs[2]).data.astype(np.int64)
            lift = int(graph.t(node.outputs[0]).quant.zero_point[0]) - int(a.output_offset)
            bound = acc_bound(graph.t(node.inputs[1]).data, a.input_offset)
            b_acc = realized_bias(bias_q, a.multiplier, a.shift, lift, bound)
            moved = max(moved, _write(model, target, b_acc * np.float64(s_in) * s_w))
            written += 1
        if moved == 0.0:
            break
    return written

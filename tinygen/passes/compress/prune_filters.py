"""Filter pruning at compile time (thesis ch. 4.3.3): all-zero output channels of int8 conv2d
(groups 1) and fully_connected layers are removed, and their constant output folded into the
consumers' bias where that is exact.

A channel o whose weights are all zero has acc = bias[o] at every pixel, so its output is one
int8 constant c = clamp(requantize(bias[o]) + output_offset). A consumer with input offset ioff
and weights v adds v[.., o] * (c + ioff) at every output pixel and tap, so removing input channel
o and adding sum over taps of v[:, taps, o] * (c + ioff) to its bias is exact when

* the consumer is a fully_connected layer (directly, or through a reshape of an NHWC map: one
  column per pixel), or
* the consumer is a conv2d with groups 1 and either no padding (every tap is inside the image)
  or c + ioff == 0 (the constant is the input zero point: skipped taps added 0 anyway).

Any other reader (depthwise and grouped convs, add, concat, pooling, a model output, packed
weights) keeps the channel; graph.notes says which layers were pruned and which were kept, and why.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tinygen.ir.graph import Graph, Node, QuantParams
from tinygen.ops.common import requantize_to_int8

_INT32 = (-(1 << 31), (1 << 31) - 1)
_PRODUCERS = ("conv2d", "fully_connected")


def _slice_quant(q: QuantParams | None, keep: np.ndarray) -> QuantParams | None:
    if q is None or not q.per_channel or q.axis != 0:
        return q
    return dataclasses.replace(q, scale=tuple(np.asarray(q.scale)[keep].tolist()),
                               zero_point=tuple(int(z) for z in np.asarray(q.zero_point)[keep]))


def _set_const(graph: Graph, node: Node, index: int, data: np.ndarray, quant=None) -> None:
    """Give node input `index` new constant data (a new tensor, in case the old one is shared)."""
    old = graph.t(node.inputs[index])
    t = graph.add_const(old.name, data, quant if quant is not None else old.quant)
    node.inputs[index] = t.name


class _Reader:
    """One consumer able to absorb removed input channels: its weight columns per channel."""

    def __init__(self, node: Node, columns, padded: bool, reshape: Node | None = None):
        self.node, self.columns, self.padded, self.reshape = node, columns, padded, reshape


def _readers(graph: Graph, tensor: str) -> tuple[list[_Reader], str]:
    """The consumers of `tensor` that can absorb a removed channel, or ([], why not)."""
    if tensor in graph.outputs:
        return [], "it is a model output"
    readers = []
    shape = graph.t(tensor).shape
    for c in graph.consumers(tensor):
        if c.inputs.index(tensor) != 0 or c.inputs.count(tensor) != 1:
            return [], f"'{c.name}' reads it as a non-data input"
        if c.op == "conv2d" and c.attrs.groups == 1:
            readers.append(_Reader(c, lambda ch, w: w[:, :, :, ch].reshape(w.shape[0], -1), any(c.attrs.padding)))
        elif c.op == "fully_connected" and len(shape) == 2:
            readers.append(_Reader(c, lambda ch, w: w[:, ch:ch + 1], False))
        elif (c.op == "reshape" and len(shape) == 4 and len(c.attrs.shape) == 2 and c.outputs[0] not in graph.outputs
              and graph.consumers(c.outputs[0])
              and all(f.op == "fully_connected" and f.inputs.index(c.outputs[0]) == 0
                      for f in graph.consumers(c.outputs[0]))):
            nch = shape[3]
            for f in graph.consumers(c.outputs[0]):
                readers.append(_Reader(f, lambda ch, w, nch=nch: w[:, ch::nch], False, reshape=c))
        else:
            kind = f"{c.op} groups={c.attrs.groups}" if c.op == "conv2d" else c.op
            return [], f"'{c.name}' ({kind}) cannot absorb a constant channel"
    return readers, ""


def _constants(graph: Graph, node: Node, channels: list[int]) -> np.ndarray:
    a = node.attrs
    bias = graph.t(node.inputs[2]).data.astype(np.int64)[channels]
    return requantize_to_int8(bias, [a.multiplier[o] for o in channels], [a.shift[o] for o in channels],
                              a.output_offset, a.act_min, a.act_max).astype(np.int64)


def _prune_node(graph: Graph, node: Node) -> str | None:
    w = graph.t(node.inputs[1]).data
    dead = [o for o in range(w.shape[0]) if not w[o].any()]
    if not dead:
        return None
    if len(dead) == w.shape[0]:
        dead = dead[1:]  # a tensor keeps at least one channel
        if not dead:
            return None
    out = node.outputs[0]
    readers, why = _readers(graph, out)
    if not readers:
        return f"kept {len(dead)} all-zero filters: {why}"
    consts = _constants(graph, node, dead)
    removable, kept_why = [], ""
    for o, c in zip(dead, consts):
        padded = [r.node.name for r in readers if r.padded and c + r.node.attrs.input_offset != 0]
        if padded:
            kept_why = (f"constant {int(c)} is not the input zero point of padded conv '{padded[0]}'")
            continue
        removable.append((o, int(c)))
    # bias updates, all checked before any change
    new_bias = {}
    for r in readers:
        v = graph.t(r.node.inputs[1]).data.astype(np.int64)
        b = new_bias.get(r.node.name, graph.t(r.node.inputs[2]).data.astype(np.int64))
        for o, c in removable:
            b = b + r.columns(o, v).sum(axis=1) * (c + r.node.attrs.input_offset)
        new_bias[r.node.name] = b
    if any(b.min(initial=0) < _INT32[0] or b.max(initial=0) > _INT32[1] for b in new_bias.values()):
        return f"kept {len(dead)} all-zero filters: the folded consumer bias would leave int32"
    if not removable:
        return f"kept {len(dead)} all-zero filters: {kept_why}"
    gone = [o for o, _ in removable]
    keep = np.setdiff1d(np.arange(w.shape[0]), gone)
    _apply(graph, node, readers, keep, new_bias)
    note = (f"pruned {len(gone)} of {w.shape[0]} all-zero filters; their constant outputs are folded into the bias of "
            + ", ".join(sorted({f"'{r.node.name}'" for r in readers})))
    if len(gone) < len(dead):
        note += f"; kept {len(dead) - len(gone)}: {kept_why}"
    return note


def _apply(graph: Graph, node: Node, readers: list[_Reader], keep: np.ndarray, new_bias: dict) -> None:
    a = node.attrs
    wt = graph.t(node.inputs[1])
    _set_const(graph, node, 1, wt.data[keep], _slice_quant(wt.quant, keep))
    _set_const(graph, node, 2, graph.t(node.inputs[2]).data[keep])
    node.attrs = dataclasses.replace(a, multiplier=tuple(a.multiplier[i] for i in keep),
                                     shift=tuple(a.shift[i] for i in keep))
    out = graph.t(node.outputs[0])
    old_c = out.shape[-1]
    out.shape = (*out.shape[:-1], len(keep))
    done_reshape = set()
    for r in readers:
        v = graph.t(r.node.inputs[1]).data
        if r.reshape is not None:
            cols = np.arange(v.shape[1]).reshape(-1, old_c)[:, keep].reshape(-1)  # pixel-major NHWC columns
            if r.reshape.name not in done_reshape:
                done_reshape.add(r.reshape.name)
                r.reshape.attrs = dataclasses.replace(r.reshape.attrs, shape=(r.reshape.attrs.shape[0], cols.size))
                ro = graph.t(r.reshape.outputs[0])
                ro.shape = (ro.shape[0], cols.size)
            _set_const(graph, r.node, 1, v[:, cols])
        else:
            _set_const(graph, r.node, 1, v[..., keep])
        _set_const(graph, r.node, 2, new_bias[r.node.name].astype(np.int32))


def prune_filters(graph: Graph, source: str) -> Graph:
    """Lowered graph: remove all-zero filters of conv2d/fully_connected layers (see the module doc)."""
    changed = False
    for node in list(graph.nodes):
        if node.op not in _PRODUCERS or (node.op == "conv2d" and node.attrs.groups != 1):
            continue
        if not (graph.t(node.inputs[1]).is_const and graph.t(node.inputs[2]).is_const):
            continue
        note = _prune_node(graph, node)
        if note:
            graph.notes[node.name] = note
            changed = changed or note.startswith("pruned")
    if changed:
        graph.prune()  # the replaced weight tensors
    return graph

"""conv2d/linear -> [BN] -> sign chains  ==>  one conv2d_sign / linear_sign node (binary output).

    L(x) [-> max_pool2d] [-> batch_norm] [-> max_pool2d | clamp]* -> sign
        ==>  L_sign(x; bn) [-> max_pool2d on the binary result]

L is conv2d or linear; every tensor in the chain is read only by the next node; at most one
max pool. The rewrite is exact because sign is monotone non-decreasing:

* sign(max(v)) = max(sign(v)), so a max pool right before the sign moves after it (bit-AND on
  the device). A clamp(lo, hi) with lo < 0 <= hi keeps the sign of every value and is dropped.
* a max pool before the BatchNorm moves after the sign only when sign(BN(.)) is non-decreasing in
  every channel, i.e. gamma_c >= 0 (gamma_c = 0 makes the channel constant). With a negative
  gamma the max would have to become a min: that is refused, naming the layer.

The BatchNorm parameters are kept as they are (not folded into the weights) so the lowering can
compute each channel's integer threshold from the very expression PyTorch evaluates.
"""

from __future__ import annotations

import numpy as np

from tinygen.errors import UnsupportedOpError
from tinygen.ir import float_ops as F
from tinygen.ir.graph import DType, Graph, Node, Tensor

LAYERS = {"conv2d": "conv2d_sign", "linear": "linear_sign"}


def _keeps_sign(attrs: F.Clamp) -> bool:
    return (attrs.lo is None or attrs.lo < 0) and (attrs.hi is None or attrs.hi >= 0)


def _bn_params(graph: Graph, bn: Node) -> F.BatchNormParams:
    mean, var, gamma, beta = (tuple(float(v) for v in graph.t(i).data.reshape(-1)) for i in bn.inputs[1:])
    return F.BatchNormParams(gamma, beta, mean, var, float(bn.attrs.eps))


def _chain(graph: Graph, sign: Node):
    """(layer, bn, pool, pool_before_bn, nodes between) or None when the sign's input is no such chain."""
    bn = pool = None
    pool_before_bn = False
    between: list[Node] = []
    t = sign.inputs[0]
    while True:
        p = graph.producer(t)
        if p is None or graph.uses(t) != 1:
            return None
        if p.op in LAYERS:
            if p.attrs.activation != "none":
                return None
            return p, bn, pool, pool_before_bn, between
        if p.op == "clamp" and bn is None and _keeps_sign(p.attrs):
            pass
        elif p.op == "max_pool2d" and pool is None:
            pool, pool_before_bn = p, bn is not None
        elif p.op == "batch_norm" and bn is None:
            bn = p
        else:
            return None
        between.append(p)
        t = p.inputs[0]


def fuse_sign(graph: Graph, source: str = "model") -> Graph:
    for sign in [n for n in graph.nodes if n.op == "sign"]:
        found = _chain(graph, sign)
        if found is None:
            continue
        layer, bn, pool, pool_before_bn, between = found
        params = _bn_params(graph, bn) if bn is not None else None
        if pool is not None and pool_before_bn and params is not None and min(params.gamma) < 0:
            c = int(np.argmin(params.gamma))
            raise UnsupportedOpError(
                f"{source}: {pool.describe()}: max pooling before {bn.describe()} with a negative scale (channel {c}, "
                f"gamma {params.gamma[c]:.6g}) and a sign is not exact on binary tensors (it would be a min pool); "
                "pool after the sign or after the BatchNorm instead")
        out = graph.t(layer.outputs[0])
        if pool is None:
            fused_out = sign.outputs[0]
        else:
            fused_out = graph.add_tensor(Tensor(graph.unique_name(out.name + "_sign"), out.shape, DType.UINT32)).name
        graph.t(sign.outputs[0]).dtype = DType.UINT32
        attrs = F.Conv2dSign(layer.attrs, params) if layer.op == "conv2d" else F.LinearSign(params)
        index = graph.nodes.index(sign)
        new = [Node(graph.unique_name(layer.name + "_sign", "node"), LAYERS[layer.op], list(layer.inputs), [fused_out],
                    attrs, source=layer.source)]
        if pool is not None:
            new.append(Node(graph.unique_name(pool.name + "_bits", "node"), "max_pool2d", [fused_out],
                            [sign.outputs[0]], pool.attrs, source=pool.source))
        for k, n in enumerate(new):
            graph.add_node(n, index + 1 + k)
        for n in [layer, sign, *between]:
            graph.remove_node(n)
    graph.prune()
    return graph

"""conv2d/linear -> batch_norm  ==>  conv2d/linear with rescaled weights and a new bias.

    BN(y) = k * (y - mean) + beta,  k = gamma / sqrt(var + eps)   (per output channel)

With per-channel symmetric integer weights w_q and scales s_w, k * (s_w * w_q) = (s_w * |k|) *
(sign(k) * w_q): the integers keep their magnitude and only the scale changes, so the fold is exact.
A channel with k == 0 becomes constant (weights 0, bias beta). A negative k widens the integer
range to hold the flipped values ([-2, 1] becomes [-2, 2]; symmetric ranges are unchanged).
Float (unquantized) weights are scaled directly; the quantization check later refuses them.
BatchNorms that feed a sign were already taken into conv2d_sign/linear_sign (fuse_sign).
"""

from __future__ import annotations

import numpy as np

from tinygen.errors import QuantizationError
from tinygen.ir.graph import Graph, QuantParams


def fold_batch_norm(graph: Graph, source: str = "model") -> Graph:
    for bn in [n for n in graph.nodes if n.op == "batch_norm"]:
        x = bn.inputs[0]
        prod = graph.producer(x)
        if prod is None or prod.op not in ("conv2d", "linear") or graph.uses(x) != 1:
            continue  # a standalone BN is lowered later as a per-channel affine (or refused)
        mean, var, gamma, beta = (graph.t(i).data.astype(np.float64) for i in bn.inputs[1:])
        k = gamma / np.sqrt(var + bn.attrs.eps)
        w = graph.t(prod.inputs[1])
        bias = graph.t(prod.inputs[2]).data.astype(np.float64) if len(prod.inputs) > 2 else np.zeros_like(k)
        new_bias = (bias - mean) * k + beta
        if w.quant is None:
            data = w.data * k.reshape((-1,) + (1,) * (w.data.ndim - 1)).astype(np.float32)
            wt = graph.add_const(w.name + "_bn", data.astype(np.float32))
        else:
            wt = _fold_quantized(graph, w, k, bn)
        bt = graph.add_const(prod.name + "_bias_bn", new_bias.astype(np.float32))
        prod.inputs = [prod.inputs[0], wt.name, bt.name]
        graph.replace_uses(bn.outputs[0], prod.outputs[0])
        graph.remove_node(bn)
    graph.prune()
    return graph


def _fold_quantized(graph: Graph, w, k: np.ndarray, bn):
    q = w.quant
    cout = w.shape[0]
    if q.axis not in (None, 0) or any(z != 0 for z in q.zero_point):
        raise QuantizationError(f"{bn.describe()}: BatchNorm can only be folded into symmetric weights quantized per "
                                "output channel (axis 0, zero point 0)")
    scales = np.broadcast_to(np.asarray(q.scale, np.float64), (cout,))
    sign = np.where(k < 0, -1, 1).astype(np.int64)
    ints = w.data.astype(np.int64) * sign.reshape((-1,) + (1,) * (w.data.ndim - 1))
    ints[k == 0] = 0
    if ints.min() < -128 or ints.max() > 127:
        raise QuantizationError(f"{bn.describe()}: negative BatchNorm scale flips weight -128 to 128, which int8 "
                                "cannot hold; quantize weights to [-127, 127] (tinygen.nn does)")
    new_scales = np.where(k == 0, 1.0, scales * np.abs(k))
    qmin, qmax = (min(q.qmin, -q.qmax), max(q.qmax, -q.qmin)) if np.any(k < 0) else (q.qmin, q.qmax)
    quant = QuantParams(tuple(float(s) for s in new_scales), (0,) * cout, qmin, qmax, 0, q.bits)
    return graph.add_const(w.name + "_bn", ints.astype(np.int8), quant)

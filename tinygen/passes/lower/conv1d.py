"""conv1d -> conv2d on a free reshape of the row-major [N, Cin, L] tensor.

tinygen stores rank-3 tensors row-major, so [N, Cin, L] has the bytes of an NHWC [N, Cin, L, 1]
map (H = Cin, W = L, one channel). A conv1d with one output channel is exactly a conv2d on that
view with a Cin x k kernel (OHWI [1, Cin, k, 1] = the conv1d weight [1, Cin, k] as is), no
padding along H and the conv1d padding along W; its [N, 1, L', 1] output has the bytes of the
row-major [N, 1, L'] result. Reshapes run in place, so no data moves. With Cout > 1 each output
channel is one such conv2d and the [N, 1, L', 1] results are concatenated along H ([N, Cout, L',
1] = row-major [N, Cout, L']). Requantization and weight storage (int8, or packed 1/2/4-bit codes
for narrow weights) are those of conv2d (layers.py, packed.py).
"""

from __future__ import annotations

import numpy as np

from tinygen.ir import float_ops as F
from tinygen.ir.graph import QuantParams
from tinygen.passes.lower.context import LowerCtx, check_symmetric_weights, lowers
from tinygen.passes.lower.layers import bias_and_requant
from tinygen.passes.lower.packed import emit_conv


@lowers("conv1d")
def lower_conv1d(ctx: LowerCtx, node) -> None:
    from tinygen.ops.concat import concat_params
    from tinygen.ops.reshape import ReshapeAttrs

    x = ctx.x(node.inputs[0])
    a = node.attrs
    if len(x.shape) != 3:
        raise ctx.error(f"conv1d on a rank-{len(x.shape)} input")
    if a.groups != 1:
        raise ctx.error("grouped conv1d is not supported (groups must be 1)")
    n, cin, length = x.shape
    w = ctx.src.t(node.inputs[1])
    s_w = check_symmetric_weights(ctx, w, "conv1d")
    qx, qo = ctx.quant(node.inputs[0]), ctx.quant(node.outputs[0])
    r = bias_and_requant(ctx, node, s_w, qx.scale[0], qo.scale[0], qx.zero_point[0], qo.zero_point[0])
    cout, _, k = w.shape
    out_len = ctx.src.t(node.outputs[0]).shape[2]

    view = ctx.new_act(node.outputs[0] + "_in2d", (n, cin, length, 1), qx)
    ctx.emit("reshape", [x.name], [view.name], ReshapeAttrs((n, cin, length, 1)), suffix="_view")
    conv = F.Conv2d((1, a.stride), (0, 0, a.padding[0], a.padding[1]), (1, a.dilation), 1)
    q, scales = w.quant, np.broadcast_to(np.asarray(w.quant.scale), (cout,))
    pieces = []
    for o in range(cout):
        wq = QuantParams((float(scales[o]),), (0,), q.qmin, q.qmax, 0, q.bits)
        y = ctx.new_act(f"{node.outputs[0]}_o{o}", (n, 1, out_len, 1), qo)
        # OIHW [1, 1, Cin, k]: the conv1d kernel of output channel o, Cin along H
        emit_conv(ctx, view.name, w.data[o:o + 1].reshape(1, 1, cin, k), wq, r.bias[o:o + 1], conv, -qx.zero_point[0],
                  r.output_offset, (r.multiplier[o],), (r.shift[o],), qo.qmin, qo.qmax, y.name, f"{w.name}_o{o}")
        pieces.append(y.name)
    joined = pieces[0]
    if cout > 1:
        cat = ctx.new_act(node.outputs[0] + "_cat", (n, cout, out_len, 1), qo)
        q = (qo.scale[0], qo.zero_point[0])
        ctx.emit("concat", pieces, [cat.name], concat_params([q] * cout, q, 1), suffix="_cat")
        joined = cat.name
    out = ctx.out(node.outputs[0], (n, cout, out_len))
    ctx.emit("reshape", [joined], [out.name], ReshapeAttrs((n, cout, out_len)), suffix="_out")

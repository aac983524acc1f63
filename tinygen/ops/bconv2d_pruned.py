"""bconv2d_pruned: a binary convolution with pruned kernels (whole k x k kernels of an (output,
input) channel pair removed; thesis ch. 4.3.2, tinygen.nn.PrunedBinaryConv2d).

Inputs: the packed input and OHWI weights of bconv2d (tinygen/ops/bconv2d.py; pruned weight bits
are 0) and a constant kernel mask uint32 [Cout, ceil(Cin/32)], bit i of output o's words set when
the kernel (o, i) is kept (padding bits 0). The dot sums over the kept pairs only:

    dot[n,y,x,o] = sum over taps (i,j) of  kept[o] - 2*popcount((in[n, y', x', :] ^ w[o, i, j, :]) & mask[o, :])
                   kept[o] = popcount(mask[o]); out-of-image taps as in bconv2d (pad_value 0: skipped,
                   pad_value 1: the input there is +1, all bits 0)

With the mask all ones this is bconv2d's dot. The output stage (attrs, binary or int8) is bconv2d's.

The segment variant (tg_bconv2d_pruned_b1_seg, runtime_c/include/tg_bconv2d_pruned.h) stores only
the kept words. Per output pixel it gathers the receptive field word-major, g[k*T + t] for input
word k and tap t (T = kh*kw, out-of-image words 0), so that one input word's taps are T contiguous
words and a run of fully kept input words of an output is one contiguous segment of g: its count
is the carry-save popcount of tg_popcount.h over contiguous words, the same core as the dense
carry-save bconv2d. Input words an output keeps only partly (single pruned kernels, or the padding
bits of the last word) are segments of T words counted under their mask. Pruned words cost nothing.
Its zero-padding correction and output stage are folded per border class as in bconv2d_hs (with
kept[o] bits per tap in place of in_c):
    dot = base[class][o] - 2*diff,  base = T*kept[o] - sum over out-of-image taps (kept[o] - 2*popcount(w & mask))
"""

from __future__ import annotations

import numpy as np

from tinygen.ir.graph import DType
from tinygen.ops import bconv2d_hs
from tinygen.ops.base import Kernel, KernelCall, OpDef, c_values, reference_kernel, register
from tinygen.ops.bconv2d import (BConv2dAttrs, check_output_stage, check_packed_weights, geometry_fields,
                                 output_fields, output_shape, output_stage)
from tinygen.ops.bconv2d_pruned_tables import (FIXED_WORDS, class_values, group_scratch, group_supports,
                                               group_tables, groups_of, kept_bits, scratch_words, seg_supports,
                                               stored_tables)
from tinygen.ops.common import out_hw, pad_nhwc, windows
from tinygen.reference import bitpack

_TEMP_WORDS = 1 << 22  # bounded reference temporaries, as bconv2d


def pruned_conv_dot(x: np.ndarray, w: np.ndarray, mask: np.ndarray, a: BConv2dAttrs) -> np.ndarray:
    """The int32 dot products [N,oh,ow,Cout] of the module docstring."""
    n, h, wd, _ = x.shape
    cout, kh, kw, _ = w.shape
    oh, ow = out_hw(x.shape, w.shape, a)
    m = np.asarray(mask, np.uint32)
    kept = kept_bits(m).astype(np.int32)
    win = windows(pad_nhwc(np.asarray(x, np.uint32), a.padding, 0), kh, kw, a.stride, a.dilation, oh, ow)
    inside = windows(pad_nhwc(np.ones((1, h, wd, 1), np.int32), a.padding, 0), kh, kw, a.stride, a.dilation, oh, ow)
    dot = np.zeros((n, oh, ow, cout), np.int32)
    chunk = max(1, _TEMP_WORDS // max(1, oh * ow * cout * w.shape[3]))
    for b in range(0, n, chunk):
        for i in range(kh):
            for j in range(kw):
                diff = bitpack.popcount32((win[b:b + chunk, :, :, i, j, None, :] ^ w[:, i, j, :]) & m).sum(-1)
                tap = kept - 2 * diff.astype(np.int32)
                dot[b:b + chunk] += tap * inside[:, :, :, i, j] if a.pad_value == 0 else tap
    return dot


@register
class BConv2dPruned(OpDef):
    name = "bconv2d_pruned"
    attrs_type = BConv2dAttrs
    kernels = tuple(
        Kernel(f"tg_bconv2d_pruned_b1_hs8k{k}", "tg_bconv2d_pruned.h", "tg_bconv2d_pruned_params",
               supports=group_supports(k % bconv2d_hs.BLOCK, k), scratch=group_scratch, layout="groups")
        for k in FIXED_WORDS
    ) + tuple(
        Kernel(f"tg_bconv2d_pruned_b1_hs8r{t}", "tg_bconv2d_pruned.h", "tg_bconv2d_pruned_params",
               supports=group_supports(t), scratch=group_scratch, layout="groups")
        for t in range(bconv2d_hs.BLOCK)
    ) + (
        Kernel("tg_bconv2d_pruned_b1_seg", "tg_bconv2d_pruned.h", "tg_bconv2d_pruned_params", supports=seg_supports,
               scratch=lambda node, graph: 4 * scratch_words(node, graph), layout="segments"),
        reference_kernel("tg_bconv2d_pruned_b1_ref", "tg_bconv2d_pruned.h", "tg_bconv2d_pruned_params"),
    )

    def check(self, node, graph):
        if len(node.inputs) != 3:
            raise ValueError("bconv2d_pruned takes (input, weight, kernel mask)")
        x, w, m = (graph.t(i) for i in node.inputs)
        o = graph.t(node.outputs[0])
        a: BConv2dAttrs = node.attrs
        if x.dtype != DType.UINT32 or len(x.shape) != 4 or len(w.shape) != 4:
            raise ValueError("bconv2d_pruned takes packed uint32 NHWC input and OHWI weights")
        if x.shape[3] != bitpack.words_for(a.in_channels):
            raise ValueError(f"{a.in_channels} input channels take {bitpack.words_for(a.in_channels)} words, "
                             f"input has {x.shape[3]}")
        check_packed_weights(w, a.in_channels)
        if m.dtype != DType.UINT32 or not m.is_const or m.shape != (w.shape[0], w.shape[3]):
            raise ValueError(f"the kernel mask must be a constant uint32 [{w.shape[0]}, {w.shape[3]}]")
        if not bitpack.padding_bits_zero(m.data, a.in_channels):
            raise ValueError("padding bits of the kernel mask must be 0")
        if np.any(w.data & ~m.data[:, None, None, :]):
            raise ValueError("weight bits of pruned kernels must be 0")
        if a.pad_value not in (0, 1):
            raise ValueError("pad_value must be 0 (zero padding) or 1 (+1 padding)")
        if min(a.stride) < 1 or min(a.dilation) < 1 or min(a.padding) < 0:
            raise ValueError("stride and dilation must be >= 1 and padding >= 0")
        cout = w.shape[0]
        check_output_stage(a, cout, w.shape[1] * w.shape[2] * a.in_channels)
        oh, ow = out_hw(x.shape, w.shape, a)
        shape, dtype = output_shape((x.shape[0], oh, ow), cout, a.output)
        if o.shape != shape or o.dtype != dtype:
            raise ValueError(f"output should be {dtype.value} {list(shape)}")

    def reference(self, node, graph, inputs):
        x, w, m = inputs
        return [output_stage(pruned_conv_dot(x, w, m, node.attrs), node.attrs)]

    def macs(self, node, graph):
        """Kept binary MACs only."""
        w, m = graph.t(node.inputs[1]), graph.t(node.inputs[2])
        o = graph.t(node.outputs[0])
        return int(o.shape[0] * o.shape[1] * o.shape[2] * w.shape[1] * w.shape[2] * kept_bits(m.data).sum())

    def emit(self, node, graph):
        x, w, m = (graph.t(i) for i in node.inputs)
        a: BConv2dAttrs = node.attrs
        cout, kh, kw, _ = w.shape
        oh, ow = out_hw(x.shape, w.shape, a)
        kept = int(kept_bits(m.data).sum())
        kernel = self.kernel(node)
        fast = not kernel.reference
        grouped = kernel.layout == "groups"
        if fast:
            rows, cols, rmasks, cmasks = bconv2d_hs.classes(x.shape, w.shape, a, oh, ow)
            values = class_values(w.data, m.data, a, rmasks, cmasks)
            binary = a.output == "binary"
            inverted = ", flip channels inverted" if binary else ""
            if grouped:
                stored, stream, order = group_tables(w.data, m.data, a)
                values = values[:, order]
                weights = [("weight", c_values(stored, "uint32_t", "kept words only, per group and output: input word "
                                               "then tap, pair format" + inverted)),
                           ("mask", None), ("segs", None), ("part_mask", None),
                           ("groups", c_values(stream, "uint16_t",
                                               "per group: n_out, n_words, direct, words*, channels*")),
                           ("n_groups", len(groups_of(m.data)))]
            else:
                stored, stream, pmasks = stored_tables(w.data, m.data, a)
                weights = [("weight", c_values(stored, "uint32_t", "kept words only, per output: its segments, "
                                               "input word then tap" + inverted)),
                           ("mask", None),
                           ("segs", c_values(stream, "uint16_t", "per output: n_full, n_part, (start, len)*, start*")),
                           ("part_mask", c_values(pmasks, "uint32_t") if len(pmasks) else None),
                           ("groups", None), ("n_groups", 0)]
            order_note = " in group order" if grouped else ""
            table = c_values(values.reshape(-1), "int16_t" if binary else "int32_t",
                             f"[{len(rmasks)}x{len(cmasks)} border classes][{cout}]{order_note}")
            classes = [("class_thresholds", table if binary else None), ("class_values", None if binary else table),
                       ("row_class", c_values(rows, "uint8_t")), ("col_class", c_values(cols, "uint8_t")),
                       ("n_col_class", len(cmasks))]
        else:
            weights = [("weight", c_values(w.data.reshape(-1), "uint32_t", f"OHWI {list(w.shape)}, pruned bits 0")),
                       ("mask", c_values(m.data.reshape(-1), "uint32_t", f"kept kernels [{cout}][words]")),
                       ("segs", None), ("part_mask", None), ("groups", None), ("n_groups", 0)]
            classes = [("class_thresholds", None), ("class_values", None), ("row_class", None), ("col_class", None),
                       ("n_col_class", 0)]
        fields = [
            *geometry_fields(x.shape, (oh, ow, cout), (kh, kw), a),
            *weights,
            *output_fields(a),
            *classes,
        ]
        if fast:  # class tables replace thresholds, flip and bias
            fields = [(f, None) if f in ("thresholds", "bias", "flip") else (f, v) for f, v in fields]
        return KernelCall(fields, [node.inputs[0]], list(node.outputs),
                          comment=f"bconv2d_pruned {kh}x{kw}/{a.stride[0]} {a.in_channels}->{cout} {a.output} out, "
                          f"{kept} of {cout * a.in_channels} kernels kept")

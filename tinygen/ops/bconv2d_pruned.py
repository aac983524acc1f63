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
from tinygen.ops.bconv2d import (BConv2dAttrs, check_output_stage, check_packed_weights, output_fields, output_shape,
                                 output_stage)
from tinygen.ops.common import out_hw, pad_nhwc, windows
from tinygen.ops.conv_gemm import requant_fast_ok
from tinygen.reference import bitpack

FULL = np.uint32(0xFFFFFFFF)
_TEMP_WORDS = 1 << 22  # bounded reference temporaries, as bconv2d


def kept_bits(mask: np.ndarray) -> np.ndarray:
    """Kept input channels per output channel (int64 [Cout])."""
    return bitpack.popcount32(mask).sum(axis=-1).astype(np.int64)


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


# -- the segment variant's tables ----------------------------------------------------------------------
def segments(mask_row: np.ndarray, taps: int) -> tuple[list[tuple[int, int]], list[int]]:
    """(full segments as (start, length) in the word-major field, partial word indices) of one output."""
    full, part = [], []
    k = 0
    while k < len(mask_row):
        if mask_row[k] == FULL:
            e = k
            while e < len(mask_row) and mask_row[e] == FULL:
                e += 1
            full.append((k * taps, (e - k) * taps))
            k = e
            continue
        if mask_row[k]:
            part.append(k)
        k += 1
    return full, part


def stored_tables(w: np.ndarray, mask: np.ndarray, a: BConv2dAttrs):
    """(weights uint32, segment stream uint16, partial masks uint32) of the segment variant.

    Per output: the stream holds n_full, n_part, then (start, length) per full segment and the start
    of each partial one; the weights hold each segment's words (word-major: input word, then tap),
    inverted for binary-output flip channels (as bconv2d_hs: the count becomes counted_bits - diff)."""
    cout, kh, kw, words = w.shape
    taps = kh * kw
    wm = np.ascontiguousarray(np.asarray(w, np.uint32).reshape(cout, taps, words).transpose(0, 2, 1))  # [o, k, t]
    flip = np.asarray(a.flip, bool) if a.output == "binary" else np.zeros(cout, bool)
    stored, stream, pmasks = [], [], []
    for o in range(cout):
        full, part = segments(mask[o], taps)
        stream += [len(full), len(part)]
        for start, length in full:
            stream += [start, length]
            stored.append(wm[o].reshape(-1)[start:start + length])
        for k in part:
            stream.append(k * taps)
            stored.append(wm[o, k] & mask[o, k])
            pmasks.append(mask[o, k])
        if flip[o]:
            for s in range(len(stored) - len(full) - len(part), len(stored)):
                stored[s] = ~stored[s]
    cat = lambda parts, dt: np.concatenate(parts).astype(dt) if parts else np.zeros(0, dt)  # noqa: E731
    return (cat(stored, np.uint32), np.asarray(stream, np.uint16),
            np.asarray(pmasks, np.uint32) if pmasks else np.zeros(0, np.uint32))


def class_values(w: np.ndarray, mask: np.ndarray, a: BConv2dAttrs, rmasks, cmasks) -> np.ndarray:
    """[classes, Cout]: binary output: bit = diff > value (flip channels count the complement);
    int8: acc = value - diff * 2^(pre_shift+1) (mod 2^32). See the module docstring."""
    cout, kh, kw, _ = w.shape
    kept = kept_bits(mask)
    kbits = kh * kw * kept
    pc = bitpack.popcount32(np.asarray(w, np.uint32) & mask[:, None, None, :]).sum(-1).astype(np.int64)
    tap_corr = kept[:, None, None] - 2 * pc  # [Cout, kh, kw]
    rows = []
    for rm in rmasks:
        for cm in cmasks:
            outside = ~(rm[:, None] & cm[None, :])
            corr = (tap_corr * outside).sum(axis=(1, 2)) if a.pad_value == 0 else np.zeros(cout, np.int64)
            base = kbits - corr
            if a.output == "binary":
                v = base - np.asarray(a.thresholds, np.int64)
                flip = np.asarray(a.flip, bool)
                d = np.clip(np.where(flip, -((-v) // 2) - 1, v // 2), -1, kbits)
                rows.append(np.where(flip, kbits - 1 - d, d))  # in [-1, kbits]
            else:
                v = np.asarray(a.bias, np.int64) + base * (1 << a.pre_shift)
                rows.append((v + 2 ** 31) % 2 ** 32 - 2 ** 31)
    return np.stack(rows)


# -- the group variants' tables ---------------------------------------------------------------------
def groups_of(mask: np.ndarray) -> list[tuple[tuple[int, ...], list[int]]] | None:
    """[(kept input words, output channels)], or None unless every mask word is whole (0 or all
    ones) and every output keeps a word. Outputs keeping the same words form a group; a packed
    output word whose channels all keep the same words is a group of its own (its bits are written
    in place, `direct` in group_tables), the rest of such outputs one group (bits scattered)."""
    m = np.asarray(mask, np.uint32)
    if not np.all((m == 0) | (m == FULL)) or not np.all((m != 0).any(axis=1)):
        return None
    cout = m.shape[0]
    by_pattern: dict[tuple[int, ...], list[int]] = {}
    for o, row in enumerate(m):
        by_pattern.setdefault(tuple(int(k) for k in np.flatnonzero(row)), []).append(o)
    groups = []
    for ks, outs in by_pattern.items():
        members, rest = set(outs), []
        for c0 in range(0, cout, 32):
            block = list(range(c0, min(c0 + 32, cout)))
            if all(o in members for o in block):
                groups.append((ks, block))
                members -= set(block)
        rest = sorted(members)
        if rest:
            groups.append((ks, rest))
    return sorted(groups, key=lambda g: g[1][0])


def group_tables(w: np.ndarray, mask: np.ndarray, a: BConv2dAttrs):
    """(weights uint32 in pair format, group stream uint16, channel order) of the group variants."""
    cout, kh, kw, words = w.shape
    taps = kh * kw
    wm = np.asarray(w, np.uint32).reshape(cout, taps, words).transpose(0, 2, 1)  # [o, k, t]
    flip = np.asarray(a.flip, bool) if a.output == "binary" else np.zeros(cout, bool)
    stored, stream, order = [], [], []
    for ks, outs in groups_of(mask):
        c0, n = outs[0], len(outs)
        direct = (a.output == "binary" and c0 % 32 == 0 and outs == list(range(c0, c0 + n))
                  and (n % 32 == 0 or c0 + n == cout))
        stream += [n, len(ks), c0 // 32 + 1 if direct else 0, *ks, *outs]
        order += outs
        for o in outs:
            row = wm[o, list(ks)].reshape(-1).copy()
            if flip[o]:
                row = ~row
            even = len(row) - len(row) % 2  # pair format (tg_bconv2d_hs_body.inc): (x0, x0 ^ x1)
            row[1:even:2] ^= row[0:even:2]
            stored.append(row)
    return np.concatenate(stored).astype(np.uint32), np.asarray(stream, np.uint16), order


FIXED_WORDS = (9, 18, 36, 72)  # words per group output with the blocks unrolled: 3x3 keeping 1, 2, 4, 8 words


def group_supports(tail: int, k_words: int = 0):
    """Every group's words per output % 8 == tail (and == k_words for the unrolled variants)."""
    def rule(node, graph) -> bool:
        w, m = graph.t(node.inputs[1]), graph.t(node.inputs[2])
        groups = groups_of(m.data)
        taps = w.shape[1] * w.shape[2]
        return (groups is not None and all(len(ks) * taps % bconv2d_hs.BLOCK == tail for ks, _ in groups)
                and (not k_words or all(len(ks) * taps == k_words for ks, _ in groups))
                and seg_supports(node, graph))
    return rule


def group_scratch(node, graph) -> int:
    w, m = graph.t(node.inputs[1]), graph.t(node.inputs[2])
    groups = groups_of(m.data)
    taps = w.shape[1] * w.shape[2]
    return 4 * (taps * w.shape[3] + max(len(ks) for ks, _ in groups) * taps
                + bitpack.words_for(max(len(outs) for _, outs in groups)))


def scratch_words(node, graph) -> int:
    w = graph.t(node.inputs[1])
    return w.shape[1] * w.shape[2] * w.shape[3]


def seg_supports(node, graph) -> bool:
    x, w, _ = (graph.t(i) for i in node.inputs)
    o = graph.t(node.outputs[0])
    a = node.attrs
    if w.shape[1] * w.shape[2] * w.shape[3] > 65535:
        return False  # uint16 segment starts
    if a.output == "binary" and w.shape[1] * w.shape[2] * a.in_channels > 32766:
        return False  # int16 class thresholds
    if a.output == "int8" and not requant_fast_ok(a.multiplier, a.shift):
        return False
    if bconv2d_hs.classes_ok(x.shape, w.shape, a, o.shape):  # the dense carry-save variants' rule
        return True
    # a tiny image (a class table per pixel or so): still worth it where the kept words and the table
    # take less flash than the reference's dense weights and mask
    _, _, rm, cm = bconv2d_hs.classes(x.shape, w.shape, a, o.shape[1], o.shape[2])
    if max(len(rm), len(cm)) > bconv2d_hs.MAX_CLASSES:
        return False
    m = graph.t(node.inputs[2]).data
    table = (2 if a.output == "binary" else 4) * len(rm) * len(cm) * w.shape[0]
    stored = 4 * w.shape[1] * w.shape[2] * int((m != 0).sum()) + table
    return stored < 4 * (w.data.size + m.size)


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
                           ("groups", c_values(stream, "uint16_t", "per group: n_out, n_words, direct, words*, channels*")),
                           ("n_groups", len(groups_of(m.data)))]
            else:
                stored, stream, pmasks = stored_tables(w.data, m.data, a)
                weights = [("weight", c_values(stored, "uint32_t", "kept words only, per output: its segments, "
                                               "input word then tap" + inverted)),
                           ("mask", None),
                           ("segs", c_values(stream, "uint16_t", "per output: n_full, n_part, (start, len)*, start*")),
                           ("part_mask", c_values(pmasks, "uint32_t") if len(pmasks) else None),
                           ("groups", None), ("n_groups", 0)]
            table = c_values(values.reshape(-1), "int16_t" if binary else "int32_t",
                             f"[{len(rmasks)}x{len(cmasks)} border classes][{cout}]" + (" in group order" if grouped else ""))
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
            ("in_h", x.shape[1]), ("in_w", x.shape[2]), ("in_c", a.in_channels),
            ("out_h", oh), ("out_w", ow), ("out_c", cout),
            ("k_h", kh), ("k_w", kw),
            ("stride_h", a.stride[0]), ("stride_w", a.stride[1]),
            ("dil_h", a.dilation[0]), ("dil_w", a.dilation[1]),
            ("pad_t", a.padding[0]), ("pad_l", a.padding[2]), ("pad_value", a.pad_value),
            *weights,
            *output_fields(a),
            *classes,
        ]
        if fast:  # class tables replace thresholds, flip and bias
            fields = [(f, None) if f in ("thresholds", "bias", "flip") else (f, v) for f, v in fields]
        return KernelCall(fields, [node.inputs[0]], list(node.outputs),
                          comment=f"bconv2d_pruned {kh}x{kw}/{a.stride[0]} {a.in_channels}->{cout} {a.output} out, "
                          f"{kept} of {cout * a.in_channels} kernels kept")

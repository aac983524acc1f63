"""Offline tables of the fast bconv2d_pruned variants (tinygen/ops/bconv2d_pruned.py,
runtime_c/include/tg_bconv2d_pruned.h): which variant a layer takes, its weights in their stored
form (kept words only), and the output stage per border class.

Segment variant: per output, runs of fully kept input words and partly kept words (counted under
their mask) in the word-major field. Group variants: outputs that keep the same whole words form
a group, counted as a dense layer over those words by the dense carry-save core.
"""

from __future__ import annotations

import numpy as np

from tinygen.ops import bconv2d_hs
from tinygen.ops.conv_gemm import requant_fast_ok
from tinygen.reference import bitpack

FULL = np.uint32(0xFFFFFFFF)


def kept_bits(mask: np.ndarray) -> np.ndarray:
    """Kept input channels per output channel (int64 [Cout])."""
    return bitpack.popcount32(mask).sum(axis=-1).astype(np.int64)


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


def stored_tables(w: np.ndarray, mask: np.ndarray, a):
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


def class_values(w: np.ndarray, mask: np.ndarray, a, rmasks, cmasks) -> np.ndarray:
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


def group_tables(w: np.ndarray, mask: np.ndarray, a):
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

"""Offline tables of the carry-save bconv2d kernels (tg_bconv2d_b1_hs8r<T>, runtime_c/include/
tg_bconv2d_hs_body.inc): which variant a layer takes and the output stage per
border position class.

The kernels compute diff = popcount(field ^ w) over the receptive field with out-of-image words
0 (+1), so their dot is the +1-padded one, Kbits - 2*diff (Kbits = kh*kw*in_c). Zero padding
(pad_value 0) drops the out-of-image taps instead, which changes the dot by
    corr[o] = sum over out-of-image taps t of (in_c - 2*popcount(w[o, t]))
and corr depends only on which taps are out of the image: on the pixel's row class (the set of
in-image kernel rows) and column class. Each class's corr is folded into the output stage:
    binary, bit = dot < thr:  Kbits - corr - 2*diff < thr  <=>  diff > floor((Kbits - corr - thr) / 2)
    binary, bit = dot > thr:  diff < ceil(v / 2)  <=>  not (diff > ceil(v / 2) - 1),  v = Kbits - corr - thr
                              and with the channel's weights stored inverted the kernel counts
                              diff' = 32*words - diff (padding bits flip too), so
                              not (diff > c)  <=>  diff' > 32*words - 1 - c:  the kernel computes
                              diff' > value for every channel
    int8:  dot * 2^p + bias = (bias + (Kbits - corr) * 2^p) - diff * 2^(p+1)    (mod 2^32)
so the kernels never test a tap per output channel, and the int8 accumulator is the same integer
as the reference's (one rounding, in requantize).
"""

from __future__ import annotations

import numpy as np

from tinygen.ops.conv_gemm import requant_fast_ok
from tinygen.reference import bitpack

BLOCK = 8  # words per carry-save block
MAX_CLASSES = 255  # per axis: uint8 class ids


# ops whose packed output has padding bits 0 whatever their input, and ops that pass bits through
# (an AND/OR or a move of words keeps 0 padding bits 0, and garbage garbage)
CLEAN_PADDING = frozenset({"binarize", "binarize_float", "conv2d_bits", "bconv2d", "bconv2d_pruned",
                           "bfully_connected"})
PASSES_BITS = frozenset({"bmax_pool2d", "reshape"})


def padding_bits_zero(graph, tensor: str) -> bool:
    """Whether the packed `tensor`'s padding bits are 0 for every model input."""
    p = graph.producer(tensor)
    while p is not None and p.op in PASSES_BITS:
        p = graph.producer(p.inputs[0])
    return p is not None and p.op in CLEAN_PADDING and graph.t(p.outputs[0]).dtype.value == "uint32"


def compacts(node, graph) -> bool:
    """Whether the kernels run each output's kh*kw*in_c bits together (field and weights): when
    in_c is no multiple of 32 and there are several taps, which drops every tap's padding bits
    from the count (3x3x45: 13 words instead of 18). Only where the input's padding bits are 0
    by construction: a graph input's are whatever the caller passed, and the reference counts
    them (popcount of whole words)."""
    w = graph.t(node.inputs[1])
    return (node.attrs.in_channels % 32 != 0 and w.shape[1] * w.shape[2] > 1
            and padding_bits_zero(graph, node.inputs[0]))


def field_words(kh: int, kw: int, in_channels: int, compact: bool = False) -> int:
    """Words per output channel the kernels count (the gathered field, one weight row)."""
    if compact:
        return -(-kh * kw * in_channels // 32)
    return kh * kw * bitpack.words_for(in_channels)


def node_words(node, graph) -> int:
    """field_words of a bconv2d node, compacted where `compacts`."""
    w = graph.t(node.inputs[1])
    return field_words(w.shape[1], w.shape[2], node.attrs.in_channels, compacts(node, graph))


def tail_of(kh: int, kw: int, in_channels: int, compact: bool = False) -> int:
    return field_words(kh, kw, in_channels, compact) % BLOCK


def axis_classes(n_out: int, stride: int, pad_before: int, k: int, dil: int, n_in: int,
                 zero_padding: bool) -> tuple[list[int], list[np.ndarray]]:
    """Class id per output position and, per class, which kernel taps lie inside the image.
    Without zero padding one class (nothing to correct)."""
    if not zero_padding:
        return [0] * n_out, [np.ones(k, bool)]
    masks: list[tuple[bool, ...]] = []
    ids = []
    for o in range(n_out):
        m = tuple(0 <= o * stride - pad_before + i * dil < n_in for i in range(k))
        if m not in masks:
            masks.append(m)
        ids.append(masks.index(m))
    return ids, [np.array(m, bool) for m in masks]


def classes(x_shape, w_shape, a, oh: int, ow: int):
    """(row ids, col ids, row masks, col masks) of a bconv2d node with attrs `a`."""
    _, h, wd, _ = x_shape
    _, kh, kw, _ = w_shape
    zero = a.pad_value == 0
    rows, rmasks = axis_classes(oh, a.stride[0], a.padding[0], kh, a.dilation[0], h, zero)
    cols, cmasks = axis_classes(ow, a.stride[1], a.padding[2], kw, a.dilation[1], wd, zero)
    return rows, cols, rmasks, cmasks


# fixed-size variants: 3x3 on 32..256 channels, and 13 words (3x3 on 42..46 channels, compact)
FIXED_WORDS = (13,) + tuple(9 * w for w in range(1, 9))


def supports_words(k_words: int):
    """The fixed-size variant of `k_words` words per output (blocks unrolled)."""
    def rule(node, graph) -> bool:
        w = graph.t(node.inputs[1])
        return node_words(node, graph) == k_words and supports(k_words % BLOCK)(node, graph)
    return rule


def supports(tail: int):
    def rule(node, graph) -> bool:
        x, w = (graph.t(i) for i in node.inputs)
        o = graph.t(node.outputs[0])
        a = node.attrs
        if node_words(node, graph) % BLOCK != tail:
            return False
        if a.output == "binary" and 32 * node_words(node, graph) > 32767:
            return False  # int16 class thresholds
        if a.output == "int8" and not requant_fast_ok(a.multiplier, a.shift):
            return False  # the kernels' tg_requantize_fast_clamp
        return classes_ok(x.shape, w.shape, a, o.shape)
    return rule


def classes_ok(x_shape, w_shape, a, o_shape) -> bool:
    """Whether a layer's border classes suit a class table (uint8 ids, and not per-pixel data)."""
    _, _, rm, cm = classes(x_shape, w_shape, a, o_shape[1], o_shape[2])
    # Where most pixels have a class of their own (tiny images), the class table is per-pixel
    # data in flash for a layer too small to gain from it: those keep the reference.
    return (len(rm) <= MAX_CLASSES and len(cm) <= MAX_CLASSES
            and 2 * len(rm) * len(cm) <= o_shape[1] * o_shape[2])


def class_values(w: np.ndarray, a, rmasks, cmasks, k_words: int) -> np.ndarray:
    """[row classes * col classes, Cout]: the output stage per class (module docstring); binary
    output values lie in [-1, 32 * words per output] (int16 when supported), int8 ones in int32."""
    cout, kh, kw, _ = w.shape
    kbits = kh * kw * a.in_channels
    pc = np.unpackbits(np.ascontiguousarray(w).view(np.uint8), axis=-1).reshape(cout, kh, kw, -1).sum(-1)
    tap_corr = (a.in_channels - 2 * pc.astype(np.int64))  # [Cout, kh, kw]
    rows = []
    for rm in rmasks:
        for cm in cmasks:
            outside = ~(rm[:, None] & cm[None, :])
            corr = (tap_corr * outside).sum(axis=(1, 2)) if a.pad_value == 0 else np.zeros(cout, np.int64)
            base = kbits - corr  # the dot when diff == 0
            if a.output == "binary":
                v = base - np.asarray(a.thresholds, np.int64)
                flip = np.asarray(a.flip, bool)
                bits = 32 * k_words
                d = np.clip(np.where(flip, -((-v) // 2) - 1, v // 2), -1, bits)
                rows.append(np.where(flip, bits - 1 - d, d))  # still in [-1, bits]
            else:
                # modulo 2^32: the kernel subtracts in wrapping arithmetic and the true accumulator fits
                # int32, while this constant alone may not (base reaches 2*Kbits for dots diff never gives)
                v = np.asarray(a.bias, np.int64) + base * (1 << a.pre_shift)
                rows.append((v + 2 ** 31) % 2 ** 32 - 2 ** 31)
    return np.stack(rows).astype(np.int32)


def stored_weights(w: np.ndarray, a, compact: bool) -> np.ndarray:
    """The weights as the kernels read them, [Cout, field_words]: OHWI words, or with `compacts`
    each output's kh*kw*in_c bits run together (tap-major); binary output inverts the flip
    channels' words (every bit, so the count becomes 32*field_words - diff); then pair format."""
    cout, kh, kw, _ = w.shape
    if compact:
        bits = bitpack.unpack_bits(np.ascontiguousarray(w), a.in_channels).reshape(cout, -1)
        rows = bitpack.pack_bits(bits)
    else:
        rows = np.ascontiguousarray(w).reshape(cout, -1)
    if a.output == "binary":
        rows = np.where(np.asarray(a.flip, bool)[:, None], ~rows, rows)
    rows = rows.astype(np.uint32)
    # pair format: words (x0, x1) stored as (x0, x0 ^ x1), an odd last word alone (the kernels'
    # carry-save adder of a pair reads d0 and d0 ^ d1)
    even = rows.shape[1] - rows.shape[1] % 2
    rows[:, 1:even:2] ^= rows[:, 0:even:2]
    return rows

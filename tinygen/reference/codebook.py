"""Codebook weights (weight sharing, issue 14): each weight is a k-bit index into a small int8
table, one table per layer or one per output channel. Mirrors runtime_c/include/tg_codebook.h.

    w[o, j] = table[t(o), index(o, j)]     t(o) = 0 (per layer) or o (per channel)

index(o, j) is the k-bit field at bit j*k of row o (little-endian: bit b of the row is bit b % 8
of byte b // 8, so a 3-bit field may straddle two bytes); each row starts on a byte boundary;
unused high bits of a row are 0. k is 1 to 4; a table has 2^k entries (unused ones 0).
"""

from __future__ import annotations

import numpy as np

INDEX_BITS = (1, 2, 3, 4)


def row_bytes(count: int, bits: int) -> int:
    return (int(count) * int(bits) + 7) // 8


def pack_indices(idx: np.ndarray, bits: int) -> np.ndarray:
    """[rows, count] indices < 2^bits -> uint8 [rows, row_bytes(count, bits)]."""
    idx = np.asarray(idx, np.int64)
    rows, count = idx.shape
    if idx.size and (idx.min() < 0 or idx.max() >= 1 << bits):
        raise ValueError(f"codebook indices must lie in [0, {(1 << bits) - 1}]")
    bit_of = (np.arange(count) * bits)[:, None] + np.arange(bits)[None, :]  # [count, bits] row bit positions
    bitvals = (idx[:, :, None] >> np.arange(bits)) & 1  # [rows, count, bits]
    flat = np.zeros((rows, row_bytes(count, bits) * 8), np.uint8)
    flat[:, bit_of.reshape(-1)] = bitvals.reshape(rows, -1)
    return np.packbits(flat.reshape(rows, -1, 8), axis=-1, bitorder="little").reshape(rows, -1)


def unpack_indices(packed: np.ndarray, bits: int, count: int) -> np.ndarray:
    packed = np.asarray(packed, np.uint8)
    if packed.ndim != 2 or packed.shape[1] != row_bytes(count, bits):
        raise ValueError(f"{count} {bits}-bit indices take rows of {row_bytes(count, bits)} bytes, got {packed.shape}")
    flat = np.unpackbits(packed, axis=1, bitorder="little")[:, :count * bits].reshape(packed.shape[0], count, bits)
    return (flat.astype(np.int64) << np.arange(bits)).sum(axis=-1)


def padding_zero(packed: np.ndarray, bits: int, count: int) -> bool:
    flat = np.unpackbits(np.asarray(packed, np.uint8), axis=1, bitorder="little")
    return not flat[:, count * bits:].any()


def decode(packed: np.ndarray, table: np.ndarray, bits: int, count: int) -> np.ndarray:
    """-> int32 weights [rows, count]."""
    idx = unpack_indices(packed, bits, count)
    t = np.asarray(table, np.int32)
    rows = np.zeros(idx.shape[0], np.int64) if t.shape[0] == 1 else np.arange(idx.shape[0])
    return t[rows[:, None], idx]


def encode(w2d: np.ndarray, max_bits: int = 4) -> tuple[np.ndarray, np.ndarray, int] | None:
    """int8 weights [Cout, K] -> (packed indices, table [T, 2^k], k) with the fewest bytes of the
    per-layer and per-channel forms, or None when some channel has more than 2^max_bits values.
    Exact by construction: the table holds the distinct values themselves."""
    w2d = np.asarray(w2d, np.int64)
    cout, k = w2d.shape
    best = None
    layer_values = np.unique(w2d)
    per_channel = [np.unique(r) for r in w2d]
    widest = max((len(v) for v in per_channel), default=1)
    for per_layer in (True, False):
        n = len(layer_values) if per_layer else widest
        if n > 1 << max_bits:
            continue
        bits = max(1, int(np.ceil(np.log2(max(n, 2)))))
        tables = np.zeros((1 if per_layer else cout, 1 << bits), np.int8)
        idx = np.zeros((cout, k), np.int64)
        for o in range(cout):
            values = layer_values if per_layer else per_channel[o]
            tables[0 if per_layer else o, :len(values)] = values
            idx[o] = np.searchsorted(values, w2d[o])
        packed = pack_indices(idx, bits)
        size = packed.size + tables.size
        if best is None or size < best[0]:
            best = (size, packed, tables, bits)
    return None if best is None else best[1:]

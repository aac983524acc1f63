"""Sparse int8 weights (unstructured sparsity, issue 14): only the non-zeros are stored, each with
a 4-bit step to its position. Mirrors runtime_c/include/tg_sparse.h.

Row o of a [Cout, K] weight matrix is a list of entries (step_j, value_j):

    position_j = position_{j-1} + step_j   (position_{-1} = 0, so step_0 is the first position)
    w[o, position_j] += value_j            (every other weight of the row is 0)

A step is 0-15: a gap wider than 15 is bridged by filler entries (15, 0); each row is padded to
an even number of entries with (0, 0), so its steps fill whole bytes (two per byte, low nibble
first). Stored: values int8 [entries], steps uint8 [entries / 2], pairs [Cout] (entries / 2 of
each row, emitted as uint16).
"""

from __future__ import annotations

import numpy as np

MAX_STEP = 15
MAX_PAIRS = 0xFFFF


def encode(w2d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """int8 [Cout, K] -> (values int8 [E], steps uint8 [E/2], pairs int32 [Cout])."""
    values, steps, pairs = [], [], []
    for row in np.asarray(w2d):
        nz = np.flatnonzero(row)
        rv, rs, pos = [], [], 0
        for p in nz:
            gap = int(p) - pos
            while gap > MAX_STEP:
                rv.append(0)
                rs.append(MAX_STEP)
                gap -= MAX_STEP
                pos += MAX_STEP
            rv.append(int(row[p]))
            rs.append(gap)
            pos = int(p)
        if len(rv) % 2:
            rv.append(0)
            rs.append(0)
        values += rv
        steps += rs
        pairs.append(len(rv) // 2)
    s = np.asarray(steps, np.uint8).reshape(-1, 2) if steps else np.zeros((0, 2), np.uint8)
    return (np.asarray(values, np.int8), (s[:, 0] | (s[:, 1] << 4)).astype(np.uint8),
            np.asarray(pairs, np.int32))


def decode(values: np.ndarray, steps: np.ndarray, pairs: np.ndarray, k: int) -> np.ndarray:
    """-> int32 weights [Cout, K]."""
    s = np.stack([steps & 15, steps >> 4], axis=1).reshape(-1).astype(np.int64)
    out = np.zeros((len(pairs), k), np.int32)
    start = 0
    for o, n in enumerate(np.asarray(pairs)):
        end = start + 2 * int(n)
        pos = np.cumsum(s[start:end])
        if pos.size and pos[-1] >= k:
            raise ValueError(f"sparse row {o} steps past its {k} weights")
        np.add.at(out[o], pos, np.asarray(values[start:end], np.int32))
        start = end
    if start != len(values):
        raise ValueError(f"sparse rows hold {start} entries, values has {len(values)}")
    return out


def stored_bytes(values: np.ndarray, steps: np.ndarray, pairs: np.ndarray) -> int:
    return int(values.size + steps.size + 2 * pairs.size)

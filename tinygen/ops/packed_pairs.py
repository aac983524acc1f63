"""The "pairs" weight layout of the fast packed-weight kernels (runtime_c/include/tg_packed_dot.h)
and the bias they read with the input and weight offsets folded in; shared by conv2d_packed and
fully_connected_packed."""

from __future__ import annotations

import numpy as np

from tinygen.reference import bitpack


def pair_layout(codes: np.ndarray, bits: int) -> np.ndarray:
    """uint8 [Cout, words*4]: codes [Cout, K] in tg_fully_connected_packed_s8_fast's word order
    (field j of half h of word i holds code 4*(j//2) + j%2 + 2h of the word's 32/bits inputs)."""
    cout, k = codes.shape
    per = 32 // bits
    words = -(-k // per)
    out = np.zeros((cout, words), np.uint64)
    for g in range(per):
        j, half = 2 * (g // 4) + (g & 1), (g >> 1) & 1
        cols = np.arange(g, words * per, per)
        part = np.zeros((cout, words), np.uint64)
        valid = cols < k
        part[:, valid] = codes[:, cols[valid]].astype(np.uint64)
        out |= part << np.uint64(16 * half + bits * j)
    return out.astype("<u4").view(np.uint8).reshape(cout, words * 4)


def folded_bias(bias: np.ndarray, packed: np.ndarray, bits: int, weight_offset: int, input_offset: int,
                k: int) -> np.ndarray:
    """bias + step*input_offset*sum(codes) + k*offset*input_offset per output row (int64), so that
    acc = bias' + step*sum(code*x) + offset*sum(x) over the row's k inputs."""
    step, off = bitpack.weight_step_offset(bits, weight_offset)
    codes = bitpack.unpack_codes(packed, bits, k).astype(np.int64)
    return np.asarray(bias, np.int64) + step * input_offset * codes.sum(axis=1) + k * off * input_offset


def fits_int32(v: np.ndarray) -> bool:
    return bool(np.all((v >= -(1 << 31)) & (v < (1 << 31))))

"""Offline preparation for the fast int8 conv/FC kernels (runtime_c/include/tg_conv_gemm.h and
tg_conv_dw.h): weight reordering into the order the kernels read, the input offset folded into the
bias, and the conditions under which both are exact."""

from __future__ import annotations

import numpy as np

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def gemm_weights(w2d: np.ndarray) -> np.ndarray:
    """[Cout, K] int8 -> the GEMM tile's order: per channel pair, each 4-k block of channel o then
    of o+1, then the K % 4 tails of o and o+1; an odd last channel follows in natural order."""
    cout, k = w2d.shape
    blocks, tail = k // 4, k % 4
    parts = []
    for o in range(0, cout - 1, 2):
        pair = w2d[o:o + 2]
        body = pair[:, :blocks * 4].reshape(2, blocks, 4).transpose(1, 0, 2).reshape(-1)
        parts += [body, pair[0, blocks * 4:], pair[1, blocks * 4:]]
    if cout % 2:
        parts.append(w2d[-1])
    return np.concatenate(parts).astype(np.int8) if parts else np.zeros(0, np.int8)


def folded_bias(w2d: np.ndarray, bias: np.ndarray, input_offset: int) -> np.ndarray | None:
    """bias[o] + input_offset * sum_k w[o, k] (exact, int64), or None when it or any partial sum
    of the kernel's accumulation (each step adds one product of two int8, |.| <= 2^14) could leave
    int32: the fast kernels then do not apply."""
    b = bias.astype(np.int64) + input_offset * w2d.astype(np.int64).sum(axis=1)
    bound = np.abs(b) + (1 << 14) * w2d.shape[1]
    if bound.size and bound.max() > INT32_MAX:
        return None
    return b.astype(np.int32)


def requant_fast_ok(multiplier, shift) -> bool:
    """tg_requantize_fast's contract (tg_requant_fast.h): m != INT32_MIN, shift in [-31, 30]."""
    return all(m != INT32_MIN for m in multiplier) and all(-31 <= s <= 30 for s in shift)


# --- the widened-rows GEMM (runtime_c/include/tg_gemm_w16.h) -----------------------------------

W16_ROWS = 4  # rows (pixels) per tile: TG_W16_ROWS
W16_Q = 5  # int32 words of the output-stage record per channel: TG_W16_Q


def k4(k: int) -> int:
    return (k + 3) & ~3


def w16_cols_bytes(k: int) -> int:
    """Scratch of one widened tile: W16_ROWS rows of k4(k) int16 (tg_w16_cols_bytes)."""
    return 2 * W16_ROWS * k4(k)


def w16_weights(w2d: np.ndarray) -> np.ndarray:
    """[Cout, K] int8 -> [Cout, k4(K)], zero padded (a zero weight adds nothing)."""
    cout, k = w2d.shape
    out = np.zeros((cout, k4(k)), np.int8)
    out[:, :k] = w2d
    return out.reshape(-1)


def w16_stage_ok(multiplier, shift) -> bool:
    """The record output stage's contract (tg_gemm_w16.h): m in {0} U [2^30, 2^31), shift in
    [-23, -1]. TFLite's and tinygen's quantize_multiplier give such m for every real scale."""
    return all(m == 0 or (1 << 30) <= m <= INT32_MAX for m in multiplier) and all(-23 <= s <= -1 for s in shift)


def w16_records(bias: np.ndarray, multiplier, shift, output_offset: int) -> np.ndarray:
    """Per channel {bias, m, k_lo, k_hi, sh} (int32 words) for tg_w16_scale: K = 2^30 + 2^(30+e)
    + output_offset * 2^(31+e) as a 64-bit value split in halves, sh = e - 1, e = -shift; `bias`
    is the folded bias (input offset included)."""
    rows = []
    for b, m, s in zip(bias.tolist(), multiplier, shift):
        e = -s
        k = (1 << 30) + (1 << (30 + e)) + output_offset * (1 << (31 + e))
        lo, hi = k & 0xFFFFFFFF, k >> 32
        rows.append((b, m, lo - (1 << 32) if lo >= 1 << 31 else lo, hi, e - 1))
    return np.array(rows, np.int64).astype(np.int32).reshape(-1)


def fc_w16_weights(w2d: np.ndarray) -> np.ndarray:
    """[Cout, K] int8 -> tg_fully_connected_s8_w16's order: Cout padded with zero channels to a
    multiple of 4 and K with zeros to k4(K); per group of 4 channels, per 4-k block, the 4 bytes
    of each channel of the group in order."""
    cout, k = w2d.shape
    n4 = (cout + 3) & ~3
    padded = np.zeros((n4, k4(k)), np.int8)
    padded[:cout, :k] = w2d
    return padded.reshape(n4 // 4, 4, k4(k) // 4, 4).transpose(0, 2, 1, 3).reshape(-1)


def fc_w16_records(bias: np.ndarray, multiplier, shift, output_offset: int) -> np.ndarray:
    """w16_records for each channel, then all-zero records up to a multiple of 4 channels (their
    outputs are computed with the group's and never stored)."""
    recs = w16_records(bias, multiplier, shift, output_offset)
    pad = (-len(multiplier)) % 4
    return np.concatenate([recs, np.zeros(pad * W16_Q, np.int32)])

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

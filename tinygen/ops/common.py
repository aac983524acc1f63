"""Helpers shared by op modules: output sizes, requantization, windows."""

from __future__ import annotations

import numpy as np

from tinygen.reference import fixedpoint as fx


def conv_out_size(size: int, k: int, stride: int, pad_lo: int, pad_hi: int, dilation: int = 1) -> int:
    return (size + pad_lo + pad_hi - dilation * (k - 1) - 1) // stride + 1


def requantize_to_int8(acc: np.ndarray, multiplier, shift, output_offset: int, act_min: int, act_max: int) -> np.ndarray:
    """acc (int32, last axis = channels when multiplier/shift are per channel) -> clamped int8."""
    out = fx.requantize(acc, np.asarray(multiplier, np.int64), np.asarray(shift, np.int64)) + output_offset
    return np.clip(out, act_min, act_max).astype(np.int8)


def windows(x: np.ndarray, kh: int, kw: int, stride: tuple[int, int], dilation: tuple[int, int],
            out_h: int, out_w: int) -> np.ndarray:
    """[N,H,W,C] (already padded) -> [N,out_h,out_w,kh,kw,C] view of the receptive fields."""
    sh, sw = stride
    dh, dw = dilation
    n, _, _, c = x.shape
    s = x.strides
    return np.lib.stride_tricks.as_strided(
        x,
        shape=(n, out_h, out_w, kh, kw, c),
        strides=(s[0], s[1] * sh, s[2] * sw, s[1] * dh, s[2] * dw, s[3]),
        writeable=False,
    )


def pad_nhwc(x: np.ndarray, padding: tuple[int, int, int, int], value: int) -> np.ndarray:
    t, b, l, r = padding
    if not any(padding):
        return x
    return np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)), constant_values=value)

"""Helpers shared by op modules: output sizes, requantization, windows."""

from __future__ import annotations

import numpy as np

from tinygen.reference import fixedpoint as fx


def conv_out_size(size: int, k: int, stride: int, pad_lo: int, pad_hi: int, dilation: int = 1) -> int:
    return (size + pad_lo + pad_hi - dilation * (k - 1) - 1) // stride + 1


def pool_out_hw(x_shape, kernel, stride, padding, dilation=(1, 1)) -> tuple[int, int]:
    """(height, width) of a window op's output on an NHWC input; padding is (top, bottom, left, right)."""
    _, h, w, _ = x_shape
    return (conv_out_size(h, kernel[0], stride[0], padding[0], padding[1], dilation[0]),
            conv_out_size(w, kernel[1], stride[1], padding[2], padding[3], dilation[1]))


def out_hw(x_shape, *weight_shape_and_attrs) -> tuple[int, int]:
    """pool_out_hw of a windowed op: out_hw(x_shape, w_shape, attrs) takes the window from OHWI
    weights, out_hw(x_shape, attrs) from attrs.kernel; attrs holds stride, padding and, unless
    the op has none, dilation."""
    *w_shape, a = weight_shape_and_attrs
    kernel = (w_shape[0][1], w_shape[0][2]) if w_shape else a.kernel
    return pool_out_hw(x_shape, kernel, a.stride, a.padding, getattr(a, "dilation", (1, 1)))


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


def check_channel_output(node, graph, attrs, bias, out_shape: tuple[int, ...]) -> None:
    """The per-output-channel int8 output stage of conv and fully connected layers (packed or not):
    one bias, multiplier and shift per output channel (the last axis of out_shape), the expected
    output shape, an int8 clamp range."""
    cout = out_shape[-1]
    if not bias.is_const or bias.shape != (cout,) or len(attrs.multiplier) != cout or len(attrs.shift) != cout:
        raise ValueError("bias/multiplier/shift must have one entry per output channel")
    if graph.t(node.outputs[0]).shape != tuple(out_shape):
        raise ValueError(f"output shape should be {tuple(out_shape)}")
    if not -128 <= attrs.act_min <= attrs.act_max <= 127:
        raise ValueError(f"bad activation range [{attrs.act_min}, {attrs.act_max}]")

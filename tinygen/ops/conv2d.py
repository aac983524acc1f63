"""conv2d: int8 convolution with per-output-channel requantization (TFLM int8 scheme).

    acc[n,y,x,o] = bias[o] + sum_{i,j,c} w[o,i,j,c] * (in[n, y*sh - pt + i*dh, x*sw - pl + j*dw, g*cg + c]
                                                         + input_offset)
    out = clamp(requantize(acc, multiplier[o], shift[o]) + output_offset, act_min, act_max)

Input NHWC int8, weight OHWI int8 ([Cout, kh, kw, Cin/groups]), bias int32 [Cout]. Out-of-image
taps are skipped, which equals padding with the input zero point. `groups == Cin` with
`Cout = Cin * multiplier` is a depthwise convolution with channel multiplier.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinygen.ops import inplace_rows
from tinygen.ops.base import Kernel, KernelCall, OpDef, reference_kernel, c_values, register
from tinygen.ops.common import check_channel_output, out_hw, pad_nhwc, requantize_to_int8, windows
from tinygen.ops.conv_gemm import (folded_bias, gemm_weights, requant_fast_ok, w16_cols_bytes, w16_records,
                                   w16_stage_ok, w16_weights, k4)


@dataclass(frozen=True)
class Conv2dAttrs:
    stride: tuple[int, int]
    padding: tuple[int, int, int, int]  # top, bottom, left, right
    dilation: tuple[int, int]
    groups: int
    input_offset: int  # -input zero point
    output_offset: int  # output zero point
    multiplier: tuple[int, ...]  # per output channel
    shift: tuple[int, ...]
    act_min: int = -128
    act_max: int = 127


def _weights_2d(node, graph) -> np.ndarray:
    """The weights as the fast kernels' [Cout, K] matrix: OHWI flattened (groups 1), or for a
    depthwise layer [C, kh*kw]."""
    w = graph.t(node.inputs[1]).data
    return w.reshape(w.shape[0], -1)


def _fast_common(node, graph) -> bool:
    x, w, b = (graph.t(i) for i in node.inputs)
    a: Conv2dAttrs = node.attrs
    return (x.shape[0] == 1 and w.is_const and b.is_const and requant_fast_ok(a.multiplier, a.shift)
            and folded_bias(_weights_2d(node, graph), b.data, a.input_offset) is not None)


def _dense(node, graph) -> bool:
    return node.attrs.groups == 1 and _fast_common(node, graph)


def _pointwise(node, graph) -> bool:
    a: Conv2dAttrs = node.attrs
    w = graph.t(node.inputs[1])
    return (w.shape[1:3] == (1, 1) and a.stride == (1, 1) and not any(a.padding)) and _dense(node, graph)


def _pointwise_w16(node, graph) -> bool:
    return w16_stage_ok(node.attrs.multiplier, node.attrs.shift) and _pointwise(node, graph)


def _dense_w16(node, graph) -> bool:
    return w16_stage_ok(node.attrs.multiplier, node.attrs.shift) and _dense(node, graph)


def _w16_scratch(node, graph) -> int:
    return w16_cols_bytes(graph.t(node.inputs[0]).shape[3])


def _im2col4_scratch(node, graph) -> int:
    k = int(np.prod(graph.t(node.inputs[1]).shape[1:]))
    return w16_cols_bytes(k) + k4(k)


def _dw_requant_ok(node, graph) -> bool:
    """tg_dw_requant's contract (tg_conv_dw.h): shifts in [-30, -1] and |acc| < 2^30 for every
    output channel, acc = folded bias + sum w * x over int8 x."""
    a: Conv2dAttrs = node.attrs
    if not all(-30 <= s <= -1 for s in a.shift):
        return False
    w2d = _weights_2d(node, graph).astype(np.int64)
    folded = folded_bias(w2d, graph.t(node.inputs[2]).data, a.input_offset)
    return folded is not None and int((np.abs(folded.astype(np.int64)) + 128 * np.abs(w2d).sum(axis=1)).max()) < 1 << 30


def _depthwise(node, graph, k=None, s=None) -> bool:
    x, w = graph.t(node.inputs[0]), graph.t(node.inputs[1])
    a: Conv2dAttrs = node.attrs
    if not (a.groups == x.shape[3] == w.shape[0] and w.shape[3] == 1 and w.shape[1] * w.shape[2] <= 64):
        return False
    if k is not None and (w.shape[1:3] != (k, k) or a.stride != (s, s) or a.dilation != (1, 1)):
        return False
    return _fast_common(node, graph) and _dw_requant_ok(node, graph)


def _depthwise_mult(node, graph) -> bool:
    """Depthwise with a channel multiplier > 1 (tg_conv2d_s8_dwm)."""
    x, w = graph.t(node.inputs[0]), graph.t(node.inputs[1])
    a: Conv2dAttrs = node.attrs
    return (a.groups == x.shape[3] > 1 and w.shape[0] % a.groups == 0 and w.shape[3] == 1
            and w.shape[1] * w.shape[2] <= 64 and w.shape[0] > a.groups
            and _fast_common(node, graph) and _dw_requant_ok(node, graph))


def _depthwise_mult_w16(node, graph) -> bool:
    """tg_conv2d_s8_dwm_w16: tg_conv2d_s8_dwm's layers whose requantization the w16 record stage
    takes (tg_gemm_w16.h)."""
    return w16_stage_ok(node.attrs.multiplier, node.attrs.shift) and _depthwise_mult(node, graph)


def _dw_weights(w2d: np.ndarray) -> np.ndarray:
    """[C, taps] -> [ceil(C/4)][taps][4], zeros after the last channel (tg_conv_dw.h)."""
    c, taps = w2d.shape
    padded = np.zeros(((c + 3) // 4 * 4, taps), np.int8)
    padded[:c] = w2d
    return padded.reshape(-1, 4, taps).transpose(0, 2, 1).reshape(-1)


def _dwm_weights(w2d: np.ndarray, groups: int) -> np.ndarray:
    """[Cout, taps] int8 (Cout = groups * M) -> int16 tap pairs [groups][ceil(taps/2)][M] (0 after
    the last tap), as the little-endian bytes tg_conv_dwm.h loads one word per pair from."""
    cout, taps = w2d.shape
    padded = np.zeros((cout, taps + (taps & 1)), np.int16)
    padded[:, :taps] = w2d
    pairs = padded.reshape(groups, cout // groups, -1, 2).transpose(0, 2, 1, 3)
    return np.ascontiguousarray(pairs).astype("<i2").view(np.int8).reshape(-1)


def _im2col_scratch(node, graph) -> int:
    w = graph.t(node.inputs[1])
    return 2 * ((w.shape[1] * w.shape[2] * w.shape[3] + 3) & ~3)


def _dw_scratch(node, graph) -> int:
    return (graph.t(node.inputs[0]).shape[3] + 3) & ~3


_DSP = frozenset({"dsp"})
_GEMM = "GEMM tile: channel pairs, 4-k blocks interleaved (tg_conv_gemm.h); bias + input_offset*sum(w)"
_W16 = ("[Cout][K rounded up to 4] zero padded (tg_gemm_w16.h); bias = per channel {bias + input_offset*sum(w), "
        "m, k_lo, k_hi, sh} output-stage records")
_W16_KERNELS = frozenset({"tg_conv2d_s8_pw4", "tg_conv2d_s8_im2col4"})
_DW = "[ceil(C/4)][kh*kw][4] (channel blocks of 4, zero-padded); bias + input_offset*sum(w)"
_DWM = "int16 tap pairs [Cin][ceil(kh*kw/2)][M]; bias + input_offset*sum(w)"
_DWM_W16 = ("int16 tap pairs [Cin][ceil(kh*kw/2)][M]; bias = per channel {bias + input_offset*sum(w), m, k_lo, k_hi, "
            "sh} output-stage records (tg_gemm_w16.h)")


def conv_fields(x, o, kernel_hw, a, weight_fields: list) -> list:
    """The fields of tg_conv2d_params in struct order (tg_conv2d.h), also the prefix and suffix of
    the compressed convs' params (codebook, packed, sparse): geometry, offsets and clamp, then the
    variant's weight fields, then the per-channel requantization arrays. `a` has the Conv2dAttrs
    field names; `x`, `o` the NHWC input and output tensors."""
    return [
        ("in_h", x.shape[1]), ("in_w", x.shape[2]), ("in_c", x.shape[3]),
        ("out_h", o.shape[1]), ("out_w", o.shape[2]), ("out_c", o.shape[3]),
        ("k_h", kernel_hw[0]), ("k_w", kernel_hw[1]),
        ("stride_h", a.stride[0]), ("stride_w", a.stride[1]),
        ("dil_h", a.dilation[0]), ("dil_w", a.dilation[1]),
        ("pad_t", a.padding[0]), ("pad_l", a.padding[2]), ("groups", a.groups),
        ("input_offset", a.input_offset), ("output_offset", a.output_offset),
        ("act_min", a.act_min), ("act_max", a.act_max),
        *weight_fields,
        ("multiplier", c_values(a.multiplier, "int32_t")),
        ("shift", c_values(a.shift, "int32_t")),
    ]


@register
class Conv2d(OpDef):
    name = "conv2d"
    attrs_type = Conv2dAttrs
    kernels = (
        Kernel("tg_conv2d_s8_pw4", "tg_conv2d.h", "tg_conv2d_params", _pointwise_w16, _DSP, _w16_scratch, _W16,
               inplace_lag=inplace_rows.lag_bytes),
        Kernel("tg_conv2d_s8_1x1", "tg_conv2d.h", "tg_conv2d_params", _pointwise, _DSP, layout=_GEMM,
               inplace_lag=inplace_rows.lag_bytes),
        Kernel("tg_conv2d_s8_dw3x3s1", "tg_conv2d.h", "tg_conv2d_params",
               lambda n, g: _depthwise(n, g, 3, 1), _DSP, _dw_scratch, _DW, inplace_lag=inplace_rows.lag_bytes),
        Kernel("tg_conv2d_s8_dw3x3s2", "tg_conv2d.h", "tg_conv2d_params",
               lambda n, g: _depthwise(n, g, 3, 2), _DSP, _dw_scratch, _DW, inplace_lag=inplace_rows.lag_bytes),
        Kernel("tg_conv2d_s8_dw", "tg_conv2d.h", "tg_conv2d_params", _depthwise, _DSP, _dw_scratch, _DW,
               inplace_lag=inplace_rows.lag_bytes),
        Kernel("tg_conv2d_s8_dwm_w16", "tg_conv2d.h", "tg_conv2d_params", _depthwise_mult_w16, _DSP, _dw_scratch,
               _DWM_W16),
        Kernel("tg_conv2d_s8_dwm", "tg_conv2d.h", "tg_conv2d_params", _depthwise_mult, _DSP, _dw_scratch, _DWM),
        Kernel("tg_conv2d_s8_im2col4", "tg_conv2d.h", "tg_conv2d_params", _dense_w16, _DSP, _im2col4_scratch, _W16,
               inplace_lag=inplace_rows.lag_bytes),
        Kernel("tg_conv2d_s8_im2col", "tg_conv2d.h", "tg_conv2d_params", _dense, _DSP, _im2col_scratch, _GEMM,
               inplace_lag=inplace_rows.lag_bytes),
        reference_kernel("tg_conv2d_s8_ref", "tg_conv2d.h", "tg_conv2d_params", inplace_lag=inplace_rows.lag_bytes),
    )

    def check(self, node, graph):
        x, w, b = (graph.t(i) for i in node.inputs)
        a: Conv2dAttrs = node.attrs
        cout, _, _, cg = w.shape
        if x.shape[3] != cg * a.groups or cout % a.groups:
            raise ValueError(f"channels {x.shape[3]} -> {cout} do not fit groups={a.groups}")
        check_channel_output(node, graph, a, b, (x.shape[0], *out_hw(x.shape, w.shape, a), cout))

    def reference(self, node, graph, inputs):
        x, w, b = inputs
        a: Conv2dAttrs = node.attrs
        cout, kh, kw, cg = w.shape
        oh, ow = out_hw(x.shape, w.shape, a)
        xc = pad_nhwc(x.astype(np.int32) + a.input_offset, a.padding, 0)
        win = windows(xc, kh, kw, a.stride, a.dilation, oh, ow)  # [N,oh,ow,kh,kw,Cin]
        n = x.shape[0]
        opg = cout // a.groups
        acc = np.empty((n, oh, ow, cout), np.int64)
        for g in range(a.groups):
            patch = win[..., g * cg:(g + 1) * cg].reshape(n * oh * ow, kh * kw * cg)
            wg = w[g * opg:(g + 1) * opg].reshape(opg, kh * kw * cg)
            # float64 products are exact here: |sum| < 2^53 for any int8 layer that fits a MCU.
            acc[..., g * opg:(g + 1) * opg] = (patch.astype(np.float64) @ wg.T.astype(np.float64)).reshape(n, oh, ow, opg)
        acc += b.astype(np.int64)
        return [requantize_to_int8(acc, a.multiplier, a.shift, a.output_offset, a.act_min, a.act_max)]

    def inplace_input(self, node, graph):
        return 0 if inplace_rows.same_size_conv(node, graph) else None  # on row bands, with a lag buffer

    def macs(self, node, graph):
        w = graph.t(node.inputs[1])
        o = graph.t(node.outputs[0])
        return int(np.prod(o.shape)) * w.shape[1] * w.shape[2] * w.shape[3]

    def _weight_fields(self, node, graph):
        """weight and bias as the node's kernel reads them (see each Kernel's layout)."""
        w, b = graph.t(node.inputs[1]), graph.t(node.inputs[2])
        kernel = self.kernel(node)
        if kernel.reference:
            return [("weight", c_values(w.data.reshape(-1), "int8_t", f"OHWI {list(w.shape)}")),
                    ("bias", c_values(b.data, "int32_t"))]
        w2d = _weights_2d(node, graph)
        bias = folded_bias(w2d, b.data, node.attrs.input_offset)
        if kernel.symbol in _W16_KERNELS:
            a: Conv2dAttrs = node.attrs
            return [("weight", c_values(w16_weights(w2d), "int8_t", f"[Cout][K4] of OHWI {list(w.shape)}")),
                    ("bias", c_values(w16_records(bias, a.multiplier, a.shift, a.output_offset), "int32_t",
                                      "{bias + input_offset * sum(w), m, k_lo, k_hi, sh} per channel"))]
        if kernel.symbol == "tg_conv2d_s8_dwm_w16":
            a: Conv2dAttrs = node.attrs
            return [("weight", c_values(_dwm_weights(w2d, node.attrs.groups), "int8_t",
                                        f"int16 tap pairs [Cin][ceil(kh*kw/2)][M] from OHWI {list(w.shape)}")),
                    ("bias", c_values(w16_records(bias, a.multiplier, a.shift, a.output_offset), "int32_t",
                                      "{bias + input_offset * sum(w), m, k_lo, k_hi, sh} per channel"))]
        if kernel.symbol == "tg_conv2d_s8_dwm":
            data, what = _dwm_weights(w2d, node.attrs.groups), f"int16 tap pairs [Cin][ceil(kh*kw/2)][M] from OHWI {list(w.shape)}"
        elif kernel.symbol.startswith("tg_conv2d_s8_dw"):
            data, what = _dw_weights(w2d), f"[ceil(C/4)][kh*kw][4] from OHWI {list(w.shape)}"
        else:
            data, what = gemm_weights(w2d), f"GEMM tile order of OHWI {list(w.shape)}"
        return [("weight", c_values(data, "int8_t", what)),
                ("bias", c_values(bias, "int32_t", "bias + input_offset * sum(w)"))]

    def emit(self, node, graph):
        x, w, b = (graph.t(i) for i in node.inputs)
        o = graph.t(node.outputs[0])
        a: Conv2dAttrs = node.attrs
        fields = conv_fields(x, o, w.shape[1:3], a, self._weight_fields(node, graph))
        kind = "depthwise " if a.groups == x.shape[3] and a.groups > 1 else ""
        return KernelCall(fields, [node.inputs[0]], list(node.outputs),
            comment=f"{kind}conv2d {w.shape[1]}x{w.shape[2]}/{a.stride[0]} {x.shape[3]}->{o.shape[3]}"
            + (f" groups={a.groups}" if a.groups > 1 else ""),
        )

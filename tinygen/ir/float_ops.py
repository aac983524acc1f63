"""Attributes of the float dialect: what importers produce and lowering passes consume.

Activations here are in the framework's layout (NCHW for 4-D tensors, as PyTorch has them).
Binary (+-1) tensors are marked with dtype uint32 (see the section at the end).
Padding is always explicit (top, bottom, left, right). A fused `activation` on conv/linear/add is
one of "none", "relu", "relu6".
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Conv2d:
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int, int, int] = (0, 0, 0, 0)
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1
    activation: str = "none"


@dataclass(frozen=True)
class Linear:
    activation: str = "none"


@dataclass(frozen=True)
class BatchNorm:
    eps: float = 1e-5


@dataclass(frozen=True)
class FakeQuant:
    """Quantize-dequantize: real = scale * (clamp(rint(x / scale) + zp, qmin, qmax) - zp)."""

    scale: tuple[float, ...]
    zero_point: tuple[int, ...]
    qmin: int
    qmax: int
    axis: int | None = None


@dataclass(frozen=True)
class Elementwise:
    """add / mul with numpy broadcasting."""

    activation: str = "none"


@dataclass(frozen=True)
class Concat:
    axis: int


@dataclass(frozen=True)
class Slice:
    axis: int
    start: int
    end: int
    step: int = 1


@dataclass(frozen=True)
class Pool2d:
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int, int, int] = (0, 0, 0, 0)
    dilation: tuple[int, int] = (1, 1)
    count_include_pad: bool = True  # avg pool only


@dataclass(frozen=True)
class Mean:
    axes: tuple[int, ...]
    keepdim: bool


@dataclass(frozen=True)
class Clamp:
    """relu = Clamp(0, None), relu6 = Clamp(0, 6), hardtanh = Clamp(lo, hi)."""

    lo: float | None
    hi: float | None


@dataclass(frozen=True)
class Unary:
    """Element-wise function without parameters: sigmoid, tanh, hardswish, hardsigmoid."""

    fn: str


@dataclass(frozen=True)
class Reshape:
    shape: tuple[int, ...]


# -- binary (+-1) layers ----------------------------------------------------------------------------
# A float-dialect tensor whose dtype is DType.UINT32 is binary: every value is -1 or +1 (its shape
# stays logical, NCHW). Binary tensors come from `sign` and carry no quantization parameters; on
# the device they are bit-packed along channels (tinygen/reference/bitpack.py).


@dataclass(frozen=True)
class Sign:
    """+1 where x >= 0, -1 elsewhere (0 maps to +1)."""


@dataclass(frozen=True)
class BatchNormParams:
    """Inference BatchNorm per channel: gamma * (x - mean) / sqrt(var + eps) + beta."""

    gamma: tuple[float, ...]
    beta: tuple[float, ...]
    mean: tuple[float, ...]
    var: tuple[float, ...]
    eps: float


@dataclass(frozen=True)
class Conv2dSign:
    """conv2d_sign: sign(BN(conv2d(x, w) + bias)) in one node (BN optional); binary output."""

    conv: Conv2d
    bn: BatchNormParams | None = None


@dataclass(frozen=True)
class LinearSign:
    """linear_sign: sign(BN(linear(x, w) + bias)) in one node (BN optional); binary output."""

    bn: BatchNormParams | None = None

"""Float-dialect attributes of the ops added for FlyNet-style networks (see float_ops.py for the
conventions: source layout, NCHW for 4-D tensors, axes in that layout).

    group_max  max over consecutive groups of `group` values along `axis` (max-out of multi-head
               depthwise convolutions: view(N, m, h, H, W).amax(2) is group_max(axis=1, group=h))
    maximum    element-wise max of two activations (attrs: float_ops.Elementwise)
    variance   torch.var over `axes` with `correction` (0: population variance)
    conv1d     1-D convolution of [N, C, L] tensors
    softmax    softmax(beta * x) along `axis` (beta = 1 / temperature; a division of the input by
               a number is folded into beta by the importer)
    scale      x * factor or x / factor for a Python number (float32 arithmetic, as torch)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GroupMax:
    axis: int
    group: int


@dataclass(frozen=True)
class Variance:
    axes: tuple[int, ...]
    keepdim: bool
    correction: int = 0


@dataclass(frozen=True)
class Conv1d:
    stride: int = 1
    padding: tuple[int, int] = (0, 0)  # left, right
    dilation: int = 1
    groups: int = 1


@dataclass(frozen=True)
class Softmax:
    axis: int
    beta: float = 1.0


@dataclass(frozen=True)
class Scale:
    factor: float
    divide: bool = False  # True: x / factor (torch's division), False: x * factor

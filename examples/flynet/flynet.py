"""FlyNet-h3 in PyTorch, quantization-aware (int8 activations, 8- or 4-bit weights), for tinygen.

FlyNet (thesis chapter 8) is a MobileNetV3 backbone with four changes, all here:

* Multihead-depthwise (MDW) convolution: each of the m input channels is convolved with h filters
  (a depthwise convolution with channel multiplier h, m*h pre-activations F_pre), and the h heads
  of each channel are reduced by max-out: F_post = max over heads, back to m channels
  (`y.view(N, m, h, H, W).amax(2)`; tinygen fuses it into one `group_max` kernel).
* Mean- and variance-aware ECA channel attention on the m*h pre-activations: per channel mean mu
  and (population) variance sigma^2, stacked on a new dim ([N, 2, n]) and convolved with a 1-D
  kernel k in R^{z x 2} (z = 7, one output channel), then sigmoid (the default, a feature "mixer")
  or softmax over the h heads of each input channel with temperature T (a "multiplexer"); the
  result scales F_pre channel-wise before the max-out.
* Dense light residuals: every block adds R(A) to its output, with R = A[:, :n] (crop) when the
  input has more channels m than the output n, [A, MDW(A)[:, :n-m]] (concat) when it has fewer,
  and depthwise / MDW convolutions for spatial downsampling (stride 2). Blocks with an expansion
  also bridge the high-dimensional representation: the expanded map is added to the max-out output.
* hardswish / ReLU activations as in MobileNetV3, and a head of 1x1 conv, global pooling and two
  linear layers (the hidden width scaled by the width multiplier too).

Every op whose output leaves its input's int8 grid is followed by a `QuantAct` (tinygen refuses a
missing one and names the node). BatchNorm follows every convolution and is folded by tinygen.
`weight_bits=4` uses 4-bit weights (15 levels per output channel) in every conv and linear layer
except ECA's tiny 1-D kernel.

Two configurations: `IMAGENET` (MobileNetV3-Small's 11 blocks, 3x224x224, 1000 classes) and
`FASHION` (five blocks for 1x28x28 Fashion-MNIST, trained in minutes on two CPU cores).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from tinygen.nn import KBitConv2d, KBitLinear, QConv1d, QConv2d, QLinear, QuantAct


@dataclass(frozen=True)
class Block:
    kernel: int
    expand: int  # expanded channels (before the width multiplier)
    out: int
    eca: bool
    act: str  # "relu" or "hswish"
    stride: int


# MobileNetV3-Small (Howard et al. 2019, table 2) with SE -> ECA, and the hidden layer scaled by
# the width too: 0.65M parameters at 0.4x and 0.86M at 0.5x with h = 3, the sizes of FlyNet-h3
# 0.4x / 0.5x in the thesis (tables 8.3 and 8.4: backbones of 0.14M / 0.19M parameters).
IMAGENET = dict(
    stem=16, last=576, hidden=1024,
    blocks=(
        Block(3, 16, 16, True, "relu", 2), Block(3, 72, 24, False, "relu", 2), Block(3, 88, 24, False, "relu", 1),
        Block(5, 96, 40, True, "hswish", 2), Block(5, 240, 40, True, "hswish", 1), Block(5, 240, 40, True, "hswish", 1),
        Block(5, 120, 48, True, "hswish", 1), Block(5, 144, 48, True, "hswish", 1),
        Block(5, 288, 96, True, "hswish", 2), Block(5, 576, 96, True, "hswish", 1), Block(5, 576, 96, True, "hswish", 1),
    ),
)

# A short FlyNet for 28x28 Fashion-MNIST: 14x14 -> 7x7 -> 4x4. At width 0.5 (8 -> 8 -> 16 -> 24
# -> 24 -> 16 channels) every residual kind occurs: identity, MDW downsampling (m < n, stride 2),
# concat (m < n), depthwise downsampling (m = n, stride 2) and crop (m > n).
FASHION = dict(
    stem=16, last=96, hidden=96,
    blocks=(
        Block(3, 16, 16, False, "relu", 1), Block(3, 48, 24, True, "relu", 2), Block(3, 64, 40, True, "relu", 1),
        Block(5, 72, 40, True, "hswish", 2), Block(3, 96, 32, True, "hswish", 1),
    ),
)


def make_divisible(v: float, divisor: int = 8) -> int:
    """MobileNet's channel rounding: nearest multiple of `divisor`, never below 90% of v."""
    new = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new < 0.9 * v:
        new += divisor
    return new


class Layers:
    """Conv and linear constructors for the chosen weight width."""

    def __init__(self, weight_bits: int = 8):
        if weight_bits not in (4, 8):
            raise ValueError("weight_bits must be 8 or 4")
        self.bits = weight_bits

    def conv(self, cin, cout, k, stride=1, groups=1) -> nn.Module:
        kw = dict(stride=stride, padding=k // 2, groups=groups, bias=False)
        if self.bits == 8:
            return QConv2d(cin, cout, k, **kw)
        return KBitConv2d(cin, cout, k, bits=self.bits, **kw)

    def linear(self, cin, cout) -> nn.Module:
        return QLinear(cin, cout) if self.bits == 8 else KBitLinear(cin, cout, bits=self.bits)


class ConvBN(nn.Module):
    """conv -> BN -> [activation] -> QuantAct."""

    def __init__(self, layers: Layers, cin, cout, k, stride=1, groups=1, act: str | None = None):
        super().__init__()
        self.conv, self.bn, self.q = layers.conv(cin, cout, k, stride, groups), nn.BatchNorm2d(cout), QuantAct()
        self.act = act
        self.q_pre = QuantAct() if act == "hswish" else None  # hardswish is a table: its input needs a grid

    def forward(self, x):
        x = self.bn(self.conv(x))
        if self.act == "relu":
            x = F.relu(x)  # fused into the convolution
        elif self.act == "hswish":
            x = F.hardswish(self.q_pre(x))
        return self.q(x)


def activation(x, kind: str, q_out: QuantAct):
    """ReLU or hardswish (an int8 table) of a tensor already on an int8 grid, then its quantizer."""
    return q_out(F.relu(x) if kind == "relu" else F.hardswish(x))


def max_out(y: torch.Tensor, heads: int) -> torch.Tensor:
    """Max over the h heads of each input channel: channels g*h .. g*h+h-1 of a depthwise conv."""
    _, c, h, w = y.shape
    return y.view(-1, c // heads, heads, h, w).amax(2)


class ECA(nn.Module):
    """Mean- and variance-aware efficient channel attention over n = m*h channels."""

    def __init__(self, channels: int, heads: int, kernel: int = 7, attention: str = "sigmoid",
                 temperature: float = 1.0):
        super().__init__()
        if attention not in ("sigmoid", "softmax"):
            raise ValueError("attention must be 'sigmoid' or 'softmax'")
        self.channels, self.heads, self.attention, self.temperature = channels, heads, attention, temperature
        self.q_stack = QuantAct()
        self.conv, self.q_s = QConv1d(2, 1, kernel, padding=kernel // 2, bias=False), QuantAct()
        self.q_att, self.q_out = QuantAct(), QuantAct()

    def forward(self, y):
        # [mu, sigma^2] on one int8 grid: tinygen computes both directly on it (no second rounding)
        z = self.q_stack(torch.stack([y.mean((2, 3)), y.var((2, 3), unbiased=False)], 1))  # [N, 2, n]
        s = self.q_s(self.conv(z))  # [N, 1, n]
        if self.attention == "softmax":
            a = torch.softmax(s.view(-1, self.channels // self.heads, self.heads) / self.temperature, dim=-1)
        else:
            a = torch.sigmoid(s)
        a = self.q_att(a).reshape(-1, self.channels, 1, 1)
        return self.q_out(y * a)


class OnGridOf(nn.Module):
    """Fake-quantize onto another QuantAct's (frozen or tracking) grid without observing: the
    tensors then share one int8 grid, so concatenating them needs no requantization on the MCU."""

    def __init__(self, source: QuantAct):
        super().__init__()
        self._source = (source,)  # a reference, not a submodule: the source is registered where it is used

    def forward(self, x):
        q = self._source[0]
        return torch.fake_quantize_per_tensor_affine(x, q.scale, q.zero_point, -128, 127)


class LightResidual(nn.Module):
    """R(A) with the block output's channels n and stride: crop, concat with MDW, downsample.

    The concat case quantizes the MDW channels onto A's grid (`in_grid`, the QuantAct that wrote
    A), so R is a plain copy of both parts in int8."""

    def __init__(self, layers: Layers, m: int, n: int, stride: int, in_grid: QuantAct, kernel: int = 3):
        super().__init__()
        self.m, self.n, self.stride = m, n, stride
        self.down = self.extra = None
        if m >= n:
            if stride > 1:
                self.down = ConvBN(layers, n, n, kernel, stride, groups=n)
        elif stride == 1:
            self.extra = ConvBN(layers, m, m * math.ceil((n - m) / m), kernel, 1, groups=m)  # MDW fills n - m
            self.extra.q = OnGridOf(in_grid)
        else:
            self.down = ConvBN(layers, m, m * math.ceil(n / m), kernel, stride, groups=m)  # MDW downsamples all

    def forward(self, a):
        m, n = self.m, self.n
        if m >= n:
            r = a[:, :n] if m > n else a
            return self.down(r) if self.down is not None else r
        if self.extra is not None:
            return torch.cat([a, self.extra(a)[:, :n - m]], 1)
        return self.down(a)[:, :n]


class FlyBlock(nn.Module):
    def __init__(self, layers: Layers, cin: int, spec: Block, width: float, heads: int, attention: str,
                 temperature: float, in_grid: QuantAct):
        super().__init__()
        exp, out = make_divisible(spec.expand * width), make_divisible(spec.out * width)
        self.heads, self.act = heads, spec.act
        self.expand = None if exp == cin else ConvBN(layers, cin, exp, 1, act=spec.act)
        self.mdw = ConvBN(layers, exp, exp * heads, spec.kernel, spec.stride, groups=exp)  # F_pre
        self.eca = ECA(exp * heads, heads, attention=attention, temperature=temperature) if spec.eca else None
        self.q_act = QuantAct()
        self.inner = self.expand is not None and spec.stride == 1  # high-dimensional dense residual
        self.q_inner = QuantAct() if self.inner else None
        self.project = ConvBN(layers, exp, out, 1)
        self.residual = LightResidual(layers, cin, out, spec.stride, in_grid)
        self.q_add = QuantAct()
        self.out_channels = out

    def forward(self, x):
        e = self.expand(x) if self.expand is not None else x
        y = self.mdw(e)
        if self.eca is not None:
            y = self.eca(y)
        y = activation(max_out(y, self.heads), self.act, self.q_act)
        if self.inner:
            y = self.q_inner(y + e)
        return self.q_add(self.project(y) + self.residual(x))


class FlyNet(nn.Module):
    """FlyNet-h<heads> at a width multiplier; see the module docstring."""

    def __init__(self, num_classes: int = 1000, width: float = 1.0, heads: int = 3, in_channels: int = 3,
                 config: dict = IMAGENET, attention: str = "sigmoid", temperature: float = 1.0,
                 weight_bits: int = 8, stem_stride: int = 2):
        super().__init__()
        layers = Layers(weight_bits)
        self.heads = heads
        self.q_in = QuantAct()
        c = make_divisible(config["stem"] * width)
        self.stem = ConvBN(layers, in_channels, c, 3, stem_stride, act="hswish")
        blocks = []
        for spec in config["blocks"]:
            grid = blocks[-1].q_add if blocks else self.stem.q  # the quantizer that writes this block's input
            blocks.append(FlyBlock(layers, c, spec, width, heads, attention, temperature, grid))
            c = blocks[-1].out_channels
        self.blocks = nn.Sequential(*blocks)
        last = make_divisible(config["last"] * width)
        hidden = make_divisible(config["hidden"] * width)
        self.last = ConvBN(layers, c, last, 1, act="hswish")
        self.q_pool = QuantAct()
        self.fc1, self.q_fc1, self.q_hid = layers.linear(last, hidden), QuantAct(), QuantAct()
        self.fc2, self.q_out = layers.linear(hidden, num_classes), QuantAct()

    def set_temperature(self, t: float) -> None:
        """Softmax attention temperature (annealed during training, e.g. 10 -> 1)."""
        for m in self.modules():
            if isinstance(m, ECA):
                m.temperature = float(t)

    def forward(self, x):
        x = self.blocks(self.stem(self.q_in(x)))
        x = self.q_pool(F.adaptive_avg_pool2d(self.last(x), 1)).flatten(1)
        x = self.q_hid(F.hardswish(self.q_fc1(self.fc1(x))))
        return self.q_out(self.fc2(x))


def flynet_imagenet(width: float = 0.5, heads: int = 3, weight_bits: int = 8, **kw) -> FlyNet:
    return FlyNet(1000, width, heads, 3, IMAGENET, weight_bits=weight_bits, **kw)


def flynet_fashion(width: float = 1.0, heads: int = 3, **kw) -> FlyNet:
    return FlyNet(10, width, heads, 1, FASHION, **kw)


def count_params(model: nn.Module) -> int:
    """Parameters of the deployed network (BatchNorm folds into the convolutions)."""
    return sum(p.numel() for n, p in model.named_parameters() if ".bn." not in n and not n.startswith("bn"))


@torch.no_grad()
def calibrate(model: nn.Module, shape, batches: int = 3, batch: int = 4, seed: int = 0) -> nn.Module:
    """Give every QuantAct a range from random inputs (untrained models, benchmarks, tests), then freeze."""
    g = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(batches):
        model(torch.randn((batch, *shape[1:]), generator=g))
    return model.eval()


def export(model: nn.Module, shape, path=None):
    """torch.export the eval-mode model at batch 1 (and save it when `path` is given)."""
    ep = torch.export.export(model.eval(), (torch.zeros(tuple(shape)),))
    if path is not None:
        torch.export.save(ep, str(path))
    return ep

"""Small binarized and sub-byte PyTorch models for the pipeline tests, and their helpers.

"Exact" models are built so that PyTorch's float32 arithmetic is exact too: power-of-two
quantization scales and binary weights +-2^-k make every conv output an exact binary fraction,
and BatchNorm parameters put each channel's sign change at an odd multiple of 1/8 of a step,
away from every value the layer can produce. Then tinygen's sign bits must equal torch's exactly.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from tinygen.ir.graph import DType
from tinygen.nn import BinaryAct, BinaryConv2d, BinaryLinear, KBitAct, KBitConv2d, KBitLinear, QConv2d, QuantAct
from tinygen.pipeline import import_any, lower_model
from tinygen.reference import bitpack, interpreter


class FixedAct(nn.Module):
    """Per-tensor int8 fake-quant with a fixed scale (power of two) and zero point."""

    def __init__(self, scale: float = 2.0 ** -5, zero_point: int = 3):
        super().__init__()
        self.scale, self.zero_point = scale, zero_point

    def forward(self, x):
        return torch.fake_quantize_per_tensor_affine(x, self.scale, self.zero_point, -128, 127)


class ExactQConv2d(nn.Conv2d):
    """int8 weights on a 2^-6 grid, fake-quantized with scale 2^-6 (so the quantizer is the identity)."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        with torch.no_grad():
            self.weight.copy_(torch.randint(-127, 128, self.weight.shape) * 2.0 ** -6)
            if self.bias is not None:
                self.bias.copy_(torch.randint(-64, 64, self.bias.shape) * 2.0 ** -4)

    def forward(self, x):
        n = self.weight.shape[0]
        w = torch.fake_quantize_per_channel_affine(self.weight, torch.full((n,), 2.0 ** -6),
                                                   torch.zeros(n, dtype=torch.int32), 0, -127, 127)
        return self._conv_forward(x, w, self.bias)


def exact_binary_weights(layer: nn.Module, step: float = 0.5) -> nn.Module:
    """Weights +-step (alpha = step exactly) and bias on a step/2 grid."""
    with torch.no_grad():
        layer.weight.copy_(torch.where(torch.rand(layer.weight.shape) < 0.5, -step, step))
        if layer.bias is not None:
            layer.bias.copy_(torch.randint(-8, 8, layer.bias.shape) * (step / 2))
    return layer


def tie_free_bn(bn: nn.BatchNorm2d | nn.BatchNorm1d, span: float, step: float, gen: torch.Generator,
                nonneg_gamma: bool = False) -> None:
    """BN whose sign change sits at an odd multiple of step/8 within about [-span, span], where the
    layer's outputs are multiples of step/4 (or coarser); gamma cycles through positive, negative
    (unless nonneg_gamma) and zero (zero channels: beta > 0, < 0 and == 0)."""
    c = bn.num_features
    with torch.no_grad():
        gamma = torch.rand(c, generator=gen) + 0.5
        if not nonneg_gamma:
            gamma[1::3] *= -1
        gamma[2::3] = 0.0
        var = torch.rand(c, generator=gen) + 0.5
        beta = torch.randn(c, generator=gen)
        beta[2::9] = 0.0
        n = max(1, int(span / step))
        k = torch.randint(-4 * n, 4 * n + 1, (c,), generator=gen)
        t_star = (k.double() + 0.5) * (step / 4)  # an odd multiple of step/8
        safe = torch.where(gamma == 0, 1.0, gamma).double()
        mean = t_star + beta.double() * torch.sqrt(var.double() + bn.eps) / safe
        mean = torch.where(gamma == 0, torch.randn(c, generator=gen).double(), mean)
        bn.weight.copy_(gamma)
        bn.bias.copy_(beta)
        bn.running_mean.copy_(mean.float())
        bn.running_var.copy_(var)


def calibrate(model: nn.Module, shape, seed: int = 0, steps: int = 3) -> nn.Module:
    g = torch.Generator().manual_seed(seed)
    model.train()
    with torch.no_grad():
        for _ in range(steps):
            model(torch.randn((8, *shape[1:]), generator=g))
    return model.eval()


# -- models ---------------------------------------------------------------------------------------
class BinaryConvSign(nn.Module):
    """QuantAct -> sign -> BinaryConv2d (+-0.5 weights, bias) -> BN -> sign: a binary output."""

    def __init__(self, cin, cout, k, stride, pad, seed=0, pool=None, bias=True):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        torch.manual_seed(seed)
        self.q, self.a0 = FixedAct(), BinaryAct()
        self.conv = exact_binary_weights(BinaryConv2d(cin, cout, k, stride=stride, padding=pad, bias=bias))
        self.bn, self.a1 = nn.BatchNorm2d(cout), BinaryAct()
        self.pool = pool  # None, "before_bn" (needs gamma >= 0), "after_bn" or "after_sign"
        span = 0.5 * 1.5 * (k * k * cin) ** 0.5  # +-1.5 standard deviations of the conv output
        tie_free_bn(self.bn, span, 0.5, g, nonneg_gamma=pool == "before_bn")

    def forward(self, x):
        x = self.a0(self.q(x))
        y = self.conv(x)
        if self.pool == "before_bn":
            y = F.max_pool2d(y, 3, stride=2, padding=1)
        y = self.bn(y)
        if self.pool == "after_bn":
            y = F.max_pool2d(y, 2, ceil_mode=True)
        y = self.a1(y)
        if self.pool == "after_sign":
            y = F.max_pool2d(y, 3, stride=2, padding=1)
        return y


class Int8ConvSign(nn.Module):
    """int8 conv (exact grid) -> BN -> sign, and int8 linear -> BN -> sign: int8 to binary."""

    def __init__(self, cin=3, cout=33, seed=0, linear=False, weight_bits=8):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        torch.manual_seed(seed)
        self.linear = linear
        self.q = FixedAct()
        if linear:
            self.layer = nn.Linear(cin * 25, cout)
            with torch.no_grad():
                self.layer.weight.copy_(torch.randint(-127, 128, self.layer.weight.shape) * 2.0 ** -6)
                self.layer.bias.copy_(torch.randint(-64, 64, (cout,)) * 2.0 ** -4)
            self.bn = nn.BatchNorm1d(cout)
        else:
            self.layer = ExactQConv2d(cin, cout, 3, padding=1)
            self.bn = nn.BatchNorm2d(cout)
        # conv outputs are multiples of 2^-11; put sign changes at odd multiples of 2^-13
        tie_free_bn(self.bn, 4.0, 2.0 ** -11, g)
        self.a = BinaryAct()

    def forward(self, x):
        x = self.q(x)
        if self.linear:
            w = self.layer.weight
            w = torch.fake_quantize_per_channel_affine(w, torch.full((w.shape[0],), 2.0 ** -6),
                                                       torch.zeros(w.shape[0], dtype=torch.int32), 0, -127, 127)
            return self.a(self.bn(F.linear(x.flatten(1), w, self.layer.bias)))
        return self.a(self.bn(self.layer(x)))


class FlattenSignLinear(nn.Module):
    """int8 CxHxW map -> flatten -> sign -> BinaryLinear (+-0.5) -> BN -> sign: the bits keep the
    channels-last order of the flattened map and the weight columns follow it."""

    def __init__(self, c=3, hw=5, cout=37, seed=0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        torch.manual_seed(seed)
        self.q, self.a0 = FixedAct(), BinaryAct()
        self.fc = exact_binary_weights(BinaryLinear(c * hw * hw, cout))
        self.bn, self.a1 = nn.BatchNorm1d(cout), BinaryAct()
        tie_free_bn(self.bn, 0.5 * 1.5 * (c * hw * hw) ** 0.5, 0.5, g)

    def forward(self, x):
        return self.a1(self.bn(self.fc(self.a0(self.q(x).flatten(1)))))


class SmallBNN(nn.Module):
    """int8 conv -> sign -> binary conv (BN, max pool) -> binary conv (33 ch, BN, pad 1) -> sign ->
    binary conv 1x1 (64 ch) -> BN -> sign -> flatten (64x2x2) -> BinaryLinear -> BN -> sign ->
    BinaryLinear -> BN -> QuantAct (int8 logits)."""

    def __init__(self, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.q0 = QuantAct()
        self.c1, self.b1 = QConv2d(2, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16)
        self.c2, self.b2 = BinaryConv2d(16, 33, 3, padding=1), nn.BatchNorm2d(33)
        self.c3, self.b3 = BinaryConv2d(33, 64, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(64)
        self.c4, self.b4 = BinaryConv2d(64, 64, 1, scale=False, bias=False), nn.BatchNorm2d(64)
        self.f1, self.b5 = BinaryLinear(64 * 2 * 2, 40), nn.BatchNorm1d(40)
        self.f2, self.b6, self.q6 = BinaryLinear(40, 10), nn.BatchNorm1d(10), QuantAct()
        self.s = nn.ModuleList(BinaryAct() for _ in range(5))
        with torch.no_grad():
            for bn in (self.b1, self.b2, self.b3, self.b4, self.b5, self.b6):
                bn.weight.uniform_(-1.0, 1.5)
                bn.weight[::7] = 0.0
                bn.bias.uniform_(-0.5, 0.5)
                bn.running_var.uniform_(0.5, 2.0)

    def forward(self, x):
        s = self.s
        x = s[0](self.b1(self.c1(self.q0(x))))
        x = s[1](F.max_pool2d(self.b2(self.c2(x)), 2))
        x = s[2](self.b3(self.c3(x)))
        x = s[3](self.b4(self.c4(x)))
        x = s[4](self.b5(self.f1(x.flatten(1))))
        return self.q6(self.b6(self.f2(x)))


class BinaryToInt8(nn.Module):
    """sign -> BinaryConv2d -> BN (negative and zero gamma: folded) -> ReLU -> QuantAct -> max pool
    -> QConv2d -> QuantAct: binary to int8 with alpha and BN in the int8 output stage."""

    def __init__(self, seed=0, cin=31, cout=33):
        super().__init__()
        torch.manual_seed(seed)
        self.q0, self.a0 = QuantAct(), BinaryAct()
        self.c1, self.b1, self.q1 = BinaryConv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), QuantAct()
        self.c2, self.q2 = QConv2d(cout, 8, 3), QuantAct()
        with torch.no_grad():
            self.b1.weight.uniform_(-1.5, 1.5)
            self.b1.weight[::5] = 0.0
            self.b1.bias.uniform_(-0.5, 0.5)
            self.b1.running_mean.uniform_(-2.0, 2.0)
            self.b1.running_var.uniform_(1.0, 4.0)

    def forward(self, x):
        x = self.a0(self.q0(x))
        x = self.q1(F.relu(self.b1(self.c1(x))))
        return self.q2(self.c2(F.max_pool2d(x, 2)))


class BinaryToInt8Head(BinaryToInt8):
    """BinaryToInt8 up to its first QuantAct: a binary layer with an int8 output stage, alone."""

    def forward(self, x):
        return self.q1(F.relu(self.b1(self.c1(self.a0(self.q0(x))))))


class SubByte(nn.Module):
    """2-bit and 4-bit weights (symmetric and 2^k levels, grouped), 1-bit weights on int8 activations,
    BN with negative and zero gamma folded into 2-bit weights, a 4-bit activation output."""

    def __init__(self, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.q0 = QuantAct()
        self.c1, self.b1, self.q1 = KBitConv2d(3, 12, 3, padding=1, bits=2), nn.BatchNorm2d(12), QuantAct()
        self.c2, self.q2 = KBitConv2d(12, 9, 3, stride=2, bits=4, levels=16), QuantAct()
        self.c3, self.q3 = BinaryConv2d(9, 10, 1), QuantAct()
        self.c4, self.q4 = KBitConv2d(10, 10, 3, padding=1, groups=2, bits=2, levels=4), QuantAct()
        self.f1, self.q5 = KBitLinear(10 * 3 * 3, 7, bits=4), KBitAct(4)
        with torch.no_grad():
            self.b1.weight.uniform_(-1.0, 1.0)
            self.b1.weight[::4] = 0.0

    def forward(self, x):
        x = self.q0(x)
        x = self.q1(F.relu(self.b1(self.c1(x))))
        x = self.q2(self.c2(x))
        x = self.q3(self.c3(x))
        x = self.q4(self.c4(x))
        return self.q5(self.f1(x.flatten(1)))


# -- helpers --------------------------------------------------------------------------------------
def lowered(model: nn.Module, shape):
    """(float graph name, lowered graph) without compiling anything."""
    graph, name = import_any(model, shape)
    return lower_model(graph, name)


def torch_out(model: nn.Module, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model(torch.from_numpy(x)).numpy()


def quantize_input(graph, x: np.ndarray) -> np.ndarray:
    """float NCHW -> the graph input's int8 NHWC, as PyTorch's fake-quant rounds."""
    q = graph.t(graph.inputs[0]).quant
    if x.ndim == 4:
        x = x.transpose(0, 2, 3, 1)
    v = np.rint(x.astype(np.float32) * (np.float32(1.0) / np.float32(q.scale[0]))) + q.zero_point[0]
    return np.clip(v, q.qmin, q.qmax).astype(np.int8)


def reference_bits(graph, x: np.ndarray) -> np.ndarray:
    """Run the reference; unpack a binary output to -1/+1 in torch's layout (NCHW or [N, F])."""
    (out,) = interpreter.run(graph, [quantize_input(graph, x)])
    t = graph.t(graph.outputs[0])
    assert t.dtype == DType.UINT32
    return out, t


def unpack_like(out: np.ndarray, ref_shape) -> np.ndarray:
    """Packed reference output -> +-1 values shaped like torch's output (NCHW or [N, F])."""
    channels = ref_shape[1]
    vals = bitpack.unpack_pm1(out, channels)
    return vals.transpose(0, 3, 1, 2) if vals.ndim == 4 else vals

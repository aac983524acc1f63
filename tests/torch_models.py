"""Small PyTorch QAT models used across tests. Importable (pickle tests need the classes)."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from tinygen.nn import QConv2d, QLinear, QuantAct


def calibrate(model: nn.Module, shape, seed: int = 0, steps: int = 3) -> nn.Module:
    """Run a few random batches in train mode so every QuantAct has a range, then freeze."""
    g = torch.Generator().manual_seed(seed)
    model.train()
    with torch.no_grad():
        for _ in range(steps):
            model(torch.randn((8, *shape[1:]), generator=g))
    return model.eval()


class ConvStack(nn.Module):
    """conv (odd size, stride 2) + BN + ReLU, depthwise with multiplier 2 + ReLU6, grouped dilated conv."""

    def __init__(self):
        super().__init__()
        self.q0 = QuantAct()
        self.c1, self.bn1, self.q1 = QConv2d(3, 6, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(6), QuantAct()
        self.c2, self.q2 = QConv2d(6, 12, 3, padding=1, groups=6), QuantAct()
        self.c3, self.q3 = QConv2d(12, 8, 3, padding=2, dilation=2, groups=4), QuantAct()
        with torch.no_grad():  # negative and zero BN scales must fold exactly
            self.bn1.weight.copy_(torch.tensor([1.0, -0.5, 0.0, 2.0, -1.5, 0.7]))
            self.bn1.running_mean.uniform_(-0.2, 0.2)
            self.bn1.running_var.uniform_(0.5, 1.5)

    def forward(self, x):
        x = self.q0(x)
        x = self.q1(F.relu(self.bn1(self.c1(x))))
        x = self.q2(F.relu6(self.c2(x)))
        return self.q3(self.c3(x))


class FlattenLinear(nn.Module):
    """A CxHxW map flattened into a linear layer: tinygen permutes the weight columns."""

    def __init__(self):
        super().__init__()
        self.q0, self.c, self.q1 = QuantAct(), QConv2d(2, 4, 3, padding=1), QuantAct()
        self.fc, self.q2 = QLinear(4 * 5 * 7, 6), QuantAct()

    def forward(self, x):
        x = self.q1(self.c(self.q0(x)))
        return self.q2(self.fc(torch.flatten(x, 1)))


class Branches(nn.Module):
    """Residual add, per-channel mul by a constant, concat of differently scaled maps, crop."""

    def __init__(self):
        super().__init__()
        self.q0 = QuantAct()
        self.a, self.qa = QConv2d(4, 8, 1), QuantAct()
        self.b, self.qb = QConv2d(4, 8, 3, padding=1), QuantAct()
        self.q_add, self.q_mul, self.q_cat = QuantAct(), QuantAct(), QuantAct()
        self.scale = nn.Parameter(torch.linspace(-1.0, 1.5, 8).reshape(1, 8, 1, 1))
        self.q_scale = QuantAct()

    def forward(self, x):
        x = self.q0(x)
        a, b = self.qa(self.a(x)), self.qb(self.b(x))
        s = F.relu(a + b)
        s = self.q_add(s)
        m = self.q_mul(s * self.q_scale(self.scale))
        c = self.q_cat(torch.cat([m, a], dim=1))
        return c[:, 2:13, 1:6, :]


class Pools(nn.Module):
    """max pool (padding, ceil mode), avg pool with and without padding in the count."""

    def __init__(self):
        super().__init__()
        self.q0, self.c, self.q1 = QuantAct(), QConv2d(3, 5, 3), QuantAct()
        self.q2, self.q3, self.q4 = QuantAct(), QuantAct(), QuantAct()

    def forward(self, x):
        x = self.q1(self.c(self.q0(x)))
        x = F.max_pool2d(x, 3, stride=2, padding=1, ceil_mode=True)
        y = self.q2(F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False))
        return self.q4(torch.cat([y, self.q3(F.avg_pool2d(x, 3, stride=1, padding=1))], dim=1))


class GlobalPool(nn.Module):
    """Global average pooling (adaptive and mean forms) into a classifier."""

    def __init__(self):
        super().__init__()
        self.q0, self.c, self.q1 = QuantAct(), QConv2d(3, 8, 3, padding=1), QuantAct()
        self.q2, self.q3 = QuantAct(), QuantAct()
        self.fc, self.q4 = QLinear(16, 5), QuantAct()

    def forward(self, x):
        x = self.q1(F.relu(self.c(self.q0(x))))
        a = self.q2(F.adaptive_avg_pool2d(x, 1).flatten(1))
        b = self.q3(x.mean(dim=(2, 3)))
        return self.q4(self.fc(torch.cat([a, b], dim=1)))


class Activations(nn.Module):
    """hardswish, hardsigmoid, sigmoid, tanh, standalone relu and hardtanh, requantization."""

    def __init__(self):
        super().__init__()
        self.qs = nn.ModuleList(QuantAct() for _ in range(8))
        self.c = QConv2d(2, 6, 1)

    def forward(self, x):
        q = self.qs
        x = q[1](self.c(q[0](x)))
        a = q[2](F.hardswish(x))
        b = q[3](F.hardsigmoid(a))
        c = q[4](torch.sigmoid(b * 4.0 if False else b))
        d = q[5](torch.tanh(x))
        e = q[6](F.relu(d) + F.hardtanh(c, -0.5, 0.5))
        return q[7](e)


MODELS = {
    "conv_stack": (ConvStack, (1, 3, 9, 7)),
    "flatten_linear": (FlattenLinear, (1, 2, 5, 7)),
    "branches": (Branches, (1, 4, 6, 6)),
    "pools": (Pools, (1, 3, 11, 9)),
    "global_pool": (GlobalPool, (1, 3, 6, 5)),
    "activations": (Activations, (1, 2, 5, 5)),
}


def make(name: str, seed: int = 0) -> tuple[nn.Module, tuple[int, ...]]:
    cls, shape = MODELS[name]
    torch.manual_seed(seed)
    return calibrate(cls(), shape, seed), shape


def _divisible(v: float, d: int = 8) -> int:
    return max(d, int(v + d / 2) // d * d)


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: int):
        super().__init__()
        mid = cin * expand
        layers = []
        if expand != 1:
            layers += [QConv2d(cin, mid, 1, bias=False), nn.BatchNorm2d(mid), nn.ReLU6(), QuantAct()]
        layers += [QConv2d(mid, mid, 3, stride, 1, groups=mid, bias=False), nn.BatchNorm2d(mid), nn.ReLU6(), QuantAct(),
                   QConv2d(mid, cout, 1, bias=False), nn.BatchNorm2d(cout), QuantAct()]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout
        self.q_add = QuantAct() if self.residual else None

    def forward(self, x):
        y = self.body(x)
        return self.q_add(x + y) if self.residual else y


class MobileNetV2(nn.Module):
    """MobileNetV2 (Sandler et al.) with tinygen's int8 QAT modules; random weights are fine for
    memory planning and fit studies."""

    CONFIG = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]

    def __init__(self, width: float = 0.35, classes: int = 1000):
        super().__init__()
        c = _divisible(32 * width)
        layers = [QuantAct(), QConv2d(3, c, 3, 2, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU6(), QuantAct()]
        for t, ch, n, s in self.CONFIG:
            out = _divisible(ch * width)
            for i in range(n):
                layers.append(InvertedResidual(c, out, s if i == 0 else 1, t))
                c = out
        last = 1280
        layers += [QConv2d(c, last, 1, bias=False), nn.BatchNorm2d(last), nn.ReLU6(), QuantAct()]
        self.features = nn.Sequential(*layers)
        self.q_pool = QuantAct()
        self.fc, self.q_out = QLinear(last, classes), QuantAct()

    def forward(self, x):
        x = self.q_pool(F.adaptive_avg_pool2d(self.features(x), 1).flatten(1))
        return self.q_out(self.fc(x))


def mobilenet_v2(width: float = 0.35, size: int = 96, classes: int = 1000, seed: int = 0):
    torch.manual_seed(seed)
    shape = (1, 3, size, size)
    return calibrate(MobileNetV2(width, classes), shape, seed, steps=2), shape

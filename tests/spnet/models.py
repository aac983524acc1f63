"""A tiny SP-Net for the build tests: int8 first conv and classifier, three switchable layers
(33 channels: a binary word and one more bit).

Weights are seeded; `calibrated` runs a few seeded batches per switch in training mode so every
switch's quantizer ranges and BatchNorm statistics differ (and become non-trivial)."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from tinygen.nn import QConv2d, QLinear, QuantAct
from tinygen.nn.spnet import SPAct, SPConv2d, SPLinear, SPQuantAct, SwitchableBatchNorm1d, SwitchableBatchNorm2d, set_switch

SIZE = 8


class TinySPNet(nn.Module):
    def __init__(self, switches=(8, 4, 2, 1), width: int = 33, kinds2=None, kinds3=None):
        super().__init__()
        s, w = tuple(switches), width
        self.q_in = QuantAct()
        self.c1, self.b1, self.a1 = QConv2d(3, w, 3, padding=1, bias=False), SwitchableBatchNorm2d(w, s), SPAct(s)
        self.c2, self.b2, self.a2 = SPConv2d(w, w, 3, padding=1, switches=s, kinds=kinds2), SwitchableBatchNorm2d(w, s), SPAct(s)
        self.c3, self.b3, self.q3 = SPConv2d(w, 64, 3, stride=2, padding=1, switches=s, kinds=kinds3), SwitchableBatchNorm2d(64, s), SPAct(s)
        self.f1, self.b4, self.q4 = SPLinear(64 * 4 * 4, 20, bias=False, switches=s), SwitchableBatchNorm1d(20, s), SPQuantAct(s)
        self.fc, self.q_out = QLinear(20, 10), SPQuantAct(s)

    def forward(self, x):
        x = self.a1(self.b1(self.c1(self.q_in(x))))
        x = self.a2(self.b2(self.c2(x)))
        x = self.q3(self.b3(self.c3(x)))
        x = self.q4(self.b4(self.f1(x.flatten(1))))
        return self.q_out(self.fc(x))


def calibrated(switches=(8, 4, 2, 1), seed: int = 0, **kinds) -> TinySPNet:
    torch.manual_seed(seed)
    model = TinySPNet(switches, **kinds).train()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for k in switches:
            set_switch(model, k)
            for _ in range(3):
                model(torch.rand(16, 3, SIZE, SIZE, generator=gen) * 2 - 0.5)
    return model.eval()


def example_input() -> torch.Tensor:
    return torch.zeros(1, 3, SIZE, SIZE)


def relu_net(bits: int = 4):
    """conv -> ReLU-based k-bit quantizer -> k-bit conv, for the ReLUQuantAct lowering test."""
    from tinygen.nn import KBitConv2d
    from tinygen.nn.spnet import ReLUQuantAct

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.q0, self.c1, self.a1 = QuantAct(), QConv2d(3, 8, 3, padding=1), ReLUQuantAct(bits)
            self.c2, self.q2 = KBitConv2d(8, 8, 3, padding=1, bits=bits), QuantAct()

        def forward(self, x):
            return self.q2(self.c2(self.a1(F.relu(self.c1(self.q0(x))))))

    torch.manual_seed(1)
    net = Net().train()
    with torch.no_grad():
        for _ in range(3):
            net(torch.rand(8, 3, SIZE, SIZE))
    return net.eval()

"""A switchable-precision CNN (SP-Net, thesis ch. 5) on scikit-learn's digits (bundled, offline).

One set of float weights serves every switch; each switch has its own activation quantizers and
its own BatchNorm (switchable BN). The first convolution and the classifier stay int8 in every
switch (as in the thesis and XNOR-Net); the three middle convolutions run at the switch's width:

    QuantAct (shared) -> QConv 1->W 3x3 (int8, shared) -> SBN -> SPAct -> max pool 2
    SPConv W->W 3x3   -> SBN -> SPAct                                  8: conv2d int8
    SPConv W->2W 3x3  -> SBN -> SPAct -> max pool 2                    4: conv2d_packed (4-bit weights)
    SPConv 2W->2W 3x3 -> SBN -> SPQuantAct (int8)                      1: bconv2d (XNOR-popcount)
    global average pool -> SPQuantAct -> QLinear 2W->10 (int8, shared) -> SPQuantAct

Training (`train`) sums the losses of all switches on every batch (the thesis' joint training).
`train(..., switches=(k,))` gives the separately trained single-precision model of the same
topology that the example compares against.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "digits_int8"))

from digits import SIZE, Split, load_digits  # noqa: E402,F401  (re-exported for run.py)

from tinygen.nn import QConv2d, QLinear, QuantAct  # noqa: E402
from tinygen.nn.spnet import (SPAct, SPConv2d, SPQuantAct, SwitchableBatchNorm2d, export_spnet,  # noqa: E402
                              set_switch)

SWITCHES = (8, 4, 1)


class SPDigitsNet(nn.Module):
    def __init__(self, width: int = 32, switches: Sequence[int] = SWITCHES):
        super().__init__()
        w, w2, s = width, 2 * width, tuple(switches)
        self.switches = s
        self.q_in = QuantAct()
        self.conv1, self.bn1, self.act1 = QConv2d(1, w, 3, padding=1, bias=False), SwitchableBatchNorm2d(w, s), SPAct(s)
        self.conv2, self.bn2, self.act2 = SPConv2d(w, w, 3, padding=1, switches=s), SwitchableBatchNorm2d(w, s), SPAct(s)
        self.conv3, self.bn3, self.act3 = SPConv2d(w, w2, 3, padding=1, switches=s), SwitchableBatchNorm2d(w2, s), SPAct(s)
        self.conv4, self.bn4, self.q4 = SPConv2d(w2, w2, 3, padding=1, switches=s), SwitchableBatchNorm2d(w2, s), SPQuantAct(s)
        self.q_gap = SPQuantAct(s)
        self.fc, self.q_out = QLinear(w2, 10), SPQuantAct(s)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(self.act1(self.bn1(self.conv1(self.q_in(x)))), 2)
        x = self.act2(self.bn2(self.conv2(x)))
        x = F.max_pool2d(self.act3(self.bn3(self.conv3(x))), 2)
        x = self.q4(self.bn4(self.conv4(x)))
        x = self.q_gap(F.adaptive_avg_pool2d(x, 1)).flatten(1)
        return self.q_out(self.fc(x))


@torch.no_grad()
def accuracy(model: SPDigitsNet, split: Split, bits: int) -> float:
    set_switch(model.eval(), bits)
    return float((model(torch.from_numpy(split.x_test)).argmax(1).numpy() == split.y_test).mean())


def train(split: Split, epochs: int = 12, seed: int = 0, width: int = 32, switches: Sequence[int] = SWITCHES,
          log=print, batch: int = 64) -> SPDigitsNet:
    torch.manual_seed(seed)
    model = SPDigitsNet(width, switches)
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    steps = epochs * -(-len(split.x_train) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-2, total_steps=steps)
    x, y = torch.from_numpy(split.x_train), torch.from_numpy(split.y_train)
    gen = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        model.train()
        for idx in torch.randperm(len(x), generator=gen).split(batch):
            opt.zero_grad()
            for k in switches:  # joint training: every switch's loss on the same batch
                set_switch(model, k)
                F.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
            sched.step()
        if log and (epoch + 1) % 4 == 0:
            accs = ", ".join(f"{k} bits {accuracy(model, split, k):.4f}" for k in switches)
            log(f"epoch {epoch + 1}/{epochs}: test accuracy {accs}")
    return model.eval()


def export(model: SPDigitsNet, path, switches: Sequence[int] | None = None) -> Path:
    return export_spnet(model, torch.zeros(1, 1, SIZE, SIZE), path, switches=switches)


@dataclass
class SwitchAccuracy:
    bits: int
    torch_accuracy: float  # PyTorch fake-quant model
    int8_accuracy: float  # tinygen's integer reference (= the C, bit for bit)
    top1_agreement: float  # reference vs PyTorch


def compare(program, model: SPDigitsNet, split: Split) -> list[SwitchAccuracy]:
    """Per switch: accuracy of the PyTorch model and of the integer reference on the test split."""
    out = []
    q = program.quantize(split.x_test, layout="NCHW")
    for bits in program.bits:
        set_switch(model.eval(), bits)
        with torch.no_grad():
            t = model(torch.from_numpy(split.x_test)).argmax(1).numpy()
        r = np.asarray(program.reference(bits, q)).argmax(1)
        out.append(SwitchAccuracy(bits, float((t == split.y_test).mean()), float((r == split.y_test).mean()),
                                  float((r == t).mean())))
    return out


def export_single(model: SPDigitsNet, bits: int, path) -> Path:
    """A single-precision .pt2 of one switch (what a separately deployed model would be)."""
    set_switch(model.eval(), bits)
    ep = torch.export.export(model, (torch.zeros(1, 1, SIZE, SIZE),))
    torch.export.save(ep, str(path))
    return Path(path)

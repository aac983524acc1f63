"""A binarized CNN trained on scikit-learn's digits (bundled, works offline), 16x16 inputs.

The first and last layers are int8; the middle is binary (XNOR-Net style):

    QuantAct -> QConv2d 1->W 3x3 -> BN -> BinaryAct -> max pool 2        conv2d, binarize, bmax_pool2d
    BinaryConv2d W->W 3x3 -> BN -> BinaryAct                             bconv2d (thresholds)
    BinaryConv2d W->2W 3x3 -> BN -> BinaryAct -> max pool 2              bconv2d, bmax_pool2d
    BinaryConv2d 2W->2W 3x3 -> BN -> QuantAct                            bconv2d, int8 out
    global average pool -> QuantAct -> QLinear 2W->10 -> QuantAct        mean, fully_connected

(the 16x16 images are 8x8 digits upsampled, so pooling right after the first layer costs no
accuracy and keeps training on two CPU cores short).

`BinaryDigitsNet(binary=False)` is the same network with int8 convolutions and int8 activations
in place of the binary ones: the "int8 twin" whose weight bytes the example compares against.
The data loading and the C-vs-reference-vs-PyTorch comparison are those of the int8 example
(examples/digits_int8/digits.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "digits_int8"))

from digits import SIZE, Split, compare, export, load_digits, train_epoch  # noqa: E402,F401  (re-exported for run.py)

from tinygen.nn import BinaryAct, BinaryConv2d, QConv2d, QLinear, QuantAct  # noqa: E402


class BinaryDigitsNet(nn.Module):
    def __init__(self, width: int = 32, binary: bool = True):
        super().__init__()
        w, w2 = width, 2 * width
        conv = BinaryConv2d if binary else QConv2d
        act = BinaryAct if binary else QuantAct
        self.q_in = QuantAct()
        self.conv1, self.bn1, self.act1 = QConv2d(1, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), act()
        self.conv2, self.bn2, self.act2 = conv(w, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), act()
        self.conv3, self.bn3, self.act3 = conv(w, w2, 3, padding=1, bias=False), nn.BatchNorm2d(w2), act()
        self.conv4, self.bn4, self.q4 = conv(w2, w2, 3, padding=1, bias=False), nn.BatchNorm2d(w2), QuantAct()
        self.q_gap = QuantAct()
        self.fc, self.q_out = QLinear(w2, 10), QuantAct()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(self.act1(self.bn1(self.conv1(self.q_in(x)))), 2)
        x = self.act2(self.bn2(self.conv2(x)))
        x = F.max_pool2d(self.act3(self.bn3(self.conv3(x))), 2)
        x = self.q4(self.bn4(self.conv4(x)))
        x = self.q_gap(F.adaptive_avg_pool2d(x, 1)).flatten(1)
        return self.q_out(self.fc(x))


@torch.no_grad()
def accuracy(model: nn.Module, split: Split) -> float:
    logits = model.eval()(torch.from_numpy(split.x_test))
    return float((logits.argmax(1).numpy() == split.y_test).mean())


def train(split: Split, epochs: int = 12, seed: int = 0, width: int = 32, log=print) -> BinaryDigitsNet:
    torch.manual_seed(seed)
    model = BinaryDigitsNet(width)
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-2, total_steps=epochs * -(-len(split.x_train) // 64))
    gen = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        train_epoch(model, split, gen, opt, sched)
        if log and (epoch + 1) % 4 == 0:
            log(f"epoch {epoch + 1}/{epochs}: test accuracy {accuracy(model, split):.4f}")
    return model.eval()


def int8_twin(width: int = 32, seed: int = 0) -> BinaryDigitsNet:
    """The same network with int8 layers, calibrated on random data (only its size is used)."""
    torch.manual_seed(seed)
    model = BinaryDigitsNet(width, binary=False).train()
    with torch.no_grad():
        for _ in range(2):
            model(torch.rand(16, 1, SIZE, SIZE))
    return model.eval()


def weight_bytes_by_op(program) -> dict[str, int]:
    out: dict[str, int] = {}
    for layer in program.report.get("layers", []):
        out[layer["op"]] = out.get(layer["op"], 0) + int(layer["weight_bytes"])
    return out


def top1(program, x: np.ndarray) -> np.ndarray:
    return program.reference(program.quantize(x, layout="NCHW")).argmax(1)

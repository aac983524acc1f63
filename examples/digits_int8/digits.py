"""An int8 CNN trained quantization-aware on scikit-learn's digits (bundled, works offline).

The network exercises what a small vision model uses: conv + BatchNorm + ReLU, a depthwise
stride-2 conv with ReLU6, a pointwise conv, a residual add with fused ReLU, max pooling,
hardswish, global average pooling and a linear classifier; every activation is int8.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from tinygen.nn import QConv2d, QLinear, QuantAct

SIZE = 16


@dataclass
class Split:
    x_train: np.ndarray  # float32 [N, 1, SIZE, SIZE] in [0, 1]
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def load_digits(seed: int = 0) -> Split:
    from sklearn.datasets import load_digits as sk_digits
    from sklearn.model_selection import train_test_split

    d = sk_digits()
    x = torch.from_numpy(d.images.astype(np.float32) / 16.0)[:, None]
    x = F.interpolate(x, size=(SIZE, SIZE), mode="bilinear", align_corners=False).numpy()
    xtr, xte, ytr, yte = train_test_split(x, d.target, test_size=0.2, random_state=seed, stratify=d.target)
    return Split(xtr, ytr.astype(np.int64), xte, yte.astype(np.int64))


class DigitsNet(nn.Module):
    def __init__(self, width: int = 16):
        super().__init__()
        w, w2 = width, 2 * width
        self.q_in = QuantAct()
        self.conv1, self.bn1, self.q1 = QConv2d(1, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), QuantAct()
        self.dw, self.bn2, self.q2 = QConv2d(w, w, 3, stride=2, padding=1, groups=w, bias=False), nn.BatchNorm2d(w), QuantAct()
        self.pw, self.bn3, self.q3 = QConv2d(w, w2, 1, bias=False), nn.BatchNorm2d(w2), QuantAct()
        self.conv4, self.bn4, self.q4 = QConv2d(w2, w2, 3, padding=1, bias=False), nn.BatchNorm2d(w2), QuantAct()
        self.q_res = QuantAct()
        self.conv5, self.q5, self.q_hs = QConv2d(w2, w2, 1), QuantAct(), QuantAct()
        self.q_gap = QuantAct()
        self.fc, self.q_out = QLinear(w2, 10), QuantAct()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.q_in(x)
        x = self.q1(F.relu(self.bn1(self.conv1(x))))
        x = self.q2(F.relu6(self.bn2(self.dw(x))))
        x = self.q3(F.relu(self.bn3(self.pw(x))))
        y = self.q4(self.bn4(self.conv4(x)))
        x = self.q_res(F.relu(x + y))
        x = F.max_pool2d(x, 2)
        x = self.q_hs(F.hardswish(self.q5(self.conv5(x))))
        x = self.q_gap(F.adaptive_avg_pool2d(x, 1)).flatten(1)
        return self.q_out(self.fc(x))


def train_epoch(model: nn.Module, split: Split, gen: torch.Generator, opt, step_sched=None) -> None:
    """One epoch of cross-entropy training on the train split, in batches of 64 drawn in `gen`'s
    order (the digits examples' shared loop); `step_sched`, if given, is stepped after each batch."""
    x, y = torch.from_numpy(split.x_train), torch.from_numpy(split.y_train)
    model.train()
    for idx in torch.randperm(len(x), generator=gen).split(64):
        opt.zero_grad()
        F.cross_entropy(model(x[idx]), y[idx]).backward()
        opt.step()
        if step_sched is not None:
            step_sched.step()


def train(split: Split, epochs: int = 30, seed: int = 0, log=print) -> DigitsNet:
    torch.manual_seed(seed)
    model = DigitsNet()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    gen = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        train_epoch(model, split, gen, opt)
        sched.step()
        if log and (epoch + 1) % 10 == 0:
            log(f"epoch {epoch + 1}/{epochs}: test accuracy {accuracy(model, split):.4f}")
    return model.eval()


@torch.no_grad()
def torch_logits(model: nn.Module, x: np.ndarray) -> np.ndarray:
    """One sample at a time: an exported program's module is specialised to batch 1."""
    if isinstance(model, DigitsNet):
        return model.eval()(torch.from_numpy(x)).numpy()
    return np.concatenate([model(torch.from_numpy(x[i:i + 1])).numpy() for i in range(len(x))])


def accuracy(model: nn.Module, split: Split) -> float:
    return float((torch_logits(model, split.x_test).argmax(1) == split.y_test).mean())


def export(model: nn.Module, path) -> None:
    ep = torch.export.export(model.eval(), (torch.zeros(1, 1, SIZE, SIZE),))
    torch.export.save(ep, str(path))


@dataclass
class Agreement:
    n: int
    c_equals_reference: int  # inputs whose host C output equals the reference bit for bit
    top1_agreement: float  # reference vs PyTorch fake-quant model
    within_one_step: float  # fraction of output values within one quantization step
    max_steps: float
    torch_accuracy: float
    int8_accuracy: float

    def table(self) -> str:
        return "\n".join([
            f"test inputs                          {self.n}",
            f"host C == reference (bit-exact)      {self.c_equals_reference}/{self.n}",
            f"top-1 agreement reference vs PyTorch {self.top1_agreement:.4f}",
            f"outputs within 1 quantization step   {self.within_one_step:.4f} (max {self.max_steps:.2f} steps)",
            f"accuracy PyTorch fake-quant          {self.torch_accuracy:.4f}",
            f"accuracy int8 C (host)               {self.int8_accuracy:.4f}",
        ])


def compare(program, model: nn.Module, split: Split) -> Agreement:
    q = program.quantize(split.x_test, layout="NCHW")
    ref = program.reference(q)
    host = program.run_host(q)
    same = int(sum(np.array_equal(host[i], ref[i]) for i in range(len(q))))
    spec = program.outputs[0]
    t = torch_logits(model, split.x_test)
    steps = np.abs(program.dequantize(ref) - t) / np.float32(spec.scale)
    return Agreement(
        n=len(q), c_equals_reference=same,
        top1_agreement=float((ref.argmax(1) == t.argmax(1)).mean()),
        within_one_step=float((steps <= 1.0 + 1e-4).mean()), max_steps=float(steps.max()),
        torch_accuracy=float((t.argmax(1) == split.y_test).mean()),
        int8_accuracy=float((host.argmax(1) == split.y_test).mean()),
    )

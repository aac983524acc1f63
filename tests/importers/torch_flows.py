"""Small digits CNNs quantized with PyTorch's own flows, and the checks every flow must pass.

Data: scikit-learn's digits (offline), 8x8 images in [0, 1], a fixed stratified split.
Checks (`check_program`): the generated C equals the numpy reference on every test image; top-1
agrees with the PyTorch quantized model on >= 99% of images; >= 99% of outputs are within one
output quantization step of it.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
import torch.nn as nn

warnings.filterwarnings("ignore")


def digits(seed: int = 0):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = (d.images.astype(np.float32) / 16.0)[:, None]
    xtr, xte, ytr, yte = train_test_split(x, d.target, test_size=0.2, random_state=seed, stratify=d.target)
    return xtr, ytr.astype(np.int64), xte, yte.astype(np.int64)


class Net(nn.Module):
    """conv-BN-relu, depthwise conv-relu, add, avg pool, hardswish, concat, linear. `eager` adds
    what eager-mode quantization needs (stubs, FloatFunctional for add/cat)."""

    def __init__(self, eager: bool = False, width: int = 8):
        super().__init__()
        self.eager = eager
        self.quant = torch.ao.quantization.QuantStub() if eager else nn.Identity()
        self.dequant = torch.ao.quantization.DeQuantStub() if eager else nn.Identity()
        self.conv = nn.Conv2d(1, width, 3, padding=1)
        self.bn = nn.BatchNorm2d(width)
        self.relu = nn.ReLU()
        self.dw = nn.Conv2d(width, width, 3, padding=1, groups=width)
        self.relu2 = nn.ReLU()
        self.pool = nn.AvgPool2d(2)
        self.hs = nn.Hardswish()
        self.pw = nn.Conv2d(width, width, 1)
        self.relu3 = nn.ReLU()
        self.fc = nn.Linear(2 * width * 16, 10)
        if eager:
            self.add = torch.ao.nn.quantized.FloatFunctional()
            self.cat = torch.ao.nn.quantized.FloatFunctional()

    def forward(self, x):
        x = self.quant(x)
        y = self.relu(self.bn(self.conv(x)))
        z = self.relu2(self.dw(y))
        s = self.add.add(y, z) if self.eager else y + z
        s = self.hs(self.pool(s))
        t = self.relu3(self.pw(s))
        c = self.cat.cat([s, t], 1) if self.eager else torch.cat([s, t], 1)
        return self.dequant(self.fc(torch.flatten(c, 1)))


class PoolNet(nn.Module):
    """Ops torchao's X86InductorQuantizer quantizes on every edge: conv-relu, max pool, depthwise
    conv-relu, max pool, flatten, linear (only the output stays float)."""

    def __init__(self, width: int = 8):
        super().__init__()
        self.conv = nn.Conv2d(1, width, 3, padding=1)
        self.dw = nn.Conv2d(width, width, 3, padding=1, groups=width)
        self.pw = nn.Conv2d(width, 2 * width, 1)
        self.fc = nn.Linear(2 * width * 4, 10)

    def forward(self, x):
        y = nn.functional.max_pool2d(torch.relu(self.conv(x)), 2)
        y = torch.relu(self.dw(y))
        y = nn.functional.max_pool2d(torch.relu(self.pw(y)), 2)
        return self.fc(torch.flatten(y, 1))


def train(model, xtr, ytr, epochs: int = 4, batch: int = 64, lr: float = 1e-2, seed: int = 0, step=None):
    """A few epochs of Adam; `step` (optional) is called with the model after each epoch."""
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=lr)
    x, y = torch.from_numpy(xtr), torch.from_numpy(ytr)
    n = len(x) - len(x) % batch  # full batches only (exported QAT programs have a fixed batch)
    for epoch in range(epochs):
        perm = torch.randperm(len(x), generator=g)[:n]
        for i in range(0, n, batch):
            idx = perm[i:i + batch]
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
        if step is not None:
            step(model, epoch)
    return model


def run_torch(fn, x: np.ndarray) -> np.ndarray:
    """fn on one image at a time (exported programs keep a batch-1 guard)."""
    with torch.no_grad():
        return np.concatenate([fn(torch.from_numpy(x[i:i + 1])).numpy() for i in range(len(x))])


def check_program(program, torch_out: np.ndarray, x: np.ndarray, labels: np.ndarray | None = None) -> dict:
    q = program.quantize(x, layout="NCHW")
    ref = program.reference(q)
    host = program.run_host(q)
    np.testing.assert_array_equal(host, ref)
    out = program.dequantize(ref)
    step = float(program.outputs[0].scale)
    figures = {
        "top1_agreement": float(np.mean(out.argmax(1) == torch_out.argmax(1))),
        "within_one_step": float(np.mean(np.abs(out - torch_out) <= step * (1 + 1e-5))),
        "max_steps": float(np.abs(out - torch_out).max() / step),
    }
    if labels is not None:
        figures["accuracy"] = float(np.mean(out.argmax(1) == labels))
        figures["torch_accuracy"] = float(np.mean(torch_out.argmax(1) == labels))
    print(f"figures: {figures}")  # shown with pytest -rP
    assert figures["top1_agreement"] >= 0.99, figures
    assert figures["within_one_step"] >= 0.99, figures
    return figures

"""Digits (scikit-learn's bundled set, offline) with 4-bit logarithmic shared weights beside the
same network with uniform int8 weights: accuracy, bit-exactness of the generated C on the whole
test split, weight bytes and flash.

The 4-bit network uses tinygen.nn's LogConv2d / LogLinear (signed powers of two, ch. 5.2.1.3 of
the thesis): tinygen finds that each layer's int8 weights take at most 15 values and stores them
as 4-bit codebook indices plus one 16-entry table (conv2d_codebook / fully_connected_codebook).

    .venv/bin/python examples/digits_shared/digits_shared.py [--epochs 8] [--qemu]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import tinygen  # noqa: E402
from tinygen.nn import LogConv2d, LogLinear, QConv2d, QLinear, QuantAct  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "digits_int8"))

from digits import SIZE, load_digits  # noqa: E402  (the digits data and split of the int8 example)


class Net(nn.Module):
    """conv3x3 1->8, max pool, conv3x3 8->16, max pool, linear 256->64, linear 64->10; `log`
    makes the last three layers 4-bit logarithmic (the first, over one input channel, stays int8)."""

    def __init__(self, log: bool):
        super().__init__()
        conv, linear = (lambda *a, **k: LogConv2d(*a, bits=4, **k), lambda *a: LogLinear(*a, bits=4)) if log \
            else (QConv2d, QLinear)
        self.q0 = QuantAct()
        self.c1, self.q1 = QConv2d(1, 8, 3, padding=1), QuantAct()
        self.c2, self.q2 = conv(8, 16, 3, padding=1), QuantAct()
        self.f1, self.q3 = linear(16 * 4 * 4, 64), QuantAct()
        self.f2, self.q4 = linear(64, 10), QuantAct()

    def forward(self, x):
        x = F.max_pool2d(self.q1(F.relu(self.c1(self.q0(x)))), 2)
        x = F.max_pool2d(self.q2(F.relu(self.c2(x))), 2)
        x = self.q3(F.relu(self.f1(torch.flatten(x, 1))))
        return self.q4(self.f2(x))


def train(log: bool, x, y, epochs: int, seed: int = 0) -> Net:
    torch.manual_seed(seed)
    model = Net(log)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        model.train()
        for idx in torch.randperm(len(xt), generator=gen).split(64):
            opt.zero_grad()
            F.cross_entropy(model(xt[idx]), yt[idx]).backward()
            opt.step()
    return model.eval()


def evaluate(model: Net, x_test, y_test, out_dir: Path, board: str = "host") -> dict:
    path = out_dir / "model.pt2"
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.export.save(torch.export.export(model, (torch.zeros(1, 1, SIZE, SIZE),)), str(path))
    program = tinygen.build(path, out_dir=out_dir / "build", board=board, emulate=board != "host")
    q = program.quantize(x_test, layout="NCHW")
    ref = program.reference(q)
    row = {"program": program, "q": q,
           "int8_accuracy": float((ref.argmax(1) == y_test).mean()),
           "torch_accuracy": float((model(torch.from_numpy(x_test)).argmax(1).numpy() == y_test).mean()),
           "weight_bytes": program.report["weight_bytes"], "flash_bytes": program.report["flash_bytes"],
           "ops": [n.op for n in program.graph.nodes if "conv" in n.op or "fully" in n.op]}
    if board == "host":
        host = program.run_host(q)
        row["c_equals_reference"] = int(sum(np.array_equal(h, r) for h, r in zip(host, ref)))
    return row


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description="digits with 4-bit logarithmic shared weights")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--qemu", action="store_true", help="also build for the f446re's QEMU stand-in and count instructions")
    args = ap.parse_args(argv)
    d = load_digits()
    x_train, x_test, y_train, y_test = d.x_train, d.x_test, d.y_train, d.y_test
    with tempfile.TemporaryDirectory() as tmp:
        for label, log in (("uniform int8", False), ("4-bit log", True)):
            model = train(log, x_train, y_train, args.epochs)
            r = evaluate(model, x_test, y_test, Path(tmp) / label.replace(" ", "_"))
            print(f"{label:<13} accuracy torch {r['torch_accuracy']:.4f} int8 {r['int8_accuracy']:.4f}; host C == "
                  f"reference on {r['c_equals_reference']}/{len(y_test)}; weights {r['weight_bytes']:,} B "
                  f"(estimated flash {r['flash_bytes']:,} B); layers {', '.join(r['ops'])}")
            if args.qemu:
                from tinygen.device.validate import validate

                fw = evaluate(model, x_test, y_test, Path(tmp) / (label.replace(" ", "_") + "_fw"), board="f446re")
                res = validate(fw["program"], qemu=True, count=8)
                print(f"{'':<13} f446re stand-in: flash {fw['flash_bytes']:,} B (ELF), {res.latency:,} instructions "
                      f"per inference, bit-exact: {res.passed}")


if __name__ == "__main__":
    main()

"""A binarized CNN on scikit-learn's digits (bundled, offline) with half of its binary kernels
pruned (thesis ch. 4.3.2: whole k x k kernels of an (output, input) channel pair removed), beside
the same network unpruned: accuracy, host C == reference on the whole test split, and flash and
QEMU instruction counts of both builds.

The network is examples/binary_digits' at width 64 with tinygen.nn.PrunedBinaryConv2d for the
binary layers (binary convolutions 64->64, 64->128 and 128->128):

    QuantAct -> QConv2d 1->64 3x3 -> BN -> BinaryAct -> max pool 2        conv2d, binarize, bmax_pool2d
    PrunedBinaryConv2d 64->64 3x3 -> BN -> BinaryAct                      bconv2d_pruned
    PrunedBinaryConv2d 64->128 3x3 -> BN -> BinaryAct -> max pool 2       bconv2d_pruned, bmax_pool2d
    PrunedBinaryConv2d 128->128 3x3 -> BN -> QuantAct                     bconv2d_pruned, int8 out
    global average pool -> QuantAct -> QLinear 128->10 -> QuantAct        mean, fully_connected

Training: the unpruned network, then `prune_(0.5, group=32, out_group=32)` on each binary layer
(per block of 32 output channels, the 32-channel input groups of smallest L1 norm: the structure
whose pruned words the generated kernel skips, tinygen/ops/bconv2d_pruned.py) and fine-tuning
with the masks fixed. The exported pruned model carries its masks as whole zero kernels.

    .venv/bin/python examples/pruned_bnn_digits/pruned_bnn_digits.py [--epochs 8] [--finetune 4] [--qemu]
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "digits_int8"))

import tinygen  # noqa: E402
from digits import SIZE, Split, load_digits, train_epoch  # noqa: E402,F401  (the digits data, split and training loop of the int8 example)
from tinygen.nn import BinaryAct, PrunedBinaryConv2d, QConv2d, QLinear, QuantAct  # noqa: E402

WIDTH = 64


class PrunedDigitsNet(nn.Module):
    def __init__(self, width: int = WIDTH):
        super().__init__()
        w, w2 = width, 2 * width
        self.q_in = QuantAct()
        self.conv1, self.bn1, self.act1 = QConv2d(1, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), BinaryAct()
        self.conv2, self.bn2, self.act2 = (PrunedBinaryConv2d(w, w, 3, padding=1, bias=False), nn.BatchNorm2d(w),
                                           BinaryAct())
        self.conv3, self.bn3, self.act3 = (PrunedBinaryConv2d(w, w2, 3, padding=1, bias=False), nn.BatchNorm2d(w2),
                                           BinaryAct())
        self.conv4, self.bn4, self.q4 = (PrunedBinaryConv2d(w2, w2, 3, padding=1, bias=False), nn.BatchNorm2d(w2),
                                         QuantAct())
        self.q_gap = QuantAct()
        self.fc, self.q_out = QLinear(w2, 10), QuantAct()

    def binary_layers(self) -> list[PrunedBinaryConv2d]:
        return [self.conv2, self.conv3, self.conv4]

    def pruned_fraction(self) -> float:
        kernels = [(c.kernel_mask.numel(), c.pruned_fraction()) for c in self.binary_layers()]
        return sum(n * f for n, f in kernels) / sum(n for n, _ in kernels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(self.act1(self.bn1(self.conv1(self.q_in(x)))), 2)
        x = self.act2(self.bn2(self.conv2(x)))
        x = F.max_pool2d(self.act3(self.bn3(self.conv3(x))), 2)
        x = self.q4(self.bn4(self.conv4(x)))
        x = self.q_gap(F.adaptive_avg_pool2d(x, 1)).flatten(1)
        return self.q_out(self.fc(x))


def fit(model: nn.Module, split: Split, epochs: int, seed: int = 0, lr: float = 1e-2) -> nn.Module:
    torch.manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr / 2)
    steps = max(1, epochs * -(-len(split.x_train) // 64))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        train_epoch(model, split, gen, opt, sched)
    return model.eval()


def train(split: Split, epochs: int = 8, finetune: int = 4, fraction: float = 0.5,
          seed: int = 0) -> tuple[PrunedDigitsNet, PrunedDigitsNet]:
    """(unpruned, pruned): the trained network, and a copy pruned to `fraction` and fine-tuned."""
    torch.manual_seed(seed)
    dense = fit(PrunedDigitsNet(), split, epochs, seed)
    pruned = copy.deepcopy(dense)
    for conv in pruned.binary_layers():
        conv.prune_(fraction, group=32, out_group=32)
    return dense, fit(pruned, split, finetune, seed + 1, lr=3e-3)


def export(model: nn.Module, path: Path) -> Path:
    torch.export.save(torch.export.export(model.eval(), (torch.zeros(1, 1, SIZE, SIZE),)), str(path))
    return path


def evaluate(model: nn.Module, split: Split, out_dir: Path, board: str = "host") -> dict:
    """Build for `board` (host: the shared library, compared with the reference on the whole test
    split; a board: its QEMU stand-in's firmware, instructions counted on 4 test inputs)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = export(model, out_dir / "model.pt2")
    program = tinygen.build(path, out_dir=out_dir / "build", board=board, emulate=board != "host")
    q = program.quantize(split.x_test, layout="NCHW")
    ref = program.reference(q)
    with torch.no_grad():
        torch_top1 = model(torch.from_numpy(split.x_test)).argmax(1).numpy()
    row = {"program": program, "ops": [layer["op"] for layer in program.report["layers"]],
           "accuracy": float((ref.argmax(1) == split.y_test).mean()),
           "torch_accuracy": float((torch_top1 == split.y_test).mean()),
           "top1_agreement": float((ref.argmax(1) == torch_top1).mean()),
           "weight_bytes": program.report["weight_bytes"], "flash_bytes": program.report["flash_bytes"]}
    if board == "host":
        host = program.run_host(q)
        row["c_equals_reference"] = int(sum(np.array_equal(h, r) for h, r in zip(host, ref)))
    else:
        from tinygen.device.validate import validate

        res = validate(program, qemu=True, inputs=q[:4])
        row["instructions"], row["qemu_bit_exact"] = res.latency, res.passed
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="digits BNN with half of its binary kernels pruned")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--finetune", type=int, default=4)
    ap.add_argument("--qemu", action="store_true",
                    help="also build for the f446re's QEMU stand-in and count instructions")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)  # the machine is shared (see examples/binary_digits/run.py --threads)
    split = load_digits()
    dense, pruned = train(split, args.epochs, args.finetune)
    print(f"binary kernels pruned: {100 * pruned.pruned_fraction():.1f}%")
    ok = True
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, model in (("unpruned", dense), ("50% pruned", pruned)):
            r = rows[label] = evaluate(model, split, Path(tmp) / label.replace(" ", "_").replace("%", ""))
            ok &= r["c_equals_reference"] == len(split.y_test)
            print(f"{label:<11} accuracy torch {r['torch_accuracy']:.4f}, tinygen reference {r['accuracy']:.4f} (top-1 "
                  f"agreement {r['top1_agreement']:.4f}); host C == reference on {r['c_equals_reference']}/"
                  f"{len(split.y_test)}; weights {r['weight_bytes']:,} B; binary layers "
                  + ", ".join(op for op in r["ops"] if op.startswith("bconv")))
            if args.qemu:
                fw = evaluate(model, split, Path(tmp) / (label.replace(" ", "_").replace("%", "") + "_fw"), "f446re")
                rows[label].update(fw_flash=fw["flash_bytes"], instructions=fw["instructions"])
                ok &= fw["qemu_bit_exact"]
                print(f"{'':<11} f446re stand-in: flash {fw['flash_bytes']:,} B (ELF), {fw['instructions']:,} "
                      f"instructions per inference, bit-exact: {fw['qemu_bit_exact']}")
    if args.qemu:
        d, p = rows["unpruned"], rows["50% pruned"]
        print(f"pruned / unpruned: flash {p['fw_flash'] / d['fw_flash']:.3f}x, instructions "
              f"{p['instructions'] / d['instructions']:.3f}x")
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

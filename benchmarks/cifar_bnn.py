"""A CIFAR-shaped binarized network and its int8 twin, built and validated bit-exactly under QEMU,
with emulated instructions per inference side by side (issue 11, item 5).

    .venv/bin/python benchmarks/cifar_bnn.py [--boards f767zi,f446re] [--kernels auto|ref] [--keep DIR]

The BNN (32x32x3 input; seeded random weights, BatchNorm statistics from a few calibration passes on
seeded noise: no training, the instruction counts do not depend on the weights):

    QuantAct -> QConv2d 3->64 3x3 -> BN -> BinaryAct                    conv2d_bits (int8 in, bits out)
    BinaryConv2d 64->64 -> BN -> BinaryAct -> max pool 2                bconv2d, bmax_pool2d
    BinaryConv2d 64->128 -> BN -> BinaryAct                             bconv2d
    BinaryConv2d 128->128 -> BN -> BinaryAct -> max pool 2              bconv2d, bmax_pool2d
    BinaryConv2d 128->256 -> BN -> BinaryAct                            bconv2d
    BinaryConv2d 256->256 -> BN -> QuantAct                             bconv2d (int8 out)
    global average pool -> QuantAct -> QLinear 256->10 -> QuantAct      mean, fully_connected

The twin has the same topology with QConv2d and QuantAct in place of the binary ones. The "body" is
the five 3x3 convolutions between the first and last int8 layers, with their pools (instructions of
all its layers over the MACs of its convolutions): the script prints instructions per MAC of each
body and the twin/BNN ratio (target >= 4). The twin's int8
weights (1.1 MB) need the F767ZI's 2 MB flash: on boards where it does not fit only the BNN runs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import tinygen  # noqa: E402
from tinygen.errors import FitError  # noqa: E402
from tinygen.nn import BinaryAct, BinaryConv2d, QConv2d, QLinear, QuantAct  # noqa: E402

SHAPE = (1, 3, 32, 32)
WIDTHS = [(64, 64, True), (64, 128, False), (128, 128, True), (128, 256, False), (256, 256, False)]  # (in, out, pool)


class CifarNet(nn.Module):
    def __init__(self, binary: bool = True, seed: int = 0):
        super().__init__()
        torch.manual_seed(seed)
        conv = BinaryConv2d if binary else QConv2d
        act = BinaryAct if binary else QuantAct
        self.q_in = QuantAct()
        self.conv1, self.bn1, self.act1 = QConv2d(3, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64), act()
        self.convs = nn.ModuleList(conv(i, o, 3, padding=1, bias=False) for i, o, _ in WIDTHS)
        self.bns = nn.ModuleList(nn.BatchNorm2d(o) for _, o, _ in WIDTHS)
        self.acts = nn.ModuleList([act() for _ in WIDTHS[:-1]] + [QuantAct()])  # the last one is int8
        self.q_gap = QuantAct()
        self.fc, self.q_out = QLinear(256, 10), QuantAct()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act1(self.bn1(self.conv1(self.q_in(x))))
        for (_, _, pool), conv, bn, act in zip(WIDTHS, self.convs, self.bns, self.acts):
            x = act(bn(conv(x)))
            if pool:
                x = F.max_pool2d(x, 2)
        x = self.q_gap(F.adaptive_avg_pool2d(x, 1)).flatten(1)
        return self.q_out(self.fc(x))


def calibrated(binary: bool) -> nn.Module:
    model = CifarNet(binary)
    g = torch.Generator().manual_seed(1)
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn((8, *SHAPE[1:]), generator=g))
    return model.eval()


def run(model, name: str, board: str, workdir: Path, kernels: str):
    """(per-layer [(op, kernel, instructions, MACs)], total instructions) or None when it does not fit."""
    from tinygen.device.validate import validate

    try:
        program = tinygen.build(model, board=board, out_dir=workdir / f"{name}_{board}", input_shape=SHAPE,
                                kernels=kernels, emulate=True)
    except FitError as e:
        print(f"{name} on {board}: does not fit ({str(e).splitlines()[0][:160]})")
        return None
    r = validate(program, qemu=True, board=board, count=1, seed=0, profile=True, timeout=900.0)
    if not r.passed:
        raise SystemExit(f"{name} on {board}: NOT bit-exact\n{r.summary_text()}")
    layers = [(n.op, n.kernel, p.count, p.macs) for n, p in zip(program.graph.nodes, r.profile)]
    return layers, sum(c for _, _, c, _ in layers)


def body(layers):
    """Instructions and MACs of the body: everything after the first (int8-input) layer and before
    the global average pool."""
    assert layers[0][0] in ("conv2d", "conv2d_bits"), layers[0]
    end = next(i for i, (op, *_) in enumerate(layers) if op == "mean")
    part = layers[1:end]
    # MACs of the convolutions only (the report counts a max pool's compares as MACs for int8, not binary)
    return sum(c for _, _, c, _ in part), sum(m for op, _, _, m in part if op in ("bconv2d", "conv2d"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--boards", default="f767zi,f446re")
    ap.add_argument("--kernels", default="auto", choices=("auto", "ref"))
    ap.add_argument("--keep", type=Path, help="keep the builds in this directory")
    args = ap.parse_args()
    torch.set_num_threads(1)
    models = {"bnn": calibrated(True), "twin": calibrated(False)}
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        for board in args.boards.split(","):
            res = {name: run(m, name, board, work, args.kernels) for name, m in models.items()}
            print(f"\n{board} ({args.kernels} kernels): emulated instructions per inference (QEMU -icount)")
            print(f"{'#':>3} {'BNN op':<16} {'kernel':<26} {'instr':>12} {'MAC/instr':>9}   "
                  f"{'twin op':<16} {'kernel':<26} {'instr':>12} {'MAC/instr':>9}")
            rows = [r[0] if r else [] for r in res.values()]
            for i in range(max(len(r) for r in rows)):
                cells = []
                for r in rows:
                    if i < len(r):
                        op, k, c, m = r[i]
                        cells.append(f"{op:<16} {k:<26} {c:>12,} {m / c if m else 0:>9.2f}")
                    else:
                        cells.append(f"{'':<16} {'':<26} {'':>12} {'':>9}")
                print(f"{i:>3} " + "   ".join(cells))
            totals = {name: r[1] for name, r in res.items() if r}
            print("whole model: " + ", ".join(f"{n} {t:,} instructions" for n, t in totals.items()))
            bodies = {name: body(r[0]) for name, r in res.items() if r}
            for name, (c, m) in bodies.items():
                print(f"body {name}: {c:,} instructions, {m:,} MACs, {c / m:.3f} instructions per MAC")
            if len(bodies) == 2:
                (cb, mb), (ct, mt) = bodies["bnn"], bodies["twin"]
                ratio = (ct / mt) / (cb / mb)
                print(f"twin/BNN body instructions per MAC: {ratio:.2f} (target >= 4: {'ok' if ratio >= 4 else 'MISS'}); "
                      f"whole model twin/BNN instructions: {totals['twin'] / totals['bnn']:.2f}")


if __name__ == "__main__":
    main()

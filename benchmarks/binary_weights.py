"""Weight bytes of the binarized digits example against its int8 twin, and tinygen's build time.

The binary network (examples/binary_digits) and the same network with int8 convolutions and
activations are built for the host; weight bytes come from each build's report (packed weights,
thresholds, requantization tables and biases: everything in flash but code). Weight bytes do not
depend on training, so an untrained (calibrated) model is used unless the example's trained
export exists.

    .venv/bin/python benchmarks/binary_weights.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "examples" / "binary_digits"))

import torch  # noqa: E402

import tinygen  # noqa: E402
from binary_digits import BinaryDigitsNet, export, int8_twin, weight_bytes_by_op  # noqa: E402


def _build(path: Path, out: Path):
    t0 = time.perf_counter()
    program = tinygen.build(path, board="host", out_dir=out)
    return program, time.perf_counter() - t0


def main() -> int:
    torch.set_num_threads(2)
    trained = ROOT / "examples" / "binary_digits" / "build" / "digits_bnn.pt2"
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if trained.exists():
            binary_path, source = trained, str(trained.relative_to(ROOT))
        else:
            binary_path, source = tmp / "digits_bnn.pt2", "untrained BinaryDigitsNet"
            torch.manual_seed(0)
            model = BinaryDigitsNet().train()  # one batch calibrates the QuantActs
            with torch.no_grad():
                model(torch.rand(16, 1, 16, 16))
            export(model.eval(), binary_path)
        twin_path = tmp / "digits_int8_twin.pt2"
        export(int8_twin(), twin_path)
        binary, t_binary = _build(binary_path, tmp / "bnn")
        twin, t_twin = _build(twin_path, tmp / "twin")
        print(f"model: {source}")
        print(f"{'network':<14} {'weight B':>9} {'arena B':>8} {'MACs':>9} {'build s':>8}")
        for name, p, t in (("binary", binary, t_binary), ("int8 twin", twin, t_twin)):
            r = p.report
            print(f"{name:<14} {r['weight_bytes']:>9} {r['arena_bytes']:>8} {r['macs']:>9} {t:>8.2f}")
        ratio = twin.report["weight_bytes"] / binary.report["weight_bytes"]
        print(f"weights: binary is {ratio:.1f}x smaller than the int8 twin")
        for name, p in (("binary", binary), ("int8 twin", twin)):
            print(f"  {name} by op: " + ", ".join(f"{k} {v} B" for k, v in weight_bytes_by_op(p).items() if v))
    return 0


if __name__ == "__main__":
    sys.exit(main())

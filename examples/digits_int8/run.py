"""Train (if needed), export, build with tinygen and validate the digits int8 example.

    python examples/digits_int8/run.py [--retrain] [--epochs 30]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import torch  # noqa: E402

import tinygen  # noqa: E402
from digits import compare, export, load_digits, train  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--retrain", action="store_true")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--out", type=Path, default=HERE / "build")
    args = ap.parse_args()
    torch.set_num_threads(2)
    args.out.mkdir(parents=True, exist_ok=True)
    model_path = args.out / "digits_q8.pt2"
    split = load_digits()
    if args.retrain or not model_path.exists():
        t0 = time.perf_counter()
        model = train(split, epochs=args.epochs)
        print(f"trained in {time.perf_counter() - t0:.1f} s")
        export(model, model_path)
    else:
        print(f"using {model_path} (--retrain to train again)")
    model = torch.export.load(str(model_path)).module()
    t0 = time.perf_counter()
    program = tinygen.build(model_path, board="host", out_dir=args.out / "digits_q8")
    print(f"tinygen build (import -> compiled library): {time.perf_counter() - t0:.2f} s -> {program.out_dir}")
    rep = program.report
    print(f"arena {rep['arena_bytes']} B (lower bound {rep['peak_lower_bound_bytes']} B), "
          f"weights {rep['weight_bytes']} B, {rep['macs']} MACs")
    agreement = compare(program, model, split)
    print(agreement.table())
    ok = agreement.c_equals_reference == agreement.n and agreement.top1_agreement >= 0.99 \
        and agreement.within_one_step >= 0.99
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

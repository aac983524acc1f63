"""Train (if needed), export, build with tinygen and validate the binarized digits example.

    python examples/binary_digits/run.py [--retrain] [--epochs 12] [--threads 1]

Prints the test accuracy, the host C == reference check on the whole test split, top-1
agreement with PyTorch, and the weight bytes of this network against its int8 twin.
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
from binary_digits import compare, export, int8_twin, load_digits, train, weight_bytes_by_op  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--retrain", action="store_true")
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--out", type=Path, default=HERE / "build")
    ap.add_argument("--threads", type=int, default=1,
                    help="CPU threads for training (the machine is shared: at most 2; on a loaded machine 1 thread "
                         "trained 10x faster than 2, whose OpenMP workers contend)")
    args = ap.parse_args()
    torch.set_num_threads(min(2, max(1, args.threads)))
    args.out.mkdir(parents=True, exist_ok=True)
    model_path = args.out / "digits_bnn.pt2"
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
    program = tinygen.build(model_path, board="host", out_dir=args.out / "digits_bnn")
    build_s = time.perf_counter() - t0
    print(f"tinygen build (import -> compiled library): {build_s:.2f} s -> {program.out_dir}")
    twin_path = args.out / "digits_int8_twin.pt2"
    export(int8_twin(), twin_path)
    twin = tinygen.build(twin_path, board="host", out_dir=args.out / "digits_int8_twin")
    rep, twin_rep = program.report, twin.report
    print(f"arena {rep['arena_bytes']} B, {rep['macs']} MACs; layers: "
          + ", ".join(layer["op"] for layer in rep["layers"]))
    print(f"weight bytes: binary network {rep['weight_bytes']} B, int8 twin {twin_rep['weight_bytes']} B "
          f"({twin_rep['weight_bytes'] / rep['weight_bytes']:.1f}x smaller)")
    print("  by op (binary network): " + ", ".join(f"{k} {v} B" for k, v in weight_bytes_by_op(program).items()))
    agreement = compare(program, model, split)
    print(agreement.table().replace("accuracy int8 C (host)   ", "accuracy binary C (host) "))
    ok = agreement.c_equals_reference == agreement.n and agreement.top1_agreement >= 0.99
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

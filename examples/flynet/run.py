"""FlyNet end to end: train if needed, `tinygen build`, fit report, validation, accuracy.

    .venv/bin/python examples/flynet/run.py [--board f746zg] [--retrain] [--attention sigmoid|softmax]
                                            [--out examples/flynet/build]

1. If OUT/flynet_q8.pt is missing (or --retrain), train FlyNet-h3 on Fashion-MNIST and export it
   (train.py; a couple of minutes on two cores). An existing export whose biases are not yet on
   the int8 graph's values (tinygen.nn.deploy.snap_bias) is snapped and exported again.
2. `tinygen build flynet_q8.pt --board BOARD`: C project (+ firmware when the board has one) and
   the fit report, printed.
3. `tinygen validate DIR --qemu` on real test images when BOARD is a real board and tinygen.device
   is available, `--host` otherwise: every output bit-identical to the numpy reference.
4. Accuracy on the 10,000 test images: the int8 C (host build, program.run_host) against the
   PyTorch fake-quant model, and the C bit for bit against the numpy reference on the first 1,000
   (the reference interpreter is the slow part); passes when the top-1 accuracies are within one
   point and every compared output is bit-identical.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # no OpenMP spinning when the two cores are shared

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import torch  # noqa: E402

import tinygen  # noqa: E402
import train as flytrain  # noqa: E402


def tinygen_cli(*args: str) -> int:
    """Run the `tinygen` command (the console script beside this Python, else the module)."""
    exe = Path(sys.executable).with_name("tinygen")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "tinygen.cli"]
    print("$ tinygen " + " ".join(args), flush=True)
    return subprocess.run(cmd + list(args)).returncode


@torch.no_grad()
def torch_logits(model, x: np.ndarray, batch: int = 500) -> np.ndarray:
    return np.concatenate([model(torch.from_numpy(x[i:i + batch])).numpy() for i in range(0, len(x), batch)])


def compare(program, model_path: Path, split: flytrain.Split, ref_count: int) -> bool:
    """int8 C (host) top-1 on the whole test split against the PyTorch fake-quant model's, and on
    the first ref_count images the C bit for bit against the numpy reference."""
    t0 = time.perf_counter()
    model = flytrain.load_eager(model_path)
    exported = torch.export.load(str(model_path)).module()
    with torch.no_grad():  # the rebuilt eager model is the exported one
        for i in range(4):
            one = torch.from_numpy(split.x_test[i:i + 1])
            if not torch.equal(model(one), exported(one)):
                raise SystemExit("the rebuilt eager model differs from the exported program")
    t = torch_logits(model, split.x_test)
    q = program.quantize(split.x_test, layout="NCHW")
    host = program.run_host(q)
    ref = program.reference(q[:ref_count])
    same = int(sum(np.array_equal(host[i], ref[i]) for i in range(len(ref))))
    steps = np.abs(program.dequantize(host) - t) / np.float32(program.outputs[0].scale)
    acc_torch = float((t.argmax(1) == split.y_test).mean())
    acc_c = float((host.argmax(1) == split.y_test).mean())
    print("\n".join([
        f"test images                             {len(q)}",
        f"host C == reference (bit-exact)         {same}/{len(ref)} (the first {len(ref)})",
        f"top-1 agreement int8 C vs PyTorch       {(host.argmax(1) == t.argmax(1)).mean():.4f}",
        f"logits within 1 quantization step       {(steps <= 1 + 1e-4).mean():.4f} (max {steps.max():.2f} steps)",
        f"top-1 PyTorch fake-quant                {acc_torch:.4f}",
        f"top-1 int8 C (host)                     {acc_c:.4f}",
        f"difference                              {100 * (acc_c - acc_torch):+.2f} points "
        f"(compared in {time.perf_counter() - t0:.0f} s)",
    ]))
    return same == len(ref) and abs(acc_c - acc_torch) <= 0.01


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--board", default="f746zg", help="target board (see `tinygen boards`), or host")
    ap.add_argument("--out", type=Path, default=HERE / "build")
    ap.add_argument("--retrain", action="store_true")
    ap.add_argument("--attention", choices=("sigmoid", "softmax"), default="sigmoid", help="ECA attention when training")
    ap.add_argument("--count", type=int, default=20, help="test images validated on the device")
    ap.add_argument("--ref-count", type=int, default=1000, help="test images compared with the numpy reference")
    args = ap.parse_args()
    torch.set_num_threads(2)
    t_start = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    model_path = args.out / "flynet_q8.pt"
    if args.retrain or not model_path.exists():
        flytrain.main(["--out", str(args.out), "--attention", args.attention])
    else:
        print(f"using {model_path} (--retrain to train again)")
        if flytrain.snap_export(model_path):
            print(f"{model_path.name}: biases snapped onto the int8 graph's values and exported again")

    board_dir = args.out / f"flynet_q8_{args.board}"
    t0 = time.perf_counter()
    if tinygen_cli("build", str(model_path), "--board", args.board, "-o", str(board_dir)) != 0:
        return 1
    print(f"tinygen build for {args.board}: {time.perf_counter() - t0:.1f} s")

    split = flytrain.load_fashion()
    inputs = args.out / "test_images_q8.npy"  # real test images, quantized, channels-last
    np.save(inputs, tinygen.load(board_dir).quantize(split.x_test[:args.count], layout="NCHW"))
    device = args.board != "host" and importlib.util.find_spec("tinygen.device") is not None
    where = "--qemu" if device else "--host"
    if tinygen_cli("validate", str(board_dir), where, "--inputs", str(inputs), "--count", str(args.count)) != 0:
        return 1

    host = tinygen.load(board_dir) if args.board == "host" else \
        tinygen.build(model_path, board="host", out_dir=args.out / "flynet_q8_host")
    ok = compare(host, model_path, split, args.ref_count)
    print(f"{'OK' if ok else 'FAILED'} in {time.perf_counter() - t_start:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

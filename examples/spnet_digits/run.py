"""Train, export, build and validate the switchable-precision digits example (SP-Net).

    python examples/spnet_digits/run.py [--epochs 12] [--boards f746zg f446re] [--qemu-count 20]

1. trains one SP-Net with switches 8, 4 and 1 bits (joint training) and, for comparison, one
   separately trained single-precision model per width (same topology, one switch);
2. builds the SP-Net into one library + firmware per board (`tinygen build digits.spnet`), and
   each separate model as its own firmware;
3. checks every switch bit-exact on the host on the whole test split, and under QEMU on a
   sample with the switches interleaved (with the emulated instruction count per switch);
4. prints the table: accuracy, flash and instructions per switch beside the separate models,
   and the combined firmware's flash against the sum of the separate firmwares.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import torch  # noqa: E402

import tinygen  # noqa: E402
from tinygen import spnet  # noqa: E402
from spnet_digits import SWITCHES, accuracy, compare, export, export_single, load_digits, train  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--width", type=int, default=32)
    ap.add_argument("--boards", nargs="+", default=["f746zg", "f446re"])
    ap.add_argument("--qemu-count", type=int, default=20)
    ap.add_argument("--out", type=Path, default=HERE / "build")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(min(2, max(1, args.threads)))
    args.out.mkdir(parents=True, exist_ok=True)
    split = load_digits()
    t0 = time.perf_counter()
    model = train(split, epochs=args.epochs, width=args.width)
    print(f"SP-Net trained in {time.perf_counter() - t0:.1f} s")
    sp_path = export(model, args.out / "digits.spnet")
    singles = {}
    for k in SWITCHES:
        t0 = time.perf_counter()
        m = train(split, epochs=args.epochs, width=args.width, switches=(k,), log=None)
        print(f"separate {k}-bit model trained in {time.perf_counter() - t0:.1f} s, accuracy {accuracy(m, split, k):.4f}")
        singles[k] = (m, export_single(m, k, args.out / f"digits_w{k}.pt2"))

    ok = True
    host = spnet.build(sp_path, board="host", out_dir=args.out / "spnet_host")
    q = host.quantize(split.x_test, layout="NCHW")
    hv = spnet.validate_host(host, inputs=q)
    print(hv.summary_text())
    ok &= hv.passed
    acc = {a.bits: a for a in compare(host, model, split)}
    sep_acc = {}
    for k, (m, path) in singles.items():
        p = tinygen.build(path, board="host", out_dir=args.out / f"w{k}_host")
        r = p.reference(q).argmax(1)
        sep_acc[k] = float((r == split.y_test).mean())

    results = {"switches": list(SWITCHES), "boards": {}}
    for board in args.boards:
        sp = spnet.build(sp_path, board=board, out_dir=args.out / f"spnet_{board}")
        dv = spnet.validate_device(sp, qemu=True, inputs=q[:args.qemu_count])
        print(dv.summary_text())
        ok &= dv.passed
        lat = {s.bits: max(s.latencies) for s in dv.switches}
        rows, sep_flash_total = [], 0
        for s in sp.report["switches"]:
            k = s["bits"]
            single = tinygen.build(singles[k][1], board=board, out_dir=args.out / f"w{k}_{board}")
            from tinygen.device.validate import validate

            sv = validate(single, qemu=True, inputs=[q[:3]])
            ok &= sv.passed
            sep_flash_total += single.report["flash_bytes"]
            rows.append({"bits": k, "acc_spnet_torch": acc[k].torch_accuracy, "acc_spnet_c": acc[k].int8_accuracy,
                         "acc_separate_c": sep_acc[k], "flash_switch": s["flash_bytes"],
                         "flash_separate_firmware": single.report["flash_bytes"], "instr_spnet": lat[k],
                         "instr_separate": sv.latency, "macs": s["macs"], "kernels": s["kernels"]})
        results["boards"][board] = {"rows": rows, "flash_combined": sp.report["flash_bytes"],
                                    "flash_separate_sum": sep_flash_total, "sram_combined": sp.report["sram_bytes"],
                                    "arena": sp.report["arena_bytes"],
                                    "shared_kernels": sp.report["shared_kernels"],
                                    "shared_kernel_flash": sp.report.get("shared_kernel_flash_bytes")}
        ok &= sp.report["flash_bytes"] < sep_flash_total
    text = table(results)
    print(text)
    (args.out / "results.md").write_text(text)
    (args.out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


def table(results: dict) -> str:
    lines = []
    for board, r in results["boards"].items():
        lines += [f"### {board} (QEMU stand-in instruction counts; accuracy on the 360-image test split)", "",
                  "| bits | SP-Net acc (PyTorch) | SP-Net acc (C) | separate acc (C) | switch flash B | separate firmware B "
                  "| SP-Net instr | separate instr |",
                  "|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for row in r["rows"]:
            lines.append(f"| {row['bits']} | {row['acc_spnet_torch']:.4f} | {row['acc_spnet_c']:.4f} | "
                         f"{row['acc_separate_c']:.4f} | {row['flash_switch']:,} | {row['flash_separate_firmware']:,} | "
                         f"{row['instr_spnet']:,} | {row['instr_separate']:,} |")
        lines += ["", f"combined firmware flash {r['flash_combined']:,} B vs sum of separate firmwares "
                  f"{r['flash_separate_sum']:,} B ({r['flash_combined'] / r['flash_separate_sum']:.2f}x); "
                  f"SRAM {r['sram_combined']:,} B (arena {r['arena']:,} B); shared kernels "
                  f"({r['shared_kernel_flash']:,} B): {', '.join(r['shared_kernels'])}", ""]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())

"""Instructions per MAC of the int8 kernels on issue 10's models, fast kernels vs references.

    .venv/bin/python benchmarks/int8_kernels.py                         # all models, f746zg + f446re
    .venv/bin/python benchmarks/int8_kernels.py --models ds_cnn --boards f746zg

Builds each topology in Keras with seeded random weights, quantizes it to int8 with
TFLiteConverter and a seeded representative set (the .tflite files are cached in
build/int8_kernels/, gitignored), builds it with `--kernels auto` and `--kernels ref` for each
board's QEMU stand-in, validates bit-exact and profiles (-icount: exact emulated instructions).
Prints per model the whole-model instructions/MAC (against TFLM + CMSIS-NN's figure from the
issue, measured on the M7 stand-in), per layer kind and per kernel variant, and the model
library's .text bytes (kernels included). Layers the planner runs as one fused chain in row bands
(see report.txt) are profiled as one call, charged to its last layer, and a patch stage's tiles as
one call at its first layer (with the recomputed MACs it adds): they are counted as the kinds
"fused chain" and "patch stage"; `--fusion off` gives every layer its own row. Prints numbers;
not a test.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

CACHE = ROOT / "build" / "int8_kernels"
TFLM_CMSIS = {"mobilenet_v2_035_96": 4.31, "mobilenet_v2_030_80": 4.32, "ds_cnn": 3.24, "resnet8": 2.40}


def _keras_models():
    import tensorflow as tf

    L = tf.keras.layers

    def mnv2(alpha, hw):
        return tf.keras.applications.MobileNetV2((hw, hw, 3), alpha=alpha, weights=None, classes=10)

    def ds_cnn():
        x = inp = L.Input((49, 10, 1), batch_size=1)
        x = L.ReLU()(L.BatchNormalization()(L.Conv2D(64, (10, 4), strides=(2, 2), padding="same")(x)))
        for _ in range(4):
            x = L.ReLU()(L.BatchNormalization()(L.DepthwiseConv2D(3, padding="same")(x)))
            x = L.ReLU()(L.BatchNormalization()(L.Conv2D(64, 1)(x)))
        x = L.Flatten()(L.AveragePooling2D(x.shape[1:3])(x))
        return tf.keras.Model(inp, L.Dense(12)(x))

    def resnet8():
        x = inp = L.Input((32, 32, 3), batch_size=1)
        x = L.ReLU()(L.BatchNormalization()(L.Conv2D(16, 3, padding="same")(x)))
        for ch, s in ((16, 1), (32, 2), (64, 2)):
            y = L.ReLU()(L.BatchNormalization()(L.Conv2D(ch, 3, strides=s, padding="same")(x)))
            y = L.BatchNormalization()(L.Conv2D(ch, 3, padding="same")(y))
            if s != 1:
                x = L.Conv2D(ch, 1, strides=s)(x)
            x = L.ReLU()(L.Add()([x, y]))
        x = L.Flatten()(L.AveragePooling2D(x.shape[1:3])(x))
        return tf.keras.Model(inp, L.Dense(10)(x))

    def mnv1():  # VWW shape; the classifier head built here (Keras' own top reshapes through SHAPE)
        base = tf.keras.applications.MobileNet((96, 96, 3), alpha=0.25, weights=None, include_top=False,
                                               pooling="avg")
        return tf.keras.Model(base.input, L.Dense(2)(base.output))

    return {
        "mobilenet_v2_035_96": lambda: mnv2(0.35, 96),
        "mobilenet_v2_030_80": lambda: mnv2(0.30, 80),
        "ds_cnn": ds_cnn,
        "resnet8": resnet8,
        "mobilenet_v1_025_96": mnv1,
    }


MODELS = ("mobilenet_v2_035_96", "mobilenet_v2_030_80", "ds_cnn", "resnet8", "mobilenet_v1_025_96")


def tflite_file(name: str) -> Path:
    path = CACHE / f"{name}.tflite"
    if not path.exists():
        import numpy as np
        import tensorflow as tf

        from tests.importers.keras_zoo import quantize

        tf.keras.utils.set_random_seed(0)
        model = _keras_models()[name]()
        shape = model.input_shape[1:]
        samples = np.random.default_rng(0).normal(size=(32, *shape)).astype(np.float32)
        CACHE.mkdir(parents=True, exist_ok=True)
        path.write_bytes(quantize(model, samples))
    return path


def layer_kind(entry: dict, node, graph) -> str:
    if entry["op"] == "fully_connected":
        return "FC"
    if entry["op"] != "conv2d":
        return "other"
    w = graph.t(node.inputs[1]).shape
    a = node.attrs
    cin = graph.t(node.inputs[0]).shape[3]
    if a.groups > 1:
        return f"depthwise s{a.stride[0]}"
    if cin <= 3:
        return "first conv"
    if w[1:3] == (1, 1):
        return "pointwise"
    return f"{w[1]}x{w[2]} conv"


def run(name: str, board: str, kernels: str, count: int, fusion: str = "auto") -> dict:
    import tinygen
    from tinygen.compile.firmware import build_firmware
    from tinygen.compile.sizes import object_sizes
    from tinygen.device.validate import validate

    out = CACHE / f"{name}_{board}_{kernels}_{fusion}"
    program = tinygen.build(str(tflite_file(name)), board=board, out_dir=out, kernels=kernels, emulate=True,
                            fusion=fusion)
    fw = build_firmware(out, program.prefix, board, emulate=True)
    r = validate(program, qemu=True, board=board, count=count, seed=0, profile=True)
    if not r.passed:
        raise SystemExit(f"{name} {board} {kernels}: NOT bit-exact\n{r.summary_text()}")
    layers = program.report["layers"]
    sched = program.report["schedule"]
    fused = {i for group in sched["fused_layers"] for i in group}
    tiled = {i for st in sched.get("patched_layers", []) for i in st["layers"]}
    kinds, variants = defaultdict(lambda: [0, 0]), defaultdict(lambda: [0, 0])
    for p in r.profile:
        e = layers[p.index]
        node = program.graph.nodes[p.index]
        kind = "patch stage" if p.index in tiled else "fused chain" if p.index in fused else None
        for table, key in ((kinds, kind or layer_kind(e, node, program.graph)), (variants, kind or e["kernel"])):
            table[key][0] += p.count
            table[key][1] += p.macs
    text = object_sizes(sorted((fw.elf.parent / "model").glob("*.o")))["text"]
    return {"instr": r.latency, "macs": r.macs, "kinds": dict(kinds), "variants": dict(variants), "text": text}


def ratio(v):
    return f"{v[0] / v[1]:6.2f}" if v[1] else "     -"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--boards", default="f746zg,f446re")
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--fusion", default="auto", choices=("auto", "off"))
    args = ap.parse_args(argv)
    from tinygen.errors import TinygenError

    for name in args.models.split(","):
        for board in args.boards.split(","):
            try:
                fast = run(name, board, "auto", args.count, args.fusion)
                ref = run(name, board, "ref", args.count, args.fusion)
            except TinygenError as e:  # e.g. a model that does not fit the board's SRAM
                print(f"\n{name} on {board}: not built: {str(e).splitlines()[0]}")
                continue
            tflm = TFLM_CMSIS.get(name)
            print(f"\n{name} on {board}: {fast['macs']:,} MACs; instr/MAC fast {fast['instr'] / fast['macs']:.2f}, "
                  f"ref {ref['instr'] / ref['macs']:.2f}" + (f", TFLM+CMSIS-NN (M7) {tflm}" if tflm else "")
                  + f"; model library .text fast {fast['text']} B, ref {ref['text']} B")
            print(f"  {'layer kind':<16} {'MACs':>11} {'fast':>6} {'ref':>6}")
            for k in sorted(set(fast["kinds"]) | set(ref["kinds"])):
                f, rr = fast["kinds"].get(k, [0, 0]), ref["kinds"].get(k, [0, 0])
                print(f"  {k:<16} {max(f[1], rr[1]):>11,} {ratio(f)} {ratio(rr)}  ({f[0]:,} vs {rr[0]:,} instr)")
            print(f"  {'kernel variant':<24} {'MACs':>11} {'instr/MAC':>9}")
            for k, v in sorted(fast["variants"].items()):
                print(f"  {k:<24} {v[1]:>11,} {ratio(v):>9}  ({v[0]:,} instr)")
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())

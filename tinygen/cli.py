"""`tinygen build | validate | flash | report | boards`. One line per error unless --debug."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from tinygen.errors import TinygenError


def _shape(text: str) -> tuple[int, ...]:
    try:
        dims = tuple(int(d) for d in text.replace("x", ",").split(",") if d.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a shape like 1,3,32,32") from None
    if not dims or any(d <= 0 for d in dims):
        raise argparse.ArgumentTypeError(f"'{text}' is not a shape like 1,3,32,32")
    return dims


def _progress(msg: str) -> None:
    print(f"  {msg}...", file=sys.stderr, flush=True)


def cmd_build(args) -> int:
    if args.list_ops:
        from tinygen.importers.op_list import listing

        print(listing())
        return 0
    if args.model is None:
        raise TinygenError("build needs a MODEL file (or --list-ops)")
    from tinygen.boards import board_name
    from tinygen.pipeline import build

    args.board = board_name(args.board, allow_host=True)  # before any import work
    from tinygen.spnet.assemble import is_spnet

    if is_spnet(args.model):  # an SP-Net export directory: every switch in one library
        from tinygen.spnet.assemble import build_spnet

        sp = build_spnet(args.model, board=args.board, out_dir=args.output, name=args.name, dump_dir=args.dump_dir,
                         progress=_progress, emulate=args.emulate, kernels=args.kernels)
        print((sp.out_dir / "report.txt").read_text().rstrip())
        print(f"built {sp.out_dir} for {sp.board}: switches {sp.bits}, one arena of {sp.report['arena_bytes']} B")
        return 0
    program = build(args.model, board=args.board, out_dir=args.output, input_shape=args.input_shape,
                    trust_pickle=args.trust_pickle, dump_dir=args.dump_dir, progress=_progress,
                    calibration=args.calibration, emulate=args.emulate, kernels=args.kernels, name=args.name,
                    input_buffer=args.input_buffer, fusion=args.fusion, compress=args.compress,
                    patch_budget=args.patch_budget)
    rep = program.report
    text = program.out_dir / "report.txt"
    if text.exists():
        print(text.read_text().rstrip())
    print(f"built {program.out_dir} for {program.board}: arena {rep.get('arena_bytes')} B "
          f"(lower bound {rep.get('peak_lower_bound_bytes')} B), weights {rep.get('weight_bytes')} B, "
          f"{rep.get('macs')} MACs, in {rep.get('build_seconds')} s")
    return 0


def _plan_arguments(p) -> None:
    p.add_argument("--input-buffer", choices=["arena", "caller"], default="arena",
                   help="arena: the model input lives in the arena, written through <name>_input0_buffer() and "
                        "reused once consumed (default); caller: in your own buffer, outside the arena")
    p.add_argument("--fusion", choices=["auto", "off"], default="auto",
                   help="auto: layers run in place where exact (default); off: every layer on whole tensors of "
                        "its own, for bisecting")
    from tinygen.plan.liveness import PlanOptions
    from tinygen.plan.patch import INSTRUCTION_SHARE

    budget = PlanOptions.patch_budget
    p.add_argument("--patch-budget", type=float, default=budget, metavar="FRACTION",
                   help=f"recompute patch-based (tiled) stages may add: at most FRACTION of the model's MACs and "
                        f"at most FRACTION x {INSTRUCTION_SHARE:g} of its estimated instructions (each layer on its "
                        f"fast dense kernel); {budget:g} (default) allows {budget * 100:g}%% more MACs and "
                        f"{budget * INSTRUCTION_SHARE * 100:g}%% more estimated instructions, 0 turns tiling off "
                        "(so does --fusion off)")


def cmd_analyze(args) -> int:
    from tinygen.boards import board_name
    from tinygen.pipeline import analyze

    args.board = board_name(args.board)
    from tinygen.spnet.assemble import is_spnet

    if is_spnet(args.model):
        raise TinygenError(f"{args.model}: analyze does not take SP-Net directories yet; `tinygen build "
                           f"{args.model} --board {args.board}` reports flash per switch and SRAM from the linked ELF")
    rep = analyze(args.model, args.board, args.output, input_shape=args.input_shape, trust_pickle=args.trust_pickle,
                  calibration=args.calibration, name=args.name, progress=_progress, input_buffer=args.input_buffer,
                  fusion=args.fusion, patch_budget=args.patch_budget)
    out = Path(args.output) if args.output else None
    text = (out or Path("build") / Path(args.model).stem / "analysis") / "report.txt"
    print(text.read_text().rstrip())
    if not rep["fits"]:
        print(f"tinygen: does not fit {args.board} (estimate); report in {text.parent}", file=sys.stderr)
        return 1
    print(f"fits {args.board} (estimate): SRAM {rep['sram_bytes']:,} of {rep['sram_capacity_bytes']:,} B, "
          f"flash {rep['flash_bytes']:,} of {rep['flash_capacity_bytes']:,} B; report in {text.parent}")
    return 0


def _validate_spnet(args) -> int:
    from tinygen import spnet

    program = spnet.load(args.dir)
    if args.against:
        raise TinygenError("--against compares one program with its framework model; an SP-Net build has one "
                           "program per switch: validate a switch's bit-exactness with --host/--qemu/--port")
    if not (args.host or args.qemu or args.port):
        raise TinygenError("validate needs a target: --host, --qemu or --port PORT")
    switches = args.switch or None
    if args.host:
        result = spnet.validate_host(program, count=args.count, seed=args.seed, inputs=args.inputs, switches=switches)
    else:
        result = spnet.validate_device(program, qemu=args.qemu, port=args.port, count=args.count, seed=args.seed,
                                       inputs=args.inputs, switches=switches, board=args.board,
                                       emulator=args.emulator, baud=args.baud, timeout=args.timeout,
                                       profile=args.profile)
    print(result.summary_text())
    return 0 if result.passed else 1


def _against(args, program):
    """`validate --against`: (quantized inputs for the target, a function printing and recording
    the comparison with the framework model)."""
    import numpy as np

    from tinygen.importers.framework_model import load_framework_model
    from tinygen.validation import against as ag

    def npy(path, what):
        try:
            return np.load(path)
        except Exception as e:  # noqa: BLE001  (numpy raises many types for a bad file)
            raise TinygenError(f"{path}: cannot read {what} ({str(e)[:120]})") from None

    model = load_framework_model(args.against)
    x = npy(args.inputs, "inputs") if args.inputs else None
    q, xf = ag.comparison_inputs(program, x, args.layout, model.layout, args.count, args.seed)
    labels = npy(args.labels, "labels")[:len(q)] if args.labels else None
    if labels is not None and len(labels) != len(q):
        raise TinygenError(f"{args.labels}: {len(labels)} labels for {len(q)} inputs")
    refs = program.reference(q)
    refs = refs if isinstance(refs, list) else [refs]
    fws = model.run(xf)
    if len(fws) != len(refs):
        raise TinygenError(f"{args.against}: the framework model has {len(fws)} outputs, the program {len(refs)}")
    figures = [ag.agreement(s.name, program.dequantize(r, k), ag.to_output_layout(f, r.shape, model.layout),
                            s.scale, labels) for k, (s, r, f) in enumerate(zip(program.outputs, refs, fws))]

    def report():
        print("\n".join(ag.summary_lines(model.name, figures)))
        ag.write_report(program.out_dir, model.name, figures)
    return q, report


def cmd_validate(args) -> int:
    import tinygen
    from tinygen.progress import counter
    from tinygen.validation.host import validate_host

    if (Path(args.dir) / "spnet.json").is_file():
        return _validate_spnet(args)
    program = tinygen.load(args.dir)
    if (args.labels or args.layout != "NHWC") and not args.against:
        raise TinygenError("--labels and --layout go with --against MODEL")
    if not (args.host or args.qemu or args.port):
        if not args.against:
            raise TinygenError("validate needs a target: --host, --qemu or --port PORT")
        args.host = True
    report = None
    if args.against:
        args.inputs, report = _against(args, program)
    if args.host:
        result = validate_host(program, args.count, args.seed, args.inputs, counter("validating on host", "samples"))
    else:
        try:
            from tinygen.device.validate import validate
        except ImportError:
            raise TinygenError("device validation (--qemu/--port) is not available in this build") from None
        result = validate(program, qemu=args.qemu, port=args.port, inputs=args.inputs, count=args.count,
                          seed=args.seed, profile=args.profile, progress=counter("validating", "samples"),
                          board=args.board, emulator=args.emulator, baud=args.baud, timeout=args.timeout)
    print(result.summary_text())
    if report is not None:
        report()
    return 0 if result.passed else 1  # the bit-exact verdict, whatever --against found


def cmd_report(args) -> int:
    path = Path(args.dir) / "report.json"
    if not path.exists():
        raise TinygenError(f"{args.dir}: no report.json; run `tinygen build` first")
    if args.json:
        print(path.read_text().rstrip())
        return 0
    text = Path(args.dir) / "report.txt"
    print(text.read_text().rstrip() if text.exists() else json.dumps(json.loads(path.read_text()), indent=1))
    return 0


def cmd_flash(args) -> int:
    try:
        from tinygen.device.flash import flash
    except ImportError:
        raise TinygenError("flashing is not available in this build") from None
    result = flash(args.dir, board=args.board, tool=args.tool, probe=args.probe)
    print(f"flashed {result.image} to {result.board} with {result.tool}")
    return 0


def cmd_boards(args) -> int:
    from tinygen.boards import boards_table

    print(boards_table())
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tinygen", description="Quantized and binarized networks to bit-exact C for Cortex-M")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = p.add_subparsers(dest="command", required=True)

    b = sub.add_parser("build", help="import, lower, plan, generate and compile a model")
    b.add_argument("model", nargs="?", help="torch.export archive (.pt2/.pt), TorchScript archive, pickle with --trust-pickle, "
                   ".tflite (int8, or Larq/LCE), or Keras .keras/.h5")
    b.add_argument("--board", default="host", help="target board (host builds a shared library); see `tinygen boards`")
    b.add_argument("-o", "--output", type=Path, help="output directory (default build/<model stem>)")
    b.add_argument("--input-shape", type=_shape, help="input shape when the file does not record it, e.g. 1,3,32,32")
    b.add_argument("--trust-pickle", action="store_true", help="allow torch.save pickles (runs code from the file)")
    b.add_argument("--calibration", type=Path,
                   help="float32 .npy of [N, *input shape] samples to quantize a float model to int8: Keras "
                        "(.keras/.h5) with TFLite's converter, PyTorch with PT2E and tinygen.quantizer (needs torchao)")
    b.add_argument("--name", help="C symbol prefix of the model library (<name>_invoke, <name>.h; default: "
                   "from the model file name); give each model of one firmware its own")
    b.add_argument("--list-ops", action="store_true", help="list the PyTorch and TFLite ops tinygen imports, and exit")
    b.add_argument("--dump-dir", type=Path, help="write the graph after every stage here")
    b.add_argument("--kernels", choices=["auto", "ref"], default="auto",
                   help="auto: the fastest kernel variant each layer supports (default); ref: reference kernels "
                        "everywhere, for bisecting a mismatch")
    _plan_arguments(b)
    b.add_argument("--compress", choices=["auto", "none"], default="auto",
                   help="auto: drop all-zero filters, store codebook and sparse weights compactly where that "
                        "saves flash (default); none: every weight dense as lowered")
    b.add_argument("--emulate", action="store_true",
                   help="build the firmware for the board's QEMU stand-in (same model code and flags, real memory limits)")
    b.set_defaults(fn=cmd_build)

    a = sub.add_parser("analyze", help="fit report from estimates (no compiler needed, seconds); written even when it does not fit")
    a.add_argument("model", help="model file, as for build")
    a.add_argument("--board", required=True, help="target board; see `tinygen boards`")
    a.add_argument("-o", "--output", type=Path, help="report directory (default build/<model stem>/analysis)")
    a.add_argument("--input-shape", type=_shape, help="input shape when the file does not record it")
    a.add_argument("--trust-pickle", action="store_true", help="allow torch.save pickles (runs code from the file)")
    a.add_argument("--calibration", type=Path, help="float32 .npy samples to quantize a float Keras model")
    a.add_argument("--name", help="C symbol prefix, as for build")
    _plan_arguments(a)
    a.set_defaults(fn=cmd_analyze)

    v = sub.add_parser("validate", help="run inputs through the built program and the reference; exit 1 on any difference")
    where = v.add_mutually_exclusive_group()
    where.add_argument("--host", action="store_true", help="the generated C compiled for this machine")
    where.add_argument("--qemu", action="store_true", help="the firmware under QEMU")
    where.add_argument("--port", help="a board's serial port, e.g. /dev/ttyACM0")
    v.add_argument("dir", type=Path)
    v.add_argument("--inputs", type=Path, help=".npy file of inputs (int8, or float to quantize)")
    v.add_argument("--count", type=int, default=100, help="number of inputs (default 100)")
    v.add_argument("--seed", type=int, default=0)
    v.add_argument("--profile", action="store_true", help="per-layer latency (device only)")
    v.add_argument("--switch", type=int, action="append",
                   help="SP-Net builds: validate only this switch (bits; repeatable; default every switch)")
    v.add_argument("--board", help="board the firmware targets (default: the one it was built for)")
    v.add_argument("--emulator", help="QEMU stand-in to use with --qemu (default: the board's, e.g. mps2-an500)")
    v.add_argument("--baud", type=int, default=115200, help="serial speed with --port")
    v.add_argument("--timeout", type=float, default=20.0, help="seconds to wait for one reply")
    v.add_argument("--against", type=Path, help="also compare with the framework model the build came from (PyTorch "
                   "float or fake-quant, Keras .keras/.h5 or float .tflite): top-1 agreement, error in output steps, "
                   "cosine, L2 ratio (default target --host)")
    v.add_argument("--labels", type=Path, help="with --against: .npy of integer labels, one per input, for accuracy")
    v.add_argument("--layout", choices=["NHWC", "NCHW"], default="NHWC",
                   help="with --against: layout of float --inputs (NCHW for images saved from PyTorch)")
    v.set_defaults(fn=cmd_validate)

    f = sub.add_parser("flash", help="write the firmware to a connected board")
    f.add_argument("dir", type=Path)
    f.add_argument("--tool", choices=["openocd", "stlink", "pyocd", "drive"], default=None,
                   help="default: the first of the board's tools that is installed")
    f.add_argument("--board", help="default: the board the directory was built for")
    f.add_argument("--probe", help="ST-LINK serial number when several boards are connected")
    f.set_defaults(fn=cmd_flash)

    r = sub.add_parser("report", help="print a build's memory and size report")
    r.add_argument("dir", type=Path)
    r.add_argument("--json", action="store_true")
    r.set_defaults(fn=cmd_report)

    sub.add_parser("boards", help="list known boards").set_defaults(fn=cmd_boards)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if not args.debug:
        import logging
        import warnings

        warnings.filterwarnings("ignore")
        logging.disable(logging.WARNING)
    try:
        return args.fn(args)
    except TinygenError as e:
        if args.debug:
            raise
        print(f"tinygen: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("tinygen: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

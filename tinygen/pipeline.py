"""`tinygen.build`: model -> lowered graph -> plan -> C -> compiled program, into one directory.

The output directory is assembled beside its final place and swapped in only when every step
succeeded, so a failed build never leaves a directory that looks valid.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any, Callable

from tinygen.version import __version__
from tinygen.codegen import generate
from tinygen.errors import FitError, TinygenError
from tinygen.ir import serialize
from tinygen.ir.graph import Graph
from tinygen.ir.verify import verify
from tinygen.ir.verify_params import verify_params
from tinygen.passes.assign_quant import assign_quant
from tinygen.passes.binary_weights import binary_weights
from tinygen.passes.compress import compress as compress_weights
from tinygen.passes.fold_batch_norm import fold_batch_norm
from tinygen.passes.fuse_activation import fuse_activation
from tinygen.passes.fuse_sign import fuse_sign
from tinygen.passes.hoist_fake_quant import hoist_fake_quant
from tinygen.passes.lower import lower
from tinygen.passes.propagate_binary import propagate_binary
from tinygen.report.write import write_report
from tinygen.plan import PlanOptions, plan_with_schedule
from tinygen.select import select_kernels, target_of
from tinygen.program import Program

# Each pass is called as pass(graph, source). Binary weights are recognised first, and BN + sign
# chains are fused before fold_batch_norm would fold their BatchNorm into the weights.
FLOAT_PASSES: list[Callable[[Graph, str], Graph]] = [binary_weights, fuse_sign, propagate_binary, fold_batch_norm,
                                                     fuse_activation, hoist_fake_quant]


def _quiet(msg: str) -> None:
    pass


def import_any(model: Any, input_shape=None, trust_pickle: bool = False, calibration=None) -> tuple[Graph, str]:
    """A path, an ExportedProgram or an nn.Module (with input_shape) -> (float graph, model name).
    `calibration` (samples or an .npy path) quantizes a float Keras model file."""
    if isinstance(model, (str, os.PathLike)):
        from tinygen.importers import import_model

        return import_model(model, input_shape, trust_pickle, calibration), Path(model).name
    from tinygen.importers.torch.graph import import_torch_object

    if calibration is not None:  # a float module: PT2E PTQ with tinygen.quantizer first
        from tinygen.importers.torch.ptq import quantize_ptq

        model = quantize_ptq(model, calibration, input_shape)
    return import_torch_object(model, input_shape)


def lower_model(graph: Graph, source: str, dump_dir: Path | None = None, compress: str = "auto") -> Graph:
    """Float graph -> verified lowered graph, dumping each stage when asked. `compress`: "auto"
    stores pruned, codebook and sparse weights compactly (tinygen/passes/compress), "none" not."""
    def dump(stage: str, g: Graph) -> None:
        if dump_dir is not None:
            dump_dir.mkdir(parents=True, exist_ok=True)
            (dump_dir / f"{stage}.txt").write_text(g.summary() + "\n")

    verify(graph)
    dump("0_imported", graph)
    if graph.dialect == "lowered":  # already integer ops (a .tflite import): no float passes, no lowering
        _check_params(graph, source)
        return _compressed(graph, source, compress, dump)
    for i, p in enumerate(FLOAT_PASSES, 1):
        graph = p(graph, source)
        verify(graph)
        dump(f"{i}_{p.__name__}", graph)
    graph = assign_quant(graph, source)
    verify(graph)
    try:
        lowered = lower(graph, source)
    except (ValueError, OverflowError) as e:  # e.g. a NaN or huge scale in a damaged file
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
        raise TinygenError(f"{source}: cannot lower the model's quantization ({first}); "
                           "the file is damaged or its scales are out of range") from None
    try:
        verify(lowered)
    except ValueError as e:
        raise TinygenError(f"{source}: internal error after lowering: {e}") from e
    dump("9_lowered", lowered)
    _check_params(lowered, source)
    return _compressed(lowered, source, compress, dump)


def _compressed(graph: Graph, source: str, mode: str, dump) -> Graph:
    if mode == "none":
        return graph
    graph = compress_weights(graph, source, mode)
    try:
        verify(graph)
        verify_params(graph)
    except ValueError as e:
        raise TinygenError(f"{source}: internal error after weight compression: {e}") from e
    dump("10_compressed", graph)
    return graph


INPUT_BUFFERS = ("arena", "caller")
FUSION = ("auto", "off")


def plan_options(input_buffer: str = "arena", fusion: str = "auto", patch_budget: float = PlanOptions.patch_budget) -> PlanOptions:
    """The planner's options from the build options (see `build`)."""
    if not 0 <= patch_budget <= 10:
        raise TinygenError(f"patch_budget {patch_budget!r} is not a fraction of the model's MACs between 0 and 10: "
                           "0.1 lets patch-based stages add at most 10% MACs (the default), 0 turns them off")
    if input_buffer not in INPUT_BUFFERS:
        raise TinygenError(f"input_buffer {input_buffer!r} is not one of {', '.join(INPUT_BUFFERS)}: arena puts the "
                           "model input in the arena (<name>_input0_buffer), caller keeps it in your own buffer")
    if fusion not in FUSION:
        raise TinygenError(f"fusion {fusion!r} is not one of {', '.join(FUSION)}: off runs every layer on whole "
                           "tensors, nothing in place (for bisecting)")
    return PlanOptions(input_in_arena=input_buffer == "arena", fusion=fusion == "auto", patch_budget=float(patch_budget))


def _check_params(graph: Graph, source: str) -> None:
    try:
        verify_params(graph)
    except ValueError as e:
        raise TinygenError(f"{source}: {e}; the model file is damaged or its quantization is out of range") from None


def build(model: Any, board: str = "host", out_dir: str | Path | None = None, *, input_shape=None,
          trust_pickle: bool = False, dump_dir: str | Path | None = None,
          progress: Callable[[str], None] = _quiet, calibration=None, emulate: bool = False,
          kernels: str = "auto", name: str | None = None, input_buffer: str = "arena",
          fusion: str = "auto", compress: str = "auto", patch_budget: float = PlanOptions.patch_budget) -> Program:
    """`kernels="ref"` builds with every layer on its reference kernel (for bisecting); `name` sets the
    C symbol prefix of the model library (<name>_invoke, <name>.h); `input_buffer="caller"` keeps the
    model input out of the arena (the caller owns it; default "arena": <name>_input0_buffer());
    `fusion="off"` plans layer at a time, nothing in place (for bisecting); `compress="none"` keeps
    every weight in its lowered dense form (see lower_model); `patch_budget` bounds the recompute
    of patch-based stages, as a fraction of the model's MACs and estimated instructions (the rule in
    tinygen/plan/patch.py; 0 turns them off)."""
    t0 = time.perf_counter()
    options = plan_options(input_buffer, fusion, patch_budget)
    if board != "host":  # refuse a bad board or name before any work
        from tinygen.boards import board_name

        board = board_name(board, allow_host=True)
    if name is not None:
        from tinygen.codegen.generate import model_prefix

        model_prefix(name)
    progress("importing model")
    float_graph, model_name = import_any(model, input_shape, trust_pickle, calibration)
    out_dir = Path(out_dir) if out_dir is not None else Path("build") / Path(model_name).stem
    source = model_name
    progress("lowering to integer ops")
    graph = lower_model(float_graph, source, Path(dump_dir) if dump_dir else None, compress)
    target = "host"
    if board != "host":
        from tinygen.boards import load_board

        target = load_board(board)
    progress(f"choosing kernels ({kernels})")
    graph = select_kernels(graph, target_of(target), kernels)
    progress("scheduling and planning memory")
    graph, plan = plan_with_schedule(graph, options)
    progress("generating C")
    gen = generate(graph, plan, source, name=name)

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.with_name(f".{out_dir.name}.partial-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        gen.write(tmp / "model")
        serialize.save(graph, tmp / "graph")
        meta = {"tinygen_version": __version__, "prefix": gen.prefix, "board": board, "source": source}
        (tmp / "tinygen.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
        program = Program(tmp, graph, gen.prefix, board)
        if board == "host":
            progress("compiling for the host")
            program._host_model()
            report = write_report(tmp, graph, plan, gen, board, time.perf_counter() - t0)
        else:
            report = _build_firmware(tmp, graph, plan, gen, board, progress, t0, emulate)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        tmp.rename(out_dir)
    except FitError as e:
        _keep_report_only(tmp, out_dir, str(e))
        raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    program = Program(out_dir, graph, gen.prefix, board, report)
    return program


REPORT_FILES = ("report.json", "report.txt", "memory_timeline.svg", "memory_timeline.png")


def _keep_report_only(tmp: Path, out_dir: Path, message: str) -> None:
    """A model that does not fit: out_dir gets the fit report (and nothing that looks like a
    build: no tinygen.json, so `tinygen load/validate` refuse it)."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    for name in REPORT_FILES:
        if (tmp / name).exists():
            (tmp / name).rename(out_dir / name)
    shutil.rmtree(tmp, ignore_errors=True)
    with (out_dir / "report.txt").open("a") as f:
        f.write("\n" + message + "\n")


def analyze(model: Any, board: str, out_dir: str | Path | None = None, *, input_shape=None,
            trust_pickle: bool = False, calibration=None, name: str | None = None,
            progress: Callable[[str], None] = _quiet, input_buffer: str = "arena", fusion: str = "auto",
            patch_budget: float = PlanOptions.patch_budget) -> dict:
    """Fit report from estimates, without compiling anything: import, lower, plan and generate,
    then write report.json/.txt and the timeline to out_dir whether or not the model fits.
    Returns the report; report["fits"] says whether it fits and report["fit_message"] why not."""
    from tinygen.boards import load_board
    from tinygen.report import check_fit

    b = load_board(board)
    options = plan_options(input_buffer, fusion, patch_budget)
    if name is not None:
        from tinygen.codegen.generate import model_prefix

        model_prefix(name)
    t0 = time.perf_counter()
    progress("importing model")
    float_graph, model_name = import_any(model, input_shape, trust_pickle, calibration)
    # beside a build of the same model, never over it
    out_dir = Path(out_dir) if out_dir is not None else Path("build") / Path(model_name).stem / "analysis"
    progress("lowering to integer ops")
    graph = lower_model(float_graph, model_name)
    graph = select_kernels(graph, target_of(b))
    progress("scheduling and planning memory")
    graph, plan = plan_with_schedule(graph, options)
    gen = generate(graph, plan, model_name, name=name)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = write_report(out_dir, graph, plan, gen, b.name, time.perf_counter() - t0, b.ram_bytes, b.flash_bytes)
    try:
        check_fit(report, b.ram_bytes, b.flash_bytes)
        report["fits"], report["fit_message"] = True, ""
    except FitError as e:
        report["fits"], report["fit_message"] = False, str(e)
    (out_dir / "report.json").write_text(json.dumps(report, indent=1, sort_keys=True) + "\n")
    if not report["fits"]:
        with (out_dir / "report.txt").open("a") as f:
            f.write("\n" + report["fit_message"] + "\n")
    return report


def _build_firmware(tmp: Path, graph: Graph, plan, gen, board_name: str, progress, t0: float,
                    emulate: bool = False) -> dict:
    """Cross-compile the validation firmware (for the board's QEMU stand-in with `emulate`, linked
    against the real board's memory sizes), then decide fit from the linked ELF.

    The estimate is checked first only to explain a failure: when the linker refuses the image,
    the error names the largest contributors from the plan and the weights."""
    from tinygen.boards import load_board
    from tinygen.compile.firmware import build_firmware
    from tinygen.progress import counter
    from tinygen.report import check_fit

    board = load_board(board_name)
    where = f"{board.emulator} standing in for {board.name}" if emulate and board.emulator else board.name
    progress(f"compiling firmware for {where} with arm-none-eabi-gcc")
    try:
        fw = build_firmware(tmp, gen.prefix, board, emulate=emulate,
                            progress=None if progress is _quiet else counter("compiling", "objects"))
    except TinygenError as e:
        estimate = write_report(tmp, graph, plan, gen, board.name, None, board.ram_bytes, board.flash_bytes)
        check_fit(estimate, board.ram_bytes, board.flash_bytes)  # raises with the contributors when it is a fit problem
        raise e
    sizes = fw.sizes
    elf = {"text": sizes.text, "rodata": sizes.rodata, "data": sizes.data, "bss": sizes.bss,
           "stack": fw.stack_reserved + fw.handler_stack_reserved,
           "stack_worst": fw.stack.thread_stack_bytes + fw.stack.handler_bytes,
           "model": fw.parts["model"].to_json() if "model" in fw.parts else None,
           "model_stack": fw.model_stack.thread_bytes if fw.model_stack else None}
    report = write_report(tmp, graph, plan, gen, board.name, time.perf_counter() - t0, board.ram_bytes,
                          board.flash_bytes, elf)
    report["firmware"] = fw.to_json()
    (tmp / "report.json").write_text(json.dumps(report, indent=1, sort_keys=True) + "\n")
    check_fit(report, board.ram_bytes, board.flash_bytes)
    from tinygen.compile.example import write_example

    write_example(tmp, graph, gen.prefix, board, max(fw.stack_reserved, 4096))
    return report

"""`tinygen build` of a switchable-precision network: every switch in one model library.

Each switch (one torch.export program of an `<name>.spnet` directory, tinygen/nn/spnet.py) goes
through the normal pipeline (import, lower, select kernels, plan, generate) as its own model
library with the symbol prefix `<name>_s<k>`, so its weights are stored at its own width and
folded per switch (its private BatchNorm becomes its own thresholds or requantization). The
libraries are written into one folder and share:

* the runtime kernels: one copy of each tg_* kernel source, compiled once and called by every
  switch that uses it (one tg_types.h renames them all to `<name>_tg_*`);
* the arena: each switch is compiled with `<NAME>_S<k>_NO_BUILTIN_ARENA`, and the dispatcher
  `<name>.c` owns one arena sized for the largest switch and points every switch at it once;
* the entry point: `<name>_invoke_precision(bits, input, output)` (or `<name>_set_precision` +
  `<name>_invoke`), which switches with no re-initialisation and no allocation.

Build directory: model/ (all sources), switches/s<k>/ (each switch's lowered graph and its own
report), spnet.json, tinygen.json (kind "spnet"), report.json/report.txt (the combined fit).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import jinja2

from tinygen.codegen.generate import ARENA_ALIGN, GeneratedModel, generate, model_prefix
from tinygen.errors import TinygenError
from tinygen.ir import serialize
from tinygen.ir.graph import Graph
from tinygen.paths import TEMPLATES
from tinygen.program import specs_of
from tinygen.version import __version__

# The export format written by tinygen/nn/spnet.py (which imports torch, so not imported here).
MANIFEST = "manifest.json"
FORMAT = "tinygen-spnet"
BUILD_MANIFEST = "spnet.json"


@dataclass
class SwitchBuild:
    bits: int
    prefix: str
    graph: Graph
    plan: object
    gen: GeneratedModel


def is_spnet(path) -> bool:
    p = Path(path)
    return p.is_dir() and (p / MANIFEST).is_file()


def read_manifest(path) -> tuple[str, list[tuple[int, Path]]]:
    """(name, [(bits, program path)]) of an SP-Net export directory."""
    d = Path(path)
    mf = d / MANIFEST
    try:
        meta = json.loads(mf.read_text())
    except (OSError, ValueError) as e:
        raise TinygenError(f"{mf}: cannot read the SP-Net manifest ({e}); export it with "
                           "tinygen.nn.spnet.export_spnet") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise TinygenError(f"{mf}: field 'format' must be {FORMAT!r}; export with tinygen.nn.spnet.export_spnet")
    switches, programs = meta.get("switches"), meta.get("programs")
    if (not isinstance(switches, list) or not switches or not isinstance(programs, dict)
            or any(not isinstance(k, int) or str(k) not in programs for k in switches) or len(set(switches)) != len(switches)):
        raise TinygenError(f"{mf}: fields 'switches' (distinct bit widths) and 'programs' (one file per switch) "
                           "do not match; re-export with tinygen.nn.spnet.export_spnet")
    out = []
    for k in switches:
        f = d / str(programs[str(k)])
        if not f.is_file() or f.resolve().parent != d.resolve():
            raise TinygenError(f"{mf}: switch {k}: program {programs[str(k)]!r} is not a file in {d}")
        out.append((k, f))
    name = str(meta.get("name") or d.name.split(".")[0])
    return name, out


def _check_same_io(builds: list[SwitchBuild], source: str) -> None:
    """One input buffer and one output buffer serve every switch: same shapes and types, and the
    same input quantization (the caller quantizes once)."""
    first = builds[0]
    ins0, outs0 = specs_of(first.graph, first.graph.inputs), specs_of(first.graph, first.graph.outputs)
    if len(ins0) != 1 or len(outs0) != 1:
        raise TinygenError(f"{source}: switch {first.bits} has {len(ins0)} inputs and {len(outs0)} outputs; "
                           "SP-Net builds support one input and one output")
    for b in builds[1:]:
        ins, outs = specs_of(b.graph, b.graph.inputs), specs_of(b.graph, b.graph.outputs)
        a, c = ins0[0], ins[0] if ins else None
        if c is None or len(ins) != 1 or (a.shape, a.dtype, a.scale, a.zero_point) != (c.shape, c.dtype, c.scale, c.zero_point):
            raise TinygenError(f"{source}: switch {b.bits}'s input differs from switch {first.bits}'s "
                               f"({c} vs {a}); share the input quantizer between switches (one QuantAct)")
        o, p = outs0[0], outs[0] if outs else None
        if p is None or len(outs) != 1 or (o.shape, o.dtype) != (p.shape, p.dtype):
            raise TinygenError(f"{source}: switch {b.bits}'s output differs in shape or type from switch {first.bits}'s")


def _switch_source(gen: GeneratedModel, prefix: str) -> str:
    """The switch's C with its built-in arena turned off (the dispatcher's arena serves all)."""
    text = gen.files[f"{prefix}.c"]
    head, sep, rest = text.partition("\n")
    return (f"{head}{sep}/* An SP-Net switch: the arena is {prefix.rsplit('_s', 1)[0]}.c's shared one. */\n"
            f"#define {prefix.upper()}_NO_BUILTIN_ARENA 1\n{rest}")


def combine(builds: list[SwitchBuild], prefix: str, source: str) -> tuple[GeneratedModel, dict]:
    """One GeneratedModel holding every switch plus the dispatcher, and the dispatcher's context."""
    files: dict[str, str] = {}
    runtime: dict[str, Path] = {}
    symbols: set[str] = set()
    switches = []
    for b in builds:
        files[f"{b.prefix}.h"] = b.gen.files[f"{b.prefix}.h"]
        files[f"{b.prefix}.c"] = _switch_source(b.gen, b.prefix)
        for p in b.gen.runtime_files:
            runtime[p.name] = p
        symbols.update(b.gen.local_symbols)
        switches.append({"bits": b.bits, "prefix": b.prefix, "layers": len(b.graph.nodes), "macs": b.gen.macs,
                         "weight_bytes": b.gen.weight_bytes, "arena_bytes": b.plan.arena_bytes,
                         "sha": hashlib.sha256(files[f"{b.prefix}.c"].encode()).hexdigest()[:16],
                         "call_args": "input0, output0"})
    g = builds[0].graph
    tin, tout = g.t(g.inputs[0]), g.t(g.outputs[0])
    ctx = {
        "version": __version__, "source": source, "prefix": prefix, "PREFIX": prefix.upper(),
        "guard": f"TG_MODEL_{prefix.upper()}_H", "switches": switches,
        "arena_bytes": max(b.plan.arena_bytes for b in builds), "arena_align": ARENA_ALIGN,
        "max_layers": max(len(b.graph.nodes) for b in builds),
        "input_bytes": tin.nbytes, "output_bytes": tout.nbytes, "input_ctype": tin.dtype.ctype,
        "output_ctype": tout.dtype.ctype, "input_size": tin.size, "output_size": tout.size,
        "signature": f"const {tin.dtype.ctype} *input0, {tout.dtype.ctype} *output0", "call_args": "input0, output0",
    }
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
    files[f"{prefix}.h"] = env.get_template("spnet.h.j2").render(ctx)
    files[f"{prefix}.c"] = env.get_template("spnet.c.j2").render(ctx)
    layers = [info for b in builds for info in b.gen.layers]
    gen = GeneratedModel(prefix, files, sorted(runtime.values()), sum(b.gen.weight_bytes for b in builds),
                         max(b.gen.macs for b in builds), layers, sorted(symbols))
    return gen, ctx


def _quiet(msg: str) -> None:
    pass


def lower_switches(model, board: str, name: str | None, kernels: str, progress, dump_dir=None):
    from tinygen.pipeline import import_any, lower_model
    from tinygen.plan import plan_with_schedule
    from tinygen.select import select_kernels, target_of

    base, switches = read_manifest(model)
    prefix = model_prefix(name or base, "--name" if name else f"{model}: manifest 'name'")
    target = "host"
    if board != "host":
        from tinygen.boards import load_board

        target = load_board(board)
    builds = []
    for bits, path in switches:
        progress(f"switch {bits} bits: importing, lowering, planning, generating")
        source = f"{Path(model).name}/{path.name}"
        float_graph, _ = import_any(str(path))
        graph = lower_model(float_graph, source, Path(dump_dir) / f"s{bits}" if dump_dir else None)
        graph = select_kernels(graph, target_of(target), kernels)
        graph, plan = plan_with_schedule(graph)
        sprefix = f"{prefix}_s{bits}"
        builds.append(SwitchBuild(bits, sprefix, graph, plan, generate(graph, plan, source, name=sprefix)))
    _check_same_io(builds, str(model))
    return prefix, builds


def build_spnet(model, board: str = "host", out_dir=None, *, name: str | None = None, dump_dir=None,
                progress: Callable[[str], None] = _quiet, emulate: bool = False, kernels: str = "auto"):
    """Build an `<name>.spnet` export directory into one library (+ firmware); returns an SPNetProgram."""
    from tinygen.spnet.program import SPNetProgram
    from tinygen.spnet.report import combined_report, write_combined

    t0 = time.perf_counter()
    if board != "host":
        from tinygen.boards import board_name

        board = board_name(board, allow_host=True)
    prefix, builds = lower_switches(model, board, name, kernels, progress, dump_dir)
    source = Path(model).name
    gen, _ = combine(builds, prefix, source)
    out_dir = Path(out_dir) if out_dir is not None else Path("build") / source.split(".")[0]
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.with_name(f".{out_dir.name}.partial-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        gen.write(tmp / "model")
        manifest = {"prefix": prefix, "source": source,
                    "switches": [{"bits": b.bits, "prefix": b.prefix, "dir": f"switches/s{b.bits}"} for b in builds]}
        (tmp / BUILD_MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
        from tinygen.report.write import write_report

        for b in builds:
            d = tmp / "switches" / f"s{b.bits}"
            d.mkdir(parents=True)
            serialize.save(b.graph, d / "graph")
            write_report(d, b.graph, b.plan, b.gen, board)
        meta = {"tinygen_version": __version__, "prefix": prefix, "board": board, "source": source, "kind": "spnet"}
        (tmp / "tinygen.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
        program = SPNetProgram(tmp)
        fw = None
        if board == "host":
            progress("compiling for the host")
            program.host_lib()
        else:
            from tinygen.compile.firmware import build_firmware

            progress(f"compiling firmware for {board} with arm-none-eabi-gcc")
            fw = build_firmware(tmp, prefix, board, emulate=emulate)
            from tinygen.compile.example import write_example

            # the user-firmware starting point runs <name>_invoke at the default (first) switch
            write_example(tmp, builds[0].graph, prefix, board, max(fw.stack_reserved, 4096))
        report = combined_report(tmp, builds, board, fw, time.perf_counter() - t0)
        write_combined(tmp, report)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return SPNetProgram(out_dir)

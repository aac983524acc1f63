"""The user-facing example firmware written beside the model library: DIR/example/.

    DIR/example/main.c           one inference on the sample input; prints output, check, ticks
    DIR/example/sample.h         seeded sample input and the numpy reference's output for it
    DIR/example/Makefile         `make [TARGET=...]`, `make TARGET=<stand-in> run` (QEMU)
    DIR/example/CMakeLists.txt   the same with CMake (+ arm-none-eabi.cmake toolchain file)
    DIR/example/targets/<T>/     config.mk, config.cmake, tg_board.h per target
    DIR/example/{platform,ld}/   copies of runtime_c/platform and boards/ld (no HAL)

Targets: the board itself and "<board>-on-<machine>" for each of its QEMU stand-ins (core flags
and memory limits of the board, the stand-in's platform layer). Unlike DIR/firmware (the
validation harness) nothing here speaks the serial protocol: it is the starting point for a
user's own application.
"""

from __future__ import annotations

from pathlib import Path

import jinja2
import numpy as np

from tinygen.version import __version__
from tinygen.boards import Board, load_board
from tinygen.codegen.cformat import c_array
from tinygen.paths import BOARDS, RUNTIME_C, TEMPLATES

SAMPLE_SEED = 0
DEFAULT_STACK = 8192


def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), undefined=jinja2.StrictUndefined,
                              keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)


def sample_inputs(graph, seed: int = SAMPLE_SEED) -> list[np.ndarray]:
    """One seeded sample per graph input, within the tensor's integer range."""
    rng = np.random.default_rng(seed)
    out = []
    for name in graph.inputs:
        t = graph.t(name)
        if t.dtype.value == "float32":
            out.append(rng.normal(0, 1, t.shape).astype(np.float32))
        elif t.dtype.value == "uint32":
            out.append(rng.integers(0, 1 << 32, t.shape, dtype=np.uint64).astype(np.uint32))
        else:
            lo, hi = (t.quant.qmin, t.quant.qmax) if t.quant else (np.iinfo(t.dtype.np).min, np.iinfo(t.dtype.np).max)
            out.append(rng.integers(lo, hi + 1, t.shape).astype(t.dtype.np))
    return out


def targets_for(board: Board) -> list[tuple[str, Board, Board]]:
    """(configuration name, board the image runs on, board whose flags and limits apply)."""
    out = [(board.name, board, board)]
    for emu in [board.emulator, *board.alt_emulators]:
        if emu:
            out.append((f"{board.name}-on-{emu}", load_board(emu), board))
    return out


def write_example(out_dir: str | Path, graph, prefix: str, board: str | Board, stack_bytes: int = DEFAULT_STACK) -> Path:
    from tinygen.compile.firmware import copy_tree, pin, template_env as fw_env
    from tinygen.reference import interpreter

    out_dir = Path(out_dir)
    b = load_board(board) if isinstance(board, str) else board
    ex = out_dir / "example"
    env = _env()
    xs = sample_inputs(graph)
    ys = interpreter.run(graph, xs)

    def spec(arr, t, i):
        return {"index": i, "ctype": t.dtype.ctype, "size": int(arr.size), "body": c_array(arr.ravel(), t.dtype.ctype)}

    ins = [spec(x, graph.t(n), i) for i, (x, n) in enumerate(zip(xs, graph.inputs))]
    outs = [spec(np.asarray(y), graph.t(n), i) for i, (y, n) in enumerate(zip(ys, graph.outputs))]
    call_args = ", ".join([f"sample_input{i}" for i in range(len(ins))] + [f"output{i}" for i in range(len(outs))])
    ctx = {"version": __version__, "prefix": prefix, "PREFIX": prefix.upper(), "board": b.name, "seed": SAMPLE_SEED,
           "inputs": ins, "outputs": outs, "call_args": call_args}
    ex.mkdir(parents=True, exist_ok=True)
    (ex / "main.c").write_text(env.get_template("example/main.c.j2").render(ctx))
    (ex / "sample.h").write_text(env.get_template("example/sample.h.j2").render(ctx))
    copy_tree(RUNTIME_C / "platform", ex / "platform", ("*.c", "*.h"))
    copy_tree(BOARDS / "ld", ex / "ld", ("*.ld",))
    targets = targets_for(b)
    for name, target, limits in targets:
        q = target.qemu
        mk = dict(version=__version__, name=name, description=target.description, cpu_flags=limits.cpu_flags,
                  opt=limits.opt, defines=target.defines, sources=target.sources, linker_script=target.linker_script,
                  flash_bytes=limits.flash_bytes, ram_bytes=limits.ram_bytes, stack_bytes=stack_bytes,
                  qemu_machine=q.machine if q else "", qemu_shift=q.icount_shift if q else 0,
                  qemu_serial=" ".join(["-serial null"] * q.serial_index + ["-serial stdio"]) if q else "")
        d = ex / "targets" / name
        d.mkdir(parents=True, exist_ok=True)
        (d / "config.mk").write_text(env.get_template("example/config.mk.j2").render(mk))
        (d / "config.cmake").write_text(env.get_template("example/config.cmake.j2").render(mk))
        (d / "tg_board.h").write_text(fw_env().get_template("tg_board.h.j2").render(
            version=__version__, target=target.name, limits=limits.name, console=target.console,
            tx=pin(target.console.tx), rx=pin(target.console.rx), clock_hz=target.clock_hz,
            config=target.platform_config))
    top = dict(version=__version__, prefix=prefix, default_target=b.name, targets=[t[0] for t in targets])
    (ex / "Makefile").write_text(env.get_template("example/Makefile.j2").render(top))
    (ex / "CMakeLists.txt").write_text(env.get_template("example/CMakeLists.txt.j2").render(top))
    (ex / "arm-none-eabi.cmake").write_text(env.get_template("example/arm-none-eabi.cmake.j2").render(top))
    return ex

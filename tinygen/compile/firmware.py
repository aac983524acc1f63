"""Build the validation firmware for a board (or its QEMU stand-in) with arm-none-eabi-gcc.

Writes DIR/firmware/, a plain Makefile project a user can rebuild with `make`:

    DIR/firmware/Makefile                 one Makefile for every configuration
    (T = the board, a stand-in, or <board>-on-<stand-in>; see config_name)
    DIR/firmware/targets/<T>/config.mk    CPU flags, platform sources, memory sizes
    DIR/firmware/targets/<T>/stack.mk     STACK_SIZE from the worst-case analysis (link only)
    DIR/firmware/targets/<T>/tg_board.h   board constants (console UART, pins, clock)
    DIR/firmware/targets/<T>/tg_glue.c    the model-specific glue (specs, hash, invoke)
    DIR/firmware/{platform,harness,ld}/   copies of runtime_c/platform, runtime_c/harness, boards/ld
    DIR/firmware/build/<T>/firmware.{elf,bin,hex,map}, firmware.json (sizes, stack, hash)

The model library itself stays in DIR/model and is compiled from there (MODEL_DIR).

Two make runs: `objs` compiles everything with -fstack-usage -fcallgraph-info=su, then the
worst-case stack is computed from the call graph (sizes.py) and written into stack.mk as
STACK_SIZE, then the link reserves exactly that (rounded up) and checks flash and RAM against the
limits board's sizes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from tinygen.version import __version__
from tinygen.boards import Board, QemuSpec, firmware_target
from tinygen.compile.map_sizes import Part, map_parts
from tinygen.compile.sizes import ImageSizes, StackReport, elf_sizes, forbidden_symbols, worst_case_stack
from tinygen.errors import FitError, TinygenError, ToolchainError
from tinygen.paths import BOARDS, RUNTIME_C, TEMPLATES
from tinygen.progress import Counter

INSTALL_HINT = "sudo apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi binutils-arm-none-eabi make"
DTYPE_CODES = {"int8": 1, "uint8": 2, "int16": 3, "int32": 4, "uint32": 5, "float32": 6}
RX_MIN = 256  # PING payloads and every command fit
STACK_MARGIN = 256  # on top of the call-graph worst case: alignment, libgcc helpers without .su
BUILD_TIMEOUT_S = 600


@dataclass
class FirmwareResult:
    target: str  # configuration built (board or stand-in, plus "-test" for test-hook builds)
    board: Board  # the board or stand-in the image runs on
    limits: Board  # whose flash/RAM sizes bound it
    firmware_dir: Path
    elf: Path
    bin: Path
    hex: Path
    sizes: ImageSizes
    stack: StackReport
    stack_reserved: int  # thread stack (PSP)
    handler_stack_reserved: int  # fault handler stack (MSP)
    model_hash: str  # hex, 16 digits
    emulated: bool
    defines: list[str] = field(default_factory=list)
    parts: dict[str, Part] = field(default_factory=dict)  # bytes per object group, from the map file
    model_stack: StackReport | None = None  # worst case of <prefix>_invoke alone

    @property
    def qemu(self) -> QemuSpec | None:
        return self.board.qemu

    def to_json(self) -> dict:
        return {
            "target": self.target, "board": self.board.name, "limits": self.limits.name, "emulated": self.emulated,
            # relative to DIR/firmware: the pipeline builds in a scratch directory and moves it
            "elf": str(self.elf.relative_to(self.firmware_dir)), "model_hash": self.model_hash, "stack_reserved": self.stack_reserved,
            "handler_stack_reserved": self.handler_stack_reserved,
            "stack": self.stack.to_json(), "sizes": self.sizes.to_json(), "defines": self.defines,
            "parts": {k: v.to_json() for k, v in sorted(self.parts.items())},
            "model_stack": self.model_stack.to_json() if self.model_stack else None,
        }


def model_hash(model_dir: Path, prefix: str) -> bytes:
    """First 8 bytes of sha256 of the generated <prefix>.c: what the firmware reports in INFO."""
    src = Path(model_dir) / f"{prefix}.c"
    if not src.is_file():
        raise TinygenError(f"{src} not found: build the model library first (tinygen build)")
    return hashlib.sha256(src.read_bytes()).digest()[:8]


def check_toolchain() -> None:
    for tool in ("arm-none-eabi-gcc", "arm-none-eabi-objcopy", "make"):
        if shutil.which(tool) is None:
            raise ToolchainError(f"{tool} not found: install the ARM toolchain with `{INSTALL_HINT}`")


def template_env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES / "firmware")),
                              undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                              trim_blocks=True, lstrip_blocks=True)


def pin(name: str) -> tuple[int, int] | None:
    m = re.fullmatch(r"P([A-K])(\d{1,2})", name or "")
    return (ord(m.group(1)) - ord("A"), int(m.group(2))) if m else None


def c_string(text: str, limit: int = 255) -> str:
    """A C string literal for any name: printable ASCII kept, everything else hex-escaped."""
    out = []
    for b in text.encode("utf-8")[:limit]:
        ch = chr(b)
        out.append(ch if 32 <= b < 127 and ch not in '"\\?' else f"\\{b:03o}")
    return '"' + "".join(out) + '"'


def _padded(n: int) -> int:
    return (n + 3) & ~3


def _tensor_ctx(specs, ctype_of) -> list[dict]:
    out = []
    for s in specs:
        nbytes = int(s.dtype.itemsize) * int(_prod(s.shape))
        out.append({"name": c_string(s.name), "code": DTYPE_CODES[str(s.dtype)], "ndim": len(s.shape), "shape": list(s.shape),
                    "bytes": nbytes, "padded": _padded(nbytes), "ctype": ctype_of(s),
                    "scale": repr(float(s.scale)), "zero_point": int(s.zero_point)})
    return out


def _prod(xs) -> int:
    r = 1
    for x in xs:
        r *= int(x)
    return r


def _glue_context(out_dir: Path, prefix: str, target_name: str, digest: bytes) -> dict:
    from tinygen.ir import serialize
    from tinygen.program import specs_of

    graph = serialize.load(out_dir / "graph")
    ins = _tensor_ctx(specs_of(graph, graph.inputs), lambda s: s.ctype)
    outs = _tensor_ctx(specs_of(graph, graph.outputs), lambda s: s.ctype)
    args, off = [], 0
    for t in ins:
        args.append(f"(const {t['ctype']} *)(tg_glue_rx + {off})")
        off += t["padded"]
    in_bytes, off = off, 0
    for t in outs:
        args.append(f"({t['ctype']} *)(tg_glue_out + {off})")
        off += t["padded"]
    src = (out_dir / "model" / f"{prefix}.c").read_text()
    num_layers = src.count("if (hook) hook(hook_ctx, ")
    if num_layers != len(graph.nodes):
        raise TinygenError(f"{prefix}.c calls the layer hook {num_layers} times but the graph has "
                           f"{len(graph.nodes)} nodes: regenerate the model library")
    return {
        "version": __version__, "prefix": prefix, "PREFIX": prefix.upper(), "target": target_name,
        "hash_bytes": ", ".join(f"0x{b:02x}" for b in digest), "num_layers": num_layers,
        "inputs": ins, "outputs": outs, "args": args, "in_bytes": in_bytes,
        "rx_capacity": max(in_bytes, RX_MIN), "out_bytes": off, "out_alloc": max(off, 4),
        # one input planned in the arena: received there (several: into rx, copied by invoke)
        "rx_in_arena": len(ins) == 1 and f"#define {prefix.upper()}_INPUT0_IN_ARENA 1" in
        (out_dir / "model" / f"{prefix}.h").read_text(),
    }


def _spnet_glue_context(out_dir: Path, prefix: str, target_name: str, digest: bytes) -> dict:
    """The harness sees two inputs: the model's and "precision" (int32[1], the switch's bits)."""
    from tinygen.spnet.program import PRECISION_SPEC, SPNetProgram

    switches = list(SPNetProgram(out_dir).switches.values())
    ins = _tensor_ctx([switches[0].inputs[0], PRECISION_SPEC], lambda s: s.ctype)
    outs = _tensor_ctx(switches[0].outputs, lambda s: s.ctype)
    in_bytes = ins[0]["padded"] + ins[1]["padded"]
    return {
        "version": __version__, "prefix": prefix, "PREFIX": prefix.upper(), "target": target_name,
        "hash_bytes": ", ".join(f"0x{b:02x}" for b in digest), "num_layers": max(len(s.graph.nodes) for s in switches),
        "inputs": ins, "outputs": outs, "precision_offset": ins[0]["padded"], "in_bytes": in_bytes,
        "args": [f"(const {ins[0]['ctype']} *)(const void *)tg_glue_rx", f"({outs[0]['ctype']} *)(void *)tg_glue_out"],
        "rx_capacity": max(in_bytes, RX_MIN), "out_bytes": outs[0]["padded"], "out_alloc": max(outs[0]["padded"], 4),
    }


def copy_tree(src: Path, dst: Path, patterns: tuple[str, ...]) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    for pat in patterns:
        for f in sorted(src.glob(pat)):
            target = dst / f.name
            data = f.read_bytes()
            if not target.exists() or target.read_bytes() != data:  # keep mtimes: make stays incremental
                target.write_bytes(data)


def _write_if_changed(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def _make(fw_dir: Path, target: str, goal: str, progress: Counter | None = None,
          total: int = 0) -> subprocess.CompletedProcess:
    """Run make; with `progress`, report objects written so far (of `total`) while it runs."""
    jobs = str(os.cpu_count() or 2)
    cmd = ["make", "-C", str(fw_dir), f"-j{jobs}", f"TARGET={target}", goal]
    build = fw_dir / "build" / target
    before = {p: p.stat().st_mtime_ns for p in build.rglob("*.o")} if progress else {}
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True)
        deadline = time.monotonic() + BUILD_TIMEOUT_S
        while proc.poll() is None:
            if time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                raise ToolchainError(f"firmware build for {target} took longer than {BUILD_TIMEOUT_S} s")
            if progress and total:
                done = sum(1 for p in build.rglob("*.o") if before.get(p) != p.stat().st_mtime_ns)
                progress(min(done, total - 1), total)
            time.sleep(0.2)
        if progress and total:
            progress(total, total)
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(cmd, proc.returncode, out.read(), err.read())


def _fail(target: str, proc: subprocess.CompletedProcess, limits: Board) -> None:
    err = (proc.stderr or "") + (proc.stdout or "")
    over = re.findall(r"region `(\w+)' overflowed by (\d+) bytes", err)
    if over:
        what = ", ".join(f"{r} by {int(n)} bytes" for r, n in over)
        raise FitError(f"firmware for {target} does not fit {limits.name} "
                           f"(flash {limits.flash_bytes} B, RAM {limits.ram_bytes} B): overflows {what}")
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    raise ToolchainError(f"firmware build for {target} failed:\n" + "\n".join(lines[-25:]))


def build_firmware(out_dir: str | Path, prefix: str, board: str | Board, emulate: bool = False, *,
                   emulator: str | None = None, defines: tuple[str, ...] = (), variant: str = "",
                   progress: Counter | None = None) -> FirmwareResult:
    """Write DIR/firmware and build the validation firmware.

    `board` is a real board (f446re, ...) or a stand-in (mps2-an386, ...). With emulate=True a
    real board is built for its stand-in (or `emulator`), with the real board's compiler flags
    and flash/RAM limits. `defines`/`variant` make a separate configuration (e.g. test hooks).
    `progress(done, total)` is told the objects compiled so far."""
    check_toolchain()
    out_dir = Path(out_dir)
    target, limits = firmware_target(board, emulate, emulator)
    config = config_name(board, emulate, emulator, variant)
    fw = out_dir / "firmware"
    digest = model_hash(out_dir / "model", prefix)

    copy_tree(RUNTIME_C / "platform", fw / "platform", ("*.c", "*.h"))
    copy_tree(RUNTIME_C / "harness", fw / "harness", ("*.c", "*.h"))
    copy_tree(BOARDS / "ld", fw / "ld", ("*.ld",))
    env = template_env()
    cfg_dir = fw / "targets" / config
    tx, rx = pin(target.console.tx), pin(target.console.rx)
    _write_if_changed(cfg_dir / "tg_board.h", env.get_template("tg_board.h.j2").render(
        version=__version__, target=target.name, limits=limits.name, console=target.console, tx=tx, rx=rx,
        clock_hz=target.clock_hz, config=target.platform_config))
    if (out_dir / "spnet.json").is_file():  # an SP-Net: every switch behind one entry point (tinygen/spnet)
        glue = env.get_template("tg_glue_spnet.c.j2").render(_spnet_glue_context(out_dir, prefix, target.name, digest))
    else:
        glue = env.get_template("tg_glue.c.j2").render(_glue_context(out_dir, prefix, target.name, digest))
    _write_if_changed(cfg_dir / "tg_glue.c", glue)

    # Code flags and optimisation come from the limits board: on a stand-in the model compiles to
    # the instructions the real board would run.
    all_defines = target.defines + list(defines)
    mk = dict(version=__version__, name=config, description=target.description, limits=limits.name,
              cpu_flags=limits.cpu_flags, opt=limits.opt, defines=all_defines, sources=target.sources,
              linker_script=target.linker_script, flash_bytes=limits.flash_bytes, ram_bytes=limits.ram_bytes)
    existing = sorted(p.name for p in (fw / "targets").iterdir() if p.is_dir())
    default = _default_target(out_dir, existing, config)
    _write_if_changed(fw / "Makefile", env.get_template("Makefile.j2").render(
        version=__version__, prefix=prefix, default_target=default, targets=existing))
    _write_if_changed(cfg_dir / "config.mk", env.get_template("config.mk.j2").render(**mk))
    stack_mk = cfg_dir / "stack.mk"

    objects = (len(list((out_dir / "model").glob("*.c"))) + len(target.sources)
               + len(list((fw / "harness").glob("*.c"))) + 1)  # + tg_glue.c; as OBJS in Makefile.j2
    proc = _make(fw, config, "objs", progress, objects)
    if proc.returncode != 0:
        _fail(config, proc, limits)
    build = fw / "build" / config
    elf = build / "firmware.elf"
    # First estimate without the linked image (libc/libgcc leaves unknown), link, then redo the
    # analysis with their prologues disassembled from the ELF and relink if the reserve grew.
    stack = worst_case_stack(build, entry="Reset_Handler", handlers=("tg_fault_entry",),
                             elf=elf if elf.exists() else None)
    reserve = _reserve(stack)
    for _ in range(2):
        _write_if_changed(stack_mk, env.get_template("stack.mk.j2").render(
            version=__version__, name=config, stack_bytes=reserve[0], handler_stack_bytes=reserve[1],
            stack_note=f"thread {stack.thread_stack_bytes} B, handler {stack.handler_bytes} B; "
                       f"see build/{config}/firmware.json"))
        proc = _make(fw, config, "all")
        if proc.returncode != 0:
            _fail(config, proc, limits)
        stack = worst_case_stack(build, entry="Reset_Handler", handlers=("tg_fault_entry",), elf=elf)
        if all(a <= b for a, b in zip(_reserve(stack), reserve)):
            break
        reserve = tuple(max(a, b) for a, b in zip(_reserve(stack), reserve))
    sizes = elf_sizes(elf)
    bad = forbidden_symbols(elf)
    if bad:
        raise TinygenError(f"firmware for {config} links {', '.join(bad)}: tinygen firmware must not allocate "
                           "memory or use stdio (find the caller in build/{config}/firmware.map)")
    # The model library's own share, what a user's firmware pays for it beside the harness.
    model_stack = worst_case_stack(build, entry=f"{prefix}_invoke", handlers=(), elf=elf, extra_edges={})
    parts = map_parts(build / "firmware.map")
    parts["model"] = library_link(build, prefix, limits)
    result = FirmwareResult(config, target, limits, fw, elf, build / "firmware.bin", build / "firmware.hex",
                            sizes, stack, reserve[0], reserve[1], digest.hex(), target.is_emulator, all_defines,
                            parts, model_stack)
    (build / "firmware.json").write_text(json.dumps(result.to_json(), indent=2) + "\n")
    return result


def library_link(build: Path, prefix: str, limits: Board) -> Part:
    """Bytes of the model library as a user's firmware links it: its objects (compiled for the
    firmware, same flags as any user build) linked alone with `<prefix>_init` and `<prefix>_invoke`
    as the only roots and --gc-sections, so the harness's entry points (the layer-hooked invoke)
    are not counted unless the library's own entry points keep them. Writes
    build/model_library.{elf,map}."""
    objs = sorted((build / "model").glob("*.o"))
    out, map_file = build / "model_library.elf", build / "model_library.map"
    cmd = ["arm-none-eabi-gcc", *limits.cpu_flags, "--specs=nosys.specs", "-nostartfiles", f"-Wl,-e,{prefix}_invoke",
           f"-Wl,-u,{prefix}_init", "-Wl,--gc-sections", f"-Wl,-Map={map_file}", *map(str, objs), "-o", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
    if proc.returncode != 0:
        raise TinygenError(f"linking the model library alone (to size it) failed: {proc.stderr.strip()[-300:]}")
    model_dir = str(build / "model")
    return map_parts(map_file, group=lambda obj: "model" if str(Path(obj).parent) == model_dir else "other").get(
        "model", Part())


def _reserve(stack: StackReport) -> tuple[int, int]:
    """(thread, handler) stack bytes: analysis + margin, rounded up to 256 / 64 bytes."""
    thread = max(1024, (stack.thread_stack_bytes + STACK_MARGIN + 255) // 256 * 256)
    handler = max(256, (stack.handler_bytes + 64 + 63) // 64 * 64)
    return thread, handler


def _default_target(out_dir: Path, existing: list[str], fallback: str) -> str:
    """`make` without TARGET builds for the board the project was built for (tinygen.json)."""
    manifest = out_dir / "tinygen.json"
    if manifest.exists():
        board = json.loads(manifest.read_text()).get("board", "")
        if board in existing:
            return board
    return fallback


def config_name(board: str | Board, emulate: bool = False, emulator: str | None = None, variant: str = "") -> str:
    """Name of the build configuration (targets/<name>, build/<name>): the board itself, a
    stand-in named directly, or "<board>-on-<stand-in>" when a real board is emulated (f746zg and
    f767zi both run on mps2-an500, with different flags and limits)."""
    target, limits = firmware_target(board, emulate, emulator)
    name = f"{limits.name}-on-{target.name}" if target.name != limits.name and not limits.is_emulator \
        and (board if isinstance(board, str) else board.name) == limits.name else target.name
    return name + (f"-{variant}" if variant else "")


def firmware_elf(out_dir: str | Path, config: str) -> Path:
    return Path(out_dir) / "firmware" / "build" / config / "firmware.elf"

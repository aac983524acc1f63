"""Board descriptions: one TOML data file per board in boards/, loaded into a `Board`.

Two kinds of entries live there:

* real boards (`kind = "board"`: f446re, f746zg, f767zi) with core, FPU, clock, memory, console
  UART and pins, flash tools, and the name of the QEMU machine that stands in for them;
* QEMU stand-ins (`kind = "emulator"`: mps2-an386, mps2-an500, netduinoplus2) with the machine
  name, which `-serial` carries the console, the `-icount` shift and the counter that turns
  virtual time back into instruction counts.

Adding a board means adding a data file (and, for a new MCU family, a platform in
runtime_c/platform/ listed in PLATFORMS below). Nothing else dispatches on board names.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

from tinygen.errors import TinygenError
from tinygen.paths import BOARDS

# Which runtime_c/platform sources make up each platform, and the linker script family.
# `defines` become -D flags; every board also gets its values through the generated tg_board.h.
PLATFORMS: dict[str, dict] = {
    "mps2": {
        "sources": ["tg_startup.c", "tg_mpu.c", "tg_fault.c", "tg_console.c", "tg_semihost.c", "tg_uart_cmsdk.c",
                    "tg_counter_fpgaio.c", "tg_platform_mps2.c"],
        "defines": ["TG_QEMU=1"],
        "config": {},
    },
    "netduinoplus2": {
        "sources": ["tg_startup.c", "tg_mpu.c", "tg_fault.c", "tg_console.c", "tg_semihost.c", "tg_usart_f4.c",
                    "tg_gpio_stm32.c", "tg_counter_tim2.c", "tg_clock_stm32.c", "tg_platform_stm32f4.c"],
        "defines": ["TG_QEMU=1"],
        "config": {"TG_FLASH_ACR_EXTRA": "0x700u"},
    },
    "stm32f4": {
        "sources": ["tg_startup.c", "tg_mpu.c", "tg_fault.c", "tg_console.c", "tg_halt.c", "tg_usart_f4.c",
                    "tg_gpio_stm32.c", "tg_counter_dwt.c", "tg_clock_stm32.c", "tg_platform_stm32f4.c"],
        "defines": [],
        # FLASH_ACR PRFTEN | ICEN | DCEN (RM0390 3.8.1)
        "config": {"TG_FLASH_ACR_EXTRA": "0x700u"},
    },
    "stm32f7": {
        "sources": ["tg_startup.c", "tg_mpu.c", "tg_fault.c", "tg_console.c", "tg_halt.c", "tg_usart_f7.c",
                    "tg_gpio_stm32.c", "tg_counter_dwt.c", "tg_cache_m7.c", "tg_clock_stm32.c",
                    "tg_platform_stm32f7.c"],
        "defines": [],
        # FLASH_ACR PRFTEN | ARTEN (RM0385 3.7.1; bit 10 is reserved on the F7)
        "config": {"TG_FLASH_ACR_EXTRA": "0x300u"},
    },
}


@dataclass(frozen=True)
class Console:
    uart: str
    base: int
    baud: int = 115200
    tx: str = ""  # pin name, e.g. "PA2" (empty on machines without GPIO muxing)
    rx: str = ""
    af: int = 0
    bus: str = ""


@dataclass(frozen=True)
class Flasher:
    tools: tuple[str, ...] = ()
    openocd_config: str = ""
    pyocd_target: str = ""
    drive_label: str = ""
    address: int = 0x08000000


@dataclass(frozen=True)
class QemuSpec:
    machine: str
    serial_index: int  # which -serial carries the console (0 = first)
    icount_shift: int  # one instruction = 2**shift virtual ns
    counter: str  # "fpgaio" or "tim2"
    counter_hz: int  # counter rate in virtual time

    @property
    def instructions_per_tick(self) -> float:
        """Emulated instructions per counter tick under `-icount shift=icount_shift`."""
        return 1e9 / (self.counter_hz * (1 << self.icount_shift))


@dataclass(frozen=True)
class Board:
    name: str
    description: str
    kind: str  # "board" or "emulator"
    platform: str  # key of PLATFORMS
    core: str  # -mcpu
    fpu: str  # -mfpu
    float_abi: str
    clock_hz: int
    opt: str
    linker_script: str  # file in boards/ld/
    flash_origin: int
    flash_bytes: int
    ram_origin: int
    ram_bytes: int
    console: Console
    ram_regions: tuple[tuple[str, int, int], ...] = ()
    flasher: Flasher = field(default_factory=Flasher)
    emulator: str = ""  # real boards: the stand-in used by `validate --qemu`
    alt_emulators: tuple[str, ...] = ()
    stands_in_for: str = ""  # stand-ins: the real board whose limits apply by default
    qemu: QemuSpec | None = None

    @property
    def is_emulator(self) -> bool:
        return self.kind == "emulator"

    @property
    def cpu_flags(self) -> list[str]:
        """Code-generation flags; identical for a board and its stand-in build."""
        return ["-mthumb", f"-mcpu={self.core}", f"-mfpu={self.fpu}", f"-mfloat-abi={self.float_abi}"]

    @property
    def sources(self) -> list[str]:
        return list(PLATFORMS[self.platform]["sources"])

    @property
    def defines(self) -> list[str]:
        return list(PLATFORMS[self.platform]["defines"])

    @property
    def platform_config(self) -> dict[str, str]:
        """Extra tg_board.h macros the platform's drivers need."""
        return dict(PLATFORMS[self.platform]["config"])


def _int(v) -> int:
    return int(v)


def _parse(path: Path) -> Board:
    try:
        d = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise TinygenError(f"board file {path} is not valid TOML: {e}") from None
    try:
        mem, con = d["memory"], d["console"]
        fl, q = d.get("flash", {}), d.get("qemu")
        board = Board(
            name=d["name"], description=d.get("description", d["name"]), kind=d["kind"], platform=d["platform"],
            core=d["core"], fpu=d["fpu"], float_abi=d.get("float_abi", "hard"), clock_hz=_int(d["clock_hz"]),
            opt=d.get("opt", "-O2"), linker_script=d["linker_script"],
            flash_origin=_int(mem["flash_origin"]), flash_bytes=_int(mem["flash_bytes"]),
            ram_origin=_int(mem["ram_origin"]), ram_bytes=_int(mem["ram_bytes"]),
            ram_regions=tuple((str(n), int(o), int(s)) for n, o, s in mem.get("ram_regions", [])),
            console=Console(con["uart"], _int(con["base"]), _int(con.get("baud", 115200)), con.get("tx", ""),
                            con.get("rx", ""), _int(con.get("af", 0)), con.get("bus", "")),
            flasher=Flasher(tuple(fl.get("tools", ())), fl.get("openocd_config", ""), fl.get("pyocd_target", ""),
                            fl.get("drive_label", ""), _int(fl.get("address", 0x08000000))),
            emulator=d.get("emulator", ""), alt_emulators=tuple(d.get("alt_emulators", ())),
            stands_in_for=d.get("stands_in_for", ""),
            qemu=QemuSpec(q["machine"], _int(q["serial_index"]), _int(q["icount_shift"]), q["counter"],
                          _int(q["counter_hz"])) if q else None,
        )
    except KeyError as e:
        raise TinygenError(f"board file {path} lacks the required key {e}") from None
    if board.name != path.stem:
        raise TinygenError(f"board file {path} declares name {board.name!r}; it must match the file name")
    if board.platform not in PLATFORMS:
        raise TinygenError(f"board {board.name}: unknown platform {board.platform!r} (known: {', '.join(PLATFORMS)})")
    if board.kind not in ("board", "emulator"):
        raise TinygenError(f"board {board.name}: kind must be 'board' or 'emulator', not {board.kind!r}")
    if board.is_emulator and board.qemu is None:
        raise TinygenError(f"board {board.name}: an emulator needs a [qemu] table")
    if not 0 <= (board.qemu.icount_shift if board.qemu else 0) <= 10:
        raise TinygenError(f"board {board.name}: icount_shift must be 0..10 (QEMU's limit)")
    return board


def list_boards(kind: str | None = None) -> list[str]:
    """Names of every board file, optionally only real boards ("board") or stand-ins ("emulator")."""
    names = sorted(p.stem for p in BOARDS.glob("*.toml"))
    if kind is None:
        return names
    return [n for n in names if load_board(n).kind == kind]


def board_name(name: str, allow_host: bool = False) -> str:
    """The board file's name for `name`, case-insensitive ("F746ZG" -> "f746zg"); an unknown name
    raises with the closest known one ("did you mean")."""
    import difflib

    known = list_boards() + (["host"] if allow_host else [])
    by_lower = {n.lower(): n for n in known}
    key = name.strip().lower()
    if key in by_lower:
        return by_lower[key]
    close = difflib.get_close_matches(key, list(by_lower), n=1, cutoff=0.5)
    hint = f"did you mean {by_lower[close[0]]!r}? " if close else ""
    raise TinygenError(f"unknown board {name!r}; {hint}known boards: {', '.join(known)} (see `tinygen boards`)")


def load_board(name: str) -> Board:
    return _parse(BOARDS / f"{board_name(name)}.toml")


def boards_table() -> str:
    """`tinygen boards`: real boards, then the QEMU stand-ins, one row each."""
    def fmt(n: int) -> str:
        return f"{n // 1024} KB" if n < 1 << 20 else f"{n // (1 << 20)} MB"

    rows = {"board": [], "emulator": []}
    for name in list_boards():
        b = load_board(name)
        stand_ins = ", ".join(x for x in (b.emulator, *b.alt_emulators) if x)
        rows[b.kind].append([b.name, b.description.split("(")[-1].split(",")[0].rstrip(")") if b.kind == "board" else b.qemu.machine,
                             b.core, f"{b.clock_hz // 1_000_000} MHz", fmt(b.ram_bytes), fmt(b.flash_bytes),
                             b.console.uart + (f" {b.console.tx}/{b.console.rx}" if b.console.tx else ""),
                             stand_ins if b.kind == "board" else f"for {b.stands_in_for}" if b.stands_in_for else "-",
                             ", ".join(b.flasher.tools) or "-"])
    head = ["name", "MCU", "core", "clock", "SRAM", "flash", "console", "QEMU stand-in", "flash tools"]
    out = []
    for title, kind, h in (("Boards", "board", head), ("QEMU stand-ins (emulation only)", "emulator",
                                                        head[:1] + ["machine"] + head[2:7] + ["stands in", "flash tools"])):
        table = [h] + rows[kind]
        widths = [max(len(r[i]) for r in table) for i in range(len(h))]
        out.append(title + ":")
        out += ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in table]
        out.append("")
    out.append("host: builds a shared library for this machine (tinygen build --board host)")
    return "\n".join(out)


def firmware_target(board: str | Board, emulate: bool = False, emulator: str | None = None) -> tuple[Board, Board]:
    """(target, limits): the board the firmware is built for and the board whose flash/RAM sizes
    bound it. For emulation of a real board the target is its stand-in (or `emulator`) linked
    with the real board's sizes; a stand-in named directly uses its `stands_in_for` board."""
    b = load_board(board) if isinstance(board, str) else board
    if b.is_emulator:
        limits = load_board(b.stands_in_for) if b.stands_in_for else b
        return b, limits
    if not emulate:
        return b, b
    name = emulator or b.emulator
    if not name:
        raise TinygenError(f"board {b.name} names no QEMU stand-in (set `emulator` in boards/{b.name}.toml)")
    target = load_board(name)
    if not target.is_emulator:
        raise TinygenError(f"{name} is a real board, not a QEMU stand-in")
    return target, b


def with_limits(target: Board, limits: Board) -> Board:
    """The target with the limits board's sizes (what the linker script enforces)."""
    return replace(target, flash_bytes=limits.flash_bytes, ram_bytes=limits.ram_bytes)

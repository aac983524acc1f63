"""Flash built firmware onto a real board: openocd, st-flash (stlink), pyocd or the ST-LINK drive.

Every tool runs with a timeout and its "no probe" outcome becomes a one-line TinygenError
(notes/qemu-and-toolchain.md section 7): openocd exits 1 ("open failed"), st-flash 255
("Couldn't find any ST-Link"), pyocd is always given -W so it fails (exit 1) instead of waiting
forever for a probe, and the drive method fails when no NODE_<BOARD> volume is mounted.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tinygen.boards import Board, load_board
from tinygen.errors import TinygenError, ToolchainError

TOOLS = ("openocd", "stlink", "pyocd", "drive")
INSTALL = {"openocd": "sudo apt-get install openocd", "stlink": "sudo apt-get install stlink-tools",
           "pyocd": "pip install pyocd"}
NO_PROBE_MARKERS = ("open failed", "couldn't find any st-link", "no connected debug probes",
                    "no available debug probes", "unable to find a matching", "libusb_open() failed",
                    "found 0 stlink programmers")
DRIVE_ROOTS = ("/media/*/{label}", "/media/{label}", "/run/media/*/{label}", "/mnt/{label}", "/Volumes/{label}")


@dataclass
class FlashResult:
    tool: str
    board: str
    image: Path
    command: list[str]
    output: str


def _images(out_dir: Path, board: Board) -> tuple[Path, Path]:
    build = out_dir / "firmware" / "build" / board.name
    elf, binary = build / "firmware.elf", build / "firmware.bin"
    if not elf.exists() or not binary.exists():
        raise TinygenError(f"no firmware for {board.name} in {build}: run `tinygen build MODEL --board {board.name}` first")
    return elf, binary


def find_drive(board: Board) -> Path | None:
    label = board.flasher.drive_label
    if not label:
        return None
    for pattern in DRIVE_ROOTS:
        for hit in sorted(glob.glob(pattern.format(label=label))):
            if os.path.isdir(hit):
                return Path(hit)
    return None


def _available(tool: str, board: Board) -> bool:
    if tool == "drive":
        return find_drive(board) is not None
    exe = {"openocd": "openocd", "stlink": "st-flash", "pyocd": "pyocd"}[tool]
    return shutil.which(exe) is not None


def _command(tool: str, board: Board, elf: Path, binary: Path, probe: str | None) -> list[str]:
    f = board.flasher
    if tool == "openocd":
        if not f.openocd_config:
            raise TinygenError(f"boards/{board.name}.toml names no openocd_config")
        serial = ["-c", f"adapter serial {probe}"] if probe else []
        return ["openocd", "-f", f.openocd_config, *serial, "-c", f"program {elf} verify reset exit"]
    if tool == "stlink":
        serial = ["--serial", probe] if probe else []
        return ["st-flash", "--reset", *serial, "write", str(binary), f"0x{f.address:08X}"]
    if tool == "pyocd":
        if not f.pyocd_target:
            raise TinygenError(f"boards/{board.name}.toml names no pyocd_target")
        uid = ["-u", probe] if probe else []
        return ["pyocd", "load", "-W", "-t", f.pyocd_target, *uid, str(elf)]
    raise TinygenError(f"unknown flash tool {tool!r}; choose one of {', '.join(TOOLS)}")


def _flash_drive(board: Board, binary: Path) -> FlashResult:
    drive = find_drive(board)
    if drive is None:
        raise TinygenError(f"no ST-LINK drive {board.flasher.drive_label or '(none configured)'} is mounted: plug in "
                           f"the {board.description} or use --tool openocd/stlink")
    dest = drive / binary.name
    shutil.copyfile(binary, dest)
    os.sync()  # the ST-LINK programs the part once the file is completely written
    return FlashResult("drive", board.name, binary, ["copy", str(binary), str(dest)], "")


def flash(out_dir: str | Path, board: str | None = None, tool: str | None = None, *, probe: str | None = None,
          timeout: float = 120.0) -> FlashResult:
    """Flash DIR/firmware/build/<board>/firmware.* with `tool` (default: the first of the board's
    tools that is installed/mounted)."""
    out_dir = Path(out_dir)
    if board is None:
        manifest = out_dir / "tinygen.json"
        if not manifest.exists():
            raise TinygenError(f"{out_dir} is not a tinygen build directory (no tinygen.json)")
        board = json.loads(manifest.read_text())["board"]
    b = load_board(board)
    if b.is_emulator:
        raise TinygenError(f"{b.name} is a QEMU stand-in, nothing to flash: use `tinygen validate DIR --qemu`")
    elf, binary = _images(out_dir, b)
    if tool is None:
        candidates = [t for t in (b.flasher.tools or TOOLS) if _available(t, b)]
        if not candidates:
            raise ToolchainError(f"no flashing tool for {b.name}: install openocd ({INSTALL['openocd']}) or "
                                 f"stlink-tools ({INSTALL['stlink']}), or mount the {b.flasher.drive_label} drive")
        tool = candidates[0]
    if tool == "drive":
        return _flash_drive(b, binary)
    cmd = _command(tool, b, elf, binary, probe)
    if shutil.which(cmd[0]) is None:
        raise ToolchainError(f"{cmd[0]} not found: {INSTALL[tool]}")
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise TinygenError(f"{tool} did not finish within {timeout:.0f} s and was stopped: "
                           f"is the board connected and powered? ({' '.join(cmd)})") from None
    output = (proc.stdout or "") + (proc.stderr or "")
    low = output.lower()
    if proc.returncode != 0 or any(m in low for m in NO_PROBE_MARKERS):
        if any(m in low for m in NO_PROBE_MARKERS):
            raise TinygenError(f"{tool}: no debug probe found for {b.name}: connect the board's ST-LINK USB port"
                               + (f" (probe {probe})" if probe else ""))
        if tool == "pyocd" and "target type" in low:
            raise TinygenError(f"pyocd does not know {b.flasher.pyocd_target}: run `pyocd pack install "
                               f"{b.flasher.pyocd_target}` (needs network) or use --tool openocd")
        tail = "\n".join(output.strip().splitlines()[-8:])
        raise TinygenError(f"{tool} failed (exit {proc.returncode}) flashing {b.name}:\n{tail}")
    return FlashResult(tool, b.name, elf if tool in ("openocd", "pyocd") else binary, cmd, output)

"""Firmware builds for every real board and stand-in: flags, limits, layout, sizes, stack, Makefile."""

import hashlib
import shutil
import struct
import subprocess

import pytest

import tinygen.compile.firmware as fwmod
from tinygen.boards import load_board
from tinygen.compile.sizes import elf_sizes, forbidden_symbols
from tinygen.errors import TinygenError, ToolchainError
from tests.device.models import cached_firmware, cached_program, conv_chain, write_build

pytestmark = pytest.mark.qemu


@pytest.mark.parametrize("board", ["f446re", "f746zg", "f767zi"])
def test_real_board_image(fw_root, board):
    r = cached_firmware(fw_root, board)
    b = load_board(board)
    assert not r.emulated and r.limits == b
    assert r.sizes.flash_bytes < 16 * 1024 and r.sizes.ram_bytes < 8 * 1024  # runtime in kilobytes
    assert forbidden_symbols(r.elf) == []
    assert 0 <= r.bin.stat().st_size - r.sizes.flash_bytes < 16  # one contiguous image (alignment gaps only)
    sp, reset = struct.unpack("<II", r.bin.read_bytes()[:8])
    # MSP = top of the handler stack, above the thread stack at the bottom of RAM
    assert sp == b.ram_origin + r.stack_reserved + r.handler_stack_reserved
    assert reset & 1 and b.flash_origin <= reset < b.flash_origin + b.flash_bytes
    assert r.hex.read_text().startswith(":")
    cfg = (r.firmware_dir / "targets" / board / "config.mk").read_text()
    assert f"-mcpu={b.core}" in cfg and f"-mfpu={b.fpu}" in cfg and "TG_QEMU" not in cfg
    board_h = (r.firmware_dir / "targets" / board / "tg_board.h").read_text()
    assert f"0x{b.console.base:08X}u" in board_h and "TG_CONSOLE_AF 7u" in board_h


@pytest.mark.parametrize("board, stand_in", [("f446re", "mps2-an386"), ("f746zg", "mps2-an500"),
                                             ("f767zi", "mps2-an500")])
def test_stand_in_uses_the_real_boards_flags_and_limits(fw_root, board, stand_in):
    r = cached_firmware(fw_root, board, emulate=True)
    b = load_board(board)
    assert r.board.name == stand_in and r.limits == b and r.target == f"{board}-on-{stand_in}"
    cfg = (r.firmware_dir / "targets" / r.target / "config.mk").read_text()
    assert f"-mfpu={b.fpu}" in cfg and f"FLASH_SIZE := {b.flash_bytes}" in cfg and f"RAM_SIZE := {b.ram_bytes}" in cfg
    sp, reset = struct.unpack("<II", r.bin.read_bytes()[:8])
    assert sp == 0x20000000 + r.stack_reserved + r.handler_stack_reserved and reset < 0x00400000  # image at 0


def test_model_hash_and_stack_report(fw_root):
    prog = cached_program(fw_root)
    r = cached_firmware(fw_root, "f446re", emulate=True)
    assert r.model_hash == hashlib.sha256((prog.out_dir / "model" / "tgnet.c").read_bytes()).hexdigest()[:16]
    s = r.stack
    assert r.to_json()["elf"] == "build/f446re-on-mps2-an386/firmware.elf"  # relocatable build dir
    assert s.path[0] == "Reset_Handler" and "tgnet_invoke_hooked" in s.path and s.warnings == []
    assert r.stack_reserved >= s.thread_stack_bytes > s.thread_bytes > 0
    assert r.handler_stack_reserved >= s.handler_bytes > 0
    assert {"memset"} & set(s.estimated)  # libc leaves are measured from the ELF, not ignored
    meta = (r.elf.parent / "firmware.json").read_text()
    assert r.model_hash in meta and '"worst_bytes"' in meta


def test_user_can_rebuild_with_make(fw_root):
    r = cached_firmware(fw_root, "f446re")
    fw = r.firmware_dir
    up_to_date = subprocess.run(["make", "-C", str(fw), "-q", "TARGET=f446re"], capture_output=True)
    assert up_to_date.returncode == 0  # tinygen's build is exactly what `make` would do
    out = subprocess.run(["make", "-C", str(fw), "TARGET=f446re", "clean-check"], capture_output=True, text=True)
    assert out.returncode != 0  # unknown goals fail loudly (sanity of the Makefile)
    assert "TARGET ?= f446re" in (fw / "Makefile").read_text()


def test_model_that_does_not_fit_names_the_numbers(fw_root, tmp_path):
    prog = write_build(conv_chain("bignet", hw=128), tmp_path / "big")  # 128 KB activation > F446 SRAM
    with pytest.raises(TinygenError, match=r"does not fit f446re .*RAM 131072 B.*overflows RAM by \d+ bytes"):
        fwmod.build_firmware(prog.out_dir, prog.prefix, "f446re", emulate=True)


def test_missing_toolchain_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(fwmod.shutil, "which", lambda name: None)
    with pytest.raises(ToolchainError, match="apt-get install gcc-arm-none-eabi"):
        fwmod.build_firmware(tmp_path, "x", "f446re")


def test_elf_sizes_agree_with_binutils(fw_root):
    r = cached_firmware(fw_root, "f746zg")
    if shutil.which("arm-none-eabi-size") is None:
        pytest.skip("arm-none-eabi-size not installed")
    out = subprocess.run(["arm-none-eabi-size", "-A", str(r.elf)], capture_output=True, text=True).stdout
    sections = {ln.split()[0]: int(ln.split()[1]) for ln in out.splitlines() if ln.startswith(".")}
    mine = elf_sizes(r.elf)
    for name, size in mine.sections.items():
        assert sections[name] == size


def test_build_reports_progress_per_object(tmp_path):
    prog = write_build(conv_chain(), tmp_path / "p")
    calls = []
    r = fwmod.build_firmware(prog.out_dir, prog.prefix, "f446re", emulate=True, progress=lambda d, t: calls.append((d, t)))
    objects = len(list((r.elf.parent).rglob("*.o")))
    assert calls[-1] == (objects, objects)  # the total counted up front is what make compiled
    assert all(d <= t == objects for d, t in calls) and [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_model_library_sized_apart_from_the_harness(fw_root):
    r = cached_firmware(fw_root, "f446re", emulate=True)
    model = r.parts["model"]
    assert 0 < model.flash_bytes < r.sizes.flash_bytes and model.bss > 0  # the built-in arena
    assert set(r.parts) >= {"model", "harness", "platform"}
    assert r.model_stack.path[0] == "tgnet_invoke" and 0 < r.model_stack.thread_bytes < r.stack.thread_bytes

"""Flashing: tool selection, commands, and clear errors (never a hang) without a probe. Fake tool
executables on PATH stand in for openocd/st-flash/pyocd, so no toolchain or board is needed."""

import json
import os
import stat
import time

import pytest

import tinygen.device.flash as flash_mod
from tinygen.device.flash import flash
from tinygen.errors import TinygenError, ToolchainError


@pytest.fixture
def build_dir(tmp_path):
    out = tmp_path / "proj"
    b = out / "firmware" / "build" / "f446re"
    b.mkdir(parents=True)
    (b / "firmware.elf").write_bytes(b"\x7fELF fake")
    (b / "firmware.bin").write_bytes(b"\x00\x10\x00\x20 image")
    (out / "tinygen.json").write_text(json.dumps({"prefix": "m", "board": "f446re"}))
    return out


@pytest.fixture
def fake_tools(tmp_path, monkeypatch):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}/usr/bin:/bin")

    def make(name: str, script: str):
        p = bindir / name
        p.write_text("#!/bin/sh\n" + script + "\n")
        p.chmod(p.stat().st_mode | stat.S_IEXEC)
    return make


def test_openocd_command_and_success(build_dir, fake_tools):
    fake_tools("openocd", 'echo "** Programming Finished **"; exit 0')
    r = flash(build_dir)
    assert r.tool == "openocd" and r.board == "f446re"
    assert r.command[:3] == ["openocd", "-f", "board/st_nucleo_f4.cfg"]
    assert r.command[-1].startswith("program ") and r.command[-1].endswith("firmware.elf verify reset exit")


@pytest.mark.parametrize("tool, name, script", [
    ("openocd", "openocd", 'echo "Error: open failed" >&2; exit 1'),
    ("stlink", "st-flash", 'echo "WARN usb.c: Couldn\'t find any ST-Link devices" >&2; exit 255'),
    ("pyocd", "pyocd", 'case "$*" in *-W*) echo "No connected debug probes"; exit 1;; *) sleep 60;; esac'),
])
def test_no_probe_is_a_clear_error(build_dir, fake_tools, tool, name, script):
    fake_tools(name, script)
    t = time.monotonic()
    with pytest.raises(TinygenError, match="no debug probe found for f446re"):
        flash(build_dir, tool=tool)
    assert time.monotonic() - t < 5  # pyocd got -W: no waiting for a probe


def test_stlink_writes_the_bin_at_the_flash_address(build_dir, fake_tools):
    fake_tools("st-flash", "exit 0")
    r = flash(build_dir, tool="stlink", probe="066DFF")
    assert r.command == ["st-flash", "--reset", "--serial", "066DFF", "write", str(r.image), "0x08000000"]


def test_a_hanging_tool_is_stopped(build_dir, fake_tools):
    fake_tools("openocd", "sleep 30")
    t = time.monotonic()
    with pytest.raises(TinygenError, match="did not finish within 1 s"):
        flash(build_dir, tool="openocd", timeout=1)
    assert time.monotonic() - t < 5


def test_drive_copy(build_dir, tmp_path, monkeypatch):
    drive = tmp_path / "media" / "user" / "NODE_F446RE"
    drive.mkdir(parents=True)
    monkeypatch.setattr(flash_mod, "DRIVE_ROOTS", (str(tmp_path / "media" / "*" / "{label}"),))
    r = flash(build_dir, tool="drive")
    assert (drive / "firmware.bin").read_bytes() == (build_dir / "firmware/build/f446re/firmware.bin").read_bytes()
    assert r.tool == "drive"


def test_drive_missing_and_no_tools(build_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(flash_mod, "DRIVE_ROOTS", (str(tmp_path / "nothing" / "{label}"),))
    with pytest.raises(TinygenError, match="no ST-LINK drive NODE_F446RE is mounted"):
        flash(build_dir, tool="drive")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(ToolchainError, match="apt-get install openocd"):
        flash(build_dir)


def test_refuses_stand_ins_and_missing_firmware(build_dir, tmp_path):
    with pytest.raises(TinygenError, match="QEMU stand-in, nothing to flash"):
        flash(build_dir, board="mps2-an386")
    with pytest.raises(TinygenError, match="run `tinygen build MODEL --board f746zg` first"):
        flash(build_dir, board="f746zg")
    with pytest.raises(TinygenError, match="not a tinygen build directory"):
        flash(tmp_path / "nowhere")

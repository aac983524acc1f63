"""The generated model library inside a user's own firmware (issue 17, item 1).

A bare project (tests/integration/bare_project: its own main, Makefile, CMakeLists.txt and
linker script) links two model libraries, compiles them with strict warnings for Cortex-M4 and
M7, gives one a caller arena in a named section and places the other's built-in arena there
too, and runs under QEMU: both must give the numpy reference's outputs."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from tests.integration.models import (BARE, BOARDS, RUNTIME_C, board_header, c_bytes, residual_net, run_qemu,
                                      sample, write_library)
from tinygen.boards import load_board
from tinygen.compile.sizes import _read_elf
from tinygen.errors import TinygenError

pytestmark = pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None,
                                reason="needs arm-none-eabi-gcc and qemu-system-arm")

# (real board whose core flags are used, its QEMU stand-in)
CORES = {"m4": ("f446re", "mps2-an386"), "m7": ("f746zg", "mps2-an500")}


def _project(tmp_path):
    ga, _ = write_library(residual_net(1), "net_a", tmp_path / "net_a")
    gb, _ = write_library(residual_net(2, channels=8, outputs=3), "net_b", tmp_path / "net_b")
    xa, ya = sample(ga, 10)
    xb, yb = sample(gb, 11)
    vec = tmp_path / "vectors"
    vec.mkdir()
    (vec / "vectors.h").write_text("#include <stdint.h>\n" + c_bytes("in_a", xa) + c_bytes("expect_a", ya)
                                   + c_bytes("in_b", xb) + c_bytes("expect_b", yb))
    return vec


def _symbol_sections(elf) -> dict[str, str]:
    import struct

    data, named = _read_elf(elf)
    out = {}
    for _n, s in named:
        if s[1] != 2:
            continue
        strtab = named[s[6]][1][4]
        for off in range(s[4], s[4] + s[5], 16):
            st_name, _v, _size, _info, _o, shndx = struct.unpack_from("<IIIBBH", data, off)
            if 0 < shndx < len(named):
                end = data.index(b"\0", strtab + st_name)
                out[data[strtab + st_name:end].decode()] = named[shndx][0]
    return out


def _make_vars(tmp_path, vec, core):
    board, machine = CORES[core]
    b, emu = load_board(board), load_board(machine)
    return {"CPU": " ".join(b.cpu_flags), "NET_A": str(tmp_path / "net_a"), "NET_B": str(tmp_path / "net_b"),
            "PLATFORM": str(RUNTIME_C / "platform"), "BOARD_H": str(board_header(machine, board, tmp_path / "board")),
            "LD_DIR": str(BOARDS / "ld"), "PLATFORM_SRCS": " ".join(emu.sources),
            "PLATFORM_DEFS": " ".join(f"-D{d}" for d in emu.defines), "FLASH_SIZE": str(b.flash_bytes),
            "RAM_SIZE": str(b.ram_bytes), "VECTORS": str(vec)}


def _check_run(elf, machine):
    proc = run_qemu(elf, machine)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[-3:] == ["net_a ok", "net_b ok", "PASS"], proc.stdout
    where = _symbol_sections(elf)
    assert where["shared_arena"] == ".user_arena"
    assert where["net_b_builtin_arena"] == ".user_arena"
    assert "net_a_builtin_arena" not in where  # NET_A_NO_BUILTIN_ARENA: no RAM spent on it
    # each library carries its own kernels, renamed: no collision, both linked
    for net in ("net_a", "net_b"):
        assert any(sym.startswith(f"{net}_tg_conv2d_s8_") for sym in where), sorted(where)
    assert not any(sym.startswith("tg_conv2d_s8_") for sym in where)


@pytest.mark.parametrize("core", sorted(CORES))
def test_two_models_bare_makefile_project_runs_under_qemu(tmp_path, core):
    vec = _project(tmp_path)
    v = _make_vars(tmp_path, vec, core)
    out = tmp_path / "out"
    args = [f"{k}={val}" for k, val in v.items()] + [f"OUT={out}", "-j2"]
    proc = subprocess.run(["make", "-C", str(BARE), *args], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    _check_run(out / "fw.elf", CORES[core][1])


@pytest.mark.skipif(shutil.which("cmake") is None, reason="cmake not installed")
def test_two_models_bare_cmake_project_runs_under_qemu(tmp_path):
    vec = _project(tmp_path)
    v = _make_vars(tmp_path, vec, "m4")
    build = tmp_path / "cmake-build"
    defs = [f"-D{k}={val}" for k, val in v.items() if k != "CPU"]
    defs = [d.replace("PLATFORM_SRCS=", "PLATFORM_SRCS=").replace(" ", ";") if d.startswith("-DPLATFORM_") else d
            for d in defs]
    cmd = ["cmake", "-S", str(BARE), "-B", str(build), f"-DCMAKE_TOOLCHAIN_FILE={BARE / 'toolchain.cmake'}",
           f"-DCPU_FLAGS={v['CPU']}", *defs]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    proc = subprocess.run(["cmake", "--build", str(build), "-j2"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    _check_run(build / "fw.elf", "mps2-an386")


def test_name_must_be_a_c_identifier():
    with pytest.raises(TinygenError, match="--name '9lives' is not a usable symbol prefix"):
        write_library(residual_net(1), "9lives", None)


def test_quantize_helpers_match_program_quantize(tmp_path):
    """The header's inline quantize/dequantize, compiled for the host, against the numpy spec
    (rint(x * float32(1 / scale)) + zero point, clipped; dequantize (q - zp) * scale)."""
    from tinygen.compile.host import find_cc

    graph, _ = write_library(residual_net(3), "net_q", tmp_path / "net_q")
    rng = np.random.default_rng(5)
    scale, zp = np.float32(0.05), -3
    # ties (k + 0.5) * scale, values near the clamp limits, large values and the usual range
    xs = np.concatenate([(np.arange(-140, 140) + np.float32(0.5)) * scale, rng.normal(0, 4, 3000),
                         np.array([1e9, -1e9, 6.5, -6.25, 0.0])]).astype(np.float32)
    (tmp_path / "xs.bin").write_bytes(xs.tobytes())
    src = tmp_path / "q.c"
    src.write_text('#include <stdio.h>\n#include "net_q.h"\nint main(void){ float x; '
                   'while (fread(&x, 4, 1, stdin) == 1) { int8_t q = net_q_input0_quantize(x); '
                   'float d = net_q_output0_dequantize(q); fwrite(&q, 1, 1, stdout); fwrite(&d, 4, 1, stdout);} return 0; }\n')
    exe = tmp_path / "q"
    flags = ["-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-Wpedantic", "-Wconversion", "-Wshadow"]
    subprocess.run([find_cc(), *flags, f"-I{tmp_path / 'net_q'}", str(src), "-o", str(exe)], check=True)
    out = subprocess.run([str(exe)], input=xs.tobytes(), capture_output=True, check=True).stdout
    rec = np.frombuffer(out, dtype=np.dtype([("q", "i1"), ("d", "<f4")]))
    inv = np.float32(1.0) / scale
    want = np.clip(np.rint(xs * inv) + zp, -128, 127).astype(np.int8)
    assert np.array_equal(rec["q"], want)
    assert np.array_equal(rec["d"], (want.astype(np.float32) - zp) * scale)

"""The example firmware written beside the model library (DIR/example) builds with its own
Makefile for each QEMU stand-in configuration and prints the reference's output (issue 17, item 2)."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from tests.integration.models import residual_net, write_library
from tinygen.boards import load_board
from tinygen.compile.example import sample_inputs, write_example
from tinygen.reference import interpreter

pytestmark = pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None,
                                reason="needs arm-none-eabi-gcc and qemu-system-arm")

# configuration -> board it was generated for; one per stand-in machine
CONFIGS = {"f446re-on-mps2-an386": "f446re", "f746zg-on-mps2-an500": "f746zg", "f446re-on-netduinoplus2": "f446re"}


def _example(tmp_path, board):
    graph, _ = write_library(residual_net(4, channels=8, outputs=5), "demo", tmp_path / "model")
    return graph, write_example(tmp_path, graph, "demo", board)


def _expected_line(graph) -> str:
    y = interpreter.run(graph, sample_inputs(graph))[0]
    return "output0: " + " ".join(str(int(v)) for v in np.asarray(y).ravel())


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_example_builds_and_runs_on_each_stand_in(tmp_path, config):
    graph, ex = _example(tmp_path, CONFIGS[config])
    proc = subprocess.run(["make", "-C", str(ex), f"TARGET={config}", "-j2"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    run = subprocess.run(["make", "-s", "-C", str(ex), f"TARGET={config}", "run"], capture_output=True, text=True,
                         timeout=120, stdin=subprocess.DEVNULL)
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert _expected_line(graph) in lines, run.stdout
    assert "matches the reference" in lines
    ticks = [ln for ln in lines if ln.startswith("ticks: ")]
    assert ticks and int(ticks[0].split()[1]) > 0, run.stdout


def test_example_builds_for_the_real_boards(tmp_path):
    """The board configurations (STM32 platform, flash at 0x08000000) link; they cannot run here."""
    for board in ("f446re", "f746zg", "f767zi"):
        _, ex = _example(tmp_path / board, board)
        proc = subprocess.run(["make", "-C", str(ex), "-j2"], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert (ex / "build" / board / "example.bin").stat().st_size > 0


@pytest.mark.skipif(shutil.which("cmake") is None, reason="cmake not installed")
def test_example_cmake_build_runs(tmp_path):
    graph, ex = _example(tmp_path, "f746zg")
    build = tmp_path / "cmake-build"
    proc = subprocess.run(["cmake", "-S", str(ex), "-B", str(build), f"-DCMAKE_TOOLCHAIN_FILE={ex / 'arm-none-eabi.cmake'}",
                           "-DTARGET=f746zg-on-mps2-an500"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    proc = subprocess.run(["cmake", "--build", str(build), "-j2"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    from tests.integration.models import run_qemu

    run = run_qemu(build / "example.elf", load_board("mps2-an500").qemu.machine)
    assert run.returncode == 0 and _expected_line(graph) in run.stdout.splitlines(), run.stdout

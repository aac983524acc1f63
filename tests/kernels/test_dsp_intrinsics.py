"""Each tg_dsp.h operation's native ARMv7E-M instruction equals its portable C definition: a
bare-metal program (tests/kernels/dsp_check/) links the header compiled for cortex-m4 (native)
and for cortex-m3 (no DSP: the portable definitions) and compares them on seeded random
operands, a quarter of them built from lane extremes; it runs on QEMU's Cortex-M4 stand-in and
exits through semihosting with status 0 only when every result agreed."""

import shutil
import subprocess
from pathlib import Path

import pytest

from tinygen.paths import RUNTIME_INCLUDE

HERE = Path(__file__).parent / "dsp_check"


def build_and_run(tmp: Path, seed: int, include: Path = RUNTIME_INCLUDE) -> int:
    flags = ["-mthumb", "-O2", "-std=c99", "-Wall", "-Wextra", "-Werror", "-ffreestanding", f"-I{include}", f"-I{HERE}"]
    gcc = "arm-none-eabi-gcc"
    for pfx, cpu in (("n_", "cortex-m4"), ("p_", "cortex-m3")):
        subprocess.run([gcc, *flags, f"-mcpu={cpu}", f"-DPFX={pfx}", "-c", str(HERE / "impl.c"), "-o", str(tmp / f"{pfx}.o")],
                       check=True, capture_output=True)
    subprocess.run([gcc, *flags, "-mcpu=cortex-m4", f"-DSEED={seed}u", "-c", str(HERE / "main.c"), "-o", str(tmp / "m.o")],
                   check=True, capture_output=True)
    elf = tmp / "dsp.elf"
    subprocess.run([gcc, "-mcpu=cortex-m4", "-mthumb", "-nostdlib", "-nostartfiles", "-T", str(HERE / "link.ld"),
                    str(tmp / "m.o"), str(tmp / "n_.o"), str(tmp / "p_.o"), "-o", str(elf)], check=True, capture_output=True)
    proc = subprocess.run(["qemu-system-arm", "-machine", "mps2-an386", "-nographic", "-semihosting-config",
                           "enable=on,target=native", "-kernel", str(elf)], capture_output=True, timeout=60)
    return proc.returncode


def _tools():
    if not (shutil.which("arm-none-eabi-gcc") and shutil.which("qemu-system-arm")):
        pytest.skip("needs arm-none-eabi-gcc and qemu-system-arm")


@pytest.mark.qemu
@pytest.mark.parametrize("seed", [1, 12345])
def test_native_dsp_ops_equal_portable_definitions(seed, tmp_path):
    _tools()
    assert build_and_run(tmp_path, seed) == 0


@pytest.mark.qemu
def test_dsp_check_catches_a_wrong_portable_definition(tmp_path):
    """The check can fail: a copy of tg_dsp.h whose portable SMLATT uses the bottom halves."""
    _tools()
    inc = tmp_path / "inc"
    inc.mkdir()
    src = (RUNTIME_INCLUDE / "tg_dsp.h").read_text()
    wrong = src.replace("(uint32_t)(tg__h(x, 1) * tg__h(y, 1)));\n}\nstatic inline uint32_t tg__bytes",
                        "(uint32_t)(tg__h(x, 0) * tg__h(y, 1)));\n}\nstatic inline uint32_t tg__bytes")
    assert wrong != src
    (inc / "tg_dsp.h").write_text(wrong)
    assert build_and_run(tmp_path, 1, inc) != 0

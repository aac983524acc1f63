"""The C runtime's headers: complete umbrella, self-contained, warning-free for host and Cortex-M."""

import re
import shutil
import subprocess

import pytest

from tinygen.paths import RUNTIME_INCLUDE, RUNTIME_KERNELS

HEADERS = sorted(p.name for p in RUNTIME_INCLUDE.glob("tg_*.h"))


def test_umbrella_includes_every_header():
    umbrella = (RUNTIME_INCLUDE / "tg_kernels.h").read_text()
    included = set(re.findall(r'#include "([^"]+)"', umbrella))
    assert included == set(HEADERS) - {"tg_kernels.h"}


@pytest.mark.host
@pytest.mark.parametrize("header", HEADERS)
def test_header_is_self_contained(header, tmp_path):
    src = tmp_path / "t.c"
    src.write_text(f'#include "{header}"\nint tg_dummy(void) {{ return 0; }}\n')
    cmd = ["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", f"-I{RUNTIME_INCLUDE}", "-c", str(src),
           "-o", str(tmp_path / "t.o")]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("cc,flags", [
    ("gcc", ["-std=c99", "-O2"]),
    ("arm-none-eabi-gcc", ["-std=c99", "-O2", "-mthumb", "-mcpu=cortex-m4", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"]),
    ("arm-none-eabi-gcc", ["-std=c99", "-O2", "-mthumb", "-mcpu=cortex-m7", "-mfloat-abi=hard", "-mfpu=fpv5-d16"]),
], ids=["host", "cortex-m4", "cortex-m7"])
def test_kernels_compile_warning_free(cc, flags, tmp_path):
    if shutil.which(cc) is None:
        pytest.skip(f"{cc} not installed (scripts/setup.sh installs it)")
    for src in sorted(RUNTIME_KERNELS.glob("*.c")):
        cmd = [cc, *flags, "-Wall", "-Wextra", "-Werror", f"-I{RUNTIME_INCLUDE}", "-c", str(src),
               "-o", str(tmp_path / (src.stem + ".o"))]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        assert proc.returncode == 0, f"{src.name}: {proc.stderr}"

"""The report's model-library figures are what the library costs in a user's own firmware (issue
17, item 4): build a model for f446re, then compile its DIR/model sources as a user would (the bare
project's flags) with a main that only calls <name>_invoke, link with --gc-sections, and compare
the library objects' bytes in that link map with report.json's model_library."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from tinygen.boards import load_board
from tinygen.compile.map_sizes import map_parts

pytestmark = pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="needs arm-none-eabi-gcc")

MAIN = """#include "net.h"
static int8_t in[NET_INPUT0_SIZE], out[NET_OUTPUT0_SIZE];
static uint8_t arena[NET_ARENA_BYTES] __attribute__((aligned(NET_ARENA_ALIGN)));
int main(void) { return net_init(arena, sizeof arena) || net_invoke(in, out); }
"""
# as tests/integration/bare_project/Makefile compiles a model library
FLAGS = ["-O2", "-std=c11", "-ffunction-sections", "-fdata-sections", "-fno-common", "-fno-math-errno",
         "-Wall", "-Wextra", "-Werror"]


def test_report_model_figures_equal_a_bare_link(tmp_path):
    import torch

    import tinygen
    from tests.torch_models import make

    model, shape = make("conv_stack")
    pt2 = tmp_path / "m.pt2"
    torch.export.save(torch.export.export(model, (torch.zeros(shape),)), str(pt2))
    out = tmp_path / "out"
    tinygen.build(str(pt2), board="f446re", out_dir=out, name="net")
    report = json.loads((out / "report.json").read_text())
    lib = report["model_library"]
    assert not lib["estimate"]

    board = load_board("f446re")
    objs = tmp_path / "user" / "lib"
    objs.mkdir(parents=True)
    (tmp_path / "user" / "main.c").write_text(MAIN)
    cc = ["arm-none-eabi-gcc", *board.cpu_flags, *FLAGS, f"-I{out / 'model'}"]
    for src in sorted((out / "model").glob("*.c")):
        subprocess.run([*cc, "-c", str(src), "-o", str(objs / (src.stem + ".o"))], check=True)
    subprocess.run([*cc, "-c", str(tmp_path / "user" / "main.c"), "-o", str(tmp_path / "user" / "main.o")], check=True)
    elf, map_file = tmp_path / "user" / "fw.elf", tmp_path / "user" / "fw.map"
    subprocess.run(["arm-none-eabi-gcc", *board.cpu_flags, "--specs=nosys.specs", "-nostartfiles", "-Wl,-e,main",
                    "-Wl,--gc-sections", f"-Wl,-Map={map_file}", str(tmp_path / "user" / "main.o"),
                    *map(str, sorted(objs.glob("*.o"))), "-o", str(elf)], check=True)
    parts = map_parts(map_file, group=lambda obj: "lib" if "/user/lib/" in obj else "user")
    user_lib = parts["lib"]
    assert lib["flash"] == {"code": user_lib.text, "weights_constants": user_lib.rodata, "data_init": user_lib.data}
    assert lib["ram"]["arena"] + lib["ram"]["data_bss"] == user_lib.data + user_lib.bss
    assert lib["ram"]["arena"] == report["arena_bytes"] and lib["ram"]["stack"] > 0
    text = (out / "report.txt").read_text()
    assert re.search(rf"model flash\s+{lib['flash_bytes']:,} B", text) and re.search(rf"model RAM\s+{lib['ram_bytes']:,} B", text)

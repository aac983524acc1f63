"""Fit is decided before flashing: from the linked ELF when the model fits, and with the
largest contributors named when it does not."""

import shutil

import pytest

import tinygen
from tinygen.errors import TinygenError
from tests.torch_models import mobilenet_v2

pytestmark = pytest.mark.qemu


@pytest.fixture(autouse=True)
def _needs_toolchain():
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("needs arm-none-eabi-gcc (scripts/setup.sh installs it)")


def test_mobilenet_v2_does_not_fit_f446re_sram(tmp_path):
    model, shape = mobilenet_v2(0.35, 176, classes=10)  # at 96x96 it fits the SRAM (in-place, fused bands)
    with pytest.raises(TinygenError) as err:
        tinygen.build(model, board="f446re", out_dir=tmp_path / "out", input_shape=shape)
    msg = str(err.value)
    assert "does not fit board f446re" in msg and "SRAM" in msg and "over by" in msg
    assert "131,072" in msg  # the F446RE's 128 KB, stated
    # the failed fit leaves its report (with what to do), but nothing that looks like a build
    out = tmp_path / "out"
    names = sorted(p.name for p in out.iterdir() if p.name != "memory_timeline.png")  # PNG with rsvg-convert
    assert names == ["memory_timeline.svg", "report.json", "report.txt"]
    assert not list(tmp_path.glob(".out.partial*"))
    text = (out / "report.txt").read_text()
    assert "does not fit board f446re" in text and "try: fewer channels or a lower resolution" in text
    with pytest.raises(TinygenError):
        tinygen.load(out)


def test_same_model_fits_f746zg_with_elf_sizes(tmp_path):
    model, shape = mobilenet_v2(0.35, 96, classes=10)
    program = tinygen.build(model, board="f746zg", out_dir=tmp_path / "out", input_shape=shape)
    r = program.report
    assert r["estimate"] is False and r["board"] == "f746zg"
    assert r["arena_bytes"] == r["peak_lower_bound_bytes"]
    assert r["sram_bytes"] <= r["sram_capacity_bytes"] == 327_680
    assert r["sram_bytes"] >= r["arena_bytes"]
    assert r["flash_bytes"] >= r["weight_bytes"]

"""A crash or hang inside a framework's file reader becomes one error line (issue 18: the load step
runs first in a forked child)."""

import os
import signal
import sys
import time

import pytest

from tinygen.errors import TinygenError
from tinygen.importers import isolated
from tinygen.importers.isolated import probe_load

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the probe forks (Linux only)")


def _segfault():
    os.kill(os.getpid(), signal.SIGSEGV)


def test_crash_in_reader_is_one_line(tmp_path):
    f = tmp_path / "m.pt2"
    with pytest.raises(TinygenError) as e:
        probe_load(f, "PyTorch (torch.export.load)", _segfault)
    msg = str(e.value)
    assert str(f) in msg and "crashed (SIGSEGV)" in msg and "\n" not in msg and len(msg) < 300


def test_hang_in_reader_is_killed(tmp_path):
    start = time.monotonic()
    with pytest.raises(TinygenError, match="did not finish reading"):
        probe_load(tmp_path / "m.pt2", "PyTorch", lambda: time.sleep(60), timeout_s=0.5)
    assert time.monotonic() - start < 10


def test_reader_exception_is_left_to_the_caller(tmp_path):
    def fail():
        raise ValueError("bad")

    probe_load(tmp_path / "m.pt2", "PyTorch", fail)  # no error from the probe itself


def test_probe_can_be_turned_off(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYGEN_NO_LOAD_PROBE", "1")
    assert not isolated._enabled()


def test_export_load_crash_reaches_the_cli_as_one_line(tmp_path, monkeypatch, capsys):
    """Through the CLI: a valid .pt2 whose (stand-in) reader crashes gives exit 1 and one line."""
    import torch

    from tests.torch_models import make
    from tinygen.cli import main
    from tinygen.importers.torch import load

    model, shape = make("conv_stack")
    pt2 = tmp_path / "m.pt2"
    torch.export.save(torch.export.export(model, (torch.zeros(shape),)), str(pt2))
    monkeypatch.setattr(load, "_export_load", lambda path: _segfault())
    rc = main(["build", str(pt2), "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc != 0
    assert any("crashed (SIGSEGV)" in line and str(pt2) in line for line in err), err
    assert not (tmp_path / "out").exists()


def test_torchscript_with_a_source_range_index_past_its_table_is_refused(tmp_path):
    """Found by the fuzz campaign: a .debug_pkl string index past the table made the TorchScript
    converter segfault. The archive check refuses it, naming the member."""
    import io
    import pickletools
    import zipfile

    import torch

    from tests.torch_models import make
    from tinygen.importers.torch.load import load_exported_program

    model, shape = make("conv_stack")
    good = tmp_path / "good.pt"
    torch.jit.trace(model, torch.zeros(shape)).save(str(good))
    bad = tmp_path / "bad.pt"
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(bad, "w") as zout:
        for info in zin.infolist():
            body = zin.read(info)
            if info.filename.endswith(".debug_pkl"):
                b = bytearray(body)
                for op, arg, pos in pickletools.genops(io.BytesIO(body)):
                    if op.name == "BININT1" and arg == 5:
                        b[pos + 1] = 127  # every small int 5 (string indices among them) -> 127
                body = bytes(b)
            zout.writestr(info, body)
    load_exported_program(good, shape)  # the untouched archive loads
    with pytest.raises(TinygenError) as e:
        load_exported_program(bad, shape)
    msg = str(e.value)
    assert "debug_pkl" in msg and "string index outside its table" in msg and "\n" not in msg

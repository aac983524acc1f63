"""`tinygen build/validate/report/analyze` on an SP-Net directory."""

import json

import pytest

from tinygen.cli import main


@pytest.mark.host
def test_cli_validates_every_or_one_switch(built, exported, capsys):
    out = built.out_dir  # built by `tinygen build tiny.spnet -o ...` (conftest)
    assert (out / "model" / "tiny.h").exists() and (out / "model" / "tiny_s2.c").exists()
    assert json.loads((out / "tinygen.json").read_text())["kind"] == "spnet"
    assert main(["validate", str(out), "--host", "--count", "5"]) == 0
    text = capsys.readouterr().out
    assert "PASS, 20/20" in text and "2 bits: 5/5" in text
    assert main(["validate", str(out), "--host", "--count", "3", "--switch", "1"]) == 0
    assert "PASS, 3/3" in capsys.readouterr().out
    assert main(["validate", str(out), "--host", "--switch", "3"]) == 1
    err = capsys.readouterr().err
    assert "no switch with 3 bits" in err and err.count("\n") == 1
    assert main(["report", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["kind"] == "spnet"
    assert main(["analyze", str(exported), "--board", "f446re"]) == 1
    assert "SP-Net" in capsys.readouterr().err

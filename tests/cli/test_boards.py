"""Board names on the command line: checked before any model work, case-insensitive, with a
suggestion; `tinygen boards` is a table with real boards and QEMU stand-ins apart."""

from __future__ import annotations

import time

from tinygen.cli import main


def test_wrong_board_fails_first_with_a_suggestion(tmp_path, capsys):
    model = tmp_path / "missing.pt2"  # never opened: the board is checked first
    t0 = time.perf_counter()
    assert main(["build", str(model), "--board", "f746zq"]) == 1
    err = capsys.readouterr().err
    assert "unknown board 'f746zq'; did you mean 'f746zg'?" in err and "no such file" not in err
    assert time.perf_counter() - t0 < 5
    assert main(["analyze", str(model), "--board", "nucleo"]) == 1
    assert "unknown board 'nucleo'" in capsys.readouterr().err


def test_board_names_are_case_insensitive(tmp_path, capsys):
    model = tmp_path / "missing.pt2"
    assert main(["build", str(model), "--board", "F746ZG"]) == 1
    err = capsys.readouterr().err
    assert "unknown board" not in err and "missing.pt2" in err  # got past the board to the file


def test_boards_table(capsys):
    assert main(["boards"]) == 0
    out = capsys.readouterr().out
    boards, stand_ins = out.split("QEMU stand-ins")
    assert "name" in boards and "SRAM" in boards and "QEMU stand-in" in boards and "flash tools" in boards
    row = next(ln for ln in boards.splitlines() if ln.strip().startswith("f446re"))
    for cell in ("STM32F446RE", "cortex-m4", "180 MHz", "128 KB", "512 KB", "USART2 PA2/PA3", "mps2-an386", "openocd"):
        assert cell in row, row
    assert "mps2-an386" not in [ln.split()[0] for ln in boards.splitlines()[1:] if ln.strip()]
    row = next(ln for ln in stand_ins.splitlines() if ln.strip().startswith("mps2-an500"))
    assert "cortex-m7" in row and "for f746zg" in row

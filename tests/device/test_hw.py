"""The same validation on a real board. Opt-in: set TINYGEN_PORT (e.g. /dev/ttyACM0) and
TINYGEN_BOARD (f446re, f746zg, f767zi); TINYGEN_FLASH_TOOL picks the flasher (default: the first
available), TINYGEN_NO_FLASH=1 validates whatever the board already runs."""

import os

import pytest

from tinygen.boards import load_board
from tests.device.models import conv_chain, write_build

PORT = os.environ.get("TINYGEN_PORT")
BOARD = os.environ.get("TINYGEN_BOARD")

pytestmark = [pytest.mark.hw,
              pytest.mark.skipif(not (PORT and BOARD), reason="set TINYGEN_PORT and TINYGEN_BOARD to test a real board")]


@pytest.fixture(scope="module")
def flashed(tmp_path_factory):
    from tinygen.compile.firmware import build_firmware
    from tinygen.device.flash import flash

    prog = write_build(conv_chain(), tmp_path_factory.mktemp("hw") / "tgnet", board=BOARD)
    build_firmware(prog.out_dir, prog.prefix, BOARD)
    if not os.environ.get("TINYGEN_NO_FLASH"):
        flash(prog.out_dir, BOARD, os.environ.get("TINYGEN_FLASH_TOOL") or None)
    return prog


def test_board_validates_bit_exact_with_cycles(flashed):
    import time

    from tinygen.device.validate import validate

    time.sleep(1.0)  # let the freshly flashed firmware boot
    r = validate(flashed, port=PORT, count=20, seed=3, profile=True)
    assert r.passed, r.summary_text()
    board = load_board(BOARD)
    assert not r.emulated and r.unit == "cycles"
    assert r.clock_hz == board.clock_hz, "clock bring-up degraded: " + "; ".join(r.info.status_text)
    assert all(c > 0 for c in r.latencies) and r.ms(r.latency) > 0
    assert len(r.profile) == 3 and r.stack_peak <= r.info.stack_bytes
    print(r.summary_text())

"""Board files: every board loads, real boards name a compatible stand-in, errors are clear."""

import pytest

from tinygen.boards import PLATFORMS, firmware_target, list_boards, load_board, with_limits
from tinygen.errors import TinygenError
from tinygen.paths import RUNTIME_C

KB = 1024


def test_known_boards():
    assert set(list_boards("board")) == {"f446re", "f746zg", "f767zi"}
    assert set(list_boards("emulator")) == {"mps2-an386", "mps2-an500", "netduinoplus2"}


@pytest.mark.parametrize("name, core, fpu, clock, flash, ram, uart, tx, rx", [
    ("f446re", "cortex-m4", "fpv4-sp-d16", 180_000_000, 512 * KB, 128 * KB, "USART2", "PA2", "PA3"),
    ("f746zg", "cortex-m7", "fpv5-sp-d16", 216_000_000, 1024 * KB, 320 * KB, "USART3", "PD8", "PD9"),
    ("f767zi", "cortex-m7", "fpv5-d16", 216_000_000, 2048 * KB, 512 * KB, "USART3", "PD8", "PD9"),
])
def test_real_board_data(name, core, fpu, clock, flash, ram, uart, tx, rx):
    b = load_board(name)
    assert (b.core, b.fpu, b.clock_hz, b.flash_bytes, b.ram_bytes) == (core, fpu, clock, flash, ram)
    assert (b.flash_origin, b.ram_origin) == (0x08000000, 0x20000000)
    assert (b.console.uart, b.console.tx, b.console.rx, b.console.af) == (uart, tx, rx, 7)
    assert sum(size for _, _, size in b.ram_regions) == b.ram_bytes  # regions are contiguous and complete
    origin = b.ram_origin
    for _, start, size in b.ram_regions:
        assert start == origin
        origin += size
    assert b.flasher.openocd_config and b.flasher.drive_label.startswith("NODE_")


@pytest.mark.parametrize("name", ["f446re", "f746zg", "f767zi"])
def test_each_real_board_names_a_compatible_stand_in(name):
    b = load_board(name)
    target, limits = firmware_target(name, emulate=True)
    assert target.is_emulator and target.qemu is not None and limits == b
    assert target.core == b.core  # same core: same instruction stream is meaningful
    limited = with_limits(target, limits)
    assert (limited.flash_bytes, limited.ram_bytes) == (b.flash_bytes, b.ram_bytes)
    for alt in b.alt_emulators:
        assert load_board(alt).core == b.core


def test_stand_ins_default_to_their_real_board_limits():
    target, limits = firmware_target("netduinoplus2")
    assert target.name == "netduinoplus2" and limits.name == "f446re"
    assert firmware_target("mps2-an500")[1].name == "f746zg"
    assert firmware_target("f446re")[0].name == "f446re"  # no emulation: the board itself


def test_qemu_counter_conversion_is_exact_by_rounding():
    for name in list_boards("emulator"):
        q = load_board(name).qemu
        ipt = q.instructions_per_tick
        # A counter read is off by less than one tick; that must stay below half an instruction.
        assert ipt < 0.5 or ipt == 1.0, name


def test_every_platform_source_exists():
    for spec in PLATFORMS.values():
        for src in spec["sources"]:
            assert (RUNTIME_C / "platform" / src).is_file(), src


def test_unknown_board_lists_the_known_ones():
    with pytest.raises(TinygenError, match=r"unknown board 'f999'.*f446re.*netduinoplus2"):
        load_board("f999")


def test_emulating_a_stand_in_or_missing_emulator_is_explained(tmp_path, monkeypatch):
    import tinygen.boards as boards

    (tmp_path / "bare.toml").write_text(
        'name = "bare"\nkind = "board"\nplatform = "stm32f4"\ncore = "cortex-m4"\nfpu = "fpv4-sp-d16"\n'
        'clock_hz = 16000000\nlinker_script = "stm32.ld"\n[memory]\nflash_origin = 0x08000000\n'
        'flash_bytes = 65536\nram_origin = 0x20000000\nram_bytes = 16384\n[console]\nuart = "USART2"\n'
        'base = 0x40004400\n')
    (tmp_path / "broken.toml").write_text('name = "broken"\n')
    monkeypatch.setattr(boards, "BOARDS", tmp_path)
    assert boards.load_board("bare").emulator == ""
    with pytest.raises(TinygenError, match="names no QEMU stand-in"):
        boards.firmware_target("bare", emulate=True)
    with pytest.raises(TinygenError, match="lacks the required key"):
        boards.load_board("broken")

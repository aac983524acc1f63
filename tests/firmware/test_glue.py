"""Pieces of the generated firmware glue that need no toolchain."""

from tinygen.compile.firmware import c_string, config_name


def test_c_string_escapes_anything_a_tensor_name_may_contain():
    assert c_string("input_1") == '"input_1"'
    assert c_string('a"b\\c?d') == '"a\\042b\\134c\\077d"'  # no trigraphs, no broken literals
    assert c_string("über") == '"\\303\\274ber"'
    assert len(c_string("x" * 1000)) == 255 + 2  # the wire carries names as u8-length strings


def test_configuration_names():
    assert config_name("f446re") == "f446re"
    assert config_name("f446re", emulate=True) == "f446re-on-mps2-an386"
    assert config_name("f767zi", emulate=True) == "f767zi-on-mps2-an500"  # f746zg differs: no clash
    assert config_name("f446re", emulate=True, emulator="netduinoplus2") == "f446re-on-netduinoplus2"
    assert config_name("mps2-an500") == "mps2-an500"
    assert config_name("netduinoplus2", variant="test") == "netduinoplus2-test"

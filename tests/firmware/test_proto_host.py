"""The C side of the protocol (runtime_c/harness/tg_proto.c + tg_crc.c), compiled for the host
with the firmware's warning set, against the Python side: both must agree byte for byte."""

from pathlib import Path

import numpy as np
import pytest

from tinygen.compile.host import find_cc
from tinygen.device import protocol as P
from tinygen.paths import RUNTIME_C

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def cproto(tmp_path_factory):
    import subprocess

    import cffi

    from tinygen.errors import ToolchainError

    try:
        cc = find_cc()
    except ToolchainError as e:
        pytest.skip(str(e))
    out = tmp_path_factory.mktemp("proto") / "libtgproto.so"
    srcs = [HERE / "proto_stub.c", RUNTIME_C / "harness" / "tg_proto.c", RUNTIME_C / "harness" / "tg_crc.c"]
    cmd = [cc, "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-fPIC", "-shared",
           f"-I{RUNTIME_C / 'harness'}", f"-I{RUNTIME_C / 'platform'}", "-o", str(out), *map(str, srcs)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    ffi = cffi.FFI()
    ffi.cdef("""
        int host_recv(const uint8_t *data, uint32_t len, uint32_t *consumed, uint32_t *meta, uint8_t *buf, uint32_t cap);
        uint32_t host_send(uint8_t type, uint8_t seq, const uint8_t *payload, uint32_t n, uint8_t *dst, uint32_t cap);
        uint32_t host_error(uint8_t seq, uint16_t code, const char *msg, uint8_t *dst, uint32_t cap);
    """)
    return ffi, ffi.dlopen(str(out))


def recv(cproto, data: bytes, cap: int = 4096):
    ffi, lib = cproto
    consumed, meta = ffi.new("uint32_t *"), ffi.new("uint32_t[3]")
    buf = ffi.new(f"uint8_t[{cap}]")
    rc = lib.host_recv(data, len(data), consumed, meta, buf, cap)
    return rc, (meta[0], meta[1], meta[2]), bytes(ffi.buffer(buf, min(meta[2], cap))), consumed[0]


@pytest.mark.host
@pytest.mark.parametrize("size", [0, 1, 5, 300, 4096])
def test_c_sends_what_python_decodes(cproto, size):
    ffi, lib = cproto
    payload = bytes((i * 31 + 7) & 0xFF for i in range(size))
    dst = ffi.new("uint8_t[8192]")
    n = lib.host_send(0x82, 200, payload, len(payload), dst, 8192)
    raw = bytes(ffi.buffer(dst, n))
    assert raw == P.encode_frame(0x82, 200, payload)


@pytest.mark.host
def test_c_error_frame(cproto):
    ffi, lib = cproto
    dst = ffi.new("uint8_t[256]")
    n = lib.host_error(9, 3, b"bad size", dst, 256)
    d = P.FrameDecoder()
    d.feed(bytes(ffi.buffer(dst, n)))
    err = P.decode_error(d.next_frame().payload)
    assert err.code == 3 and "bad size" in str(err)


@pytest.mark.host
def test_c_receives_python_frames_after_garbage(cproto):
    rng = np.random.default_rng(3)
    garbage = bytes(rng.integers(0, 256, 300, dtype=np.uint8)) + b"\xA5\x5A\xA5\xA5\x5A\x02\x07"
    frame = P.encode_frame(P.RUN, 17, b"input-bytes")
    rc, meta, payload, consumed = recv(cproto, garbage + frame + b"tail")
    assert rc == 0 and meta == (P.RUN, 17, 11) and payload == b"input-bytes"
    assert consumed == len(garbage) + len(frame)


@pytest.mark.host
def test_c_flags_crc_errors_and_oversize(cproto):
    bad = bytearray(P.encode_frame(P.PING, 4, b"abcdef"))
    bad[-1] ^= 0xFF
    assert recv(cproto, bytes(bad))[0] == 1  # TG_RX_BAD_CRC
    rc, meta, _, consumed = recv(cproto, P.encode_frame(P.RUN, 5, bytes(100)), cap=64)
    assert rc == 2 and meta == (P.RUN, 5, 100) and consumed == P.HEADER_BYTES  # TG_RX_TOO_LONG


@pytest.mark.host
def test_c_drops_a_stalled_frame(cproto):
    frame = P.encode_frame(P.RUN, 1, bytes(50))
    assert recv(cproto, frame[:30])[0] == 3  # TG_RX_TIMEOUT: payload stopped arriving
    rc, _, _, _ = recv(cproto, frame[:5])  # a stalled header is dropped, then input runs dry
    assert rc == -1


@pytest.mark.host
def test_c_parser_under_sanitizers_with_random_and_mutated_frames(tmp_path):
    """ASan+UBSan build of tg_proto.c: random bytes and corrupted frame streams, capacities below
    and above the frame sizes. No finding, no accepted frame that was not sent."""
    from tests.firmware import proto_fuzz
    from tinygen.errors import ToolchainError

    try:
        cc = find_cc()
    except ToolchainError as e:
        pytest.skip(str(e))
    exe = proto_fuzz.build(cc, tmp_path / "proto_fuzz")
    counts = proto_fuzz.CCounts()
    proto_fuzz.run_batch(exe, np.random.default_rng(1806), 2000, counts)
    assert counts.sanitizer_findings == 0, counts.notes
    assert counts.false_accepts == 0 and counts.bad_offsets == 0
    assert counts.accepted > 500  # the intact frames do get through

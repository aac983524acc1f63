"""The serial link never wedges and the host decoder raises only ProtocolError: noisy fault
lines, short or inconsistent CRC-valid payloads, false syncs whose header CRC matches, long runs
of sync-like bytes, and a seeded fuzz of corrupted frame streams (issue 18 item 6)."""

import struct

import numpy as np
import pytest

from tinygen.device import protocol as P
from tinygen.device.session import Session
from tests.device.fakes import FakeFirmware, FakeLink, make_info
from tests.device.frame_fuzz import Counts, check_stream, false_header


@pytest.mark.parametrize("line", [
    "TGFAULT exc=3x CFSR=00000400",
    "TGFAULT exc= PC=zz HFSR=4000\ufffd000",
    "TGFAULT exc=99999999999999999999 CFSR=-1 MMFAR=0x12 BFAR=123456789abc",
    "TGFAULT " + "exc=3=3 " * 200,
    "TGFAULT",
])
def test_noisy_fault_lines_become_device_faults(line):
    fault = P.DeviceFault(line)
    assert str(fault).startswith("firmware ") and len(str(fault)) < 400


def test_fault_line_fuzz_never_raises_anything_else():
    rng = np.random.default_rng(18)
    for _ in range(2000):
        junk = bytes(rng.integers(0, 256, int(rng.integers(0, 120)), dtype=np.uint8))
        d = P.FrameDecoder()
        d.feed(b"TGFAULT " + junk.replace(b"\n", b" ") + b"\n")
        d.next_frame()
        line = d.fault_line()
        assert line is not None
        assert isinstance(P.DeviceFault(line), P.ProtocolError)


def test_session_run_with_a_garbled_fault_line_raises_device_fault():
    fw = FakeFirmware()
    s = Session(FakeLink(fw), timeout=0.5)
    s.hello()
    fw.answer = lambda f: b"\r\nTGFAULT exc=3\xff\xfe CFSR=0000g400 PC=\x00\r\n"
    with pytest.raises(P.DeviceFault, match="firmware fault"):
        s.run([np.zeros((1, 6), np.int8)])


def test_short_payloads_raise_protocol_errors():
    for n in range(8):
        with pytest.raises(P.ProtocolError):
            P.decode_layer(bytes(n))
    for n in range(4):
        with pytest.raises(P.ProtocolError):
            P.decode_profile(bytes(n))
    with pytest.raises(P.ProtocolError, match="announces"):
        P.decode_layer(struct.pack("<II", 0, 10) + bytes(3))
    with pytest.raises(P.ProtocolError):
        P.decode_profile(struct.pack("<I", 0xFFFFFFFF))


def test_info_whose_shape_disagrees_with_its_byte_count_is_refused():
    info = make_info()
    info.outputs[0] = P.WireTensor("y", np.dtype("int8"), (2, 3), 3, 0.25, 2)
    with pytest.raises(P.ProtocolError, match="shape"):
        P.decode_info(P.encode_info(info))
    with pytest.raises(P.ProtocolError, match="shape"):
        P.decode_tensors(bytes(8), info.outputs)
    neg = P.WireTensor("y", np.dtype("int8"), (-1, -3), 3, 0.25, 2)
    with pytest.raises(P.ProtocolError):
        P.decode_tensors(bytes(8), [neg])


def test_payload_decoders_fuzz_raise_only_protocol_errors():
    rng = np.random.default_rng(6)
    good_info = P.encode_info(make_info())
    specs = make_info().outputs
    for _ in range(3000):
        n = int(rng.integers(0, 80))
        data = bytearray(rng.integers(0, 256, n, dtype=np.uint8))
        info = bytearray(good_info[:int(rng.integers(0, len(good_info) + 1))])
        for _ in range(int(rng.integers(0, 4))):
            if info:
                info[int(rng.integers(0, len(info)))] = int(rng.integers(0, 256))
        calls = [lambda: P.decode_layer(bytes(data)), lambda: P.decode_profile(bytes(data)),
                 lambda: P.decode_result(bytes(data), specs), lambda: P.decode_error(bytes(data)),
                 lambda: P.decode_info(bytes(info))]
        for call in calls:
            try:
                call()
            except P.ProtocolError:
                pass


def test_frame_length_is_bounded_before_and_after_the_handshake():
    assert P.FrameDecoder().max_payload == P.PRE_HANDSHAKE_PAYLOAD
    fw = FakeFirmware()
    s = Session(FakeLink(fw), timeout=0.5)
    info = s.hello()
    limit = s.decoder.max_payload
    assert limit == P.frame_limit(info, len(P.encode_info(info)))
    # The largest frames the fake firmware sends (RESULT, LAYER) fit; far larger ones do not.
    assert 16 + sum(t.padded for t in info.outputs) <= limit <= 8 * 1024
    head = struct.pack("<BBI", P.RESULT, 1, limit + 1)
    d = P.FrameDecoder(max_payload=limit)
    d.feed(P.SYNC + head + bytes([P.crc8(head)]) + P.encode_frame(P.PONG, 2, b"ok"))
    f = d.next_frame()
    assert (f.type, f.payload, d.pending) == (P.PONG, b"ok", False)


def test_a_crafted_60_mib_header_hides_nothing():
    head = struct.pack("<BBI", P.RESULT, 1, 60 << 20)
    frames = [P.encode_frame(P.PONG, i & 0xFF, bytes([i & 0xFF]) * 5) for i in range(1000)]
    d = P.FrameDecoder(max_payload=P.frame_limit(make_info()))
    d.feed(P.SYNC + head + bytes([P.crc8(head)]) + b"".join(frames))
    got = []
    while (f := d.next_frame()) is not None:
        got.append(f)
    assert [(f.seq, f.payload) for f in got] == [(i & 0xFF, bytes([i & 0xFF]) * 5) for i in range(1000)]


def test_a_false_header_within_the_bound_costs_at_most_its_length():
    """The frames behind it come out once the announced length has arrived (payload CRC fails,
    the decoder slides one byte), or when the line goes quiet (drop_pending)."""
    rng = np.random.default_rng(2)
    bogus = false_header(rng, 0)[:4] + struct.pack("<I", 300)
    bogus = bogus[:8] + bytes([P.crc8(bogus[2:8])])
    frames = b"".join(P.encode_frame(P.PONG, i, b"abc") for i in range(10))
    d = P.FrameDecoder(max_payload=1000)
    d.feed(bogus + frames)
    assert d.next_frame() is None and d.pending  # waiting for 300 + 4 bytes that may never come
    assert d.drop_pending()
    got = [d.next_frame() for _ in range(10)]
    assert [f.seq for f in got] == list(range(10)) and all(f.crc_ok for f in got)
    d = P.FrameDecoder(max_payload=1000)
    d.feed(bogus + frames * 3)  # 480 bytes behind it: more than it announced
    got = []
    while (f := d.next_frame()) is not None:
        got.append(f)
    assert [f.seq for f in got if f.crc_ok] == list(range(10)) * 3


def test_session_recovers_a_reply_hidden_behind_a_false_header():
    fw = FakeFirmware()
    s = Session(FakeLink(fw), timeout=3.0)
    s.hello()
    head = struct.pack("<BBI", P.RESULT, 0, 1000)
    fw.garbage = P.SYNC + head + bytes([P.crc8(head)])  # every reply now hides behind it
    assert s.ping(b"hello") == b"hello"


@pytest.mark.parametrize("kind", ["pairs", "pairs-with-holes", "a5-run"])
def test_decoding_is_linear_in_the_input(kind):
    """Work (sync searches + header checks) per input byte is bounded by a constant, the same for
    64 KiB and 256 KiB (it grew faster than the input before)."""
    rng = np.random.default_rng(4)

    def work(n):
        if kind == "pairs":
            data = P.SYNC * (n // 2)
        elif kind == "a5-run":
            data = b"\xA5" * n
        else:
            a = np.resize(np.frombuffer(P.SYNC, np.uint8), n).copy()
            holes = rng.random(n) < 0.3
            a[holes] = rng.integers(0, 256, int(holes.sum()), dtype=np.uint8)
            data = bytes(a)
        d = P.FrameDecoder()
        for i in range(0, n, 4096):
            d.feed(data[i:i + 4096])
            while d.next_frame() is not None:
                pass
        assert len(d.buf) < P.HEADER_BYTES + P.PRE_HANDSHAKE_PAYLOAD + 4
        return d.work

    small, big = work(64 << 10), work(256 << 10)
    assert big <= (256 << 10) and big <= 4.2 * small


def test_frame_stream_fuzz():
    """Seeded: garbage prefixes, false headers, bit flips, truncation, random chunking."""
    rng = np.random.default_rng(20261206)
    counts = Counts()
    for _ in range(3000):
        check_stream(rng, counts)
    assert counts.exceptions == 0, counts.errors[:3]
    assert counts.false_accepts == 0
    assert counts.recovered == counts.intact and counts.intact > 8000

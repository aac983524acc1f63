"""Serial protocol, host side, in pure Python: framing, CRCs, resync, sessions over a fake link."""

import struct
import time
import zlib

import numpy as np
import pytest

from tinygen.device import protocol as P
from tinygen.device.session import Session
from tests.device.fakes import FakeFirmware, FakeLink, make_info


def test_crc8_and_crc32_check_values():
    # Standard check values for "123456789": CRC-8/SMBUS 0xF4, CRC-32/IEEE 0xCBF43926.
    assert P.crc8(b"123456789") == 0xF4
    assert zlib.crc32(b"123456789") == 0xCBF43926


@pytest.mark.parametrize("size", [0, 1, 3, 255, 256, 70000])
def test_frame_roundtrip(size):
    payload = bytes((i * 7) & 0xFF for i in range(size))
    raw = P.encode_frame(P.RUN, 42, payload)
    assert raw[:2] == P.SYNC and len(raw) == P.HEADER_BYTES + size + 4
    d = P.FrameDecoder(max_payload=1 << 20)
    d.feed(raw)
    f = d.next_frame()
    assert (f.type, f.seq, f.payload, f.crc_ok) == (P.RUN, 42, payload, True)
    assert d.next_frame() is None and not d.stray


def test_frame_layout_is_the_documented_one():
    raw = P.encode_frame(0x82, 7, b"\x01\x02")
    assert raw[:9] == bytes([0xA5, 0x5A, 0x82, 7, 2, 0, 0, 0, P.crc8(bytes([0x82, 7, 2, 0, 0, 0]))])
    assert raw[9:11] == b"\x01\x02"
    assert struct.unpack("<I", raw[11:])[0] == zlib.crc32(bytes([0x82, 7, 2, 0, 0, 0, 1, 2]))


def test_byte_by_byte_feed():
    raw = P.encode_frame(P.PONG, 3, b"hello") + P.encode_frame(P.BYE, 4)
    d = P.FrameDecoder()
    frames = []
    for b in raw:
        d.feed(bytes([b]))
        while (f := d.next_frame()) is not None:
            frames.append(f)
    assert [(f.type, f.seq, f.payload) for f in frames] == [(P.PONG, 3, b"hello"), (P.BYE, 4, b"")]


def test_resync_after_garbage_with_false_syncs():
    rng = np.random.default_rng(1)
    garbage = bytes(rng.integers(0, 256, 500, dtype=np.uint8)) + b"\xA5\x5A\xA5\x5A\x01\x02\xA5" + b"\xA5\x5A" * 5
    good = P.encode_frame(P.INFO, 9, b"payload")
    d = P.FrameDecoder()
    d.feed(garbage + good)
    f = d.next_frame()
    assert (f.type, f.seq, f.payload) == (P.INFO, 9, b"payload")
    assert bytes(d.stray).startswith(garbage[:400])


def test_false_sync_with_huge_length_is_rejected():
    head = struct.pack("<BBI", 1, 1, 0xFFFFFF00)
    bogus = P.SYNC + head + bytes([P.crc8(head)])  # valid header CRC, absurd length
    d = P.FrameDecoder(max_payload=1 << 20)
    d.feed(bogus + P.encode_frame(P.PONG, 2, b"ok"))
    f = d.next_frame()
    assert (f.type, f.payload) == (P.PONG, b"ok")


def test_corrupted_payload_is_flagged_and_next_frame_survives():
    bad = bytearray(P.encode_frame(P.RESULT, 5, b"abcdef"))
    bad[10] ^= 0x01
    d = P.FrameDecoder()
    d.feed(bytes(bad) + P.encode_frame(P.RESULT, 6, b"xyz"))
    first, second = d.next_frame(), d.next_frame()
    assert first.crc_ok is False and first.seq == 5
    assert second.crc_ok and second.payload == b"xyz"


def test_fault_line_is_found_in_stray_bytes():
    d = P.FrameDecoder()
    d.feed(b"noise\r\nTGFAULT exc=5 CFSR=00008200 HFSR=40000000 MMFAR=0 BFAR=2000fffc PC=0800a000 LR=1\r\n")
    assert d.next_frame() is None
    line = d.fault_line()
    assert line.startswith("TGFAULT exc=5")
    fault = P.DeviceFault(line)
    assert fault.registers["BFAR"] == "2000fffc" and "addr2line" in str(fault)
    assert fault.bits == ["PRECISERR", "BFARVALID", "FORCED"] and "bus error at 0x2000fffc" in str(fault)


@pytest.mark.parametrize("regs, bits, why", [
    ({"CFSR": "00000092", "MMFAR": "1ffffff0"}, ["DACCVIOL", "MSTKERR", "MMARVALID"], "stack overflow"),
    ({"CFSR": "00000082", "MMFAR": "1ffffc08"}, ["DACCVIOL", "MMARVALID"], "stack overflow"),  # guard hit
    ({"CFSR": "00080000"}, ["NOCP"], "FPU"),
    ({"CFSR": "02000000"}, ["DIVBYZERO"], "division by zero"),
    ({"CFSR": "00000000", "HFSR": "40000000"}, ["FORCED"], "see the fault status bits"),
])
def test_fault_decoding(regs, bits, why):
    got_bits, got_why = P.decode_fault(regs)
    assert got_bits == bits and why in got_why


def test_info_roundtrip():
    info = make_info(digest=bytes(range(8)), status=0x3)
    back = P.decode_info(P.encode_info(info))
    assert back == info
    assert back.status_text == ["HSE failed (PLL fed from HSI)", "over-drive failed (lower PLL speed)"]


def test_info_rejects_other_protocol_versions_and_truncation():
    raw = bytearray(P.encode_info(make_info()))
    with pytest.raises(P.ProtocolError, match="truncated"):
        P.decode_info(bytes(raw[:30]))
    raw[4] = 99
    with pytest.raises(P.ProtocolError, match="protocol version 99"):
        P.decode_info(bytes(raw))


def test_tensor_payload_padding():
    specs = [P.WireTensor("a", np.dtype("int8"), (1, 5), 5, 1.0, 0), P.WireTensor("b", np.dtype("int32"), (1, 2), 8, 1.0, 0)]
    a = np.arange(5, dtype=np.int8).reshape(1, 5)
    b = np.array([[-1, 70000]], np.int32)
    raw = P.encode_tensors([a, b], specs)
    assert len(raw) == 8 + 8 and raw[5:8] == b"\0\0\0"
    back = P.decode_tensors(raw, specs)
    assert np.array_equal(back[0], a) and np.array_equal(back[1], b)
    with pytest.raises(P.ProtocolError, match="must be 5 bytes"):
        P.encode_tensors([np.zeros((1, 4), np.int8), b], specs)


# -- sessions over a fake link -----------------------------------------------------------------

def _session(fw=None, timeout=0.3):
    fw = fw or FakeFirmware()
    link = FakeLink(fw)
    return Session(link, timeout=timeout), fw, link


def test_session_hello_run_profile_dump():
    s, fw, _ = _session()
    info = s.hello()
    assert info.prefix == "fake" and info.num_layers == 2
    x = np.arange(6, dtype=np.int8).reshape(1, 6)
    r = s.run([x])
    assert r.ticks == 1004 and r.stack_peak == 512
    assert np.array_equal(r.outputs[0], np.array([[1, 2, 3]], np.int8))
    assert s.run([x], P.PROFILE).layer_ticks == [104, 204]
    dump = s.run([x], P.DUMP)
    assert sorted(dump.layers) == [0, 1] and dump.layers[1] == x.tobytes()


def test_session_skips_garbage_and_stale_replies():
    fw = FakeFirmware()
    fw.garbage = b"\x00\xA5garbage\xA5\x5A\x01"
    fw.stale = True
    s, _, _ = _session(fw)
    s.hello()
    assert s.ping(b"abc") == b"abc"


def test_session_times_out_quickly_when_the_device_is_silent():
    fw = FakeFirmware()
    fw.mute = True
    s, _, _ = _session(fw, timeout=0.2)
    t = time.monotonic()
    with pytest.raises(P.LinkTimeout, match="no PONG"):
        s.ping(b"x")
    assert time.monotonic() - t < 1.0


def test_session_retries_hello_after_a_corrupted_reply():
    fw = FakeFirmware()
    fw.corrupt_next = True
    s, _, _ = _session(fw, timeout=0.2)
    assert s.hello().prefix == "fake"
    assert sum(f.type == P.HELLO for f in fw.requests) == 2


def test_session_device_error_and_fault():
    s, fw, link = _session()
    s.hello()
    with pytest.raises(P.DeviceError, match="unknown message type"):
        s.request(0x33, b"", P.RESULT)
    fw.fault = True
    with pytest.raises(P.DeviceFault, match="exc=3"):
        s.run([np.zeros((1, 6), np.int8)])


def test_session_reports_a_dead_target():
    fw = FakeFirmware()
    fw.mute = True
    s = Session(FakeLink(fw), timeout=5.0, on_exit=lambda: 118)
    with pytest.raises(P.ProtocolError, match="exited with status 118"):
        s.ping(b"x")


def test_session_wait_boot():
    link = FakeLink(None)
    s = Session(link, timeout=1.0)
    assert s.wait_boot(0.05) is False
    link.inject(b"\x00junk" + P.encode_frame(P.BOOT, 0, b"\x01\0\0\0tinygen"))
    assert s.wait_boot(0.5) is True

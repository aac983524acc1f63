"""A byte link and a fake firmware in Python, for protocol tests without QEMU."""

from __future__ import annotations

import struct
import time

import numpy as np

from tinygen.device import protocol as P


class FakeLink:
    """In-memory link: bytes the host writes go to `device`, whose replies are read back."""

    def __init__(self, device=None, read_timeout: float = 0.01):
        self.device = device
        self.rx = bytearray()  # device -> host
        self.written = bytearray()
        self.read_timeout = read_timeout

    @property
    def in_waiting(self) -> int:
        return len(self.rx)

    def write(self, data: bytes) -> int:
        self.written += data
        if self.device is not None:
            self.rx += self.device.receive(bytes(data))
        return len(data)

    def read(self, n: int) -> bytes:
        if not self.rx:
            time.sleep(self.read_timeout)  # like a serial read timing out
            return b""
        out = bytes(self.rx[:n])
        del self.rx[:n]
        return out

    def inject(self, data: bytes) -> None:
        self.rx += data


def make_info(n_in: int = 6, n_out: int = 3, layers: int = 2, digest: bytes = b"\x01" * 8,
              target: str = "f446re", status: int = 0, counter_hz: int = 180_000_000) -> P.DeviceInfo:
    return P.DeviceInfo(digest, 180_000_000, counter_hz, 4, status, 1024, layers, 256, 2048, "0.1.0", target,
                        "cycles", "fake",
                        [P.WireTensor("x", np.dtype("int8"), (1, n_in), n_in, 0.5, -1)],
                        [P.WireTensor("y", np.dtype("int8"), (1, n_out), n_out, 0.25, 2)])


class FakeFirmware:
    """Speaks the protocol like the harness does: y = x[:n_out] + 1 (int8 wrap), fixed ticks.
    Knobs: `mute` drops replies, `garbage` is prepended to every reply, `fault` answers RUN with a
    fault line, `corrupt_next` flips a payload byte of the next reply, `stale` adds a reply for an
    old seq number first."""

    def __init__(self, info: P.DeviceInfo | None = None):
        self.info = info or make_info()
        self.decoder = P.FrameDecoder()
        self.mute = False
        self.garbage = b""
        self.fault = False
        self.corrupt_next = False
        self.stale = False
        self.requests: list[P.Frame] = []

    def receive(self, data: bytes) -> bytes:
        self.decoder.feed(data)
        out = bytearray()
        while (f := self.decoder.next_frame()) is not None:
            self.requests.append(f)
            if not f.crc_ok:
                out += P.encode_frame(P.ERROR, f.seq, struct.pack("<HH", 1, 0) + b"payload CRC mismatch")
                continue
            reply = self.answer(f)
            if self.mute:
                continue
            if self.stale:
                out += P.encode_frame(P.PONG, (f.seq - 1) & 0xFF, b"old")
            if self.corrupt_next and reply:
                reply = bytearray(reply)
                reply[12] ^= 0xFF
                reply = bytes(reply)
                self.corrupt_next = False
            out += self.garbage + reply
        return bytes(out)

    def answer(self, f: P.Frame) -> bytes:
        info = self.info
        if f.type == P.HELLO:
            return P.encode_frame(P.INFO, f.seq, P.encode_info(info))
        if f.type == P.PING:
            return P.encode_frame(P.PONG, f.seq, f.payload)
        if f.type in (P.RUN, P.PROFILE, P.DUMP):
            if self.fault:
                return b"\r\nTGFAULT exc=3 CFSR=00000400 HFSR=40000000 MMFAR=00000000 BFAR=00000000 PC=08000123\r\n"
            inp = info.inputs[0]
            if len(f.payload) != inp.padded:
                return P.encode_frame(P.ERROR, f.seq, struct.pack("<HH", 3, 0) + b"input payload size")
            x = np.frombuffer(f.payload[:inp.nbytes], np.int8)
            y = (x[:info.outputs[0].nbytes].astype(np.int16) + 1).astype(np.int8)
            out = b""
            if f.type == P.PROFILE:
                out += P.encode_frame(P.PROFILE_DATA, f.seq, struct.pack("<3I", 2, 104, 204))
            if f.type == P.DUMP:
                for layer in range(info.num_layers):
                    out += P.encode_frame(P.LAYER, f.seq, struct.pack("<II", layer, len(x)) + x.tobytes())
            body = struct.pack("<iIII", 0, 1004, 512, 0) + P.encode_tensors([y], info.outputs)
            return out + P.encode_frame(P.RESULT, f.seq, body)
        if f.type == P.EXIT:
            return P.encode_frame(P.BYE, f.seq)
        return P.encode_frame(P.ERROR, f.seq, struct.pack("<HH", 4, 0) + b"unknown message type")

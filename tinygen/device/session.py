"""A conversation with the validation firmware over any byte link (QEMU socket, serial port, fake).

A link is anything with `read(n) -> bytes` (returning what arrived within its own short timeout,
possibly b"") and `write(data)`; pyserial objects, including `serial_for_url("socket://...")`,
qualify. Every request waits against a deadline, skips stale replies (other seq numbers) and
garbage, turns ERROR frames into DeviceError and a fault report into DeviceFault. Nothing but
ProtocolError (and its subclasses) comes out of a request, whatever the link carries.
"""

from __future__ import annotations

import struct
import time
from typing import Callable, Protocol, Sequence

import numpy as np

from tinygen.device import protocol as P


class Link(Protocol):
    def read(self, n: int) -> bytes: ...

    def write(self, data: bytes) -> int | None: ...


# A frame whose bytes stop for this long is given up (a false sync, or a frame cut short), so the
# frames behind it are scanned; the firmware does the same after TG_PROTO_BYTE_TIMEOUT_MS.
STALL_SECONDS = 1.0


class Session:
    def __init__(self, link: Link, timeout: float = 10.0, on_exit: Callable[[], int | None] | None = None):
        self.link = link
        self.timeout = timeout
        self.decoder = P.FrameDecoder()
        self.seq = 0
        self.info: P.DeviceInfo | None = None
        self.on_exit = on_exit  # e.g. QEMU's poll(): tells a dead target from a slow one

    # -- low level -----------------------------------------------------------------------------
    def _next_seq(self) -> int:
        self.seq = (self.seq + 1) & 0xFF or 1  # 0 is reserved for unsolicited frames
        return self.seq

    def send(self, mtype: int, payload: bytes = b"", seq: int | None = None) -> int:
        seq = self._next_seq() if seq is None else seq
        self.link.write(P.encode_frame(mtype, seq, payload))
        return seq

    def receive(self, deadline: float, what: str) -> P.Frame:
        """The next frame with a good CRC, before `deadline` (time.monotonic())."""
        last_rx = time.monotonic()
        while True:
            frame = self.decoder.next_frame()
            if frame is not None:
                if frame.crc_ok:
                    return frame
                continue  # corrupted: the request's deadline still applies
            fault = self.decoder.fault_line()
            if fault:
                raise P.DeviceFault(fault)
            now = time.monotonic()
            if now - last_rx > STALL_SECONDS or now > deadline:
                if self.decoder.drop_pending():
                    continue
            if now > deadline:
                raise P.LinkTimeout(f"no {what} from the device within {self.timeout:.0f} s"
                                    + self._stray_hint())
            try:
                data = self._read_some()
            except Exception as e:  # serial.SerialException, OSError: the other end went away
                code = self.on_exit() if self.on_exit is not None else None
                if code is None and self.on_exit is not None:
                    time.sleep(0.2)  # a dying QEMU closes the socket just before it exits
                    code = self.on_exit()
                raise P.ProtocolError(f"the link closed while waiting for {what}"
                                      + (f"; the target exited with status {code}" if code is not None else "")
                                      + f" ({e})" + self._stray_hint()) from None
            if data:
                self.decoder.feed(data)
                last_rx = time.monotonic()
            elif self.on_exit is not None and (code := self.on_exit()) is not None:
                raise P.ProtocolError(f"the target exited with status {code} while waiting for {what}"
                                      + self._stray_hint())

    def _read_some(self) -> bytes:
        """Whatever is waiting, or block for one byte up to the link's own read timeout (pyserial
        read(n) would wait for all n bytes)."""
        waiting = getattr(self.link, "in_waiting", 0) or 0
        return self.link.read(max(1, min(waiting, 1 << 20)))

    def _stray_hint(self) -> str:
        stray = bytes(self.decoder.stray[-200:])
        if not stray:
            return ""
        return f"; non-protocol bytes seen: {stray!r}"

    def request(self, mtype: int, payload: bytes, expect: int, timeout: float | None = None,
                collect: Callable[[P.Frame], None] | None = None) -> P.Frame:
        """Send one request and wait for its `expect` reply; frames of other types with the same
        seq go to `collect` (PROFILE_DATA, LAYER); replies to older requests are dropped."""
        seq = self.send(mtype, payload)
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            frame = self.receive(deadline, P.MSG_NAMES.get(expect, "reply"))
            if frame.type == P.ERROR and frame.seq in (seq, 0):
                raise P.decode_error(frame.payload)
            if frame.seq != seq:
                continue
            if frame.type == expect:
                return frame
            if collect is not None:
                collect(frame)
            else:
                raise P.ProtocolError(f"expected {P.MSG_NAMES.get(expect)} got {frame.name}")

    # -- commands ------------------------------------------------------------------------------
    def wait_boot(self, timeout: float) -> bool:
        """Wait for the BOOT frame a freshly reset firmware sends; False if none came (a board
        that booted before the port was opened)."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                if self.receive(deadline, "BOOT frame").type == P.BOOT:
                    return True
        except P.LinkTimeout:
            return False

    def hello(self, retries: int = 3) -> P.DeviceInfo:
        last: Exception | None = None
        for _ in range(retries):
            try:
                frame = self.request(P.HELLO, b"", P.INFO, timeout=min(self.timeout, 5.0))
                self.info = P.decode_info(frame.payload)
                self.decoder.max_payload = P.frame_limit(self.info, len(frame.payload))
                return self.info
            except (P.LinkTimeout, P.DeviceError) as e:  # line noise at connect: try again
                last = e
        raise last  # type: ignore[misc]

    def _timeout_for(self, nbytes: int) -> float:
        # The emulated UART takes ~15-40 KiB/s host->target; real boards 11.5 KiB/s at 115200.
        return self.timeout + nbytes / 8000.0

    def run(self, inputs: Sequence[np.ndarray], mode: int = P.RUN) -> P.RunResult:
        assert self.info is not None, "call hello() first"
        payload = P.encode_tensors(inputs, self.info.inputs)
        profile: list[int] = []
        layers: dict[int, bytes] = {}

        def collect(frame: P.Frame) -> None:
            if frame.type == P.PROFILE_DATA:
                profile.extend(P.decode_profile(frame.payload))
            elif frame.type == P.LAYER:
                idx, data = P.decode_layer(frame.payload)
                layers[idx] = data

        out_bytes = sum(t.padded for t in self.info.outputs)
        timeout = self._timeout_for(len(payload) + out_bytes + (self.info.arena_bytes * 4 if mode == P.DUMP else 0))
        frame = self.request(mode, payload, P.RESULT, timeout=timeout, collect=collect)
        result = P.decode_result(frame.payload, self.info.outputs)
        if mode == P.PROFILE:
            result.layer_ticks = profile
        if mode == P.DUMP:
            result.layers = layers
        return result

    def ping(self, payload: bytes) -> bytes:
        return self.request(P.PING, payload, P.PONG).payload

    def exit(self, code: int = 0) -> None:
        self.request(P.EXIT, struct.pack("<I", code), P.BYE, timeout=5.0)

    def peek(self, address: int) -> int:
        """Test builds only (TG_HARNESS_TEST_HOOKS): read one 32-bit word on the target."""
        return struct.unpack("<I", self.request(P.PEEK, struct.pack("<I", address), P.PONG).payload)[0]

    def crash(self, kind: int = 0) -> None:
        """Test builds only (TG_HARNESS_TEST_HOOKS): make the firmware fault, kind 0 with an
        undefined instruction, kind 1 by overflowing the stack. Raises DeviceFault."""
        self.request(P.CRASH, bytes([kind]), P.RESULT, timeout=5.0)

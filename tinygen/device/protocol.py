"""The serial protocol between the host and the validation firmware (host side).

Mirrors runtime_c/harness/tg_proto.h, tg_cmd_hello.c and tg_cmd_infer.c; change them together.

Frame: A5 5A | type u8 | seq u8 | len u32 LE | hcrc u8 | payload | crc u32 LE
  hcrc = CRC-8/SMBUS (poly 0x07) of type..len; crc = CRC-32 (zlib) of type..len + payload.

`FrameDecoder` turns a byte stream into frames: it skips garbage, rejects false syncs by the
header CRC and slides one byte to resynchronise, reports payload CRC errors, and keeps the bytes
that were not part of any frame (boot noise, a "TGFAULT" line from the fault handler).

Garbage costs bounded work and never hides a valid frame: a frame may be at most `max_payload`
long (PRE_HANDSHAKE_PAYLOAD before HELLO, then `frame_limit(info)`: the largest frame the
firmware announced it can send), a payload CRC error slides one byte (so a false sync whose
header CRC matched cannot swallow the frames behind it), and a frame whose bytes stop arriving
is given up with `drop_pending()` (the session does that after STALL_SECONDS of silence, as the
firmware does after TG_PROTO_BYTE_TIMEOUT_MS). Every payload decoder raises only ProtocolError.
"""

from __future__ import annotations

import math
import struct
import zlib
from dataclasses import dataclass, field

import numpy as np

from tinygen.errors import TinygenError

PROTO_VERSION = 1
SYNC = b"\xA5\x5A"
HEADER_BYTES = 9
# Before the handshake only BOOT, INFO and ERROR can come, all far below this (an INFO frame is
# ~60 bytes plus ~40 per tensor); larger lengths are a false sync.
PRE_HANDSHAKE_PAYLOAD = 64 << 10
SMALL_FRAMES = 4096  # BOOT, BYE, ERROR (u16 code + a short constant message)

HELLO, RUN, PROFILE, DUMP, PING, EXIT, PEEK, CRASH = 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0E, 0x0F
BOOT, INFO, RESULT, PROFILE_DATA, LAYER, PONG, BYE, ERROR = 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0xFF
MSG_NAMES = {HELLO: "HELLO", RUN: "RUN", PROFILE: "PROFILE", DUMP: "DUMP", PING: "PING", EXIT: "EXIT",
             PEEK: "PEEK", CRASH: "CRASH", BOOT: "BOOT", INFO: "INFO", RESULT: "RESULT", PROFILE_DATA: "PROFILE_DATA",
             LAYER: "LAYER", PONG: "PONG", BYE: "BYE", ERROR: "ERROR"}
ERROR_NAMES = {1: "payload CRC mismatch", 2: "payload too long", 3: "bad payload length",
               4: "unknown message type", 5: "frame stalled"}
DTYPES = {1: np.dtype("int8"), 2: np.dtype("uint8"), 3: np.dtype("int16"), 4: np.dtype("int32"),
          5: np.dtype("uint32"), 6: np.dtype("float32")}
DTYPE_CODES = {str(v): k for k, v in DTYPES.items()}
FAULT_MARKER = b"TGFAULT"
FAULT_NAMES = {2: "NMI", 3: "HardFault", 4: "MemManage fault", 5: "BusFault", 6: "UsageFault"}
STATUS_BITS = {0: "HSE failed (PLL fed from HSI)", 1: "over-drive failed (lower PLL speed)",
               2: "PLL did not lock (running on HSI)", 3: "flash latency not accepted (running on HSI)",
               4: "SYSCLK switch failed (running on HSI)", 5: "clock init skipped (QEMU)",
               8: "virtual time (-icount)"}


class ProtocolError(TinygenError):
    """The link carried something the protocol does not allow (or nothing at all)."""


class LinkTimeout(ProtocolError):
    """No (complete) answer within the deadline."""


class DeviceError(ProtocolError):
    """The firmware answered with an ERROR frame."""

    def __init__(self, code: int, message: str):
        super().__init__(f"device error {code} ({ERROR_NAMES.get(code, 'unknown')}): {message}")
        self.code = code


# Fault status bits (ARMv7-M ARM B3.2.15-B3.2.16): CFSR = MMFSR | BFSR << 8 | UFSR << 16.
CFSR_BITS = {0: "IACCVIOL", 1: "DACCVIOL", 3: "MUNSTKERR", 4: "MSTKERR", 5: "MLSPERR", 7: "MMARVALID",
             8: "IBUSERR", 9: "PRECISERR", 10: "IMPRECISERR", 11: "UNSTKERR", 12: "STKERR", 13: "LSPERR",
             15: "BFARVALID", 16: "UNDEFINSTR", 17: "INVSTATE", 18: "INVPC", 19: "NOCP", 24: "UNALIGNED",
             25: "DIVBYZERO"}
HFSR_BITS = {1: "VECTTBL", 30: "FORCED", 31: "DEBUGEVT"}
STACK_GUARD = range(0x1FFFFC00, 0x20000000)  # the MPU guard below RAM (runtime_c/platform/tg_mpu.c)


def decode_fault(registers: dict[str, str]) -> tuple[list[str], str]:
    """(set status bit names, one-line diagnosis) from a TGFAULT line's registers."""
    def reg(name: str) -> int:
        text = registers.get(name, "0")
        return int(text, 16) if _is_hex_word(text) else 0

    cfsr, hfsr = reg("CFSR"), reg("HFSR")
    bits = [n for b, n in CFSR_BITS.items() if cfsr >> b & 1] + [n for b, n in HFSR_BITS.items() if hfsr >> b & 1]
    mmfar, bfar = reg("MMFAR"), reg("BFAR")
    if {"MSTKERR", "STKERR"} & set(bits) or ("MMARVALID" in bits and mmfar in STACK_GUARD):
        why = "thread stack overflow (raise STACK_SIZE in firmware/targets/<T>/stack.mk, or find the deep call)"
    elif "UNDEFINSTR" in bits:
        why = "undefined instruction (code built for another core or FPU?)"
    elif "NOCP" in bits:
        why = "FPU instruction with the FPU disabled"
    elif "DIVBYZERO" in bits or "UNALIGNED" in bits:
        why = "integer division by zero or unaligned access"
    elif "MMARVALID" in bits:
        why = f"memory access violation at 0x{mmfar:08x}"
    elif "BFARVALID" in bits:
        why = f"bus error at 0x{bfar:08x} (a bad pointer)"
    else:
        why = "see the fault status bits"
    return bits, why


class DeviceFault(ProtocolError):
    """The firmware's fault handler reported a CPU fault (and the firmware stopped)."""

    def __init__(self, line: str):
        # Fault lines carry no CRC: any field may be garbled, so every field is parsed leniently
        # and the raw line is quoted (shortened) for the reader to judge.
        self.line = line
        self.registers = dict(kv.split("=", 1) for kv in line.split()[1:] if "=" in kv)
        self.bits, self.diagnosis = decode_fault(self.registers)
        exc_code = self.registers.get("exc", "")
        exc = FAULT_NAMES.get(int(exc_code), "fault") if exc_code.isdigit() and len(exc_code) < 4 else "fault"
        pc = self.registers.get("PC", "")
        where = (f"; find PC with `arm-none-eabi-addr2line -e firmware.elf 0x{pc}`"
                 if _is_hex_word(pc) and pc.lower() != "ffffffff" else "")
        raw = line if len(line) <= 160 else line[:157] + "..."
        super().__init__(f"firmware {exc}: {self.diagnosis} [{' '.join(self.bits) or 'no status bits'}]{where}; "
                         f"raw: {raw!r}")


def _is_hex_word(text: str) -> bool:
    return 0 < len(text) <= 8 and all(c in "0123456789abcdefABCDEF" for c in text)


def _crc8_table() -> bytes:
    table = bytearray(256)
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
        table[i] = crc
    return bytes(table)


_CRC8 = _crc8_table()


def crc8(data: bytes) -> int:
    """CRC-8/SMBUS: poly 0x07, init 0, no reflection (byte-wise table of the bit loop)."""
    crc = 0
    for b in data:
        crc = _CRC8[crc ^ b]
    return crc


def encode_frame(mtype: int, seq: int, payload: bytes = b"") -> bytes:
    head = struct.pack("<BBI", mtype, seq & 0xFF, len(payload))
    return SYNC + head + bytes([crc8(head)]) + payload + struct.pack("<I", zlib.crc32(head + payload))


@dataclass
class Frame:
    type: int
    seq: int
    payload: bytes
    crc_ok: bool = True

    @property
    def name(self) -> str:
        return MSG_NAMES.get(self.type, f"0x{self.type:02x}")


class FrameDecoder:
    """Incremental decoder. feed() bytes, then take frames with next_frame().

    Linear in the input: `buf[pos:]` is the unread part, every scan step advances `pos` or
    returns, and consumed bytes are discarded in bulk. `work` counts the scan steps (sync
    searches and header checks) so tests can check that without a clock."""

    def __init__(self, max_payload: int = PRE_HANDSHAKE_PAYLOAD):
        self.buf = bytearray()
        self.pos = 0
        self.stray = bytearray()  # bytes outside frames, kept for diagnostics (fault lines)
        self.max_payload = max_payload
        self.pending = False  # buf[pos:] starts with a valid header whose frame is incomplete
        self.work = 0

    def feed(self, data: bytes) -> None:
        self.buf += data

    def _skip_to(self, i: int) -> None:
        if i > self.pos:
            self.stray += self.buf[self.pos:i]
            if len(self.stray) > 65536:
                del self.stray[:-4096]
            self.pos = i

    def _compact(self) -> None:
        if self.pos:
            del self.buf[:self.pos]
            self.pos = 0

    def next_frame(self) -> Frame | None:
        """The next complete frame (CRC-checked; crc_ok=False if the payload was corrupted, and
        then only its first byte is consumed), or None when more bytes are needed."""
        buf = self.buf
        self.pending = False
        while True:
            self.work += 1
            i = buf.find(SYNC, self.pos)
            if i < 0:
                self._skip_to(len(buf) - (1 if len(buf) > self.pos and buf[-1] == SYNC[0] else 0))
                self._compact()
                return None
            self._skip_to(i)
            if len(buf) - i < HEADER_BYTES:
                self._compact()
                return None
            head = bytes(buf[i + 2:i + 8])
            mtype, seq, length = struct.unpack("<BBI", head)
            if crc8(head) != buf[i + 8] or length > self.max_payload:
                self._skip_to(i + 1)  # false sync: slide one byte
                continue
            total = HEADER_BYTES + length + 4
            if len(buf) - i < total:
                self.pending = True
                self._compact()
                return None
            payload = bytes(buf[i + HEADER_BYTES:i + HEADER_BYTES + length])
            (crc,) = struct.unpack_from("<I", buf, i + HEADER_BYTES + length)
            if crc == zlib.crc32(head + payload):
                self.pos = i + total
                self._compact()
                return Frame(mtype, seq, payload, True)
            # A corrupted frame or a false sync whose header CRC matched: the bytes after the
            # sync may hold valid frames, so scan them again.
            self._skip_to(i + 1)
            return Frame(mtype, seq, payload, False)

    def drop_pending(self) -> bool:
        """Give up waiting for the incomplete frame at the front (its bytes stopped arriving, or
        it was a false sync): slide one byte so the bytes behind it are scanned. True if there
        was one."""
        if not self.pending:
            return False
        self.pending = False
        self._skip_to(self.pos + 1)
        return True

    def fault_line(self) -> str | None:
        i = self.stray.find(FAULT_MARKER)
        if i < 0:
            return None
        end = self.stray.find(b"\n", i)
        if end < 0:
            return None
        return self.stray[i:end].decode("ascii", "replace").strip()


# -- payloads ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class WireTensor:
    name: str
    dtype: np.dtype
    shape: tuple[int, ...]
    nbytes: int
    scale: float
    zero_point: int

    @property
    def padded(self) -> int:
        return (self.nbytes + 3) & ~3


@dataclass
class DeviceInfo:
    model_hash: bytes
    clock_hz: int
    counter_hz: int
    counter_overhead: int
    status: int
    arena_bytes: int
    num_layers: int
    rx_capacity: int
    stack_bytes: int
    version: str
    target: str
    counter_unit: str
    prefix: str
    inputs: list[WireTensor] = field(default_factory=list)
    outputs: list[WireTensor] = field(default_factory=list)

    @property
    def status_text(self) -> list[str]:
        return [text for bit, text in STATUS_BITS.items() if self.status & (1 << bit)]

    @property
    def virtual_time(self) -> bool:
        return bool(self.status & (1 << 8))


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, fmt: str):
        vals = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return vals

    def string(self) -> str:
        (n,) = self.take("B")
        s = self.data[self.pos:self.pos + n].decode("utf-8", "replace")
        self.pos += n
        return s


def decode_info(payload: bytes) -> DeviceInfo:
    try:
        r = _Reader(payload)
        magic, version = r.take("II")
        if magic != 0x57464754:
            raise ProtocolError(f"INFO frame has magic 0x{magic:08x}, not 'TGFW': not tinygen firmware")
        if version != PROTO_VERSION:
            raise ProtocolError(f"firmware speaks protocol version {version}, this host {PROTO_VERSION}: "
                                "rebuild the firmware with this tinygen")
        (digest,) = r.take("8s")
        clock, chz, overhead, status, arena, layers, rxcap, stack = r.take("8I")
        n_in, n_out, _ = r.take("BBH")
        fw_version, target, unit, prefix = r.string(), r.string(), r.string(), r.string()
        tensors = []
        for _ in range(n_in + n_out):
            code, ndim, _ = r.take("BBH")
            (nbytes,) = r.take("I")
            shape = r.take(f"{ndim}i")
            scale, zp = r.take("fi")
            name = r.string()
            if code not in DTYPES:
                raise ProtocolError(f"tensor {name!r} has unknown dtype code {code}")
            if any(d < 0 for d in shape) or math.prod(shape) * DTYPES[code].itemsize != nbytes:
                raise ProtocolError(f"INFO frame: tensor {name[:40]!r} has shape {list(shape)[:8]} of "
                                    f"{DTYPES[code]} but {nbytes} bytes: corrupted INFO or firmware bug")
            tensors.append(WireTensor(name, DTYPES[code], tuple(shape), nbytes, scale, zp))
    except struct.error as e:
        raise ProtocolError(f"truncated INFO frame ({len(payload)} bytes): {e}") from None
    return DeviceInfo(digest, clock, chz, overhead, status, arena, layers, rxcap, stack, fw_version, target, unit,
                      prefix, tensors[:n_in], tensors[n_in:])


def _str(s: str) -> bytes:
    b = s.encode("utf-8")[:255]
    return bytes([len(b)]) + b


def encode_info(info: DeviceInfo) -> bytes:
    """The INFO payload as tg_cmd_hello.c emits it (used by fake devices in tests)."""
    out = bytearray(struct.pack("<II8s8I", 0x57464754, PROTO_VERSION, info.model_hash, info.clock_hz,
                                info.counter_hz, info.counter_overhead, info.status, info.arena_bytes,
                                info.num_layers, info.rx_capacity, info.stack_bytes))
    out += struct.pack("<BBH", len(info.inputs), len(info.outputs), 0)
    out += _str(info.version) + _str(info.target) + _str(info.counter_unit) + _str(info.prefix)
    for t in info.inputs + info.outputs:
        out += struct.pack("<BBHI", DTYPE_CODES[str(t.dtype)], len(t.shape), 0, t.nbytes)
        out += struct.pack(f"<{len(t.shape)}i", *t.shape) + struct.pack("<fi", t.scale, t.zero_point) + _str(t.name)
    return bytes(out)


def encode_tensors(arrays, specs: list[WireTensor]) -> bytes:
    """Tensors in order, each as raw little-endian bytes padded with zeros to 4 bytes."""
    if len(arrays) != len(specs):
        raise ProtocolError(f"the model takes {len(specs)} inputs, got {len(arrays)}")
    out = bytearray()
    for a, s in zip(arrays, specs):
        a = np.ascontiguousarray(a, dtype=s.dtype.newbyteorder("<"))
        if a.nbytes != s.nbytes:
            raise ProtocolError(f"input {s.name!r} must be {s.nbytes} bytes ({s.dtype} {list(s.shape)}), "
                                f"got {a.nbytes}")
        out += a.tobytes() + bytes(s.padded - s.nbytes)
    return bytes(out)


def decode_tensors(data: bytes, specs: list[WireTensor]) -> list[np.ndarray]:
    out, pos = [], 0
    for s in specs:
        if pos + s.nbytes > len(data):
            raise ProtocolError(f"output {s.name!r} truncated: {len(data)} bytes for {pos + s.nbytes}")
        count = math.prod(s.shape)
        if any(d < 0 for d in s.shape) or count * s.dtype.itemsize != s.nbytes:
            raise ProtocolError(f"output {s.name!r}: shape {list(s.shape)} of {s.dtype} is not {s.nbytes} bytes")
        arr = np.frombuffer(data[pos:pos + s.nbytes], dtype=s.dtype.newbyteorder("<")).astype(s.dtype)
        out.append(arr.reshape(s.shape))
        pos += s.padded
    return out


@dataclass
class RunResult:
    status: int
    ticks: int
    stack_peak: int
    outputs: list[np.ndarray]
    layer_ticks: list[int] | None = None
    layers: dict[int, bytes] | None = None  # DUMP: layer index -> raw output bytes


def decode_result(payload: bytes, outputs: list[WireTensor]) -> RunResult:
    if len(payload) < 16:
        raise ProtocolError(f"RESULT frame too short ({len(payload)} bytes)")
    status, ticks, stack_peak, _ = struct.unpack_from("<iIII", payload)
    return RunResult(status, ticks, stack_peak, decode_tensors(payload[16:], outputs))


def decode_profile(payload: bytes) -> list[int]:
    if len(payload) < 4:
        raise ProtocolError(f"PROFILE_DATA frame too short ({len(payload)} bytes)")
    (n,) = struct.unpack_from("<I", payload)
    if len(payload) != 4 + 4 * n:
        raise ProtocolError(f"PROFILE_DATA frame has {len(payload)} bytes for {n} layers")
    return list(struct.unpack_from(f"<{n}I", payload, 4))


def decode_layer(payload: bytes) -> tuple[int, bytes]:
    if len(payload) < 8:
        raise ProtocolError(f"LAYER frame too short ({len(payload)} bytes)")
    layer, nbytes = struct.unpack_from("<II", payload)
    if len(payload) != 8 + nbytes:
        raise ProtocolError(f"LAYER frame for layer {layer} has {len(payload) - 8} bytes, announces {nbytes}")
    return layer, payload[8:]


def decode_error(payload: bytes) -> DeviceError:
    code = struct.unpack_from("<H", payload)[0] if len(payload) >= 2 else 0
    return DeviceError(code, payload[4:].decode("utf-8", "replace"))


def frame_limit(info: DeviceInfo, info_bytes: int = 0) -> int:
    """The longest payload the firmware behind `info` can send (tg_cmd_*.c): RESULT, a DUMP layer
    (a layer output lives in the arena or the I/O buffers), PROFILE_DATA, a PONG echo of at most
    its receive buffer, INFO again, or a small frame. Longer headers are false syncs."""
    in_bytes = sum(t.padded for t in info.inputs)
    out_bytes = sum(t.padded for t in info.outputs)
    return max(16 + out_bytes, 8 + max(info.arena_bytes, in_bytes, out_bytes), 4 + 4 * info.num_layers,
               info.rx_capacity, info_bytes, SMALL_FRAMES)

"""Seeded corrupted frame streams for the host decoder (shared by the suite's fuzz test and the
long run in tests/fuzz/fuzz_frames.py)."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

from tinygen.device import protocol as P


@dataclass
class Counts:
    streams: int = 0
    frames: int = 0
    intact: int = 0
    recovered: int = 0
    false_accepts: int = 0
    exceptions: int = 0
    errors: list[str] = field(default_factory=list)


def false_header(rng: np.random.Generator, max_len: int) -> bytes:
    """A sync and a header whose CRC matches, announcing up to max_len bytes: a false sync the
    header CRC cannot reject."""
    head = struct.pack("<BBI", int(rng.integers(0, 256)), int(rng.integers(0, 256)), int(rng.integers(0, max_len + 1)))
    return P.SYNC + head + bytes([P.crc8(head)])


def garbage(rng: np.random.Generator, n: int) -> bytes:
    kind = rng.integers(0, 3)
    if kind == 0:
        return bytes(rng.integers(0, 256, n, dtype=np.uint8))
    if kind == 1:  # sync-like: mostly A5 5A pairs with random bytes between
        a = np.resize(np.frombuffer(P.SYNC, np.uint8), n).copy()
        holes = rng.random(n) < 0.2
        a[holes] = rng.integers(0, 256, int(holes.sum()), dtype=np.uint8)
        return bytes(a)
    return b"TGFAULT exc=3x CFSR=zz\x00\xff PC=" + bytes(rng.integers(0, 256, n % 64, dtype=np.uint8)) + b"\r\n"


def make_stream(rng: np.random.Generator, max_payload: int) -> tuple[bytes, list[tuple[int, int, bytes]], list[bool]]:
    """Frames, each maybe garbage-prefixed, bit-flipped, truncated, or preceded by a false header.
    Returns the stream, the frames sent, and which of them went out intact."""
    out = bytearray()
    sent, intact = [], []
    for _ in range(int(rng.integers(1, 8))):
        if rng.random() < 0.5:
            out += garbage(rng, int(rng.integers(0, 300)))
        if rng.random() < 0.15:
            out += false_header(rng, max_payload)
        payload = bytes(rng.integers(0, 256, int(rng.integers(0, 200)), dtype=np.uint8))
        mtype, seq = int(rng.integers(0, 256)), int(rng.integers(0, 256))
        raw = bytearray(P.encode_frame(mtype, seq, payload))
        ok = True
        r = rng.random()
        if r < 0.2:  # bit flips anywhere in the frame (two may cancel: then it is intact)
            clean = bytes(raw)
            for _ in range(int(rng.integers(1, 4))):
                raw[int(rng.integers(0, len(raw)))] ^= 1 << int(rng.integers(0, 8))
            ok = bytes(raw) == clean
        elif r < 0.3:  # cut short by at least its CRC: cut by k < 4 bytes, the next frame's first
            # k bytes complete it with probability 256^-k, a valid frame that owns those bytes
            raw = raw[:int(rng.integers(0, len(raw) - 3))]
            ok = False
        sent.append((mtype, seq, payload))
        intact.append(ok)
        out += raw
    return bytes(out), sent, intact


def decode_all(data: bytes, max_payload: int, chunk: int) -> list[P.Frame]:
    """Feed in chunks, take every frame; at the end the line goes quiet: give up pending frames."""
    d = P.FrameDecoder(max_payload=max_payload)
    frames = []
    for i in range(0, len(data), chunk):
        d.feed(data[i:i + chunk])
        while (f := d.next_frame()) is not None:
            frames.append(f)
    while True:
        while (f := d.next_frame()) is not None:
            frames.append(f)
        if not d.drop_pending():
            return frames


def check_stream(rng: np.random.Generator, counts: Counts, max_payload: int = 1024) -> None:
    data, sent, intact = make_stream(rng, max_payload)
    counts.streams += 1
    counts.frames += len(sent)
    counts.intact += sum(intact)
    try:
        got = decode_all(data, max_payload, int(rng.integers(1, 512)))
    except Exception as e:  # noqa: BLE001 - the point is to count anything that escapes
        counts.exceptions += 1
        counts.errors.append(f"{type(e).__name__}: {e}")
        return
    accepted = [(f.type, f.seq, f.payload) for f in got if f.crc_ok]
    wanted = [s for s, ok in zip(sent, intact) if ok]
    # No false accept: every accepted frame is one that was sent (a damaged frame cannot pass).
    bogus = [a for a in accepted if a not in sent]
    counts.false_accepts += len(bogus)
    # Every intact frame is recovered, in order.
    it = iter(accepted)
    counts.recovered += sum(any(w == a for a in it) for w in wanted)

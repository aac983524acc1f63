"""runtime_c/harness/tg_proto.c built for the host under ASan+UBSan and fed seeded random and
mutated frame streams (used by test_proto_host.py and tests/fuzz/fuzz_frames.py)."""

from __future__ import annotations

import struct
import subprocess
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinygen.paths import RUNTIME_C
from tests.device.frame_fuzz import make_stream

HERE = Path(__file__).parent
SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]


def build(cc: str, out: Path) -> Path:
    srcs = [HERE / "proto_fuzz.c", HERE / "proto_stub.c", RUNTIME_C / "harness" / "tg_proto.c",
            RUNTIME_C / "harness" / "tg_crc.c"]
    cmd = [cc, "-std=c11", "-O1", "-g", "-Wall", "-Wextra", "-Werror", *SANITIZE,
           f"-I{RUNTIME_C / 'harness'}", f"-I{RUNTIME_C / 'platform'}", "-o", str(out), *map(str, srcs)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    return out


@dataclass
class CCounts:
    records: int = 0
    frames_sent: int = 0
    results: int = 0
    accepted: int = 0
    false_accepts: int = 0
    sanitizer_findings: int = 0
    bad_offsets: int = 0
    notes: list[str] = field(default_factory=list)


def run_batch(exe: Path, rng: np.random.Generator, n: int, counts: CCounts) -> None:
    """n records: half mutated frame streams, half raw random bytes; capacity sometimes smaller
    than the frames, to take the too-long path."""
    blob, sent_sets, lens = bytearray(), [], []
    for _ in range(n):
        if rng.random() < 0.5:
            data, sent, _ = make_stream(rng, 1024)
        else:
            data, sent = bytes(rng.integers(0, 256, int(rng.integers(0, 600)), dtype=np.uint8)), []
        cap = int(rng.choice([0, 16, 64, 256, 4096]))
        blob += struct.pack("<II", len(data), cap) + data
        sent_sets.append({(t, s, len(p), zlib.crc32(p)) for t, s, p in sent})
        lens.append(len(data))
        counts.frames_sent += len(sent)
    counts.records += n
    proc = subprocess.run([str(exe)], input=bytes(blob), capture_output=True,
                          env={"ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0", "UBSAN_OPTIONS": "print_stacktrace=1"})
    err = proc.stderr.decode("utf-8", "replace")
    if proc.returncode != 0 or "runtime error" in err or "AddressSanitizer" in err:
        counts.sanitizer_findings += 1
        counts.notes.append(f"exit {proc.returncode}: {err[-1500:]}")
    for line in proc.stdout.decode().splitlines():
        rec, rc, mtype, seq, length, crc, pos = map(int, line.split())
        counts.results += 1
        if pos > lens[rec]:
            counts.bad_offsets += 1
        if rc == 0:
            counts.accepted += 1
            if (mtype, seq, length, crc) not in sent_sets[rec]:
                counts.false_accepts += 1

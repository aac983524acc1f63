"""Seeded mutations of model files, and running the CLI on one file in a forked child so that a
crash or a hang is counted instead of killing the fuzzer. Shared by the model fuzzers."""

from __future__ import annotations

import io
import os
import sys
import time
import traceback
import zipfile
from dataclasses import dataclass, field

import numpy as np

INTERESTING = [0, 1, 0x7F, 0x80, 0xFF]


def mutate_bytes(data: bytes, rng: np.random.Generator) -> bytes:
    """One of: flip bits, overwrite bytes with edge values, truncate, insert, delete a run."""
    b = bytearray(data)
    if not b:
        return bytes(rng.integers(0, 256, 8, dtype=np.uint8))
    kind = int(rng.integers(0, 5))
    if kind == 0:
        for _ in range(int(rng.integers(1, 9))):
            i = int(rng.integers(0, len(b)))
            b[i] ^= 1 << int(rng.integers(0, 8))
    elif kind == 1:
        for _ in range(int(rng.integers(1, 5))):
            b[int(rng.integers(0, len(b)))] = INTERESTING[int(rng.integers(0, len(INTERESTING)))]
    elif kind == 2:
        b = b[: int(rng.integers(0, len(b)))]
    elif kind == 3:
        i = int(rng.integers(0, len(b) + 1))
        b[i:i] = bytes(rng.integers(0, 256, int(rng.integers(1, 17)), dtype=np.uint8))
    else:
        i = int(rng.integers(0, len(b)))
        del b[i: i + int(rng.integers(1, 65))]
    return bytes(b)


def mutate_zip_member(data: bytes, rng: np.random.Generator) -> bytes:
    """Rewrite the zip with one member mutated (valid CRCs, so the mutation reaches the loader)."""
    with zipfile.ZipFile(io.BytesIO(data)) as zin:
        infos = zin.infolist()
        victim = infos[int(rng.integers(0, len(infos)))].filename
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as zout:
            for info in infos:
                body = zin.read(info)
                zout.writestr(info, mutate_bytes(body, rng) if info.filename == victim else body)
    return out.getvalue()


def mutate_model(data: bytes, rng: np.random.Generator) -> bytes:
    """Mostly member-level mutations of a zip archive, sometimes raw bytes of the whole file."""
    if data[:4] == b"PK\x03\x04" and rng.random() < 0.8:
        return mutate_zip_member(data, rng)
    return mutate_bytes(data, rng)


@dataclass
class Counts:
    files: int = 0
    accepted: int = 0
    refusals: int = 0
    tracebacks: int = 0
    crashes: int = 0
    hangs: int = 0
    payloads_run: int = 0
    examples: list = field(default_factory=list)

    def line(self) -> str:
        return (f"files {self.files}, accepted {self.accepted}, refusals {self.refusals}, tracebacks "
                f"{self.tracebacks}, crashes {self.crashes}, hangs {self.hangs}, payloads run {self.payloads_run}")


TRACEBACK_EXIT = 99


def _child(argv) -> None:
    """In the forked child: run the CLI, exit with its code, or TRACEBACK_EXIT on an exception."""
    from tinygen.cli import main

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    sys.stdout = open(1, "w", closefd=False)  # pytest replaces sys.stdout/stderr with capture objects
    sys.stderr = open(2, "w", closefd=False)
    try:
        rc = main(argv)
    except SystemExit as e:
        rc = e.code if isinstance(e.code, int) else 1
    except BaseException:  # noqa: BLE001  (a traceback is the failure being counted)
        sys.stderr.write(traceback.format_exc()[-3000:])
        rc = TRACEBACK_EXIT
    sys.stderr.flush()
    os._exit(rc)


def run_cli_isolated(argv, timeout: float = 120.0, err_path: str | None = None) -> tuple[str, int]:
    """('ok'|'refused'|'traceback'|'crash'|'hang', code) of `tinygen ARGV` in a forked child."""
    pid = os.fork()
    if pid == 0:
        if err_path:
            fd = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(fd, 2)
        _child(argv)
    from tinygen.importers.isolated import wait_child

    status = wait_child(pid, timeout)
    if status is None:
        return "hang", -1
    if os.WIFSIGNALED(status):
        return "crash", os.WTERMSIG(status)
    code = os.WEXITSTATUS(status)
    return ("ok" if code == 0 else "traceback" if code == TRACEBACK_EXIT else "refused"), code


def fuzz(seeds: dict[str, bytes], count: int, workdir, seed: int = 0, extra_argv: dict | None = None, budget_s: float | None = None,
         marker=None, command: str = "build", progress_every: int = 0) -> Counts:
    """Mutate the seed files `count` times and run `tinygen COMMAND` on each; count the outcomes.
    "build" goes through gcc; "analyze" stops after planning (every importer and lowering check,
    several times faster, for long campaigns)."""
    from pathlib import Path

    import tinygen.cli  # noqa: F401  (imported once here, not again in every forked child)
    import tinygen.pipeline  # noqa: F401

    rng = np.random.default_rng(seed)
    workdir = Path(workdir)
    counts = Counts()
    names = sorted(seeds)
    start = time.monotonic()
    for i in range(count):
        if budget_s is not None and time.monotonic() - start > budget_s:
            break
        name = names[i % len(names)]
        data = mutate_model(seeds[name], rng)
        path = workdir / f"m{i}{Path(name).suffix}"
        path.write_bytes(data)
        err = workdir / "stderr.txt"
        target = ["--board", "f746zg"] if command == "analyze" else []
        argv = [command, str(path), *target, "-o", str(workdir / f"o{i}"), *(extra_argv or {}).get(name, ())]
        what, code = run_cli_isolated(argv, err_path=str(err))
        counts.files += 1
        text = err.read_text(errors="replace") if err.exists() else ""
        if what == "refused" and "Traceback" in text:
            what = "traceback"
        field_name = {"ok": "accepted", "refused": "refusals", "traceback": "tracebacks", "crash": "crashes",
                      "hang": "hangs"}[what]
        setattr(counts, field_name, getattr(counts, field_name) + 1)
        if what in ("traceback", "crash", "hang"):
            if len(counts.examples) < 10:
                keep = workdir / f"fail{i}{Path(name).suffix}"
                path.rename(keep)
                counts.examples.append((what, code, str(keep), text.strip().splitlines()[-1:] if text else []))
        if marker is not None and Path(marker).exists():
            counts.payloads_run += 1
            Path(marker).unlink()
        path.unlink(missing_ok=True)
        import shutil

        shutil.rmtree(workdir / f"o{i}", ignore_errors=True)
        if progress_every and counts.files % progress_every == 0:
            print(f"  {counts.line()} ({time.monotonic() - start:.0f} s)", flush=True)
    return counts

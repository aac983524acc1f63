"""Progress of long counted steps (validation samples, firmware objects), shown to a person.

On a terminal: a bar with rate and ETA (tqdm). Otherwise (a log file, CI): a plain line at the
start, at most every PLAIN_EVERY_S seconds, and at the end, each with the count, the elapsed time
and the ETA, so a long run in a log shows that it is alive. A counter is called as
`show(done, total)`, the signature tinygen.validation.core.Progress names.

    ETA = elapsed * (total - done) / done      (linear in the work done so far)
"""

from __future__ import annotations

import os
import sys
import time
from typing import Callable, TextIO

PLAIN_EVERY_S = 10.0

Counter = Callable[[int, int], None]


def _eta(elapsed: float, done: int, total: int) -> str:
    if done <= 0 or done >= total:
        return ""
    return f", ETA {elapsed * (total - done) / done:.0f} s"


def plain_counter(label: str, unit: str, stream: TextIO, every_s: float = PLAIN_EVERY_S,
                  clock: Callable[[], float] = time.monotonic) -> Counter:
    start = clock()
    last = [None]  # time of the last line, None before the first

    def show(done: int, total: int) -> None:
        now = clock()
        if last[0] is not None and done < total and now - last[0] < every_s:
            return
        last[0] = now
        elapsed = now - start
        print(f"  {label}: {done}/{total} {unit}, {elapsed:.0f} s{_eta(elapsed, done, total)}", file=stream, flush=True)
    return show


def bar_counter(label: str, unit: str, stream: TextIO) -> Counter:
    from tqdm import tqdm

    state: dict = {}

    def show(done: int, total: int) -> None:
        bar = state.get("bar")
        if bar is None:
            bar = state["bar"] = tqdm(total=total, desc=f"  {label}", unit=f" {unit}", file=stream, leave=True,
                                      dynamic_ncols=True)
        bar.total = total
        bar.update(done - bar.n)
        if done >= total:
            bar.close()
    return show


def counter(label: str, unit: str, stream: TextIO | None = None) -> Counter:
    """A bar on a terminal, plain periodic lines elsewhere (or with TINYGEN_PLAIN_PROGRESS=1)."""
    stream = stream or sys.stderr
    tty = hasattr(stream, "isatty") and stream.isatty() and not os.environ.get("TINYGEN_PLAIN_PROGRESS")
    return bar_counter(label, unit, stream) if tty else plain_counter(label, unit, stream)

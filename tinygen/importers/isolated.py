"""Run a framework's file-reading step in a forked child first, so that a crash inside it (a
segfault or abort in C++ code on malformed data) becomes one error line instead of killing tinygen.

The child only reads the file and exits; the parent then reads it again in-process (the result of
a framework load cannot be sent back cheaply). The probe costs one extra read of the file, which
is small beside lowering and compiling. Exceptions in the child are not reported from there: the
in-process read raises the same exception, and the importer turns it into its usual message.

Only where os.fork exists and is safe for these frameworks (Linux); elsewhere nothing is probed.
Set TINYGEN_NO_LOAD_PROBE=1 to skip the probe (for example under a debugger).
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Callable

from tinygen.errors import TinygenError

PROBE_TIMEOUT_S = 300.0  # a read that takes longer than this is treated as a hang


def _enabled() -> bool:
    return sys.platform.startswith("linux") and hasattr(os, "fork") and not os.environ.get("TINYGEN_NO_LOAD_PROBE")


def _signal_name(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"


def wait_child(pid: int, timeout_s: float) -> int | None:
    """The wait status of child `pid`, or None after killing it when it outlives `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    delay = 0.001
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return None
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def probe_load(path: Path, framework: str, read: Callable[[], object], timeout_s: float = PROBE_TIMEOUT_S) -> None:
    """Call `read()` in a forked child; raise TinygenError naming `path` if the child dies by a
    signal or does not finish within `timeout_s`. Returns normally otherwise (also when `read`
    raised: the caller's own read reports that)."""
    if not _enabled():
        return
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # child: read, then leave without running the parent's atexit handlers
        code = 0
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            import faulthandler

            faulthandler.disable()  # its report would go to a saved copy of stderr, not to fd 2
            read()
        except BaseException:  # noqa: BLE001  (the parent's own read reports it)
            code = 1
        os._exit(code)
    status = wait_child(pid, timeout_s)
    if status is None:
        raise TinygenError(f"{path}: {framework} did not finish reading this file in {timeout_s:.0f} s; "
                           "the file is probably malformed: re-export the model")
    if os.WIFSIGNALED(status):
        raise TinygenError(f"{path}: {framework} crashed ({_signal_name(os.WTERMSIG(status))}) while reading this "
                           "file; the file is malformed or truncated: re-export the model")

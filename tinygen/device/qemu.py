"""Run firmware in QEMU with its console on a loopback TCP port (pyserial socket://).

    with QemuTarget(elf, load_board("mps2-an386")) as q:
        session = Session(q.link, on_exit=q.poll)
        ...
    q.returncode   # semihosting exit status (0 after EXIT, 112+n after a fault, 134 lockup)

Command line (notes/qemu-and-toolchain.md): -icount shift=N,align=off,sleep=off makes the
counters deterministic functions of the instruction count; `server=on,wait=on` holds the guest
until the host connects, so no output is lost; semihosting lets the firmware set the exit status.
The console's listening socket is bound and held by this process and handed to QEMU as an open
descriptor (`-chardev socket,fd=N`), so the host's connect always reaches this QEMU. Choosing a
free port for QEMU to bind left a window before it listened: a connect to the still-unbound port
from the same ephemeral port number connects the socket to itself (TCP self-connect), after which
QEMU binds, waits, and the host hears nothing; a parallel test could also take the port.
QEMU is always terminated: on leaving the context (also on exceptions and Ctrl-C), by a watchdog
after `timeout` seconds, and at interpreter exit.
"""

from __future__ import annotations

import atexit
import shutil
import socket
import subprocess
import tempfile
import threading
from pathlib import Path

from tinygen.boards import Board
from tinygen.errors import TinygenError, ToolchainError

QEMU = "qemu-system-arm"
EXIT_LOCKUP = 134  # QEMU aborts on "Lockup: can't escalate" (SIGABRT)
_running: set[subprocess.Popen] = set()


def _kill_all() -> None:
    for proc in list(_running):
        if proc.poll() is None:
            proc.kill()


atexit.register(_kill_all)


def find_qemu() -> str:
    path = shutil.which(QEMU)
    if path is None:
        raise ToolchainError(f"{QEMU} not found: install it with `sudo apt-get install qemu-system-arm`")
    return path


def listening_socket() -> socket.socket:
    """A loopback TCP socket already listening on a port the kernel picked (Popen's pass_fds
    makes it inheritable in QEMU)."""
    return socket.create_server(("127.0.0.1", 0), backlog=1)


def qemu_command(elf: Path, board: Board, listen_fd: int) -> list[str]:
    """QEMU's command line with the console on the listening socket `listen_fd` (inherited)."""
    q = board.qemu
    if q is None:
        raise TinygenError(f"{board.name} is not a QEMU stand-in (use its `emulator`, e.g. {board.emulator or '?'})")
    serial = ["-serial", "null"] * q.serial_index + ["-serial", "chardev:console"]
    return [find_qemu(), "-M", q.machine, "-display", "none", "-monitor", "none",
            "-semihosting-config", "enable=on,target=native",
            "-icount", f"shift={q.icount_shift},align=off,sleep=off",
            "-chardev", f"socket,id=console,fd={listen_fd},server=on,wait=on,nodelay=on", *serial,
            "-kernel", str(elf)]


class QemuTarget:
    def __init__(self, elf: str | Path, board: Board, timeout: float = 120.0, read_timeout: float = 0.05):
        self.elf = Path(elf)
        if not self.elf.is_file():
            raise TinygenError(f"{self.elf} not found: build the firmware first")
        self.board = board
        self.timeout = timeout
        self.read_timeout = read_timeout
        self.proc: subprocess.Popen | None = None
        self.link = None
        self.returncode: int | None = None
        self._log = None
        self._watchdog: threading.Timer | None = None
        self.timed_out = False

    # -- lifecycle -----------------------------------------------------------------------------
    def __enter__(self) -> "QemuTarget":
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None:
        import serial

        listener = listening_socket()
        try:
            port = listener.getsockname()[1]
            self._log = tempfile.TemporaryFile()
            self.proc = subprocess.Popen(qemu_command(self.elf, self.board, listener.fileno()),
                                         stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
                                         pass_fds=(listener.fileno(),))
            _running.add(self.proc)
            self._watchdog = threading.Timer(self.timeout, self._expire)
            self._watchdog.daemon = True
            self._watchdog.start()
            # The kernel completes the connection from the listen backlog; QEMU accepts it when ready.
            try:
                self.link = serial.serial_for_url(f"socket://127.0.0.1:{port}", timeout=self.read_timeout)
            except (serial.SerialException, OSError) as e:
                raise ToolchainError(f"could not connect to QEMU's ({self.board.qemu.machine}) console: {e}; "
                                     + (self.log().strip()[-600:] or "no output")) from None
        finally:
            listener.close()  # QEMU holds its own copy of the descriptor

    def _expire(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.timed_out = True
            self.proc.kill()

    def poll(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def wait(self, timeout: float = 5.0) -> int | None:
        """Wait for QEMU to exit by itself (after an EXIT command or a fault)."""
        if self.proc is None:
            return self.returncode
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        return self.returncode

    def log(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")

    def close(self) -> None:
        if self.link is not None:
            try:
                self.link.close()
            except Exception:
                pass
            self.link = None
        if self.proc is not None:
            if self.proc.poll() is None:
                try:
                    self.proc.wait(0.5)  # it may be exiting on its own
                except subprocess.TimeoutExpired:
                    self.proc.terminate()
                    try:
                        self.proc.wait(2.0)
                    except subprocess.TimeoutExpired:
                        self.proc.kill()
                        self.proc.wait()
            self.returncode = self.proc.returncode
            _running.discard(self.proc)
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None


def describe_exit(code: int | None) -> str:
    from tinygen.device.protocol import FAULT_NAMES

    if code is None:
        return "still running"
    if code == 0:
        return "exited normally"
    if code in (EXIT_LOCKUP, -6):  # 134 from a shell, -SIGABRT from Popen
        return "core lockup (a fault inside the fault handler); QEMU aborted"
    if 112 < code < 128:
        return f"firmware fault handler: {FAULT_NAMES.get(code - 112, f'exception {code - 112}')}"
    if code < 0:
        return f"killed by signal {-code}"
    return f"exit status {code}"



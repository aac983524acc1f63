"""A real board's console: the ST-LINK virtual COM port (/dev/ttyACM0 on Linux), 115200 8N1."""

from __future__ import annotations

from tinygen.errors import TinygenError

DEFAULT_BAUD = 115200


def open_serial(port: str, baud: int = DEFAULT_BAUD, read_timeout: float = 0.05):
    """Open `port` for the Session (short read timeout: the session keeps its own deadlines).
    NUCLEO boards do not reset when the port opens, so stale bytes are flushed here and the
    session resynchronises on the next frame anyway."""
    try:
        import serial
    except ImportError:  # pragma: no cover - pyserial is a dependency
        raise TinygenError("pyserial is not installed: pip install pyserial") from None
    try:
        link = serial.serial_for_url(port, baudrate=baud, timeout=read_timeout, write_timeout=10)
    except (serial.SerialException, OSError, ValueError) as e:
        raise TinygenError(f"cannot open serial port {port}: {e}. Is the board plugged in (ls /dev/ttyACM*) "
                           "and are you in the dialout group?") from None
    try:
        link.reset_input_buffer()
    except Exception:
        pass
    return link

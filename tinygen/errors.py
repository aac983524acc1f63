"""User-facing errors.

Every problem a user can cause (a bad file, an unsupported op, a model that does not fit) raises a
`TinygenError` whose message is one line that names the thing and says what to do. The CLI prints
that line and exits non-zero; only `--debug` shows a traceback.
"""


class TinygenError(Exception):
    """A problem with the user's input or environment, explained in one line."""


class UnsupportedOpError(TinygenError):
    """The model uses an operation tinygen cannot lower."""


class QuantizationError(TinygenError):
    """A quantizer or tensor that tinygen cannot represent exactly."""


class ToolchainError(TinygenError):
    """A compiler, emulator or flashing tool is missing or failed."""


class FitError(TinygenError):
    """The model does not fit the board's SRAM or flash (the build still writes its report)."""

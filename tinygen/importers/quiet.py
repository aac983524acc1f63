"""Silence what native libraries print on the process's stderr (fd 2) while they load.

TensorFlow's C++ side logs oneDNN, CUDA and absl start-up lines straight to fd 2 before
TF_CPP_MIN_LOG_LEVEL is read, so Python-level filters cannot stop them; redirecting the file
descriptor around the import does. Python exceptions are unaffected (they are raised after the
descriptor is restored)."""

from __future__ import annotations

import contextlib
import os
import sys


@contextlib.contextmanager
def native_stderr_silenced():
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no real fd 2 (embedded interpreters): nothing to silence
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)

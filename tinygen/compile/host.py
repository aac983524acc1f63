"""Build the generated model as a host shared library and call it through cffi (ABI mode).

The same sources the firmware uses are compiled with the host gcc and the strict warning set, so
a host run is the C kernels' first bit-exactness check.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Sequence

import numpy as np

from tinygen.errors import ToolchainError

HOST_CFLAGS = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-fPIC", "-shared"]


def find_cc() -> str:
    for cc in ("gcc", "cc", "clang"):
        path = shutil.which(cc)
        if path:
            return path
    raise ToolchainError("no host C compiler found: install gcc (apt-get install gcc)")


def compile_shared(src_dir: Path, out: Path) -> Path:
    sources = sorted(str(p) for p in src_dir.glob("*.c"))
    cmd = [find_cc(), *HOST_CFLAGS, f"-I{src_dir}", "-o", str(out), *sources]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ToolchainError(f"host compile of {src_dir} failed:\n{proc.stderr.strip()}")
    return out


class HostModel:
    """The compiled model library, loaded with cffi's ABI mode (no extension module to build)."""

    def __init__(self, lib_path: Path, prefix: str, in_specs, out_specs):
        import cffi

        self.ffi = cffi.FFI()
        sig = ", ".join([f"const {s.ctype} *input{i}" for i, s in enumerate(in_specs)]
                        + [f"{s.ctype} *output{i}" for i, s in enumerate(out_specs)])
        self.ffi.cdef(f"int {prefix}_invoke({sig});\n"
                      "typedef void (*tg_layer_hook)(void *ctx, int32_t layer, const void *output, int32_t bytes);\n"
                      f"int {prefix}_invoke_hooked({sig}, tg_layer_hook hook, void *hook_ctx);\n"
                      # defined only for inputs planned in the arena (ABI mode resolves on first use)
                      + "".join(f"{s.ctype} *{prefix}_input{i}_buffer(void);\n" for i, s in enumerate(in_specs)))
        self.lib = self.ffi.dlopen(str(lib_path))
        self.fn = getattr(self.lib, f"{prefix}_invoke")
        self.fn_hooked = getattr(self.lib, f"{prefix}_invoke_hooked")
        self.in_specs, self.out_specs = in_specs, out_specs
        self.prefix = prefix

    def _args(self, ins, outs):
        specs = list(self.in_specs) + list(self.out_specs)
        return [self.ffi.from_buffer(f"{s.ctype}[]", a) for s, a in zip(specs, list(ins) + list(outs))]

    def invoke_one(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        ins = [np.ascontiguousarray(x, dtype=s.dtype) for x, s in zip(inputs, self.in_specs)]
        outs = [np.zeros(s.shape, dtype=s.dtype) for s in self.out_specs]
        rc = self.fn(*self._args(ins, outs))
        if rc != 0:
            raise RuntimeError(f"model invoke returned {rc}")
        return outs

    def invoke_in_arena(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Like `invoke_one`, but as a caller without input buffers of its own: each input planned in
        the arena is written through <prefix>_input<i>_buffer() and that pointer passed (no copy)."""
        ins = [np.ascontiguousarray(x, dtype=s.dtype) for x, s in zip(inputs, self.in_specs)]
        outs = [np.zeros(s.shape, dtype=s.dtype) for s in self.out_specs]
        args = self._args(ins, outs)
        for i, x in enumerate(ins):
            try:
                buf = getattr(self.lib, f"{self.prefix}_input{i}_buffer")()
            except AttributeError:
                continue  # this input stays in the caller's buffer
            if buf == self.ffi.NULL:
                raise RuntimeError(f"{self.prefix}_input{i}_buffer() returned NULL")
            self.ffi.memmove(buf, x, x.nbytes)
            args[i] = buf
        rc = self.fn(*args)
        if rc != 0:
            raise RuntimeError(f"model invoke returned {rc}")
        return outs

    def arena_inputs(self) -> list[int]:
        """Indices of the inputs planned in the arena."""
        out = []
        for i in range(len(self.in_specs)):
            try:
                getattr(self.lib, f"{self.prefix}_input{i}_buffer")
                out.append(i)
            except AttributeError:
                pass
        return out

    def invoke_layers(self, inputs: Sequence[np.ndarray]) -> tuple[list[np.ndarray], dict[int, bytes]]:
        """Run one inference and capture every layer's output bytes (the harness' dump mode)."""
        ins = [np.ascontiguousarray(x, dtype=s.dtype) for x, s in zip(inputs, self.in_specs)]
        outs = [np.zeros(s.shape, dtype=s.dtype) for s in self.out_specs]
        captured: dict[int, bytes] = {}

        @self.ffi.callback("void(void *, int32_t, const void *, int32_t)")
        def hook(_ctx, layer, output, nbytes):
            captured[int(layer)] = bytes(self.ffi.buffer(output, nbytes))

        rc = self.fn_hooked(*self._args(ins, outs), hook, self.ffi.NULL)
        if rc != 0:
            raise RuntimeError(f"model invoke returned {rc}")
        return outs, captured

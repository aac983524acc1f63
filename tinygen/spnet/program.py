"""A built SP-Net: one `Program` per switch (its graph, specs and numpy reference) over the one
model library, whose host build is called through `<name>_invoke_precision`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np

from tinygen.errors import TinygenError
from tinygen.ir import serialize
from tinygen.program import Program, TensorSpec

PRECISION_SPEC = TensorSpec("precision", (1, 1), np.dtype(np.int32), 1.0, 0, -(2 ** 31), 2 ** 31 - 1)


class SPNetHost:
    """The host build of the whole library, with its precision entry points."""

    def __init__(self, lib_path: Path, prefix: str, in_spec: TensorSpec, out_spec: TensorSpec):
        import cffi

        self.ffi = cffi.FFI()
        sig = f"const {in_spec.ctype} *input0, {out_spec.ctype} *output0"
        self.ffi.cdef("typedef void (*tg_layer_hook)(void *ctx, int32_t layer, const void *output, int32_t bytes);\n"
                      f"int {prefix}_invoke_precision(int bits, {sig});\n"
                      f"int {prefix}_invoke_precision_hooked(int bits, {sig}, tg_layer_hook hook, void *hook_ctx);\n"
                      f"int {prefix}_set_precision(int bits);\nint {prefix}_invoke({sig});\n"
                      f"int {prefix}_init(void *arena, size_t bytes);")
        self.lib = self.ffi.dlopen(str(lib_path))
        self.prefix, self.in_spec, self.out_spec = prefix, in_spec, out_spec
        self.fn = getattr(self.lib, f"{prefix}_invoke_precision")
        self.fn_hooked = getattr(self.lib, f"{prefix}_invoke_precision_hooked")
        self.set_precision = getattr(self.lib, f"{prefix}_set_precision")
        self.invoke_current = getattr(self.lib, f"{prefix}_invoke")

    def _bufs(self, x: np.ndarray, out_shape):
        x = np.ascontiguousarray(x, dtype=self.in_spec.dtype)
        out = np.zeros(out_shape, dtype=self.out_spec.dtype)
        return x, out, self.ffi.from_buffer(f"{self.in_spec.ctype}[]", x), self.ffi.from_buffer(f"{self.out_spec.ctype}[]", out)

    def invoke(self, bits: int, x: np.ndarray, out_shape) -> np.ndarray:
        x, out, cx, co = self._bufs(x, out_shape)
        rc = self.fn(bits, cx, co)
        if rc != 0:
            raise RuntimeError(f"{self.prefix}_invoke_precision({bits}) returned {rc}")
        return out

    def invoke_set(self, x: np.ndarray, out_shape) -> np.ndarray:
        """Through the setter: <name>_invoke with the precision last set."""
        x, out, cx, co = self._bufs(x, out_shape)
        rc = self.invoke_current(cx, co)
        if rc != 0:
            raise RuntimeError(f"{self.prefix}_invoke returned {rc}")
        return out

    def invoke_layers(self, bits: int, x: np.ndarray, out_shape) -> tuple[np.ndarray, dict[int, bytes]]:
        x, out, cx, co = self._bufs(x, out_shape)
        captured: dict[int, bytes] = {}

        @self.ffi.callback("void(void *, int32_t, const void *, int32_t)")
        def hook(_ctx, layer, output, nbytes):
            captured[int(layer)] = bytes(self.ffi.buffer(output, nbytes))

        rc = self.fn_hooked(bits, cx, co, hook, self.ffi.NULL)
        if rc != 0:
            raise RuntimeError(f"{self.prefix}_invoke_precision_hooked({bits}) returned {rc}")
        return out, captured


class _SwitchHost:
    """A switch's view of the shared host library, shaped like HostModel for the validation core."""

    def __init__(self, host: SPNetHost, bits: int, out_spec: TensorSpec):
        self.host, self.bits, self.out_spec = host, bits, out_spec

    def invoke_one(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [self.host.invoke(self.bits, inputs[0], self.out_spec.shape)]

    def invoke_layers(self, inputs: Sequence[np.ndarray]):
        out, layers = self.host.invoke_layers(self.bits, inputs[0], self.out_spec.shape)
        return [out], layers


class SwitchProgram(Program):
    """One switch of an SP-Net build: its own graph and reference; host runs go through the
    library's dispatcher (`<name>_invoke_precision(bits, ...)`)."""

    def __init__(self, parent: "SPNetProgram", bits: int, graph, switch_prefix: str):
        super().__init__(parent.out_dir, graph, switch_prefix, parent.board, parent.switch_reports.get(bits, {}))
        self.parent, self.bits = parent, bits

    def _host_model(self):
        return _SwitchHost(self.parent.host(), self.bits, self.outputs[0])


class DeviceSwitchView:
    """What the device validation driver needs for one switch of the SP-Net firmware: the
    firmware's two inputs (the model input and the int32 precision) and the dispatcher's hash."""

    def __init__(self, switch: SwitchProgram):
        self.switch = switch
        self.out_dir, self.board, self.prefix = switch.out_dir, switch.board, switch.parent.prefix
        self.graph = switch.graph
        self.inputs = [switch.inputs[0], PRECISION_SPEC]
        self.outputs = switch.outputs

    def reference(self, x, precision=None):
        return self.switch.reference(x)


class SPNetProgram:
    """What `tinygen.spnet.build` and `tinygen.load` of an SP-Net build directory return."""

    def __init__(self, out_dir: str | Path):
        self.out_dir = Path(out_dir)
        meta_path = self.out_dir / "spnet.json"
        if not meta_path.exists():
            raise TinygenError(f"{self.out_dir} is not an SP-Net build directory (no spnet.json)")
        meta = json.loads(meta_path.read_text())
        self.prefix = meta["prefix"]
        self.board = json.loads((self.out_dir / "tinygen.json").read_text())["board"]
        rp = self.out_dir / "report.json"
        self.report = json.loads(rp.read_text()) if rp.exists() else {}
        self.switch_reports = {}
        self.switches: dict[int, SwitchProgram] = {}
        for s in meta["switches"]:
            d = self.out_dir / s["dir"]
            r = d / "report.json"
            self.switch_reports[s["bits"]] = json.loads(r.read_text()) if r.exists() else {}
            self.switches[s["bits"]] = SwitchProgram(self, s["bits"], serialize.load(d / "graph"), s["prefix"])
        self._host = None

    @property
    def bits(self) -> list[int]:
        return list(self.switches)

    def __getitem__(self, bits: int) -> SwitchProgram:
        if bits not in self.switches:
            raise TinygenError(f"{self.out_dir}: no switch with {bits} bits (switches: {self.bits})")
        return self.switches[bits]

    @property
    def inputs(self):
        return next(iter(self.switches.values())).inputs

    def quantize(self, x, layout: str | None = None) -> np.ndarray:
        return next(iter(self.switches.values())).quantize(x, layout=layout)

    def reference(self, bits: int, q: np.ndarray) -> np.ndarray:
        return self[bits].reference(q)

    def run_host(self, bits: int, q: np.ndarray) -> np.ndarray:
        return self[bits].run_host(q)

    def host_lib(self) -> Path:
        from tinygen.compile.host import compile_shared

        lib = self.out_dir / "host" / f"lib{self.prefix}.so"
        if not lib.exists():
            lib.parent.mkdir(parents=True, exist_ok=True)
            compile_shared(self.out_dir / "model", lib)
        return lib

    def host(self) -> SPNetHost:
        if self._host is None:
            first = next(iter(self.switches.values()))
            self._host = SPNetHost(self.host_lib(), self.prefix, first.inputs[0], first.outputs[0])
        return self._host

    def run_host_sequence(self, order: Sequence[int], q: np.ndarray) -> list[np.ndarray]:
        """One inference per entry of `order` (bits), sample i on order[i], through one library
        instance: for checking that switching back and forth changes nothing."""
        host, out = self.host(), []
        shape = next(iter(self.switches.values())).outputs[0].shape
        q = np.asarray(q)
        if q.shape == tuple(self.inputs[0].shape[1:]):
            q = q[None]
        for i, bits in enumerate(order):
            out.append(host.invoke(int(bits), q[i % len(q)][None], shape))
        return out

"""Write small .tflite flatbuffers directly (tflite-micro's bundled schema, object API), so tests can
pick any quantization parameters and run one op through TFLite Micro without TensorFlow."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile

import flatbuffers
import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as S

_NP_TYPES = {np.dtype(np.float32): S.TensorType.FLOAT32, np.dtype(np.int8): S.TensorType.INT8,
             np.dtype(np.int32): S.TensorType.INT32, np.dtype(np.uint8): S.TensorType.UINT8,
             np.dtype(np.int16): S.TensorType.INT16, np.dtype(np.int64): S.TensorType.INT64}


class TfliteBuilder:
    def __init__(self):
        self.tensors: list = []
        self.buffers: list = [S.BufferT()]  # buffer 0: the empty sentinel
        self.codes: list = []
        self.ops: list = []

    def tensor(self, shape, dtype, scale=None, zero_point=None, data=None, qdim=0, name=None) -> int:
        t = S.TensorT()
        t.shape = list(shape)
        t.type = _NP_TYPES[np.dtype(dtype)]
        t.name = (name or f"t{len(self.tensors)}").encode()
        t.buffer = 0
        if data is not None:
            b = S.BufferT()
            b.data = np.ascontiguousarray(np.asarray(data, dtype)).view(np.uint8).reshape(-1)
            self.buffers.append(b)
            t.buffer = len(self.buffers) - 1
        if scale is not None:
            q = S.QuantizationParametersT()
            q.scale = list(np.atleast_1d(np.asarray(scale, np.float32)))
            q.zeroPoint = list(np.atleast_1d(np.asarray(zero_point if zero_point is not None else 0, np.int64)))
            q.quantizedDimension = qdim
            t.quantization = q
        self.tensors.append(t)
        return len(self.tensors) - 1

    def _code(self, builtin: int, version: int, custom: str | None) -> int:
        key = (builtin, version, custom)
        for i, c in enumerate(self.codes):
            if (c.builtinCode, c.version, c.customCode.decode() if c.customCode else None) == key:
                return i
        c = S.OperatorCodeT()
        c.builtinCode = builtin
        c.deprecatedBuiltinCode = min(builtin, 127)
        c.version = version
        if custom is not None:
            c.customCode = custom.encode()
        self.codes.append(c)
        return len(self.codes) - 1

    def op(self, builtin: int, inputs, outputs, options=None, options_type: int = 0, version: int = 1,
           custom: str | None = None, custom_options: bytes | None = None) -> None:
        o = S.OperatorT()
        o.opcodeIndex = self._code(builtin, version, custom)
        o.inputs = list(inputs)
        o.outputs = list(outputs)
        if options is not None:
            o.builtinOptionsType = options_type
            o.builtinOptions = options
        if custom_options is not None:
            o.customOptions = list(custom_options)
        self.ops.append(o)

    def build(self, inputs, outputs) -> bytes:
        sg = S.SubGraphT()
        sg.tensors, sg.operators = self.tensors, self.ops
        sg.inputs, sg.outputs = list(inputs), list(outputs)
        m = S.ModelT()
        m.version = 3
        m.operatorCodes, m.subgraphs, m.buffers = self.codes, [sg], self.buffers
        m.description = b"tinygen test"
        b = flatbuffers.Builder(1024)
        b.Finish(m.Pack(b), file_identifier=b"TFL3")
        return bytes(b.Output())


def options(cls_name: str, **fields):
    o = getattr(S, cls_name + "T")()
    for k, v in fields.items():
        setattr(o, k, v)
    return o, getattr(S.BuiltinOptions, cls_name)


# -- TFLite Micro -------------------------------------------------------------------------------------
def tflm_run(model: bytes, inputs, n_outputs: int = 1, arena_size: int = 1 << 20) -> list[np.ndarray]:
    """Run every sample of the first input (and matching samples of the others) through TFLM."""
    from tflite_micro.python.tflite_micro import runtime

    interp = runtime.Interpreter.from_bytes(model, arena_size=arena_size)
    n = len(inputs[0])
    outs = None
    for b in range(n):
        for i, x in enumerate(inputs):
            interp.set_input(np.ascontiguousarray(x[b:b + 1]), i)
        interp.invoke()
        got = [np.array(interp.get_output(k)) for k in range(n_outputs)]
        outs = [np.empty((n, *g.shape[1:]), g.dtype) for g in got] if outs is None else outs
        for o, g in zip(outs, got):
            o[b] = g[0]
    return outs


@contextlib.contextmanager
def capture_c_stderr():
    """Capture what C code writes to file descriptor 2 (TFLM's print_allocations)."""
    captured = {"text": ""}
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        saved = os.dup(2)
        try:
            os.dup2(tmp.fileno(), 2)
            yield captured
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            captured["text"] = tmp.read().decode(errors="replace")


def tflm_arena_bytes(model: bytes) -> int:
    """TFLM's minimum arena for the model (host build), from print_allocations()."""
    from tflite_micro.python.tflite_micro import runtime

    interp = runtime.Interpreter.from_bytes(model, arena_size=1 << 22)
    with capture_c_stderr() as cap:
        interp.print_allocations()
    m = re.search(r"Arena allocation total (\d+) bytes", cap["text"])
    if not m:
        raise RuntimeError(f"no arena total in TFLM's report: {cap['text'][:300]!r}")
    return int(m.group(1))

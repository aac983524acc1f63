""".tflite flatbuffer -> plain Python records (tensors with numpy data and quantization, operators
with their options), read with the TFLite schema bundled in the tflite-micro package. Nothing here
interprets the graph; `tinygen.importers.tflite.context` does that.

A file that is not a TFLite flatbuffer, or is truncated, raises one TinygenError saying so.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinygen.errors import TinygenError

# TFLite TensorType -> numpy dtype (types tinygen can hold; the others are named in errors)
_TENSOR_TYPES = {0: "float32", 1: "float16", 2: "int32", 3: "uint8", 4: "int64", 5: "string", 6: "bool",
                 7: "int16", 8: "complex64", 9: "int8", 10: "float64", 11: "complex128", 12: "uint64",
                 13: "resource", 14: "variant", 15: "uint32", 16: "uint16", 17: "int4", 18: "bfloat16"}
_NUMPY = {"float32", "int32", "uint8", "int64", "bool", "int16", "int8", "float64", "uint64", "uint32", "uint16"}
_MAX_RANK = 8  # TFLite kernels stop at 5 or 6; anything longer is a corrupt shape
_MAX_ELEMENTS = 1 << 31  # a tensor beyond 2 Gi elements cannot live on a microcontroller (or in a valid file)
# a quantization scale outside this range cannot come from a real model and breaks the double-precision
# multiplier arithmetic (1e30 * 1e30 overflows float32 bias scales, 1e-30 underflows)
SCALE_RANGE = (1e-20, 1e20)


def clip(text: str, n: int = 60) -> str:
    """A name or list short enough for a one-line error."""
    return text if len(text) <= n else text[:n - 3] + "..."


def shape_text(shape) -> str:
    return clip(str(list(shape)), 60)


def schema():
    """The generated TFLite schema module (flatbuffers object API)."""
    try:
        from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as s
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise TinygenError("reading .tflite files needs the tflite-micro package: "
                           "pip install 'tinygen[tf]' (or tflite-micro==0.dev20261023182759)") from e
    return s


def builtin_names() -> dict[int, str]:
    ops = schema().BuiltinOperator
    return {v: k for k, v in vars(ops).items() if not k.startswith("_") and isinstance(v, int)}


@dataclass
class TflTensor:
    index: int
    name: str
    shape: tuple[int, ...]
    type_name: str  # "int8", "float32", ... (TFLite's type, lower case)
    scale: np.ndarray | None = None  # float32 per channel, None when not quantized
    zero_point: np.ndarray | None = None
    quantized_dimension: int = 0
    data: np.ndarray | None = None  # constant contents, shaped

    @property
    def label(self) -> str:
        """The name as errors print it: the first of TFLite's ';'-joined names, clipped."""
        return clip(self.name.split(";")[0])

    @property
    def dtype(self) -> np.dtype | None:
        return np.dtype(self.type_name) if self.type_name in _NUMPY else None

    @property
    def is_const(self) -> bool:
        return self.data is not None

    @property
    def quantized(self) -> bool:
        return self.scale is not None and len(self.scale) > 0


@dataclass
class TflOp:
    index: int
    name: str  # builtin operator name (CONV_2D) or custom code (LceBconv2d)
    builtin: int | None  # None for custom ops
    version: int
    inputs: list[int]  # -1 = optional input left out
    outputs: list[int]
    options: Any = None  # the schema's <Op>OptionsT object, or None
    custom_options: bytes = b""


@dataclass
class TflModel:
    source: str
    tensors: list[TflTensor]
    ops: list[TflOp]
    inputs: list[int]
    outputs: list[int]
    description: str = ""
    consumers: dict[int, list[int]] = field(default_factory=dict)  # tensor -> indices of ops reading it

    def producer(self, tensor: int) -> TflOp | None:
        for op in self.ops:
            if tensor in op.outputs:
                return op
        return None


def _bad_file(source: str, why: str) -> TinygenError:
    return TinygenError(f"{source}: not a valid TFLite flatbuffer ({why}); export it again with "
                        "tf.lite.TFLiteConverter or check that the file was copied completely")


def _check_header(data: bytes, source: str) -> None:
    if len(data) < 16:
        raise _bad_file(source, f"only {len(data)} bytes")
    if data[4:8] != b"TFL3":
        raise _bad_file(source, "no 'TFL3' file identifier")
    (root,) = struct.unpack_from("<I", data, 0)
    if root < 8 or root + 4 > len(data):
        raise _bad_file(source, "the root table lies outside the file; the file is truncated")


def _tensor_data(buf, raw: bytes, t, type_name: str, source: str) -> np.ndarray | None:
    if buf is None:
        return None
    if buf.offset and buf.offset > 1:  # large models keep buffers after the flatbuffer
        if buf.offset + buf.size > len(raw):
            raise _bad_file(source, f"buffer of tensor '{clip(t)}' runs past the end of the file; the file is truncated")
        payload = np.frombuffer(raw, np.uint8, buf.size, buf.offset)
    elif buf.data is not None and len(buf.data):
        payload = np.asarray(buf.data, np.uint8)
    else:
        return None
    if type_name not in _NUMPY:
        return payload.copy()  # kept raw: whoever reads it refuses the type by name
    if payload.size % np.dtype(type_name).itemsize:
        raise _bad_file(source, f"buffer of tensor '{clip(t)}' holds {payload.size} bytes, not a multiple of the "
                                f"{np.dtype(type_name).itemsize}-byte {type_name} elements")
    return np.frombuffer(payload.tobytes(), np.dtype(type_name)).copy()


def read_tflite(raw: bytes, source: str) -> TflModel:
    _check_header(raw, source)
    s = schema()
    try:
        model = s.ModelT.InitFromObj(s.Model.GetRootAsModel(raw, 0))
    except Exception as e:  # the generated reader raises whatever a bad offset leads to
        raise _bad_file(source, f"reading failed with {type(e).__name__}: the file is truncated or corrupt") from None
    if not model.subgraphs:
        raise _bad_file(source, "no subgraph")
    if len(model.subgraphs) > 1:
        raise TinygenError(f"{source}: the model has {len(model.subgraphs)} subgraphs (control flow: WHILE/IF/"
                           "CALL_ONCE); tinygen imports single-subgraph models only")
    sg = model.subgraphs[0]
    buffers = model.buffers or []
    names = builtin_names()
    tensors = [_tensor(i, t, buffers, raw, source) for i, t in enumerate(sg.tensors or [])]
    ops = []
    codes = model.operatorCodes or []
    for j, o in enumerate(sg.operators or []):
        if not 0 <= o.opcodeIndex < len(codes):
            raise _bad_file(source, f"operator {j} names operator code {o.opcodeIndex} of {len(codes)}")
        c = codes[o.opcodeIndex]
        code = max(int(c.builtinCode), int(c.deprecatedBuiltinCode))
        custom = code == s.BuiltinOperator.CUSTOM
        name = (clip(c.customCode.decode(errors="replace"), 40) if c.customCode else "CUSTOM") if custom else \
            names.get(code, f"builtin op {code}")
        ins = [int(v) for v in (o.inputs if o.inputs is not None else [])]
        outs = [int(v) for v in (o.outputs if o.outputs is not None else [])]
        for what, v in [("input", v) for v in ins] + [("output", v) for v in outs]:
            if v >= len(tensors) or v < -1 or (what == "output" and v < 0):
                raise _bad_file(source, f"operator {j} ({name}) {what} names tensor {v} of {len(tensors)}")
        opts = bytes(bytearray(int(b) & 0xFF for b in o.customOptions)) if o.customOptions is not None else b""
        ops.append(TflOp(j, name, None if custom else code, int(c.version), ins, outs, o.builtinOptions, opts))
    desc = model.description.decode(errors="replace") if isinstance(model.description, bytes) else ""
    io = []
    for what, lst in (("input", sg.inputs), ("output", sg.outputs)):
        if lst is None or len(lst) == 0:
            raise _bad_file(source, f"the subgraph has no {what} list")
        for v in lst:
            if not 0 <= int(v) < len(tensors):
                raise _bad_file(source, f"subgraph {what} names tensor {int(v)} of {len(tensors)}")
        io.append([int(v) for v in lst])
    result = TflModel(source, tensors, ops, io[0], io[1], desc)
    for op in ops:
        for v in op.inputs:
            if v >= 0:
                result.consumers.setdefault(v, []).append(op.index)
    return result


def _tensor(i: int, t, buffers, raw: bytes, source: str) -> TflTensor:
    """One tensor record, with its shape, buffer and quantization checked against each other."""
    type_name = _TENSOR_TYPES.get(t.type, f"type {t.type}")
    name = t.name.decode(errors="replace") if isinstance(t.name, bytes) else str(t.name or f"tensor{i}")
    label = f"tensor {i} '{clip(name.split(';')[0])}'"
    dims = t.shape if t.shape is not None else ()
    if len(dims) > _MAX_RANK:
        raise _bad_file(source, f"{label} has rank {len(dims)} (at most {_MAX_RANK})")
    shape = tuple(int(d) for d in dims)
    if t.shapeSignature is not None and any(int(d) < 0 for d in t.shapeSignature[1:]):
        raise TinygenError(f"{source}: {label} has a dynamic shape {shape_text(t.shapeSignature)}; "
                           "convert the model with fixed input shapes")
    if any(d < 0 for d in shape) or int(np.prod(shape, dtype=np.float64)) > _MAX_ELEMENTS:
        raise _bad_file(source, f"{label} has shape {shape_text(shape)} (dimensions must be >= 0, "
                                f"at most {_MAX_ELEMENTS} elements)")
    if not 0 <= t.buffer < len(buffers):
        raise _bad_file(source, f"{label} names buffer {t.buffer} of {len(buffers)}")
    data = _tensor_data(buffers[t.buffer], raw, name, type_name, source)
    if data is not None and type_name in _NUMPY:
        if data.size != int(np.prod(shape, dtype=np.int64)):
            raise _bad_file(source, f"{label} {shape_text(shape)} holds {data.size} values")
        data = data.reshape(shape)
    entry = TflTensor(i, name, shape, type_name, data=data)
    q = t.quantization
    if q is not None and q.scale is not None and len(q.scale):
        scale = np.asarray(q.scale, np.float64)
        lo, hi = SCALE_RANGE
        bad = scale[~((scale >= lo) & (scale <= hi))]  # NaN fails both comparisons
        if bad.size:
            raise _bad_file(source, f"{label} has quantization scale {float(bad[0])!r}; scales must be finite "
                                    f"and in [{lo:g}, {hi:g}]")
        entry.scale = np.asarray(q.scale, np.float32)
        zp = np.asarray(q.zeroPoint, np.int64) if q.zeroPoint is not None and len(q.zeroPoint) else \
            np.zeros(len(scale), np.int64)
        if len(zp) != len(scale):
            raise _bad_file(source, f"{label} has {len(scale)} scales but {len(zp)} zero points")
        info = np.iinfo(type_name) if type_name in ("int8", "uint8", "int16") else None
        if info is not None and (zp.min() < info.min or zp.max() > info.max):
            raise _bad_file(source, f"{label} ({type_name}) has zero point {int(zp[(zp < info.min) | (zp > info.max)][0])} "
                                    f"outside [{info.min}, {info.max}]")
        if type_name in ("int32", "int64") and np.any(zp != 0):
            raise _bad_file(source, f"{label} ({type_name}) has a non-zero zero point; int32 tensors are symmetric")
        qdim = int(q.quantizedDimension)
        if len(scale) > 1 and (not 0 <= qdim < len(shape) or shape[qdim] != len(scale)):
            raise _bad_file(source, f"{label} {shape_text(shape)} has {len(scale)} scales along axis {qdim}")
        entry.zero_point = zp
        entry.quantized_dimension = qdim
    return entry

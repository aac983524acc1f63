""".tflite mutation fuzzing (issue 18): seed models, mutators (byte-level and flatbuffer-structured)
and one check that runs a file through `tinygen.cli.main(["build", ...])` in this process.

Outcomes of `check`:
  built      exit 0, and the generated C (host build) equals the numpy reference on seeded inputs
  refused    exit 1 with exactly one "tinygen: error:" line
  internal   a refusal by the importer's last-resort guard ("internal error importing ...")
  long       (also counted as refused) the error line is longer than LONG_LINE characters
  mismatch   exit 0 but the C differs from the reference
  traceback  any exception other than a clean refusal (signature: type + innermost tinygen frame)
  hang       the build took longer than the time limit
Crashes (the process dies) can only be seen from outside: tests/fuzz/fuzz_tflite.py runs workers.
"""

from __future__ import annotations

import contextlib
import copy
import io
import signal
import tempfile
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import flatbuffers
import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as S

from tests.importers.tflite_builder import TfliteBuilder, options

OPS = S.BuiltinOperator
LONG_LINE = 300
INTERNAL_ERROR = "internal error importing"
BAD_SCALES = (0.0, -1.0, float("nan"), float("inf"), -float("inf"), 1e30, 1e-30, 3.0e38)


# -- seeds ------------------------------------------------------------------------------------------------
def builder_seed() -> bytes:
    """A small int8 network written with the flatbuffer builder (no TensorFlow): CONV_2D (per-channel,
    SAME, relu), DEPTHWISE_CONV_2D, MAX_POOL_2D, AVERAGE_POOL_2D, ADD, CONCATENATION, RESHAPE,
    FULLY_CONNECTED, LOGISTIC."""
    rng = np.random.default_rng(18)
    b = TfliteBuilder()
    x = b.tensor((1, 6, 6, 3), np.int8, 0.05, 2)
    w = b.tensor((4, 3, 3, 3), np.int8, np.full(4, 0.01, np.float32), np.zeros(4, np.int64),
                 data=rng.integers(-127, 128, (4, 3, 3, 3)))
    bias = b.tensor((4,), np.int32, np.full(4, 0.0005, np.float32), np.zeros(4, np.int64),
                    data=rng.integers(-500, 500, 4))
    c = b.tensor((1, 6, 6, 4), np.int8, 0.08, -20)
    b.op(OPS.CONV_2D, [x, w, bias], [c], *options("Conv2DOptions", padding=0, strideW=1, strideH=1,
                                                 dilationWFactor=1, dilationHFactor=1, fusedActivationFunction=1),
         version=3)
    dw = b.tensor((1, 3, 3, 4), np.int8, np.full(4, 0.02, np.float32), np.zeros(4, np.int64), qdim=3,
                  data=rng.integers(-127, 128, (1, 3, 3, 4)))
    db = b.tensor((4,), np.int32, np.full(4, 0.0016, np.float32), np.zeros(4, np.int64),
                  data=rng.integers(-300, 300, 4))
    d = b.tensor((1, 3, 3, 4), np.int8, 0.1, 5)
    b.op(OPS.DEPTHWISE_CONV_2D, [c, dw, db], [d],
         *options("DepthwiseConv2DOptions", padding=0, strideW=2, strideH=2, depthMultiplier=1,
                  dilationWFactor=1, dilationHFactor=1), version=3)
    mp = b.tensor((1, 3, 3, 4), np.int8, 0.1, 5)
    b.op(OPS.MAX_POOL_2D, [d], [mp], *options("Pool2DOptions", padding=0, strideW=1, strideH=1,
                                                 filterWidth=2, filterHeight=2), version=2)
    ap = b.tensor((1, 3, 3, 4), np.int8, 0.1, 5)
    b.op(OPS.AVERAGE_POOL_2D, [d], [ap], *options("Pool2DOptions", padding=0, strideW=1, strideH=1,
                                                     filterWidth=3, filterHeight=3), version=2)
    s = b.tensor((1, 3, 3, 4), np.int8, 0.15, -3)
    b.op(OPS.ADD, [mp, ap], [s], *options("AddOptions", fusedActivationFunction=0), version=2)
    cat = b.tensor((1, 3, 3, 8), np.int8, 0.15, -3)
    b.op(OPS.CONCATENATION, [s, s], [cat], *options("ConcatenationOptions", axis=3), version=2)
    flat = b.tensor((1, 72), np.int8, 0.15, -3)
    shape = b.tensor((2,), np.int32, data=np.array([1, 72]))
    b.op(OPS.RESHAPE, [cat, shape], [flat])
    fw = b.tensor((5, 72), np.int8, np.full(5, 0.01, np.float32), np.zeros(5, np.int64),
                  data=rng.integers(-127, 128, (5, 72)))
    fb = b.tensor((5,), np.int32, np.full(5, 0.0015, np.float32), np.zeros(5, np.int64),
                  data=rng.integers(-1000, 1000, 5))
    f = b.tensor((1, 5), np.int8, 0.2, 0)
    b.op(OPS.FULLY_CONNECTED, [flat, fw, fb], [f], *options("FullyConnectedOptions"), version=4)
    y = b.tensor((1, 5), np.int8, 1 / 256, -128)
    b.op(OPS.LOGISTIC, [f], [y], version=2)
    return b.build([x], [y])


def keras_seeds(cache: Path, names=("conv", "depthwise", "residual", "pooling", "softmax")) -> dict[str, bytes]:
    """Real converter output (tests/importers/keras_zoo.py), converted once and cached in `cache`."""
    cache.mkdir(parents=True, exist_ok=True)
    out = {}
    for name in names:
        p = cache / f"{name}.tflite"
        if not p.exists():
            from tests.importers import keras_zoo as zoo

            data = zoo.quantize(zoo.make_keras(name), zoo.calibration(zoo.ZOO[name][1], 16))
            p.write_bytes(data)
        out[name] = p.read_bytes()
    return out


# -- mutators ---------------------------------------------------------------------------------------------
def pack(m) -> bytes:
    b = flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def unpack(data: bytes):
    """The object tree, with the index vectors as writable Python lists (the reader gives read-only numpy)."""
    m = S.ModelT.InitFromObj(S.Model.GetRootAsModel(data, 0))
    for sg in m.subgraphs:
        sg.inputs = [int(v) for v in sg.inputs] if sg.inputs is not None else None
        sg.outputs = [int(v) for v in sg.outputs] if sg.outputs is not None else None
        for op in sg.operators or []:
            op.inputs = [int(v) for v in op.inputs] if op.inputs is not None else []
            op.outputs = [int(v) for v in op.outputs] if op.outputs is not None else []
        for t in sg.tensors or []:
            t.shape = [int(v) for v in t.shape] if t.shape is not None else None
    return m


def _quantized(sg):
    return [t for t in sg.tensors or [] if t.quantization is not None and t.quantization.scale is not None
            and len(t.quantization.scale)]


def _mut_subgraph_index(m, rng):
    sg = m.subgraphs[0]
    lst = sg.inputs if rng.random() < 0.5 else sg.outputs
    lst[int(rng.integers(len(lst)))] = int(rng.choice([len(sg.tensors), len(sg.tensors) + 7, -1, -9, 1 << 30]))


def _mut_no_input_list(m, rng):
    if rng.random() < 0.5:
        m.subgraphs[0].inputs = None
    else:
        m.subgraphs[0].outputs = None


def _mut_wrong_options(m, rng):
    op = rng.choice(m.subgraphs[0].operators)
    kinds = ["Pool2DOptions", "Conv2DOptions", "AddOptions", "SoftmaxOptions", "ConcatenationOptions",
             "FullyConnectedOptions", "ReshapeOptions", "DepthwiseConv2DOptions", "ReducerOptions"]
    name = str(rng.choice(kinds))
    op.builtinOptions = getattr(S, name + "T")()
    op.builtinOptionsType = getattr(S.BuiltinOptions, name)


def _mut_no_options(m, rng):
    op = rng.choice(m.subgraphs[0].operators)
    op.builtinOptions, op.builtinOptionsType = None, 0


def _mut_op_io_count(m, rng):
    op = rng.choice(m.subgraphs[0].operators)
    r = rng.random()
    if r < 0.4:
        op.inputs = list(op.inputs)[:int(rng.integers(len(op.inputs)))]
    elif r < 0.6:
        op.outputs = []
    elif r < 0.8:
        op.inputs = list(op.inputs) + [int(op.inputs[0])] * int(rng.integers(1, 4))
    else:
        op.outputs = list(op.outputs) + [int(op.outputs[0])]


def _mut_op_index(m, rng):
    sg = m.subgraphs[0]
    op = rng.choice(sg.operators)
    lst = op.inputs if rng.random() < 0.7 else op.outputs
    lst[int(rng.integers(len(lst)))] = int(rng.choice([-1, -2, len(sg.tensors), 1 << 20]))


def _mut_rank(m, rng):
    t = rng.choice(m.subgraphs[0].tensors)
    shape = list(t.shape if t.shape is not None else [])
    if shape and rng.random() < 0.5:
        del shape[int(rng.integers(len(shape)))]
    else:
        shape.insert(int(rng.integers(len(shape) + 1)), int(rng.choice([1, 2, 3])))
    t.shape = shape


def _mut_shape_value(m, rng):
    t = rng.choice(m.subgraphs[0].tensors)
    if t.shape is not None and len(t.shape):
        t.shape = list(t.shape)
        t.shape[int(rng.integers(len(t.shape)))] = int(rng.choice([0, -1, 2, 7, 1 << 20, (1 << 31) - 1]))


def _mut_scale(m, rng):
    qs = _quantized(m.subgraphs[0])
    q = rng.choice(qs).quantization
    q.scale = list(q.scale)
    q.scale[int(rng.integers(len(q.scale)))] = float(rng.choice(BAD_SCALES))


def _mut_zero_point(m, rng):
    q = rng.choice(_quantized(m.subgraphs[0])).quantization
    zp = list(q.zeroPoint if q.zeroPoint is not None and len(q.zeroPoint) else [0] * len(q.scale))
    zp[int(rng.integers(len(zp)))] = int(rng.choice([128, -129, 1 << 40, -(1 << 63), 5]))
    q.zeroPoint = zp


def _mut_quant_layout(m, rng):
    q = rng.choice(_quantized(m.subgraphs[0])).quantization
    r = rng.random()
    if r < 0.4:
        q.quantizedDimension = int(rng.choice([-1, 5, 100]))
        q.scale = list(q.scale) * 2
        q.zeroPoint = list(q.zeroPoint if q.zeroPoint is not None else [0]) * 2
    elif r < 0.7:
        q.zeroPoint = list(q.zeroPoint if q.zeroPoint is not None else [0]) + [0]
    else:
        q.scale = list(q.scale) + [0.1]


def _mut_stride(m, rng):
    ops = [op for op in m.subgraphs[0].operators if op.builtinOptions is not None
           and hasattr(op.builtinOptions, "strideW")]
    if not ops:
        return
    o = rng.choice(ops).builtinOptions
    field_ = str(rng.choice([f for f in ("strideW", "strideH", "filterWidth", "filterHeight", "dilationWFactor",
                                          "dilationHFactor", "padding") if hasattr(o, f)]))
    values = [0, -1, 2, 5, 100] if field_ == "padding" else [0, -1, 2, 1000, 1 << 30]  # padding is a byte
    setattr(o, field_, int(rng.choice(values)))


def _mut_activation(m, rng):
    ops = [op for op in m.subgraphs[0].operators if op.builtinOptions is not None
           and hasattr(op.builtinOptions, "fusedActivationFunction")]
    if ops:
        rng.choice(ops).builtinOptions.fusedActivationFunction = int(rng.choice([2, 3, 4, 5, 6, 100]))


def _mut_buffer(m, rng):
    bufs = [b for b in m.buffers if b.data is not None and len(b.data) > 1]
    b = rng.choice(bufs)
    data = np.asarray(b.data, np.uint8)
    r = rng.random()
    if r < 0.5:
        b.data = data[:int(rng.integers(len(data)))]
    elif r < 0.7:
        b.data = np.concatenate([data, np.zeros(int(rng.integers(1, 4)), np.uint8)])
    else:
        b.data = None


def _mut_buffer_index(m, rng):
    t = rng.choice(m.subgraphs[0].tensors)
    t.buffer = int(rng.choice([len(m.buffers), 1 << 20, 0, 1]))


def _mut_type(m, rng):
    t = rng.choice(m.subgraphs[0].tensors)
    t.type = int(rng.integers(0, 20))


def _mut_opcode(m, rng):
    op = rng.choice(m.subgraphs[0].operators)
    r = rng.random()
    if r < 0.3:
        op.opcodeIndex = len(m.operatorCodes) + int(rng.integers(0, 3))
    else:
        op.opcodeIndex = int(rng.integers(len(m.operatorCodes)))


def _mut_version(m, rng):
    c = rng.choice(m.operatorCodes)
    c.version = int(rng.choice([0, -1, 9, 1000]))


def _mut_const_values(m, rng):
    """Constant data changed inside its buffer: axes, paddings, reshape targets, biases."""
    sg = m.subgraphs[0]
    small = [t for t in sg.tensors if 0 < t.buffer < len(m.buffers) and m.buffers[t.buffer].data is not None
             and 0 < len(m.buffers[t.buffer].data) <= 64]
    if not small:
        return
    b = m.buffers[rng.choice(small).buffer]
    data = np.asarray(b.data, np.uint8).copy()
    data.view(np.uint8)[:] = rng.integers(0, 256, data.size) if rng.random() < 0.5 else 0xFF
    b.data = data


MUTATORS = {k[5:]: v for k, v in sorted(globals().items()) if k.startswith("_mut_")}


def structured(data: bytes, rng: np.random.Generator, kind: str | None = None) -> tuple[bytes, str]:
    m = copy.deepcopy(unpack(data))
    kind = kind or str(rng.choice(sorted(MUTATORS)))
    MUTATORS[kind](m, rng)
    return pack(m), kind


def byte_level(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    buf = bytearray(data)
    r = rng.random()
    if r < 0.45:
        for _ in range(int(rng.integers(1, 9))):
            buf[int(rng.integers(len(buf)))] ^= 1 << int(rng.integers(8))
        return bytes(buf), "bitflip"
    if r < 0.7:
        for _ in range(int(rng.integers(1, 5))):
            buf[int(rng.integers(len(buf)))] = int(rng.choice([0, 0xFF, 0x7F, 0x80, int(rng.integers(256))]))
        return bytes(buf), "byteset"
    if r < 0.85:
        return bytes(buf[:int(rng.integers(len(buf)))]), "truncate"
    at = int(rng.integers(len(buf)))
    if rng.random() < 0.5:
        return bytes(buf[:at] + bytes(rng.integers(0, 256, int(rng.integers(1, 9))).astype(np.uint8))
                     + buf[at:]), "insert"
    return bytes(buf[:at] + buf[at + int(rng.integers(1, 9)):]), "delete"


def mutate(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    """Half structured (one field edit through the schema), half byte-level."""
    if rng.random() < 0.5:
        try:
            return structured(data, rng)
        except (ValueError, IndexError):  # the seed has nothing this mutator edits (rng.choice([])): bytes
            pass
    return byte_level(data, rng)


# -- the check --------------------------------------------------------------------------------------------
@dataclass
class Result:
    outcome: str
    detail: str = ""


@dataclass
class Counts:
    files: int = 0
    by: dict = field(default_factory=dict)
    signatures: dict = field(default_factory=dict)  # traceback/mismatch/hang signature -> example

    def add(self, r: Result, kind: str) -> None:
        self.files += 1
        self.by[r.outcome] = self.by.get(r.outcome, 0) + 1
        if r.outcome not in ("built", "refused"):
            self.signatures.setdefault(f"{r.outcome}: {r.detail[:200]}", kind)

    def get(self, name: str) -> int:
        return self.by.get(name, 0)


class _Timeout(BaseException):
    pass


def _signature(e: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(e.__traceback__) if "/tinygen/" in f.filename]
    where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"
    return f"{type(e).__name__} at {where}: {str(e)[:120]}"


def check(data: bytes, workdir: Path | None = None, seconds: int = 60, samples: int = 3) -> Result:
    from tinygen.cli import main

    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(dir=workdir)))
        model = tmp / "fuzz.tflite"
        model.write_bytes(data)
        err, out = io.StringIO(), io.StringIO()

        def alarm(*_):
            raise _Timeout()

        old = signal.signal(signal.SIGALRM, alarm)
        signal.alarm(seconds)
        try:
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
                rc = main(["build", str(model), "--board", "host", "-o", str(tmp / "out")])
                if rc == 0:
                    return _compare(tmp / "out", samples)
        except _Timeout:
            return Result("hang", f"over {seconds} s")
        except SystemExit as e:
            rc = e.code
        except BaseException as e:  # noqa: BLE001 - every exception out of the CLI is a finding
            return Result("traceback", _signature(e))
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, old)
        lines = [ln for ln in err.getvalue().splitlines() if ln.startswith("tinygen: error:")]
        if rc != 1 or len(lines) != 1 or "Traceback" in err.getvalue():
            return Result("traceback", f"exit {rc}, {len(lines)} error lines: {err.getvalue()[-200:]!r}")
        if INTERNAL_ERROR in lines[0]:
            return Result("internal", lines[0])
        if len(lines[0]) > LONG_LINE:
            return Result("long", lines[0])
        return Result("refused", lines[0])


def _compare(out_dir: Path, samples: int) -> Result:
    import tinygen

    program = tinygen.load(out_dir)
    rng = np.random.default_rng(0)
    xs = []
    for spec in program.inputs:
        info = np.iinfo(spec.dtype) if np.dtype(spec.dtype).kind in "iu" else None
        if info is None:
            xs.append(rng.normal(size=(samples, *spec.shape[1:])).astype(spec.dtype))
        else:
            xs.append(rng.integers(info.min, info.max + 1, (samples, *spec.shape[1:])).astype(spec.dtype))
    x = xs[0] if len(xs) == 1 else xs
    got, want = program.run_host(x), program.reference(x)
    got = got if isinstance(got, (list, tuple)) else [got]
    want = want if isinstance(want, (list, tuple)) else [want]
    if len(got) == len(want) and all(np.array_equal(g, w) for g, w in zip(got, want)):
        return Result("built")
    return Result("mismatch", f"C differs from the reference in {out_dir.name}")

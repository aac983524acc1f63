"""The state shared by the TFLite operator handlers (`TflImport`), their registration tables, and
the geometry and activation rules every handler uses.

A full-integer TFLite model already is what tinygen's lowered dialect describes: int8 NHWC tensors
with affine quantization and integer kernels. The importer therefore skips the float passes and
writes lowered nodes directly, computing every integer parameter the way TFLM's kernels do at
Prepare time (in double precision from the float32 scales stored in the file, with TFLM's
QuantizeMultiplier). Per-op details live in the handler modules, which import only this module
(and the op, quant and reference modules they build on):

* `builtin`       builtin int8 ops (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD, MUL, pools,
                  MEAN, RESHAPE, SOFTMAX, LOGISTIC, HARD_SWISH, CONCATENATION, PAD, QUANTIZE, ...)
* `lce`           Larq Compute Engine's custom ops and the float32 ops of LCE models

Graph edges: a float32 input whose only reader is a QUANTIZE to int8, and a float32 output written
by a DEQUANTIZE from int8, are stripped; the program then takes and returns int8 with the
quantization parameters of the file (`Program.inputs[i].scale` / `.zero_point`).

Everything a user can get wrong (not a flatbuffer, truncated, a float model, an op or op version
tinygen does not know, a custom op other than LCE's) raises one TinygenError naming the operator
and its index.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import numpy as np

from tinygen.errors import QuantizationError, TinygenError, UnsupportedOpError
from tinygen.importers.tflite.reader import TflModel, TflOp, TflTensor, clip, schema, shape_text
from tinygen.ir.graph import DType, Graph, Node, QuantParams, Tensor
from tinygen.ir.verify import verify
from tinygen.quant.activation_range import TFLITE_FUSED

HOW_TO_QUANTIZE = (
    "quantize it fully to int8 (TFLiteConverter with a representative_dataset, TFLITE_BUILTINS_INT8 ops and "
    "int8 I/O) or build the Keras model with --calibration")


@dataclass(frozen=True)
class Handler:
    fn: Callable[["TflImport", TflOp], None]
    max_version: int


# builtin code -> handler, chosen by the dtype of the op's first activation input
INT_HANDLERS: dict[int, Handler] = {}
FLOAT_HANDLERS: dict[int, Handler] = {}  # float32 ops, accepted only in Larq (LCE) models
# custom op name -> handler
CUSTOM_HANDLERS: dict[str, Handler] = {}


def handles(*ops: str, max_version: int, table: dict | None = None):
    """Register a handler for builtin ops named as in the schema (CONV_2D, ...)."""
    codes = schema().BuiltinOperator

    def deco(fn):
        for name in ops:
            (INT_HANDLERS if table is None else table)[getattr(codes, name)] = Handler(fn, max_version)
        return fn
    return deco


def handles_custom(*names: str, max_version: int = 1):
    def deco(fn):
        for name in names:
            CUSTOM_HANDLERS[name] = Handler(fn, max_version)
        return fn
    return deco


@dataclass(frozen=True)
class OpSpec:
    """What an operator record must hold before any handler reads it (checked for every operator
    up front, so handlers may index inputs, outputs and options freely)."""
    inputs: tuple[int, int]  # (min, max) count; max -1 = any
    outputs: int = 1  # -1: one or more (SPLIT, UNPACK)
    options: str | None = None  # BuiltinOptions member the op's options must be
    options_required: bool = False  # the handler reads options that have no neutral default
    ranks: tuple[tuple[int, int], ...] = ()  # (input position, rank) for inputs that must have that rank
    out_rank: int | None = None
    positive: tuple[str, ...] = ()  # option fields that must be in [1, MAX_GEOMETRY] (strides, window sizes)
    required: int = 1  # leading inputs that must not be left out (-1)


# strides, windows and dilations beyond this come from a corrupt file, and would make the padding
# arithmetic allocate absurd buffers (no microcontroller image is 65536 pixels wide)
MAX_GEOMETRY = 1 << 16
_CONV = dict(options_required=True, ranks=((0, 4), (1, 4), (2, 1)), out_rank=4,
             positive=("strideH", "strideW", "dilationHFactor", "dilationWFactor"), required=2)
_POOL = dict(options="Pool2DOptions", options_required=True, ranks=((0, 4),), out_rank=4,
             positive=("strideH", "strideW", "filterHeight", "filterWidth"))
OP_SPECS: dict[str, OpSpec] = {
    "CONV_2D": OpSpec((2, 3), options="Conv2DOptions", **_CONV),
    "DEPTHWISE_CONV_2D": OpSpec((2, 3), options="DepthwiseConv2DOptions", **_CONV),
    "FULLY_CONNECTED": OpSpec((2, 4), options="FullyConnectedOptions", ranks=((1, 2), (2, 1)), required=2),
    "ADD": OpSpec((2, 2), options="AddOptions", required=2),
    "SUB": OpSpec((2, 2), options="SubOptions", required=2),
    "MUL": OpSpec((2, 2), options="MulOptions", required=2),
    "AVERAGE_POOL_2D": OpSpec((1, 1), **_POOL),
    "MAX_POOL_2D": OpSpec((1, 1), **_POOL),
    "MEAN": OpSpec((2, 2), options="ReducerOptions", required=2),
    "RESHAPE": OpSpec((1, 2)),
    "SQUEEZE": OpSpec((1, 1)),
    "EXPAND_DIMS": OpSpec((1, 2)),
    "SOFTMAX": OpSpec((1, 1), options="SoftmaxOptions"),
    "LOGISTIC": OpSpec((1, 1)),
    "HARD_SWISH": OpSpec((1, 1)),
    "QUANTIZE": OpSpec((1, 1)),
    "DEQUANTIZE": OpSpec((1, 1)),
    "CONCATENATION": OpSpec((1, -1), options="ConcatenationOptions", options_required=True),
    "PAD": OpSpec((2, 2), required=2),
    "PADV2": OpSpec((2, 3), required=2),
    "RELU": OpSpec((1, 1)),
    "RELU6": OpSpec((1, 1)),
    "RELU_N1_TO_1": OpSpec((1, 1)),
    "TANH": OpSpec((1, 1)),
    "LEAKY_RELU": OpSpec((1, 1), options="LeakyReluOptions"),
    "PRELU": OpSpec((2, 2), required=2),
    "MAXIMUM": OpSpec((2, 2), required=2),
    "MINIMUM": OpSpec((2, 2), required=2),
    "STRIDED_SLICE": OpSpec((4, 4), options="StridedSliceOptions", options_required=True, required=4),
    "SPLIT": OpSpec((2, 2), outputs=-1, options="SplitOptions", required=2),
    "SPLIT_V": OpSpec((3, 3), outputs=-1, options="SplitVOptions", required=3),
    "PACK": OpSpec((1, -1), options="PackOptions", options_required=True),
    "UNPACK": OpSpec((1, 1), outputs=-1, options="UnpackOptions", options_required=True),
    "TRANSPOSE": OpSpec((2, 2), required=2),
    "DEPTH_TO_SPACE": OpSpec((1, 1), options="DepthToSpaceOptions", options_required=True, ranks=((0, 4),),
                             out_rank=4),
    "SPACE_TO_DEPTH": OpSpec((1, 1), options="SpaceToDepthOptions", options_required=True, ranks=((0, 4),),
                             out_rank=4),
    "RESIZE_NEAREST_NEIGHBOR": OpSpec((2, 2), options="ResizeNearestNeighborOptions", ranks=((0, 4),), out_rank=4,
                                      required=2),
    "RESIZE_BILINEAR": OpSpec((2, 2), options="ResizeBilinearOptions", ranks=((0, 4),), out_rank=4, required=2),
    "BATCH_MATMUL": OpSpec((2, 2), options="BatchMatMulOptions", required=2),
    "LceQuantize": OpSpec((1, 1)),
    "LceDequantize": OpSpec((1, 1)),
    "LceBMaxPool2d": OpSpec((1, 1), ranks=((0, 4),), out_rank=4),
    "LceBconv2d": OpSpec((2, 5), ranks=((0, 4), (1, 4)), out_rank=4, required=2),
}


# ActivationFunctionType codes without a tinygen equivalent
_UNFUSABLE = {4: "TANH", 5: "SIGN_BIT"}


def fused_activation(ctx: "TflImport", code: int) -> str:
    """The activation name (tinygen.quant.activation_range) of a TFLite fused_activation_function."""
    if code not in TFLITE_FUSED:
        raise ctx.error(f"fused activation {_UNFUSABLE.get(code, code)} is not supported")
    return TFLITE_FUSED[code]


_MAX_EXTRA_PAD = 32


def same_padding(size: int, k: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TFLite SAME padding (before, after): the odd pixel goes after."""
    out = (size + stride - 1) // stride
    total = max((out - 1) * stride + (k - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def spatial_padding(ctx: "TflImport", padding: int, in_shape, k, stride, dilation=(1, 1)) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of TFLite's Padding enum: SAME 0, VALID 1."""
    if padding == 1:  # VALID
        return (0, 0, 0, 0)
    if padding != 0:
        raise ctx.error(f"unknown padding type {padding}")
    t, b = same_padding(in_shape[1], k[0], stride[0], dilation[0])
    l, r = same_padding(in_shape[2], k[1], stride[1], dilation[1])
    for size, total in ((in_shape[1], t + b), (in_shape[2], l + r)):
        # a window this much larger than the image reads almost only padding: a corrupt kernel size or
        # dilation (and the padded copy would be enormous)
        if total > size + _MAX_EXTRA_PAD:
            raise ctx.malformed(f"SAME padding of {total} pixels on a {size}-pixel input (kernel {list(k)}, "
                                f"dilation {list(dilation)})")
    return (t, b, l, r)


def _short(name: str) -> str:
    """A readable tensor name: the first of TFLite's ';'-joined names, without the model prefix."""
    first = name.split(";")[0]
    first = re.sub(r"^(model|functional|sequential|StatefulPartitionedCall)[^/]*/", "", first)
    first = re.sub(r"^serving_default_", "", first)
    return re.sub(r"[^0-9A-Za-z_/.]", "_", first)[-60:] or "t"


class TflImport:
    """State shared by the handlers while one model is imported."""

    def __init__(self, model: TflModel, name: str):
        self.m = model
        self.source = model.source
        self.g = Graph(re.sub(r"[^0-9A-Za-z_]", "_", name) or "model", dialect="lowered")
        self.names: dict[int, str] = {}  # TFLite tensor index -> graph tensor name
        self.op: TflOp | None = None
        self.skip: set[int] = set()  # operator indices already accounted for (edges, folds)
        self.pending_pad: dict[int, tuple[str, tuple[int, int, int, int]]] = {}  # folded PAD outputs
        self.lce = any(op.builtin is None and op.name.startswith("Lce") for op in model.ops)
        self.codes = schema().BuiltinOperator

    # -- errors ---------------------------------------------------------------------------------
    def where(self, op: TflOp | None = None) -> str:
        op = op or self.op
        return f"{self.source}: operator {op.index} ({op.name} v{op.version})"

    def error(self, msg: str, cls: type[TinygenError] = UnsupportedOpError) -> TinygenError:
        return cls(clip(f"{self.where()}: {msg}", 400))

    def malformed(self, msg: str) -> TinygenError:
        """The operator record itself is corrupt (not merely unsupported)."""
        return self.error(f"{msg}; the file is corrupt or was not written by the TFLite converter", TinygenError)

    # -- TFLite tensors -------------------------------------------------------------------------
    def t(self, idx: int) -> TflTensor:
        if idx < 0:  # -1 marks an optional input left out; a handler asking for it needs it
            raise self.malformed("a required input is left out (tensor index -1)")
        return self.m.tensors[idx]

    def input(self, pos: int) -> int:
        """Tensor index of the current operator's input at pos; -1 when the file leaves it out."""
        return self.op.inputs[pos] if pos < len(self.op.inputs) else -1

    def qp(self, idx: int) -> tuple[float, int]:
        """Per-tensor (scale, zero point) of an activation, scale as the float32 of the file."""
        t = self.t(idx)
        if not t.quantized:
            raise self.error(f"tensor '{t.label}' ({t.type_name}) is not quantized; " + HOW_TO_QUANTIZE,
                             QuantizationError)
        if len(t.scale) != 1:
            raise self.error(f"activation '{t.label}' is quantized per channel; TFLite Micro expects per-tensor "
                             "activations", QuantizationError)
        return float(t.scale[0]), int(t.zero_point[0])

    def quant(self, idx: int) -> QuantParams:
        s, zp = self.qp(idx)
        return QuantParams.per_tensor(s, zp)

    def const_data(self, idx: int, what: str) -> np.ndarray:
        if idx < 0 or not self.t(idx).is_const:
            raise self.error(f"{what} must be a constant tensor stored in the file")
        t = self.t(idx)
        if t.dtype is None:
            raise self.error(f"{what} '{t.label}' has type {t.type_name}, which tinygen does not read")
        return t.data

    def mean_axes(self, op) -> tuple[tuple[int, ...], list[int], bool]:
        """MEAN's input shape, its reduced axes (sorted, contiguous, never the batch) and keepDims."""
        shape = self.t(op.inputs[0]).shape
        rank = len(shape)
        if rank == 0:
            raise self.malformed("the input is a scalar")
        axes = sorted({int(a) % rank for a in self.const_data(op.inputs[1], "axis").reshape(-1)})
        if not axes or axes[0] == 0 or axes != list(range(axes[0], axes[-1] + 1)):
            raise self.error(f"mean over axes {axes} of {list(shape)}: tinygen reduces contiguous non-batch axes")
        return shape, axes, bool(op.options.keepDims) if op.options is not None else False

    def require(self, idx: int, type_name: str, what: str) -> TflTensor:
        t = self.t(idx)
        if t.type_name != type_name:
            extra = "; " + HOW_TO_QUANTIZE if t.type_name == "float32" and type_name == "int8" else ""
            raise self.error(f"{what} '{t.label}' is {t.type_name}, tinygen needs {type_name}{extra}",
                             QuantizationError if extra else UnsupportedOpError)
        return t

    def same_grid(self, a: int, b: int, what: str) -> None:
        if self.qp(a) != self.qp(b):
            raise self.error(f"{what}: input {self.qp(a)} and output {self.qp(b)} quantization differ (TFLite Micro "
                             "requires them equal here)", QuantizationError)

    # -- graph tensors --------------------------------------------------------------------------
    def act(self, idx: int) -> str:
        """Graph name of an activation (or constant) input."""
        if idx in self.names:
            return self.names[idx]
        t = self.t(idx)
        if t.is_const:
            return self.const_tensor(idx)
        raise self.error(f"reads tensor '{t.label}' that no earlier operator writes")

    def const_tensor(self, idx: int) -> str:
        t = self.t(idx)
        if t.dtype is None:
            raise self.error(f"constant '{t.label}' has type {t.type_name}")
        q = QuantParams.per_tensor(*self.qp(idx)) if t.quantized and len(t.scale) == 1 else None
        name = self.g.add_const(_short(t.name), np.ascontiguousarray(t.data), q).name
        self.names[idx] = name
        return name

    def out(self, idx: int, dtype: DType | None = None, shape=None, quant: QuantParams | None = None) -> str:
        """Create the graph tensor for TFLite output tensor idx."""
        t = self.t(idx)
        dtype = dtype or DType(t.type_name)
        if quant is None and dtype == DType.INT8:
            quant = self.quant(idx)
        shape = tuple(shape if shape is not None else t.shape)
        self.check_batch(shape, t.name)
        name = self.g.add_tensor(Tensor(self.g.unique_name(_short(t.name)), shape, dtype, quant)).name
        self.names[idx] = name
        return name

    def tmp(self, base: str, shape, dtype: DType, quant: QuantParams | None = None) -> str:
        return self.g.add_tensor(Tensor(self.g.unique_name(base), tuple(shape), dtype, quant)).name

    def const(self, base: str, data: np.ndarray, quant: QuantParams | None = None) -> str:
        return self.g.add_const(base, data, quant).name

    def check_batch(self, shape, name: str) -> None:
        if len(shape) < 2 or shape[0] != 1:
            raise self.error(f"tensor '{name}' has shape {list(shape)}; tinygen needs a leading batch "
                             "dimension of 1 and rank 2..4")

    def emit(self, op: str, inputs: list[str], outputs: list[str], attrs, suffix: str = "") -> None:
        o = self.op
        name = self.g.unique_name(f"op{o.index}_{o.name.lower()}{suffix}", "node")
        self.g.add_node(Node(name, op, list(inputs), list(outputs), attrs, source=f"operator {o.index} {o.name}"))

    def consumers(self, idx: int) -> list[TflOp]:
        return [self.m.ops[i] for i in self.m.consumers.get(idx, [])]

    # -- the import -----------------------------------------------------------------------------
    def run(self) -> Graph:
        self._custom_ops_known()
        for op in self.m.ops:
            self.op = op
            self._check_structure(op)
        self.op = None
        self._inputs()
        outputs = self._outputs()
        for op in self.m.ops:
            if op.index in self.skip:
                continue
            self.op = op
            handler = self._handler(op)
            if op.version > handler.max_version:
                raise self.error(f"version {op.version} is newer than tinygen knows (up to {handler.max_version}); "
                                 "convert with a TensorFlow version that emits it, or report the model")
            handler.fn(self, op)
        for idx in outputs:
            if idx not in self.names:
                raise TinygenError(f"{self.source}: output '{self.t(idx).label}' is never written")
            name = self.names[idx]
            if name in self.g.inputs or name in self.g.outputs:
                raise TinygenError(f"{self.source}: output '{self.t(idx).label}' is also an input or another output")
            self.g.outputs.append(name)
        self.g.prune()
        try:
            verify(self.g)
        except ValueError as e:  # shapes in the file that contradict each other (or an importer bug)
            raise TinygenError(clip(f"{self.source}: the imported graph is inconsistent: {e}; the file's tensor "
                                    "shapes disagree with its operators", 400)) from e
        return self.g

    def _check_structure(self, op: TflOp) -> None:
        """Counts, left-out inputs, ranks and option types of one operator, against OP_SPECS."""
        spec = OP_SPECS.get(op.name)
        if spec is None:
            return  # refused by name when its turn comes
        lo, hi = spec.inputs
        if len(op.inputs) < lo or (hi >= 0 and len(op.inputs) > hi):
            want = f"{lo}" if lo == hi else f"{lo}..{hi}" if hi >= 0 else f"at least {lo}"
            raise self.malformed(f"has {len(op.inputs)} inputs, {op.name} takes {want}")
        if (len(op.outputs) != spec.outputs) if spec.outputs >= 0 else not op.outputs:
            raise self.malformed(f"has {len(op.outputs)} outputs, {op.name} writes "
                                 f"{spec.outputs if spec.outputs >= 0 else 'at least 1'}")
        if spec.outputs < 0 and any(i < 0 for i in op.outputs):
            raise self.malformed("an output is left out (tensor index -1)")
        for pos in range(min(spec.required, len(op.inputs))):
            if op.inputs[pos] < 0:
                raise self.malformed(f"input {pos} is left out (tensor index -1)")
        if op.name in ("CONCATENATION", "PACK") and any(i < 0 for i in op.inputs):
            raise self.malformed("an input is left out (tensor index -1)")
        for pos, rank in spec.ranks:
            if pos < len(op.inputs) and op.inputs[pos] >= 0 and len(self.t(op.inputs[pos]).shape) != rank:
                t = self.t(op.inputs[pos])
                raise self.malformed(f"input {pos} '{t.label}' has shape {shape_text(t.shape)}, {op.name} needs "
                                     f"rank {rank}")
        if spec.out_rank is not None and len(self.t(op.outputs[0]).shape) != spec.out_rank:
            t = self.t(op.outputs[0])
            raise self.malformed(f"output '{t.label}' has shape {shape_text(t.shape)}, {op.name} writes rank "
                                 f"{spec.out_rank}")
        if spec.options is None:
            return
        cls = getattr(schema(), spec.options + "T")
        if op.options is None:
            if spec.options_required:
                raise self.malformed(f"has no builtin options; {op.name} needs {spec.options}")
            return
        if not isinstance(op.options, cls):
            got = type(op.options).__name__.removesuffix("T")
            raise self.malformed(f"has builtin options of type {got}; {op.name} needs {spec.options}")
        for field in spec.positive:
            v = int(getattr(op.options, field))
            if field.startswith("dilation") and v == 0:
                continue  # written as 0 by old converters; means 1 (the handlers read max(v, 1))
            if not 1 <= v <= MAX_GEOMETRY:
                raise self.malformed(f"option {field} is {v}; it must be in [1, {MAX_GEOMETRY}]")

    def _handler(self, op: TflOp) -> Handler:
        if op.builtin is None:
            return CUSTOM_HANDLERS[op.name]  # checked by _custom_ops_known
        acts = [self.t(i) for i in op.inputs if i >= 0 and not self.t(i).is_const]
        floating = bool(acts) and acts[0].type_name == "float32"
        table = FLOAT_HANDLERS if floating else INT_HANDLERS
        h = table.get(op.builtin)
        if h is not None and (not floating or self.lce):
            return h
        if floating and self.lce:
            known = sorted(self._name(c) for c in FLOAT_HANDLERS)
            raise self.error(f"float32 {op.name} is not supported in Larq models; tinygen runs these float ops "
                             f"there: {', '.join(known)}")
        if floating:
            raise self.error("computes in float32: not a full-integer model; " + HOW_TO_QUANTIZE,
                             QuantizationError)
        raise self.error("is not supported; `tinygen build --list-ops` lists the TFLite ops tinygen imports (the "
                         "README lists those it refuses); replace the layer or report the model")

    def _name(self, code: int) -> str:
        return next(k for k, v in vars(self.codes).items() if v == code and not k.startswith("_"))

    def _custom_ops_known(self) -> None:
        for op in self.m.ops:
            if op.builtin is None and op.name not in CUSTOM_HANDLERS:
                raise UnsupportedOpError(
                    f"{self.where(op)}: custom op '{op.name}' is not supported; tinygen understands the builtin "
                    f"ops and Larq Compute Engine's custom ops ({', '.join(sorted(CUSTOM_HANDLERS))})")

    def _inputs(self) -> None:
        for idx in self.m.inputs:
            t = self.t(idx)
            readers = self.consumers(idx)
            quantizers = [op for op in readers if op.builtin == self.codes.QUANTIZE
                          and self.t(op.outputs[0]).type_name == "int8"]
            if t.type_name == "float32" and readers and len(quantizers) == len(readers) == 1:
                q = quantizers[0]  # float input -> QUANTIZE: the program takes the int8 tensor
                self.op = q
                name = self.out(q.outputs[0])
                self.g.inputs.append(name)
                self.skip.add(q.index)
                continue
            self.op = readers[0] if readers else None
            if t.type_name == "int8":
                self.check_batch(t.shape, t.name)
                name = self.g.add_tensor(Tensor(self.g.unique_name(_short(t.name)), tuple(t.shape), DType.INT8,
                                                self.quant(idx))).name
            elif t.type_name == "float32" and self.lce:
                self.check_batch(t.shape, t.name)
                name = self.g.add_tensor(Tensor(self.g.unique_name(_short(t.name)), tuple(t.shape),
                                                DType.FLOAT32)).name
            elif t.type_name == "int32" and self.lce:  # a bit-packed input of a Larq model
                self.check_batch(t.shape, t.name)
                name = self.g.add_tensor(Tensor(self.g.unique_name(_short(t.name)), tuple(t.shape),
                                                DType.UINT32)).name
            elif t.type_name == "float32":
                raise QuantizationError(f"{self.source}: input '{t.label}' is float32 and feeds float ops: the model "
                                        "is not a full-integer model. " + HOW_TO_QUANTIZE)
            else:
                raise UnsupportedOpError(f"{self.source}: input '{t.label}' is {t.type_name}; tinygen takes int8 "
                                         "(or float32 in Larq models)")
            self.names[idx] = name
            self.g.inputs.append(name)

    def _outputs(self) -> list[int]:
        result = []
        for idx in self.m.outputs:
            t = self.t(idx)
            p = self.m.producer(idx)
            if (t.type_name == "float32" and p is not None and p.builtin == self.codes.DEQUANTIZE
                    and self.t(p.inputs[0]).type_name == "int8" and len(self.consumers(idx)) == 0):
                self.skip.add(p.index)  # int8 -> DEQUANTIZE -> float output: return the int8 tensor
                result.append(p.inputs[0])
                continue
            result.append(idx)
        return result

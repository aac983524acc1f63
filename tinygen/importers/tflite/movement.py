"""Builtin int8 TFLite ops that move values without changing them, lowered onto tinygen's slice,
concat, reshape, transpose and resize ops (exact: TFLite Micro copies the codes too, and requires
input and output on one quantization grid, checked here):

* STRIDED_SLICE (masks resolved offline, any non-zero strides), SPLIT, SPLIT_V, UNPACK -> slice
  (+ reshape where an axis is dropped);
* PACK -> reshape of each input (the new axis of size 1) + concat;
* TRANSPOSE, DEPTH_TO_SPACE, SPACE_TO_DEPTH -> transpose (the latter two view [1, H, W, C] at rank 6);
* RESIZE_NEAREST_NEIGHBOR, RESIZE_BILINEAR -> resize_nearest / resize_bilinear with TFLM's source
  tables (tinygen/reference/tflm.py), both align_corners and half_pixel_centers settings.
"""

from __future__ import annotations

import numpy as np

from tinygen.importers.tflite.context import TflImport, TflOp, handles
from tinygen.importers.tflite.reader import shape_text
from tinygen.ir.graph import DType
from tinygen.ops.concat import concat_params
from tinygen.ops.reshape import ReshapeAttrs
from tinygen.ops.resize_bilinear import ResizeBilinearAttrs
from tinygen.ops.resize_nearest import ResizeNearestAttrs
from tinygen.ops.slice import SliceAttrs
from tinygen.ops.transpose import MAX_RANK, TransposeAttrs
from tinygen.reference import tflm


def _int8_io(ctx: TflImport, x_idx: int, out_indices) -> str:
    ctx.require(x_idx, "int8", "input")
    for o in out_indices:
        ctx.require(o, "int8", "output")
        ctx.same_grid(x_idx, o, ctx.op.name.lower())
    return ctx.act(x_idx)


def _ints(ctx: TflImport, idx: int, what: str) -> list[int]:
    t = ctx.t(idx)
    if t.type_name not in ("int32", "int64"):
        raise ctx.error(f"{what} '{t.label}' is {t.type_name}; TFLite writes int32")
    return [int(v) for v in ctx.const_data(idx, what).reshape(-1)]


def _axis(ctx: TflImport, axis: int, rank: int, what: str = "axis") -> int:
    if not -rank <= axis < rank:
        raise ctx.malformed(f"{what} {axis} is outside a rank-{rank} tensor")
    axis %= rank
    if axis == 0:
        raise ctx.error(f"{ctx.op.name} along the batch axis is not supported (tinygen keeps a batch of 1)")
    return axis


def _slice_to(ctx: TflImport, x: str, begin, size, step, out_idx: int) -> None:
    """slice x, then reshape to the TFLite output's shape when that drops (or adds) unit axes."""
    attrs = SliceAttrs(tuple(begin), tuple(size), tuple(step))
    out_shape = tuple(ctx.t(out_idx).shape)
    if out_shape == tuple(size):
        ctx.emit("slice", [x], [ctx.out(out_idx)], attrs)
        return
    if int(np.prod(size)) != int(np.prod(out_shape)):
        raise ctx.malformed(f"output {shape_text(out_shape)} does not hold the {list(size)} slice")
    xt = ctx.g.t(x)
    tmp = ctx.tmp(xt.name + "_slice", size, DType.INT8, xt.quant)
    ctx.emit("slice", [x], [tmp], attrs)
    ctx.emit("reshape", [tmp], [ctx.out(out_idx)], ReshapeAttrs(out_shape), suffix="_squeeze")


@handles("STRIDED_SLICE", max_version=8)
def strided_slice(ctx: TflImport, op: TflOp) -> None:
    o = op.options
    x = _int8_io(ctx, op.inputs[0], op.outputs)
    shape = ctx.t(op.inputs[0]).shape
    rank = len(shape)
    if o.ellipsisMask or o.newAxisMask:
        raise ctx.error("ellipsis_mask and new_axis_mask are not supported (TFLite Micro refuses them too); "
                        "index without ... and tf.newaxis")
    if o.offset:
        raise ctx.error("offset=True (end read as begin + end) is not supported")
    begin, end, strides = (_ints(ctx, op.inputs[i], w) for i, w in ((1, "begin"), (2, "end"), (3, "strides")))
    if not len(begin) == len(end) == len(strides) == rank:
        raise ctx.malformed(f"begin/end/strides have {len(begin)}/{len(end)}/{len(strides)} entries for rank {rank}")
    starts, sizes, steps = [], [], []
    for d in range(rank):
        n, s = shape[d], strides[d]
        if o.shrinkAxisMask >> d & 1:
            if s < 1:  # TFLM's loop from begin to begin + 1 runs no step with a negative stride
                raise ctx.error(f"shrunk axis {d} has stride {s}; TFLite Micro needs a positive stride there")
            i = 0 if o.beginMask >> d & 1 else begin[d] + n if begin[d] < 0 else begin[d]
            if not 0 <= i < n:
                raise ctx.malformed(f"shrunk axis {d} index {begin[d]} is outside its {n} entries")
            starts.append(i), sizes.append(1), steps.append(1)
            continue
        if s == 0:
            raise ctx.malformed(f"stride 0 on axis {d}")
        # TFLite's begin/end masks and clamping are Python's slice rules
        r = range(n)[slice(None if o.beginMask >> d & 1 else begin[d], None if o.endMask >> d & 1 else end[d], s)]
        if len(r) == 0:
            raise ctx.error(f"axis {d} selects no elements (an empty tensor)")
        starts.append(r.start), sizes.append(len(r)), steps.append(s if len(r) > 1 else 1)
    if starts[0] != 0 or sizes[0] != shape[0]:
        raise ctx.error("slicing the batch axis is not supported (tinygen keeps a batch of 1)")
    _slice_to(ctx, x, starts, sizes, steps, op.outputs[0])


def _split_along(ctx: TflImport, x_idx: int, axis: int, sizes: list[int]) -> None:
    x = _int8_io(ctx, x_idx, ctx.op.outputs)
    shape = list(ctx.t(x_idx).shape)
    if len(sizes) != len(ctx.op.outputs) or sum(sizes) != shape[axis] or min(sizes) < 1:
        raise ctx.malformed(f"splits {sizes} do not divide axis {axis} of {shape_text(shape)} into "
                            f"{len(ctx.op.outputs)} outputs")
    start = 0
    for n, out_idx in zip(sizes, ctx.op.outputs):
        begin = [0] * len(shape)
        size = list(shape)
        begin[axis], size[axis] = start, n
        _slice_to(ctx, x, begin, size, [1] * len(shape), out_idx)
        start += n


@handles("SPLIT", max_version=4)
def split(ctx: TflImport, op: TflOp) -> None:
    rank = len(ctx.t(op.inputs[1]).shape)
    axes = _ints(ctx, op.inputs[0], "axis")
    if len(axes) != 1:
        raise ctx.malformed(f"axis holds {len(axes)} values")
    axis = _axis(ctx, axes[0], rank)
    n, count = ctx.t(op.inputs[1]).shape[axis], len(op.outputs)
    if n % count:
        raise ctx.malformed(f"axis {axis} of size {n} does not split into {count} equal parts")
    _split_along(ctx, op.inputs[1], axis, [n // count] * count)


@handles("SPLIT_V", max_version=3)
def split_v(ctx: TflImport, op: TflOp) -> None:
    shape = ctx.t(op.inputs[0]).shape
    axes = _ints(ctx, op.inputs[2], "axis")
    if len(axes) != 1:
        raise ctx.malformed(f"axis holds {len(axes)} values")
    axis = _axis(ctx, axes[0], len(shape))
    sizes = _ints(ctx, op.inputs[1], "size_splits")
    if sizes.count(-1) == 1:  # one size left to be inferred
        sizes[sizes.index(-1)] = shape[axis] - (sum(sizes) + 1)
    _split_along(ctx, op.inputs[0], axis, sizes)


@handles("UNPACK", max_version=4)
def unpack(ctx: TflImport, op: TflOp) -> None:
    shape = ctx.t(op.inputs[0]).shape
    axis = _axis(ctx, int(op.options.axis), len(shape))
    if shape[axis] != len(op.outputs):
        raise ctx.malformed(f"unpacks axis {axis} of size {shape[axis]} into {len(op.outputs)} outputs")
    _split_along(ctx, op.inputs[0], axis, [1] * shape[axis])


@handles("PACK", max_version=3)
def pack(ctx: TflImport, op: TflOp) -> None:
    out_idx = op.outputs[0]
    out_shape = tuple(ctx.t(out_idx).shape)
    axis = _axis(ctx, int(op.options.axis), len(out_shape))
    ctx.require(out_idx, "int8", "output")
    parts = []
    for i in op.inputs:
        ctx.require(i, "int8", "input")
        ctx.same_grid(i, out_idx, "pack")
        t = ctx.t(i)
        expanded = tuple(t.shape[:axis]) + (1,) + tuple(t.shape[axis:])
        if len(t.shape) + 1 != len(out_shape) or expanded[:axis] + expanded[axis + 1:] != \
                out_shape[:axis] + out_shape[axis + 1:]:
            raise ctx.malformed(f"input '{t.label}' {shape_text(t.shape)} does not stack into {shape_text(out_shape)}")
        x = ctx.act(i)
        tmp = ctx.tmp(ctx.g.t(x).name + "_expand", expanded, DType.INT8, ctx.g.t(x).quant)
        ctx.emit("reshape", [x], [tmp], ReshapeAttrs(expanded), suffix="_expand")
        parts.append(tmp)
    if len(parts) != out_shape[axis]:
        raise ctx.malformed(f"stacks {len(parts)} inputs into an axis of {out_shape[axis]}")
    attrs = concat_params([ctx.qp(i) for i in op.inputs], ctx.qp(out_idx), axis)
    ctx.emit("concat", parts, [ctx.out(out_idx)], attrs)


def _transpose(ctx: TflImport, x: str, view, perm, out_idx: int) -> None:
    if len(view) > MAX_RANK:
        raise ctx.error(f"rank {len(view)} is beyond tinygen's transpose (rank <= {MAX_RANK})")
    ctx.emit("transpose", [x], [ctx.out(out_idx)], TransposeAttrs(tuple(int(v) for v in view), tuple(perm)))


@handles("TRANSPOSE", max_version=6)
def transpose(ctx: TflImport, op: TflOp) -> None:
    x = _int8_io(ctx, op.inputs[0], op.outputs)
    shape = ctx.t(op.inputs[0]).shape
    perm = _ints(ctx, op.inputs[1], "perm")
    perm = [p % len(shape) if -len(shape) <= p < len(shape) else p for p in perm]
    if sorted(perm) != list(range(len(shape))):
        raise ctx.malformed(f"perm {perm} is not a permutation of {len(shape)} axes")
    if perm[0] != 0:
        raise ctx.error(f"perm {perm} moves the batch axis; tinygen keeps a batch of 1 first")
    if tuple(shape[p] for p in perm) != tuple(ctx.t(op.outputs[0]).shape):
        raise ctx.malformed(f"output {shape_text(ctx.t(op.outputs[0]).shape)} is not {shape_text(shape)} permuted")
    _transpose(ctx, x, shape, perm, op.outputs[0])


def _block(ctx: TflImport, op: TflOp) -> int:
    b = int(op.options.blockSize)
    if not 1 <= b <= 1 << 8:
        raise ctx.malformed(f"block_size {b}")
    return b


@handles("DEPTH_TO_SPACE", max_version=2)
def depth_to_space(ctx: TflImport, op: TflOp) -> None:
    x = _int8_io(ctx, op.inputs[0], op.outputs)
    n, h, w, c = ctx.t(op.inputs[0]).shape
    b = _block(ctx, op)
    if c % (b * b) or tuple(ctx.t(op.outputs[0]).shape) != (n, h * b, w * b, c // (b * b)):
        raise ctx.malformed(f"block {b} does not map {shape_text((n, h, w, c))} to "
                            f"{shape_text(ctx.t(op.outputs[0]).shape)}")
    # in[h][w][(i * b + j) * C' + c] -> out[h * b + i][w * b + j][c]
    _transpose(ctx, x, (n, h, w, b, b, c // (b * b)), (0, 1, 3, 2, 4, 5), op.outputs[0])


@handles("SPACE_TO_DEPTH", max_version=2)
def space_to_depth(ctx: TflImport, op: TflOp) -> None:
    x = _int8_io(ctx, op.inputs[0], op.outputs)
    n, h, w, c = ctx.t(op.inputs[0]).shape
    b = _block(ctx, op)
    if h % b or w % b or tuple(ctx.t(op.outputs[0]).shape) != (n, h // b, w // b, c * b * b):
        raise ctx.malformed(f"block {b} does not map {shape_text((n, h, w, c))} to "
                            f"{shape_text(ctx.t(op.outputs[0]).shape)}")
    # in[h * b + i][w * b + j][c] -> out[h][w][(i * b + j) * C + c]
    _transpose(ctx, x, (n, h // b, b, w // b, b, c), (0, 1, 3, 2, 4, 5), op.outputs[0])


def _resize_geometry(ctx: TflImport, op: TflOp):
    x = _int8_io(ctx, op.inputs[0], op.outputs)
    _, h, w, _ = ctx.t(op.inputs[0]).shape
    size = _ints(ctx, op.inputs[1], "size")
    out = ctx.t(op.outputs[0]).shape
    if len(size) != 2 or tuple(size) != tuple(out[1:3]) or min(size) < 1:
        raise ctx.malformed(f"size {size} does not match the output {shape_text(out)}")
    align, half = (bool(op.options.alignCorners), bool(op.options.halfPixelCenters)) if op.options else (False, False)
    if align and half:
        raise ctx.malformed("align_corners and half_pixel_centers are both set (TFLite allows one)")
    return x, (h, w), size, align, half


@handles("RESIZE_NEAREST_NEIGHBOR", max_version=4)
def resize_nearest_neighbor(ctx: TflImport, op: TflOp) -> None:
    x, (h, w), (oh, ow), align, half = _resize_geometry(ctx, op)
    attrs = ResizeNearestAttrs(tuple(tflm.resize_nearest_index(h, oh, align, half)),
                               tuple(tflm.resize_nearest_index(w, ow, align, half)))
    ctx.emit("resize_nearest", [x], [ctx.out(op.outputs[0])], attrs)


@handles("RESIZE_BILINEAR", max_version=4)
def resize_bilinear(ctx: TflImport, op: TflOp) -> None:
    x, (h, w), (oh, ow), align, half = _resize_geometry(ctx, op)
    y0, y1, wy = tflm.resize_bilinear_taps(h, oh, align, half)
    x0, x1, wx = tflm.resize_bilinear_taps(w, ow, align, half)
    attrs = ResizeBilinearAttrs(tuple(y0), tuple(y1), tuple(wy), tuple(x0), tuple(x1), tuple(wx))
    ctx.emit("resize_bilinear", [x], [ctx.out(op.outputs[0])], attrs)

"""aten handlers of reductions over an axis: max-out, maximum, variance and softmax.

* max-out: `y.view(N, m, h, H, W).amax(2)` (or `.max(2).values`) of a grouped convolution's
  output becomes one `group_max` over consecutive channel groups of the 4-D map (the 5-D view is
  then unused and pruned); amax over the channel axis of a 4-D map or the last axis of a
  2-/3-D tensor is a `group_max` with one group. `torch.maximum` of two activations: `maximum`.
* `torch.var` / `torch.var_mean` (any correction): `variance` (+ `mean`).
* `softmax`: `softmax`; a preceding division (or multiplication) by a positive number (`scale`,
  see layers.py) is folded into its beta, so softmax(s / T) needs no quantizer between the two.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinygen.errors import UnsupportedOpError
from tinygen.importers.torch.context import arg, handles, target_name
from tinygen.ir import float_ops as F
from tinygen.ir import float_ops_extra as FX


@dataclass(frozen=True)
class _Refused:
    """A value the model may not use (e.g. the indices of a max)."""

    what: str

    def refuse(self) -> str:
        return self.what


def _dims(dims, rank: int) -> list[int]:
    if dims is None:
        return list(range(rank))
    if isinstance(dims, int):
        dims = [dims]
    return sorted(int(d) % rank for d in dims)


# -- max-out ---------------------------------------------------------------------------------------
def _out_shape(ctx, index: int | None = None) -> tuple[int, ...]:
    val = ctx.fx_node.meta["val"]
    return tuple(int(d) for d in (val[index] if index is not None else val).shape)


def _max_over(ctx, x, dims, keepdim: bool, out_shape: tuple[int, ...]) -> str:
    shape = ctx.shape(x)
    rank = len(shape)
    dims = _dims(dims, rank)
    name = ctx.act(x)
    if len(dims) != 1:
        raise ctx.error(f"max over dims {dims}: only one dim at a time is supported", UnsupportedOpError)
    d = dims[0]
    prod = ctx.graph.producer(name)
    if rank == 5 and d == 2 and prod is not None and prod.op == "reshape":
        src = prod.inputs[0]
        s4 = tuple(ctx.graph.t(src).shape)
        if len(s4) == 4 and s4[0] == shape[0] and s4[1] == shape[1] * shape[2] and s4[2:] == tuple(shape[3:]):
            if keepdim:
                raise ctx.error("max-out with keepdim=True leaves a 5-D tensor; use keepdim=False", UnsupportedOpError)
            return ctx.emit("group_max", [src], FX.GroupMax(1, shape[2]), shape=out_shape)
    if (rank == 4 and d == 1) or (rank in (2, 3) and d == rank - 1):
        return ctx.emit("group_max", [name], FX.GroupMax(d, shape[d]), shape=out_shape)
    raise ctx.error(
        f"max over dim {d} of a rank-{rank} tensor is not supported; supported: the channel dim of a 4-D map, the "
        "last dim of a 2-/3-D tensor, and max-out y.view(N, m, h, H, W).amax(2) of a 4-D map", UnsupportedOpError)


@handles("aten.amax.default")
def _amax(ctx, node, args, kw):
    return _max_over(ctx, args[0], arg(args, kw, 1, "dim", None), bool(arg(args, kw, 2, "keepdim", False)),
                     _out_shape(ctx))


@handles("aten.max.dim")
def _max_dim(ctx, node, args, kw):
    out = _max_over(ctx, args[0], arg(args, kw, 1, "dim"), bool(arg(args, kw, 2, "keepdim", False)),
                    _out_shape(ctx, 0))
    return [out, _Refused("the indices of a max are not supported; use the values only (or amax)")]


@handles("aten.maximum.default")
def _maximum(ctx, node, args, kw):
    a, b = args[:2]
    if ctx.is_const(a) or ctx.is_const(b):
        raise ctx.error("maximum with a constant is not supported; use clamp (or relu) for a lower bound",
                        UnsupportedOpError)
    return ctx.emit("maximum", [ctx.act(a), ctx.act(b)], F.Elementwise())


# -- variance --------------------------------------------------------------------------------------
def _correction(ctx, value) -> int:
    c = 1.0 if value is None else float(value)
    if c != int(c) or c < 0:
        raise ctx.error(f"variance correction {value} must be a non-negative integer", UnsupportedOpError)
    return int(c)


@handles("aten.var.correction", "aten.var.dim", "aten.var_mean.correction", "aten.var_mean.dim")
def _var(ctx, node, args, kw):
    target = target_name(node.target)
    rank = len(ctx.shape(args[0]))
    dims = _dims(arg(args, kw, 1, "dim", None), rank)
    if target.endswith(".dim"):  # (self, dim, unbiased=True, keepdim=False)
        corr = 1 if bool(arg(args, kw, 2, "unbiased", True)) else 0
        keep = bool(arg(args, kw, 3, "keepdim", False))
    else:  # (self, dim=None, *, correction=None, keepdim=False)
        corr = _correction(ctx, kw.get("correction", args[2] if len(args) > 2 else None))
        keep = bool(kw.get("keepdim", args[3] if len(args) > 3 else False))
    x = ctx.act(args[0])
    if "var_mean" not in target:
        return ctx.emit("variance", [x], FX.Variance(tuple(dims), keep, corr))
    var_shape, mean_shape = _out_shape(ctx, 0), _out_shape(ctx, 1)
    var = ctx.emit("variance", [x], FX.Variance(tuple(dims), keep, corr), shape=var_shape)
    mean = ctx.emit("mean", [x], F.Mean(tuple(dims), keep), shape=mean_shape)
    return [var, mean]


# -- softmax ----------------------------------------------------------------------------------------
@handles("aten.softmax.int", "aten._softmax.default")
def _softmax(ctx, node, args, kw):
    rank = len(ctx.shape(args[0]))
    axis = int(arg(args, kw, 1, "dim")) % rank
    name, beta = ctx.act(args[0]), 1.0
    prod = ctx.graph.producer(name)
    if prod is not None and prod.op == "scale":
        f = 1.0 / prod.attrs.factor if prod.attrs.divide else prod.attrs.factor
        if f > 0:
            name, beta = prod.inputs[0], f
    return ctx.emit("softmax", [name], FX.Softmax(axis, beta))

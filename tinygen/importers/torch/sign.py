"""Recognise sign in exported PyTorch graphs (handlers registered into context.HANDLERS).

A sign with a straight-through estimator written as a `torch.autograd.Function` (tinygen.nn's
`SignSTE`, and most BNN code) is inlined by `torch.export` into

    where(ge(x, 0), ones_like(x), neg(ones_like(x)))      (full_like after run_decompositions)

The pieces arrive one node at a time, so comparisons with 0 and fills of an activation's shape
become symbolic values here; `where` on them emits one float-dialect `sign` node (dtype uint32:
binary). Used anywhere else, a symbolic value is refused with an explanation. Also accepted:
where(x < 0, -1, 1), scalar or constant-tensor branches, and the custom op `tinygen::sign_ste`.
`torch.sign` is refused: it maps 0 to 0, which a binary tensor cannot hold.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinygen.errors import UnsupportedOpError
from tinygen.importers.torch.context import HANDLERS, arg, handles
from tinygen.ir import float_ops as F
from tinygen.ir.graph import DType

_HINT = "use tinygen.nn.BinaryAct, i.e. where(x >= 0, 1, -1)"


@dataclass(frozen=True)
class Symbolic:
    """A comparison with 0 ("ge0" / "lt0") or a constant fill (value) of activation `x`'s shape."""

    x: str
    what: str  # the aten op, for messages
    cmp: str = ""
    value: float | None = None

    def refuse(self) -> str:
        return f"{self.what} of an activation is only supported as part of a sign ({_HINT})"


def _symbolic(ctx, a) -> Symbolic | None:
    import torch.fx

    if isinstance(a, torch.fx.Node):
        v = ctx.names.get(a.name)
        return v if isinstance(v, Symbolic) else None
    return None


def _activation(ctx, a) -> str:
    """IR name of a real activation argument (not a constant, not symbolic)."""
    if ctx.is_const(a):
        raise ctx.error(f"expected an activation, got a constant ({_HINT})", UnsupportedOpError)
    return ctx.act(a)


def _is_zero(ctx, v) -> bool:
    if ctx.is_const(v):
        c = ctx.const(v)
        if hasattr(c, "numel"):
            return c.numel() == 1 and float(c.reshape(-1)[0]) == 0.0
        return isinstance(c, (int, float)) and float(c) == 0.0
    return False


def _compare(kind: str):
    def handler(ctx, node, args, kw):
        if not _is_zero(ctx, args[1]):
            raise ctx.error(f"comparison with {args[1]!r} is only supported as x >= 0 / x < 0 inside a sign "
                            f"({_HINT})", UnsupportedOpError)
        return Symbolic(_activation(ctx, args[0]), str(node.target), cmp=kind)
    return handler


handles("aten.ge.Scalar", "aten.ge.Tensor")(_compare("ge0"))
handles("aten.lt.Scalar", "aten.lt.Tensor")(_compare("lt0"))


@handles("aten.gt.Scalar", "aten.gt.Tensor", "aten.le.Scalar", "aten.le.Tensor")
def _strict_compare(ctx, node, args, kw):
    raise ctx.error("a sign built on x > 0 or x <= 0 maps 0 to -1; tinygen's binary tensors map 0 to +1 "
                    f"({_HINT})", UnsupportedOpError)


@handles("aten.ones_like.default")
def _ones_like(ctx, node, args, kw):
    return Symbolic(_activation(ctx, args[0]), "ones_like", value=1.0)


@handles("aten.full_like.default")
def _full_like(ctx, node, args, kw):
    fill = arg(args, kw, 1, "fill_value")
    if not isinstance(fill, (int, float)):
        raise ctx.error("full_like with a non-constant fill value is not supported", UnsupportedOpError)
    return Symbolic(_activation(ctx, args[0]), "full_like", value=float(fill))


@handles("aten.neg.default")
def _neg(ctx, node, args, kw):
    s = _symbolic(ctx, args[0])
    if s is None or s.value is None:
        raise ctx.error(f"neg is only supported as part of a sign ({_HINT})", UnsupportedOpError)
    return Symbolic(s.x, s.what, value=-s.value)


def _branch_value(ctx, a) -> float | None:
    """The single value a where-branch takes: a number, a fill, or a constant tensor of one value."""
    if isinstance(a, (int, float)):
        return float(a)
    s = _symbolic(ctx, a)
    if s is not None:
        return s.value
    if ctx.is_const(a):
        c = ctx.const(a)
        flat = c.reshape(-1)
        if flat.numel() and bool((flat == flat[0]).all()):
            return float(flat[0])
    return None


@handles("aten.where.self", "aten.where.ScalarSelf", "aten.where.ScalarOther", "aten.where.Scalar")
def _where(ctx, node, args, kw):
    cond = _symbolic(ctx, args[0])
    a, b = _branch_value(ctx, args[1]), _branch_value(ctx, args[2])
    want = {"ge0": (1.0, -1.0), "lt0": (-1.0, 1.0)}
    if cond is None or not cond.cmp or (a, b) != want[cond.cmp]:
        raise ctx.error(f"where() is only supported as a sign: where(x >= 0, 1, -1) or where(x < 0, -1, 1) ({_HINT})",
                        UnsupportedOpError)
    return _emit_sign(ctx, node, cond.x)


def _emit_sign(ctx, node, x: str) -> str:
    shape = tuple(ctx.graph.t(x).shape)
    val = node.meta.get("val")
    if val is not None and tuple(int(d) for d in val.shape) != shape:
        raise ctx.error(f"sign output shape {list(val.shape)} differs from its input {list(shape)} (broadcasting)",
                        UnsupportedOpError)
    return ctx.emit("sign", [x], F.Sign(), shape=shape, dtype=DType.UINT32)


@handles("tinygen.sign_ste.default")
def _sign_ste(ctx, node, args, kw):
    return _emit_sign(ctx, node, _activation(ctx, args[0]))


@handles("aten.sign.default", "aten.sgn.default")
def _torch_sign(ctx, node, args, kw):
    raise ctx.error(f"torch.sign maps 0 to 0, which a binary (+-1) tensor cannot hold; {_HINT} (0 -> +1)",
                    UnsupportedOpError)


def _explicit_pad(ctx, node, args, kw):
    mode = arg(args, kw, 2, "mode", "constant") if "aten.pad" in str(node.target) else str(node.target).split(".")[-2]
    raise ctx.error(f"explicit padding ({mode}) is not supported; tinygen convolutions pad with zeros: use "
                    "padding=... with padding_mode='zeros' (PyTorch's default)", UnsupportedOpError)


# A clear refusal for padding_mode='reflect' etc., unless another module lowers these ops.
for _name in ("aten.reflection_pad2d.default", "aten.replication_pad2d.default", "aten.pad.default",
              "aten.constant_pad_nd.default", "aten.circular_pad2d.default"):
    HANDLERS.setdefault(_name, _explicit_pad)

"""Integer parameters of a lowered graph against the ranges the C kernels are proven for.

Runs once before codegen on every lowered graph (from any importer), so a corrupted or absurd
model is refused with one line naming the node and the field instead of reaching gcc or, worse,
overflowing int32 on the device while the reference computes in int64. The rules, by attribute
name, in one place:

* every integer that becomes a C `int32_t` field fits int32; every float is finite or +-inf
  (float clamp bounds), never NaN;
* `*shift*` fields in [-31, 31] (tg_requantize shifts left up to 31 with saturation and divides
  by 2^31 at most);
* zero points and offsets (`*offset*`, `zero_point`) and clamp bounds (`act_min`, `act_max`)
  within +-2^16, so `tg_requantize_clamp` can compare before adding; an int8 output's clamp
  bounds within [-128, 127] with act_min <= act_max;
* an integer accumulator over int8 weights (inputs [activations, int8 weights [cout, ...], int32
  bias [cout]]: conv2d, fully_connected) stays inside int32 for any int8 input:
  |bias[o]| + sum |w[o]| * 256 < 2^31 (the reference accumulates in int64 and would differ);
* quantization parameters of every tensor: scales finite and > 0, zero points within +-2^16.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from tinygen.ir.graph import DType, Graph

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
OFFSET_LIMIT = 1 << 16


def _ints(value) -> list[int]:
    if isinstance(value, bool):
        return []
    if isinstance(value, (int, np.integer)):
        return [int(value)]
    if isinstance(value, (tuple, list)):
        return [v for x in value for v in _ints(x)]
    return []


def _floats(value) -> list[float]:
    if isinstance(value, (float, np.floating)):
        return [float(value)]
    if isinstance(value, (tuple, list)):
        return [v for x in value for v in _floats(x)]
    return []


def _field_problem(name: str, value) -> str | None:
    ints = _ints(value)
    for v in ints:
        if not INT32_MIN <= v <= INT32_MAX:
            return f"{v} does not fit a C int32_t"
    if any(math.isnan(f) for f in _floats(value)):
        return "NaN"
    if "shift" in name and any(not -31 <= v <= 31 for v in ints):
        return f"{min(ints)}..{max(ints)} is outside the shifts [-31, 31] the kernels handle"
    if ("offset" in name or name == "zero_point" or name in ("act_min", "act_max")) \
            and any(abs(v) > OFFSET_LIMIT for v in ints):
        return f"{max(ints, key=abs)} is outside the zero-point range +-{OFFSET_LIMIT}"
    return None


def _accumulator_problem(node, graph: Graph) -> str | None:
    if len(node.inputs) != 3:
        return None
    x, w, b = (graph.t(i) for i in node.inputs)
    if not (x.dtype == DType.INT8 and not x.is_const and w.is_const and w.dtype == DType.INT8
            and b.is_const and b.dtype == DType.INT32 and b.shape == (w.shape[0],)):
        return None
    bound = np.abs(b.data.astype(np.int64)) + 256 * np.abs(w.data.astype(np.int64)).reshape(w.shape[0], -1).sum(1)
    worst = int(bound.max(initial=0))
    if worst > INT32_MAX:
        o = int(bound.argmax())
        return (f"output channel {o} can accumulate up to {worst:,} (|bias| + 256 * sum |w|), beyond int32: "
                f"bias {int(b.data[o])} is out of scale with the weights")
    return None


def verify_params(graph: Graph, source: str = "") -> None:
    """Raise ValueError (one line: node, field, value, rule) on the first parameter out of range."""
    where = f"{source}: " if source else ""
    for t in graph.tensors.values():
        q = t.quant
        if q is None:
            continue
        scales = [float(s) for s in q.scale]
        if any(not math.isfinite(s) or s <= 0 for s in scales):
            bad = next(s for s in scales if not math.isfinite(s) or s <= 0)
            raise ValueError(f"{where}tensor '{t.name}': quantization scale {bad} must be finite and > 0")
        if any(abs(int(z)) > OFFSET_LIMIT for z in q.zero_point):
            bad = max((int(z) for z in q.zero_point), key=abs)
            raise ValueError(f"{where}tensor '{t.name}': zero point {bad} is outside +-{OFFSET_LIMIT}")
    for node in graph.nodes:
        attrs = node.attrs
        if attrs is not None and dataclasses.is_dataclass(attrs):
            for f in dataclasses.fields(attrs):
                problem = _field_problem(f.name, getattr(attrs, f.name))
                if problem:
                    raise ValueError(f"{where}{node.describe()}: {f.name}: {problem}")
            lo, hi = getattr(attrs, "act_min", None), getattr(attrs, "act_max", None)
            out = graph.t(node.outputs[0])
            if isinstance(lo, int) and isinstance(hi, int) and out.dtype == DType.INT8 and not (
                    -128 <= lo <= hi <= 127):
                raise ValueError(f"{where}{node.describe()}: act_min, act_max: clamp [{lo}, {hi}] is not an int8 range")
        problem = _accumulator_problem(node, graph)
        if problem:
            raise ValueError(f"{where}{node.describe()}: {problem}")

"""graph.json is strict JSON (no Infinity/NaN literals) and reads back exactly."""

import json
import math

import numpy as np
import pytest

from tinygen.ir import serialize
from tinygen.ir.graph import DType
from tinygen.ops.add_float import ElementwiseFloatAttrs
from tinygen.ops.max_pool2d_float import MaxPool2dFloatAttrs
from tinygen.reference import interpreter
from tinygen.testing import act, single_op_graph


def _strict(text: str):
    def refuse(name):
        raise ValueError(f"non-standard JSON constant {name}")
    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("lo, hi", [(-math.inf, math.inf), (0.0, math.inf), (-math.inf, 6.0), (-1.0, 1.0)])
def test_graph_json_is_strict_and_round_trips_infinities(tmp_path, lo, hi):
    x = act("x", (1, 4, 4, 3), DType.FLOAT32)
    x.quant = None
    g = single_op_graph("max_pool2d_float", MaxPool2dFloatAttrs((2, 2), (2, 2), (0, 0, 0, 0), lo, hi), [x],
                        (1, 2, 2, 3), out_dtype=DType.FLOAT32)
    serialize.save(g, tmp_path)
    text = (tmp_path / "graph.json").read_text()
    assert "Infinity" not in text and "NaN" not in text
    doc = _strict(text)
    attrs = doc["nodes"][0]["attrs"]
    assert attrs["act_lo"] == (lo if math.isfinite(lo) else {"float": "-inf"})
    assert attrs["act_hi"] == (hi if math.isfinite(hi) else {"float": "inf"})
    back = serialize.load(tmp_path)
    assert back.nodes[0].attrs == g.nodes[0].attrs
    feed = np.random.default_rng(0).standard_normal((1, 4, 4, 3)).astype(np.float32) * 10
    assert np.array_equal(interpreter.run(back, [feed])[0], interpreter.run(g, [feed])[0])


def test_nan_attribute_round_trips(tmp_path):
    x, y = act("x", (1, 5), DType.FLOAT32), act("y", (1, 5), DType.FLOAT32)
    x.quant = y.quant = None
    g = single_op_graph("add_float", ElementwiseFloatAttrs(math.nan, math.inf), [x, y], (1, 5), out_dtype=DType.FLOAT32)
    serialize.save(g, tmp_path)
    attrs = _strict((tmp_path / "graph.json").read_text())["nodes"][0]["attrs"]
    assert attrs == {"act_lo": {"float": "nan"}, "act_hi": {"float": "inf"}}
    back = serialize.load(tmp_path).nodes[0].attrs
    assert math.isnan(back.act_lo) and back.act_hi == math.inf

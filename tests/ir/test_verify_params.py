"""The lowered-parameter verifier refuses what the C kernels are not proven for, and the output
stage of the requantizing kernels cannot overflow for what it accepts."""

import dataclasses

import numpy as np
import pytest

from tinygen.ir.graph import QuantParams
from tinygen.ir.verify_params import verify_params
from tinygen.ops.conv2d import Conv2dAttrs
from tinygen.testing import act, const, reference_and_host, single_op_graph


def conv(mult=(1 << 30,), shift=(-7,), out_offset=0, bias=100, w_value=None, act=(-128, 127), in_offset=3):
    rng = np.random.default_rng(11)
    a = Conv2dAttrs((1, 1), (1, 1, 1, 1), (1, 1), 1, in_offset, out_offset, mult * 2 if len(mult) == 1 else mult,
                    shift * 2 if len(shift) == 1 else shift, *act)
    w = rng.integers(-127, 128, (2, 3, 3, 3)).astype(np.int8) if w_value is None else np.full((2, 3, 3, 3), w_value, np.int8)
    return single_op_graph("conv2d", a, [globals()["act"]("x", (1, 4, 4, 3)), const("w", w),
                                         const("b", np.array([bias, -bias], np.int32))], (1, 4, 4, 2))


def test_a_sane_graph_passes():
    verify_params(conv())


@pytest.mark.parametrize("change, field", [
    (dict(out_offset=-(2**63)), "output_offset"),
    (dict(in_offset=70000), "input_offset"),
    (dict(shift=(40,)), "shift"),
    (dict(mult=(2**31,)), "multiplier"),
    (dict(act=(-200, 127)), "act_min"),
])
def test_out_of_range_fields_are_refused_naming_node_and_field(change, field):
    with pytest.raises(ValueError) as e:
        verify_params(conv(**change))
    msg = str(e.value)
    assert "node 'n0' [conv2d]" in msg and field in msg and len(msg) < 300 and "\n" not in msg


def test_clamp_must_be_an_int8_range():
    with pytest.raises(ValueError, match="not an int8 range"):
        verify_params(conv(act=(10, -10)))


def test_accumulator_beyond_int32_is_refused():
    with pytest.raises(ValueError, match="beyond int32"):
        verify_params(conv(bias=2**31 - 1000, w_value=127))


@pytest.mark.parametrize("scale", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_tensor_scales_are_refused(scale):
    g = conv()
    t = g.tensors["out"]
    g.tensors["out"] = dataclasses.replace(t, quant=QuantParams.per_tensor(1.0, 0))
    object.__setattr__(g.tensors["out"], "quant", dataclasses.replace(t.quant, scale=(scale,)))
    with pytest.raises(ValueError, match="scale"):
        verify_params(g)


@pytest.mark.host
@pytest.mark.parametrize("out_offset", [127, -128])
def test_saturating_output_stage_equals_the_reference(tmp_path, out_offset):
    """The largest multiplier with the largest left shift: requantize saturates near INT32_MAX, and
    adding the zero point overflowed int32 in C before tg_requantize_clamp (the reference is int64)."""
    g = conv(mult=(2**31 - 1,), shift=(30,), out_offset=out_offset, bias=1000)
    verify_params(g)
    x = np.random.default_rng(5).integers(-128, 128, (1, 4, 4, 3)).astype(np.int8)
    (ref,), (host,) = reference_and_host(g, [x], tmp_path)
    np.testing.assert_array_equal(host, ref)
    assert set(np.unique(ref)) <= {-128, 127, out_offset}

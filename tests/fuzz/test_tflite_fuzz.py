""".tflite inputs are untrusted (issue 18): a seeded mutation fuzz through the CLI, and one crafted file
per class of corruption the fuzz campaign found, each refused with one line naming the file, the
operator and the field."""

import math

import numpy as np
import pytest

pytest.importorskip("tflite_micro")

from tests.fuzz import tflite_mutate as M  # noqa: E402
from tinygen.errors import TinygenError  # noqa: E402
from tinygen.importers import import_model  # noqa: E402

SEED = M.builder_seed()
# operator order in the seed: 0 CONV_2D, 1 DEPTHWISE_CONV_2D, 2 MAX_POOL_2D, 3 AVERAGE_POOL_2D, 4 ADD,
# 5 CONCATENATION, 6 RESHAPE, 7 FULLY_CONNECTED, 8 LOGISTIC


def _edit(fn) -> bytes:
    m = M.unpack(SEED)
    fn(m)
    return M.pack(m)


def _refused(tmp_path, data: bytes, pattern: str) -> str:
    p = tmp_path / "bad.tflite"
    p.write_bytes(data)
    with pytest.raises(TinygenError, match=pattern) as e:
        import_model(p)
    line = str(e.value)
    assert "\n" not in line and len(line) <= M.LONG_LINE and "bad.tflite" in line, line
    assert M.INTERNAL_ERROR not in line, line
    return line


def test_seed_builds_and_equals_the_reference():
    assert M.check(SEED).outcome == "built"


def test_seeded_mutations_through_the_cli(tmp_path):
    """Every mutated file either builds (and the C equals the reference) or is refused in one line."""
    rng = np.random.default_rng(18)
    counts = M.Counts()
    for _ in range(30):
        data, kind = M.mutate(SEED, rng)
        counts.add(M.check(data, tmp_path, seconds=60, samples=2), kind)
    assert counts.get("built") + counts.get("refused") == counts.files, counts.signatures
    assert counts.get("refused") > 10 and counts.get("built") > 0, counts.by  # the fuzz reaches both sides


def test_every_structured_mutator_is_handled(tmp_path):
    for k, kind in enumerate(sorted(M.MUTATORS)):
        data, _ = M.structured(SEED, np.random.default_rng(k), kind)
        r = M.check(data, tmp_path, seconds=60, samples=2)
        assert r.outcome in ("built", "refused"), (kind, r)


# -- one crafted file per class ---------------------------------------------------------------------------
@pytest.mark.parametrize("which,value", [("inputs", 99), ("inputs", -1), ("outputs", 1 << 30)])
def test_subgraph_index_out_of_range(tmp_path, which, value):
    def fn(m):
        getattr(m.subgraphs[0], which)[0] = value
    _refused(tmp_path, _edit(fn), rf"subgraph {which[:-1]} names tensor {value} of \d+")


@pytest.mark.parametrize("which", ["inputs", "outputs"])
def test_missing_subgraph_io_list(tmp_path, which):
    def fn(m):
        setattr(m.subgraphs[0], which, None)
    _refused(tmp_path, _edit(fn), f"the subgraph has no {which[:-1]} list")


def test_options_of_the_wrong_type(tmp_path):
    def fn(m):
        op = m.subgraphs[0].operators[0]
        op.builtinOptions, op.builtinOptionsType = M.S.Pool2DOptionsT(), M.S.BuiltinOptions.Pool2DOptions
    _refused(tmp_path, _edit(fn), r"operator 0 \(CONV_2D v3\): has builtin options of type Pool2DOptions; "
                                  "CONV_2D needs Conv2DOptions")


def test_missing_options(tmp_path):
    def fn(m):
        op = m.subgraphs[0].operators[2]
        op.builtinOptions, op.builtinOptionsType = None, 0
    _refused(tmp_path, _edit(fn), r"operator 2 \(MAX_POOL_2D v2\): has no builtin options")


@pytest.mark.parametrize("op,ins,outs,pattern", [
    (0, 1, 1, r"operator 0 \(CONV_2D v3\): has 1 inputs, CONV_2D takes 2..3"),
    (4, 1, 1, r"operator 4 \(ADD v2\): has 1 inputs, ADD takes 2"),
    (7, 3, 0, r"operator 7 \(FULLY_CONNECTED v4\): has 0 outputs, FULLY_CONNECTED writes 1"),
    (8, 0, 1, r"operator 8 \(LOGISTIC v2\): has 0 inputs"),
])
def test_too_few_inputs_or_outputs(tmp_path, op, ins, outs, pattern):
    def fn(m):
        o = m.subgraphs[0].operators[op]
        o.inputs, o.outputs = list(o.inputs)[:ins], list(o.outputs)[:outs]
    _refused(tmp_path, _edit(fn), pattern)


def test_required_input_left_out(tmp_path):
    def fn(m):
        m.subgraphs[0].operators[0].inputs[1] = -1
    _refused(tmp_path, _edit(fn), r"operator 0 \(CONV_2D v3\): input 1 is left out")


def test_operator_tensor_index_out_of_range(tmp_path):
    def fn(m):
        m.subgraphs[0].operators[3].inputs[0] = 1000
    _refused(tmp_path, _edit(fn), r"operator 3 \(AVERAGE_POOL_2D\) input names tensor 1000 of \d+")


@pytest.mark.parametrize("tensor,shape,pattern", [
    (0, [1, 6, 18], r"operator 0 \(CONV_2D v3\): input 0 't0' has shape \[1, 6, 18\], CONV_2D needs rank 4"),
    (1, [4, 9, 3], r"operator 0 \(CONV_2D v3\): input 1 't1' has shape \[4, 9, 3\]"),
    (3, [1, 6, 24], r"operator 0 \(CONV_2D v3\): output 't3' has shape \[1, 6, 24\], CONV_2D writes rank 4"),
])
def test_tensor_of_the_wrong_rank(tmp_path, tensor, shape, pattern):
    def fn(m):
        t = m.subgraphs[0].tensors[tensor]
        t.shape = shape
        if m.buffers[t.buffer].data is not None:  # keep the byte count right, so the rank is what is wrong
            assert math.prod(shape) * 1 == len(m.buffers[t.buffer].data)
    _refused(tmp_path, _edit(fn), pattern)


def test_rank_of_a_corrupt_shape_list_is_bounded(tmp_path):
    def fn(m):
        m.subgraphs[0].tensors[3].shape = [1] * 5000
    line = _refused(tmp_path, _edit(fn), r"tensor 3 't3' has rank 5000 \(at most 8\)")
    assert len(line) < 300


@pytest.mark.parametrize("scale", [0.0, -1.0, float("nan"), float("inf"), 1e30, 1e-30])
@pytest.mark.parametrize("tensor", [0, 1, 3])  # activation, per-channel weights, conv output
def test_bad_scale(tmp_path, tensor, scale):
    def fn(m):
        q = m.subgraphs[0].tensors[tensor].quantization
        q.scale = list(q.scale)
        q.scale[-1] = scale
    _refused(tmp_path, _edit(fn), rf"tensor {tensor} 't{tensor}' has quantization scale .*finite and in \[1e-20, 1e\+20\]")


@pytest.mark.parametrize("zp", [128, -129, -(1 << 63)])
def test_zero_point_out_of_range(tmp_path, zp):
    def fn(m):
        m.subgraphs[0].tensors[3].quantization.zeroPoint = [zp]
    _refused(tmp_path, _edit(fn), rf"tensor 3 't3' \(int8\) has zero point {zp} outside \[-128, 127\]")


@pytest.mark.parametrize("op,field,name", [(0, "strideW", "CONV_2D v3"), (1, "strideH", "DEPTHWISE_CONV_2D v3"),
                                           (2, "strideH", "MAX_POOL_2D v2"), (3, "filterWidth", "AVERAGE_POOL_2D v2")])
@pytest.mark.parametrize("value", [0, -3])
def test_stride_or_window_not_positive(tmp_path, op, field, name, value):
    def fn(m):
        setattr(m.subgraphs[0].operators[op].builtinOptions, field, value)
    _refused(tmp_path, _edit(fn), rf"operator {op} \({name}\): option {field} is {value}; it must be in \[1, 65536\]")


def test_buffer_not_a_multiple_of_the_element_size(tmp_path):
    def fn(m):
        b = m.buffers[m.subgraphs[0].tensors[2].buffer]  # the int32 conv bias: 16 bytes
        b.data = np.asarray(b.data, np.uint8)[:15]
    _refused(tmp_path, _edit(fn), r"buffer of tensor 't2' holds 15 bytes, not a multiple of the 4-byte int32")


def test_buffer_shorter_than_the_shape(tmp_path):
    def fn(m):
        b = m.buffers[m.subgraphs[0].tensors[1].buffer]
        b.data = np.asarray(b.data, np.uint8)[:50]
    _refused(tmp_path, _edit(fn), r"tensor 1 't1' \[4, 3, 3, 3\] holds 50 values")


def test_long_tensor_names_are_clipped_in_errors(tmp_path):
    def fn(m):
        t = m.subgraphs[0].tensors[3]
        t.name = b"x" * 8000
        t.quantization.scale = [float("nan")]
    line = _refused(tmp_path, _edit(fn), r"tensor 3 'x+\.\.\.' has quantization scale nan")
    assert len(line) < 300


def test_cli_refusal_is_one_line(tmp_path):
    def fn(m):
        m.subgraphs[0].operators[0].builtinOptions.strideW = 0
    r = M.check(_edit(fn), tmp_path)
    assert r.outcome == "refused" and "operator 0 (CONV_2D v3)" in r.detail and "strideW" in r.detail, r


def test_scale_in_range_but_unrepresentable_for_a_table_op(tmp_path):
    def fn(m):
        m.subgraphs[0].tensors[15].quantization.scale = [1e-9]  # FULLY_CONNECTED output = LOGISTIC input
    _refused(tmp_path, _edit(fn), r"operator 8 \(LOGISTIC v2\): no tflm_logistic table for input scale 1e-09")

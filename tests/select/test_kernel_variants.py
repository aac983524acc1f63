"""Kernels as data: every op's variants are declared consistently with the C runtime, selection
follows its one rule, and the choice is recorded on the node and survives serialization."""

import re

import numpy as np
import pytest

from tinygen.codegen.cstruct import struct_fields, structs_in
from tinygen.codegen.generate import _check_fields
from tinygen.errors import TinygenError
from tinygen.ir import serialize
from tinygen.ops.base import REGISTRY, get, supported_ops
from tinygen.ops.conv2d import Conv2dAttrs
from tinygen.paths import RUNTIME_INCLUDE, RUNTIME_KERNELS
from tinygen.select import HOST, Target, select_kernels
from tinygen.select.kernels import candidates
from tinygen.testing import act, const, random_requant, single_op_graph

ALL_KERNELS = [(op, k) for op in supported_ops() for k in get(op).kernels]


def test_every_op_has_a_reference_kernel():
    for op in supported_ops():
        kernels = get(op).kernels
        assert kernels, f"{op} declares no kernel"
        assert any(k.reference for k in kernels), f"{op} has no reference kernel"
        # references come last: selection prefers declared order, fastest first
        first_ref = next(i for i, k in enumerate(kernels) if k.reference)
        assert all(k.reference for k in kernels[first_ref:]), f"{op}: a fast kernel is declared after a reference"


def test_kernel_symbols_are_unique_within_an_op():
    # ops may share a kernel (add_float and mul_float run one with an op code), never list one twice
    for op in supported_ops():
        symbols = [k.symbol for k in get(op).kernels]
        assert len(symbols) == len(set(symbols)), op


@pytest.mark.parametrize("op,kernel", ALL_KERNELS, ids=lambda v: getattr(v, "symbol", v))
def test_kernel_declaration_matches_the_c_runtime(op, kernel):
    header = (RUNTIME_INCLUDE / kernel.header).read_text()
    assert (RUNTIME_KERNELS / f"{kernel.symbol}.c").exists()
    assert re.search(rf"\b{kernel.symbol}\s*\(\s*const {kernel.params_type} \*", header), \
        f"{kernel.header} does not declare {kernel.symbol}(const {kernel.params_type} *, ...)"
    fields = struct_fields(kernel.header, kernel.params_type)
    assert fields and len({f.name for f in fields}) == len(fields)
    if kernel.scratch is not type(kernel).__dataclass_fields__["scratch"].default:
        assert re.search(rf"size_t\s+{kernel.symbol}_scratch_bytes\s*\(\s*const {kernel.params_type} \*", header), \
            f"{kernel.symbol} has scratch but {kernel.header} declares no {kernel.symbol}_scratch_bytes"


def test_every_runtime_params_struct_parses():
    for h in sorted(RUNTIME_INCLUDE.glob("tg_*.h")):
        for name, fields in structs_in(h.name).items():
            assert all(re.fullmatch(r"\w+", f.name) and f.ctype.endswith("_t") or f.ctype in ("float",)
                       for f in fields), (h.name, name, fields)


def _conv_graph(kernel=""):
    rng = np.random.default_rng(3)
    mult, shift = random_requant(rng, 4)
    a = Conv2dAttrs((1, 1), (1, 1, 1, 1), (1, 1), 1, 3, -2, mult, shift)
    x = act("x", (1, 5, 5, 3))
    w = const("w", rng.integers(-127, 128, (4, 3, 3, 3)).astype(np.int8))
    b = const("b", rng.integers(-100, 100, 4).astype(np.int32))
    return single_op_graph("conv2d", a, [x, w, b], (1, 5, 5, 4), kernel=kernel)


def test_emitted_fields_are_checked_against_the_struct():
    g = select_kernels(_conv_graph(), HOST)
    node = g.nodes[0]
    op = get(node.op)
    call = op.emit(node, g)
    _check_fields(node, op.kernel(node), call)  # complete: passes
    call.fields = [f for f in call.fields if f[0] != "act_max"]
    with pytest.raises(ValueError, match=r"missing \['act_max'\]"):
        _check_fields(node, op.kernel(node), call)
    call.fields.append(("act_maks", 127))
    with pytest.raises(ValueError, match="not in the struct"):
        _check_fields(node, op.kernel(node), call)


def test_reference_policy_picks_references_only():
    g = select_kernels(_conv_graph(), HOST, "ref")
    assert get("conv2d").kernel(g.nodes[0]).reference


def test_a_pinned_kernel_is_kept_and_a_wrong_one_refused():
    ref = next(k.symbol for k in get("conv2d").kernels if k.reference)
    g = select_kernels(_conv_graph(kernel=ref), HOST)
    assert g.nodes[0].kernel == ref
    with pytest.raises(TinygenError, match="no kernel|cannot run"):
        select_kernels(_conv_graph(kernel="tg_bconv2d_b1_ref"), HOST)


def test_targets_without_dsp_get_no_dsp_kernel():
    bare = Target("cortex-m3", frozenset())
    for op in supported_ops():
        for k in get(op).kernels:
            if k.needs:
                assert not set(k.needs) <= bare.features
    g = _conv_graph()
    assert all(not k.needs for k in candidates(g.nodes[0], g, bare))


def test_the_choice_is_serialized_with_the_graph(tmp_path):
    g = select_kernels(_conv_graph(), HOST)
    serialize.save(g, tmp_path)
    assert serialize.load(tmp_path).nodes[0].kernel == g.nodes[0].kernel != ""


def test_registry_is_filled():
    assert "conv2d" in REGISTRY and "bconv2d" in REGISTRY

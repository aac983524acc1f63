"""Whole models from other stages as firmware under QEMU: PyTorch models through the pipeline
(many int8 ops) and a binarized chain (uint32-packed tensors in the arena)."""

import json

import numpy as np
import pytest

from tinygen.select import HOST, select_kernels
from tinygen.device.validate import validate

pytestmark = pytest.mark.qemu


# arena: the harness receives the input straight into the model's arena (<prefix>_input0_buffer);
# caller: into its own buffer, as a user's firmware that owns its input
@pytest.mark.parametrize("name, board, input_buffer", [("branches", "f446re", "arena"), ("pools", "f767zi", "caller")])
def test_pipeline_model_on_qemu(fw_root, tmp_path, name, board, input_buffer):
    torch = pytest.importorskip("torch")
    import tinygen
    from tests.torch_models import make

    model, shape = make(name)
    path = tmp_path / f"{name}.pt2"
    torch.export.save(torch.export.export(model, (torch.zeros(shape),)), str(path))
    program = tinygen.build(path, out_dir=tmp_path / "out", input_buffer=input_buffer)
    assert program.report["input_placement"]["input_buffer"] == input_buffer
    r = validate(program, qemu=True, board=board, count=4, seed=2)
    assert r.passed, r.summary_text()


def test_binary_chain_on_qemu(fw_root, tmp_path):
    from tests.kernels.bitpack_host import random_output_stage, random_packed
    from tinygen.codegen import generate
    from tinygen.ir import serialize
    from tinygen.ir.graph import DType, Graph, Node, QuantParams, Tensor
    from tinygen.ops.bconv2d import BConv2dAttrs
    from tinygen.ops.binarize import BinarizeAttrs
    from tinygen.ops.bmax_pool2d import BMaxPool2dAttrs
    from tinygen.paths import RUNTIME_INCLUDE
    from tinygen.plan import plan_memory
    from tinygen.program import Program

    rng = np.random.default_rng(0)
    q = QuantParams.per_tensor(1.0, 0)
    c0, c1, c2 = 33, 40, 7
    g = Graph("bchain", dialect="lowered")
    for t in [Tensor("x", (1, 8, 8, c0), DType.INT8, q), Tensor("b0", (1, 8, 8, 2), DType.UINT32, q),
              Tensor("b1", (1, 8, 8, 2), DType.UINT32, q), Tensor("b2", (1, 4, 4, 2), DType.UINT32, q),
              Tensor("y", (1, 2, 2, c2), DType.INT8, q),
              Tensor("w1", (c1, 3, 3, 2), DType.UINT32, None, random_packed(rng, (c1, 3, 3), c0)),
              Tensor("w2", (c2, 3, 3, 2), DType.UINT32, None, random_packed(rng, (c2, 3, 3), c1))]:
        g.add_tensor(t)
    a1 = BConv2dAttrs((1, 1), (1, 1, 1, 1), (1, 1), c0, 0, "binary", **random_output_stage(rng, "binary", c1, 9 * c0))
    a2 = BConv2dAttrs((1, 1), (0, 0, 0, 0), (1, 1), c1, 1, "int8", **random_output_stage(rng, "int8", c2, 9 * c1))
    g.add_node(Node("bin", "binarize", ["x"], ["b0"], BinarizeAttrs(-3)))
    g.add_node(Node("conv1", "bconv2d", ["b0", "w1"], ["b1"], a1))
    g.add_node(Node("pool", "bmax_pool2d", ["b1"], ["b2"], BMaxPool2dAttrs((2, 2), (2, 2), (0, 0, 0, 0))))
    g.add_node(Node("conv2", "bconv2d", ["b2", "w2"], ["y"], a2))
    g.inputs, g.outputs = ["x"], ["y"]
    out = tmp_path / "bchain"
    gen = generate(g, plan_memory(select_kernels(g, HOST)))
    if RUNTIME_INCLUDE / "tg_bitpack.h" not in gen.runtime_files:  # same workaround as bitpack_host.py
        gen.runtime_files.append(RUNTIME_INCLUDE / "tg_bitpack.h")
    gen.write(out / "model")
    serialize.save(g, out / "graph")
    (out / "tinygen.json").write_text(json.dumps({"prefix": gen.prefix, "board": "f746zg"}))
    r = validate(Program(out, g, gen.prefix, "f746zg"), qemu=True, count=4, profile=True)
    assert r.passed, r.summary_text()
    assert [p.op for p in r.profile] == ["binarize", "bconv2d", "bmax_pool2d", "bconv2d"]

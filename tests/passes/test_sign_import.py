"""The importer turns every supported spelling of sign into one float-dialect `sign` node, and
refuses the spellings that are not tinygen's sign (0 -> +1) with a message saying so."""

import re
import subprocess
import sys

import pytest
import torch
import torch.nn as nn

from tinygen.errors import UnsupportedOpError
from tinygen.importers.torch.graph import import_exported_program
from tinygen.ir.graph import DType
from tinygen.nn import BinaryAct


class Lambda(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


SIGNS = {
    "autograd_function": BinaryAct("function"),
    "custom_op": BinaryAct("custom_op"),
    "where_scalars": Lambda(lambda x: torch.where(x >= 0, 1.0, -1.0)),
    "where_lt": Lambda(lambda x: torch.where(x < 0, -torch.ones_like(x), torch.ones_like(x))),
    "where_full_like": Lambda(lambda x: torch.where(x >= 0, torch.full_like(x, 1.0), torch.full_like(x, -1.0))),
}


def _import(module, shape=(1, 3, 4, 4), decompose=False):
    ep = torch.export.export(module.eval(), (torch.zeros(shape),))
    if decompose:
        ep = ep.run_decompositions()
    return import_exported_program(ep, "m")


@pytest.mark.parametrize("decompose", [False, True], ids=["aten", "core_aten"])
@pytest.mark.parametrize("name", sorted(SIGNS))
def test_sign_spellings_become_one_sign_node(name, decompose):
    graph = _import(SIGNS[name], decompose=decompose)
    assert [n.op for n in graph.nodes] == ["sign"]
    out = graph.t(graph.outputs[0])
    assert out.dtype == DType.UINT32 and out.shape == (1, 3, 4, 4)


@pytest.mark.parametrize("fn,needle", [
    (torch.sign, "torch.sign maps 0 to 0"),
    (lambda x: torch.where(x > 0, 1.0, -1.0), "maps 0 to -1"),
    (lambda x: x + torch.ones_like(x), "ones_like of an activation is only supported as part of a sign"),
    (lambda x: torch.where(x >= 0, 1.0, 0.0), "where() is only supported as a sign"),
    (lambda x: torch.where(x >= 0.5, 1.0, -1.0), "comparison with 0.5"),
])
def test_other_signs_refused(fn, needle):
    with pytest.raises(UnsupportedOpError, match=re.escape(needle)):
        _import(Lambda(fn))


def test_custom_op_archive_loads_in_a_fresh_process(tmp_path):
    """torch.export.load needs tinygen::sign_ste registered first; tinygen's importer does that."""
    path = tmp_path / "m.pt2"
    torch.export.save(torch.export.export(BinaryAct("custom_op").eval(), (torch.zeros(1, 2, 3, 3),)), str(path))
    code = ("import sys; from tinygen.importers import import_model; "
            "assert 'tinygen.nn' not in sys.modules; "
            f"g = import_model({str(path)!r}); print([n.op for n in g.nodes])")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().endswith("['sign']")

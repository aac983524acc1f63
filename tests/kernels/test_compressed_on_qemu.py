"""The QEMU tier of the compressed-weight kernels (codebook and sparse): one firmware on the M4
stand-in holds host-test cases of every fast variant, each node pinned to its variant, validated
bit-exact against the reference (one build keeps the tier's cost to a few seconds)."""

import pytest

from tinygen.testing import merge_graphs, supported

from tests.kernels import test_codebook, test_sparse
from tests.kernels.bitpack_host import cases_graph

pytestmark = pytest.mark.qemu

VARIANTS = [  # (op, kernel, cases)
    ("conv2d_codebook", "tg_conv2d_codebook_s8_fast", lambda: test_codebook.conv_cases(1, False)[0]),
    ("fully_connected_codebook", "tg_fully_connected_codebook_s8_fast", lambda: test_codebook.fc_cases(1, True)[0]),
    ("conv2d_sparse", "tg_conv2d_sparse_s8_px8", lambda: test_sparse.conv_cases(1)[0]),
    ("conv2d_sparse", "tg_conv2d_sparse_s8_fast", lambda: test_sparse.conv_cases(1)[0]),
    ("conv2d_sparse", "tg_conv2d_sparse_s8_dw4", lambda: test_sparse.conv_cases(2)[0]),
    ("conv2d_sparse", "tg_conv2d_sparse_s8_dw", lambda: test_sparse.conv_cases(2)[0]),
    ("fully_connected_sparse", "tg_fully_connected_sparse_s8_fast", lambda: test_sparse.fc_cases(1)[0]),
]


def test_compressed_fast_kernels_on_qemu(tmp_path):
    from tests.device.models import missing_tools, write_build
    from tinygen.device.validate import validate

    if missing_tools():
        pytest.skip(missing_tools())
    graphs, pins = [], []
    for op, kernel, make in VARIANTS:
        # batch-1 cases the variant supports (the harness sends one sample at a time)
        cases = [c for c in make() if c[2][0] == 1 and supported(op, kernel, cases_graph(op, [c]))]
        assert cases, kernel
        graphs.append(cases_graph(op, cases, name=kernel))
        pins += [kernel] * len(cases)
    merged = merge_graphs(graphs, "compressed")
    for node, kernel in zip(merged.nodes, pins):
        node.kernel = kernel
    program = write_build(merged, tmp_path / "f446re", "f446re")
    r = validate(program, qemu=True, board="f446re", count=2, seed=0)
    assert r.passed, r.summary_text()
    assert {n.kernel for n in program.graph.nodes} == {k for _, k, _ in VARIANTS}

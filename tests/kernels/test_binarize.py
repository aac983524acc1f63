import numpy as np
import pytest

from tinygen.ir.graph import DType
from tinygen.ops.binarize import BinarizeAttrs
from tinygen.reference import bitpack
from tinygen.testing import act, single_op_graph

from tests.kernels.bitpack_host import EDGE_CHANNELS, reference_and_host

# (input shape, zero point)
CASES = [((1, 3, 2, c), zp) for c, zp in zip(EDGE_CHANNELS, (0, -3, 5, -128, 127, 1, -1))]
CASES += [((1, 1), 0), ((1, 70), -7), ((1, 3, 5, 128), 2), ((1, 1, 3, 256), -1), ((1, 2, 1, 36), 0)]


def graph_for(shape, zp):
    out = shape[:-1] + (bitpack.words_for(shape[-1]),)
    return single_op_graph("binarize", BinarizeAttrs(zp), [act("x", shape)], out, out_dtype=DType.UINT32)


@pytest.mark.host
@pytest.mark.parametrize("case", CASES, ids=lambda c: "x".join(map(str, c[0])) + f"-zp{c[1]}")
def test_binarize_bit_exact(case, tmp_path):
    shape, zp = case
    rng = np.random.default_rng(sum(shape) * 7 + zp)
    x = rng.integers(-128, 128, shape).astype(np.int8)
    x.reshape(-1)[::5] = zp  # real zero -> +1
    (ref,), (host,) = reference_and_host(graph_for(shape, zp), [x], tmp_path)
    (_,), (host_ref,) = reference_and_host(graph_for(shape, zp), [x], tmp_path / "ref", "ref")
    np.testing.assert_array_equal(host_ref, ref)
    assert ref.dtype == np.uint32 and ref.shape == shape[:-1] + (bitpack.words_for(shape[-1]),)
    np.testing.assert_array_equal(host, ref)
    np.testing.assert_array_equal(bitpack.unpack_bits(ref, shape[-1]), x.astype(int) < zp)
    assert bitpack.padding_bits_zero(ref, shape[-1])


@pytest.mark.qemu
def test_binarize_simd_on_qemu(tmp_path):
    from tests.kernels.qemu_tier import check_on_qemu

    check_on_qemu([graph_for(shape, zp) for shape, zp in CASES], tmp_path, "tg_binarize_s8_simd")

import numpy as np
import pytest

from tinygen.ir.graph import Graph, Node
from tinygen.ops.conv2d import Conv2dAttrs
from tinygen.ops.lut import TABLE_FNS, LutAttrs, make_table
from tinygen.plan import plan_memory
from tinygen.reference import interpreter
from tinygen.select import HOST
from tinygen.select.kernels import candidates
from tinygen.testing import act, compile_graph, const, random_requant, reference_and_host, single_op_graph

SHAPES = [(1, 1, 1, 1), (1, 7, 5, 3), (1, 7, 5, 17), (1, 17)]


@pytest.mark.host
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_lut_bit_exact(shape, seed, tmp_path):
    rng = np.random.default_rng(seed * 1000 + sum(shape))
    if seed == 0:
        table, fn = tuple(int(v) for v in rng.integers(-128, 128, 256)), "random"
    else:
        table, fn = make_table("hardswish", 0.05, 3, 0.03, -40), "hardswish"
    graph = single_op_graph("lut", LutAttrs(table, fn), [act("x", shape)], shape)
    xin = rng.integers(-128, 128, shape).astype(np.int8)
    (ref,), (host,) = reference_and_host(graph, [xin], tmp_path)
    assert ref.dtype == np.int8 and ref.shape == shape
    np.testing.assert_array_equal(host, ref)


def test_lut_reference_matches_direct_loop():
    rng = np.random.default_rng(41)
    table = tuple(int(v) for v in rng.integers(-128, 128, 256))
    graph = single_op_graph("lut", LutAttrs(table, "random"), [act("x", (1, 3, 2, 5))], (1, 3, 2, 5))
    x = rng.integers(-128, 128, (3, 3, 2, 5)).astype(np.int8)
    (ref,) = interpreter.run(graph, [x])
    for idx in np.ndindex(x.shape):
        assert ref[idx] == table[int(x[idx]) + 128]


TORCH_NAMES = ["identity", "relu", "relu6", "clamp", "sigmoid", "tanh", "hardswish", "hardsigmoid"]


def _torch_fn(name):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    return torch, {
        "identity": lambda x: x,
        "relu": F.relu,
        "relu6": F.relu6,
        "clamp": lambda x, lo=None, hi=None: torch.clamp(x, lo, hi),
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "hardswish": F.hardswish,
        "hardsigmoid": F.hardsigmoid,
    }[name]
PARAMS = {"clamp": [{"lo": -0.5, "hi": 1.25}, {"lo": None, "hi": 2.0}, {"lo": -1.0, "hi": None}]}
# typical fixed output grids (PyTorch's fixed-qparams observers for sigmoid and tanh)
FIXED_OUT = {"sigmoid": (1 / 256, -128), "tanh": (1 / 128, 0), "hardsigmoid": (1 / 256, -128)}


def _torch_fake_quant(fn, x, s_out, zp_out, params):
    torch, f = _torch_fn(fn)
    return torch.fake_quantize_per_tensor_affine(f(torch.from_numpy(x), **params), s_out, zp_out, -128, 127).numpy()


def test_table_registry_covers_torch_functions():
    assert set(TORCH_NAMES) <= set(TABLE_FNS)
    with pytest.raises(ValueError, match="no table function"):
        make_table("gelu_unknown", 0.1, 0, 0.1, 0)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("fn", TORCH_NAMES)
def test_make_table_equals_torch_fake_quant(fn, seed):
    """For every int8 input, the table equals torch's fake-quant of torch's function of the
    dequantized input: the int8 model computes exactly what the fake-quant PyTorch model does."""
    rng = np.random.default_rng(300 + 17 * seed + len(fn))
    q = np.arange(-128, 128)
    distinct = []
    for trial in range(8):
        s_in = float(np.exp(rng.uniform(np.log(0.003), np.log(0.2))))
        zp_in = int(rng.integers(-128, 128))
        x = np.float32(s_in) * (q - zp_in).astype(np.float32)
        params = PARAMS.get(fn, [{}])[trial % len(PARAMS.get(fn, [{}]))]
        if fn in FIXED_OUT and trial % 2 == 0:
            s_out, zp_out = FIXED_OUT[fn]
        else:  # an output grid fitted to the function's range, sometimes clipping it
            torch, f = _torch_fn(fn)
            y = f(torch.from_numpy(x), **params).numpy().astype(np.float64)
            lo, hi = min(y.min(), 0.0), max(y.max(), 0.0)
            s_out = max(hi - lo, 1e-3) / 255 * float(rng.uniform(0.6, 1.3))
            zp_out = int(np.clip(np.round(-128 - lo / s_out), -128, 127))
        table = np.array(make_table(fn, s_in, zp_in, s_out, zp_out, **params))
        fq = _torch_fake_quant(fn, x, s_out, zp_out, params)
        q_torch = np.rint(fq / np.float32(s_out)).astype(np.int64) + zp_out
        np.testing.assert_array_equal(table, q_torch, err_msg=f"{fn} s_in={s_in} zp_in={zp_in} s_out={s_out} zp_out={zp_out}")
        np.testing.assert_array_equal((table - zp_out).astype(np.float32) * np.float32(s_out), fq)
        distinct.append(len(np.unique(table)))
    assert max(distinct) > 40  # the grids exercise many output codes, not just clipped ends


def test_make_table_qmin_qmax():
    t = make_table("identity", 0.1, 0, 0.1, 0, qmin=-20, qmax=30)
    assert min(t) == -20 and max(t) == 30 and t[128] == 0


@pytest.mark.host
def test_lut_runs_in_place(tmp_path):
    """conv2d -> lut -> lut: the first lut's output reuses the conv output's storage."""
    rng = np.random.default_rng(51)
    g = Graph("lut_inplace", dialect="lowered")
    g.add_tensor(act("x", (1, 5, 5, 3)))
    g.add_tensor(const("w", rng.integers(-127, 128, (4, 3, 3, 3)).astype(np.int8)))
    g.add_tensor(const("b", rng.integers(-500, 500, 4).astype(np.int32)))
    for name in ("c", "l1", "out"):
        g.add_tensor(act(name, (1, 5, 5, 4)))
    mult, shift = random_requant(rng, 4, 1e-3, 0.02)
    g.add_node(Node("conv", "conv2d", ["x", "w", "b"], ["c"], Conv2dAttrs((1, 1), (1, 1, 1, 1), (1, 1), 1, 3, -5, mult, shift)))
    g.add_node(Node("lut1", "lut", ["c"], ["l1"], LutAttrs(make_table("sigmoid", 0.05, -5, 1 / 256, -128), "sigmoid")))
    g.add_node(Node("lut2", "lut", ["l1"], ["out"], LutAttrs(make_table("identity", 1 / 256, -128, 1 / 128, -128), "identity")))
    g.inputs, g.outputs = ["x"], ["out"]
    assert plan_memory(g).aliases == {"l1": "c"}
    xin = rng.integers(-128, 128, (1, 5, 5, 3)).astype(np.int8)
    (ref,) = interpreter.run(g, [xin])
    (host,) = compile_graph(g, tmp_path).invoke_one([xin])
    np.testing.assert_array_equal(host, ref)
    assert len(np.unique(ref)) > 3


FAST_SHAPES = [(1, h, w, c) for c in (1, 3, 5, 8, 17, 31, 64, 96) for h, w in ((1, 1), (7, 5))]


def _fast_graph(shape, seed):
    rng = np.random.default_rng(seed * 1000 + sum(shape))
    table = tuple(int(v) for v in rng.integers(-128, 128, 256))
    x = rng.integers(-128, 128, shape).astype(np.int8)
    x.flat[: min(2, x.size)] = [-128, 127][: min(2, x.size)]  # both ends of the table
    return single_op_graph("lut", LutAttrs(table, "random"), [act("x", shape)], shape), x


@pytest.mark.host
@pytest.mark.parametrize("shape", FAST_SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_lut_fast_bit_exact(shape, tmp_path):
    graph, x = _fast_graph(shape, 0)
    assert candidates(graph.nodes[0], graph, HOST)[0].symbol == "tg_lut_s8_fast"
    (ref,), (host,) = reference_and_host(graph, [x], tmp_path)
    np.testing.assert_array_equal(host, ref)


@pytest.mark.qemu
def test_lut_fast_on_qemu(tmp_path):
    from tests.kernels.qemu_tier import check_on_qemu

    check_on_qemu([_fast_graph(FAST_SHAPES[i], s)[0] for i in (0, 3, 9, 13, 15) for s in (0, 1)],
                  tmp_path, "tg_lut_s8_fast")

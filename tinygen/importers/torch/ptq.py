"""Calibration samples for PyTorch models (`--calibration`): never silently ignored.

* a float program (no quantizer in it): PT2E post-training quantization with TinygenQuantizer
  (prepare_pt2e, one sample at a time, convert_pt2e), then the usual import;
* a quantized program whose outputs are float (e.g. torchao's X86InductorQuantizer leaves the
  last layer's output unquantized): each such output gets an int8 grid from the min/max the
  program produces on the samples (the MinMax observer's formula);
* anything else: refused, since the samples would change nothing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinygen.errors import TinygenError
from tinygen.ir import float_ops as F
from tinygen.ir.graph import Graph, Node, Tensor

QUANT_MARKERS = ("fake_quant", "quantized_decomposed.", "tinygen.")


def load_samples(calibration, source) -> np.ndarray:
    x = np.load(calibration) if isinstance(calibration, (str, Path)) else np.asarray(calibration)
    if x.dtype.kind != "f" or x.ndim < 2 or len(x) == 0:
        raise TinygenError(f"{source}: calibration samples must be a float array [N, *input shape], got "
                           f"{x.dtype} {list(x.shape)}")
    return x.astype(np.float32)


def _batches(x: np.ndarray, shape: tuple[int, ...], source):
    import torch

    if tuple(x.shape[1:]) == tuple(shape[1:]):
        return [torch.from_numpy(x[i:i + 1]) for i in range(len(x))]
    if tuple(x.shape[1:]) == tuple(shape):
        return [torch.from_numpy(x[i]) for i in range(len(x))]
    raise TinygenError(f"{source}: calibration samples are {list(x.shape)}; the model takes {list(shape)}: pass "
                       f"[N, {', '.join(str(d) for d in shape[1:])}]")


def is_quantized(ep) -> bool:
    return any(any(m in str(n.target) for m in QUANT_MARKERS) for n in ep.graph.nodes if n.op == "call_function")


def _input_shape(ep) -> tuple[int, ...]:
    users = list(ep.graph_signature.user_inputs)
    node = next(n for n in ep.graph.nodes if n.op == "placeholder" and n.name in users)
    return tuple(int(d) for d in node.meta["val"].shape)


def quantize_ptq(model, samples, input_shape=None, source="model"):
    """A float nn.Module or ExportedProgram + samples -> the convert_pt2e ExportedProgram."""
    import torch

    try:
        from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e
    except ImportError:
        raise TinygenError(f"{source}: quantizing a float PyTorch model with --calibration needs torchao: "
                           "pip install torchao==0.18.0") from None
    from tinygen.importers.torch.quantizer import TinygenQuantizer

    x = load_samples(samples, source)
    if isinstance(model, torch.nn.Module):
        if input_shape is None:
            input_shape = (1,) + tuple(x.shape[1:])
        model = torch.export.export(model.eval(), (torch.zeros(tuple(input_shape)),))
    shape = _input_shape(model)
    batches = _batches(x, shape, source)
    prepared = prepare_pt2e(model.module(), TinygenQuantizer())
    with torch.no_grad():
        for b in batches:
            prepared(b)
    return torch.export.export(convert_pt2e(prepared), (batches[0],))


def import_calibrated(ep, samples, source: Path, traced: bool = False) -> Graph:
    from tinygen.importers.torch.graph import import_exported_program

    if not is_quantized(ep):
        return import_exported_program(quantize_ptq(ep, samples, source=source), source)
    graph = import_exported_program(ep, source, traced)
    floats = [o for o in graph.outputs if (p := graph.producer(o)) is None or p.op != "fake_quant"]
    if not floats:
        raise TinygenError(f"{source}: the model is already quantized; --calibration applies only to float models "
                           "(or float outputs): drop it")
    _quantize_outputs(ep, graph, floats, load_samples(samples, source), source)
    return graph


def _quantize_outputs(ep, graph: Graph, floats: list[str], x: np.ndarray, source) -> None:
    import torch

    module = ep.module()
    lo, hi = {}, {}
    with torch.no_grad():
        for b in _batches(x, _input_shape(ep), source):
            outs = module(b)
            outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
            for i, o in enumerate(outs):
                lo[i] = min(lo.get(i, 0.0), float(o.min()))
                hi[i] = max(hi.get(i, 0.0), float(o.max()))
    for name in floats:
        i = graph.outputs.index(name)
        scale = max((hi[i] - lo[i]) / 255.0, 2 ** -12)
        zp = int(np.clip(-128 - round(lo[i] / scale), -128, 127))
        t = graph.t(name)
        out = graph.add_tensor(Tensor(graph.unique_name(name + "_q"), t.shape, t.dtype)).name
        graph.add_node(Node(graph.unique_name(name + "_q", "node"), "fake_quant", [name], [out],
                            F.FakeQuant((float(scale),), (zp,), -128, 127), source="int8 grid from --calibration"))
        graph.outputs[i] = out


def import_torch_calibrated(path: Path, input_shape, trust_pickle: bool, calibration) -> Graph:
    """A model file plus calibration samples (see import_calibrated for what they are used for)."""
    import tinygen.nn  # noqa: F401  (registers tinygen::sign_ste, which torch.export.load must resolve)
    from tinygen.importers.torch.load import load_exported_program

    ep, traced = load_exported_program(path, input_shape, trust_pickle)
    return import_calibrated(ep, calibration, Path(path), traced)

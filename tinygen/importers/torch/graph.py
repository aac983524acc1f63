"""ExportedProgram -> float-dialect Graph.

Walks the exported aten graph once. Any call whose tensor inputs are all constants (weight
quantizer scales, reshapes of parameters, ...) is evaluated with torch right here, except
fake-quant of a constant, which becomes an integer constant with its quantization parameters.
Every other call is translated by the handler registered for its aten op in `context.HANDLERS`:
layers.py (fake-quant, convolutions, linear, batch norm, element-wise, data movement, pooling),
sign.py (the sign patterns of binarized networks) and reductions.py (max-out, maximum, variance,
softmax).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tinygen.errors import TinygenError, UnsupportedOpError
from tinygen.importers.torch import layers, reductions, sign  # noqa: F401  (register the handlers)
from tinygen.importers.torch import qat  # noqa: F401  (eager/FX QAT fake-quant, fused Conv-BN: wraps layers' div/add)
from tinygen.importers.torch import pt2e  # noqa: F401  (PT2E quantize/dequantize)
from tinygen.importers.torch.context import HANDLERS, KEEP_QUANTIZED_CONSTS, Ctx, target_name
from tinygen.importers.torch.load import load_exported_program
from tinygen.ir.graph import DType, Graph, Tensor

# Ops that only carry metadata or are the identity at inference time.
PASS_THROUGH = {
    "aten.detach.default", "aten.clone.default", "aten.contiguous.default", "aten.alias.default",
    "aten.dropout.default", "aten.to.dtype", "aten._to_copy.default", "aten.lift_fresh_copy.default",
}
IGNORED = {"aten._assert_tensor_metadata.default", "aten.sym_size.int", "aten._assert_scalar.default"}



def import_torch(path: Path, input_shape=None, trust_pickle: bool = False) -> Graph:
    import tinygen.nn  # noqa: F401  (registers tinygen::sign_ste, which torch.export.load must resolve)

    ep, traced = load_exported_program(path, input_shape, trust_pickle)
    try:
        return import_exported_program(ep, Path(path), traced)
    except (RuntimeError, ValueError, TypeError, IndexError, KeyError, OverflowError) as e:
        # torch ops on a damaged file's constants (e.g. a zero point outside the range) raise these
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
        raise TinygenError(f"{path}: PyTorch failed on the model's data ({type(e).__name__}: {first}); "
                           "the file is damaged or not a tinygen-compatible model") from None


def import_torch_object(model, input_shape=None) -> tuple[Graph, str]:
    """An in-memory nn.Module (exported here with `input_shape`) or ExportedProgram -> (graph, name)."""
    import torch

    name = type(model).__name__.lower()
    if isinstance(model, torch.nn.Module):
        if input_shape is None:
            raise TinygenError("building an nn.Module needs input_shape, e.g. (1, 1, 16, 16)")
        model = torch.export.export(model.eval(), (torch.zeros(tuple(input_shape)),))
    elif not isinstance(model, torch.export.ExportedProgram):
        raise TinygenError(f"cannot build a {type(model).__name__}: pass a model file path, an nn.Module with "
                           "input_shape, or a torch.export.ExportedProgram")
    return import_exported_program(model, Path(name)), name


def import_exported_program(ep, path: Path, traced: bool = False) -> Graph:
    """Translate an in-memory ExportedProgram; `path` names the model in messages and output.
    `traced`: the program was traced here from a concrete input, so symbolic sizes are concrete."""
    sig = ep.graph_signature
    const_of: dict[str, Any] = {}
    for ph, name in {**sig.inputs_to_parameters, **sig.inputs_to_buffers}.items():
        const_of[ph] = ep.state_dict[name] if name in ep.state_dict else ep.constants[name]
    for ph, name in getattr(sig, "inputs_to_lifted_tensor_constants", {}).items():
        const_of[ph] = ep.constants[name]

    graph = Graph(Path(path).stem)
    ctx = Ctx(graph, Path(path))
    user_inputs = list(sig.user_inputs)
    for node in ep.graph.nodes:
        ctx.fx_node = node
        if node.op == "placeholder":
            if node.name in const_of:
                ctx.consts[node.name] = const_of[node.name]
            elif node.name in user_inputs:
                val = node.meta.get("val")
                if val is None:
                    raise ctx.error("input without shape information")
                if not traced and not all(isinstance(d, int) for d in val.shape):
                    raise TinygenError(f"{path}: input '{node.name}' has a dynamic shape {list(val.shape)}; export "
                                       "with static shapes (no dynamic_shapes), batch 1")
                shape = tuple(int(d) for d in val.shape)
                if shape and shape[0] != 1:
                    raise TinygenError(f"{path}: input '{node.name}' has batch {shape[0]}; export with batch 1")
                graph.add_tensor(Tensor(node.name, shape, DType.FLOAT32))
                graph.inputs.append(node.name)
                ctx.names[node.name] = node.name
            else:
                ctx.consts[node.name] = None  # unused token (e.g. an input the program ignores)
        elif node.op == "call_function":
            _call(ctx, node)
        elif node.op == "output":
            outs = node.args[0]
            for o in outs if isinstance(outs, (list, tuple)) else [outs]:
                graph.outputs.append(ctx.act(o))
    if not graph.inputs:
        raise TinygenError(f"{path}: the model takes no tensor input")
    graph.prune()
    return graph


def _call(ctx: Ctx, node) -> None:
    name = target_name(node.target)
    if name in IGNORED:
        return
    if name == "getitem" or node.target.__name__ == "getitem" if hasattr(node.target, "__name__") else False:
        src, idx = node.args
        if src.name in ctx.consts:
            ctx.consts[node.name] = ctx.consts[src.name][idx]
        else:
            outs = ctx.names[src.name]
            ctx.names[node.name] = outs[idx] if isinstance(outs, list) else outs
        return
    is_fq = "fake_quantize" in name or name in KEEP_QUANTIZED_CONSTS
    if not is_fq and ctx.is_const(list(node.args)) and ctx.is_const(list(node.kwargs.values())):
        with ctx.torch.no_grad():
            ctx.consts[node.name] = node.target(*ctx.const(list(node.args)), **ctx.const(dict(node.kwargs)))
        return
    if name in PASS_THROUGH:
        ctx.names[node.name] = ctx.act(node.args[0])
        return
    handler = HANDLERS.get(name)
    if handler is None:
        raise ctx.error(f"unsupported op '{name}'; `tinygen build --list-ops` lists the ops tinygen translates",
                        UnsupportedOpError)
    ctx.names[node.name] = handler(ctx, node, list(node.args), dict(node.kwargs))

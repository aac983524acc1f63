"""Render a lowered graph and its memory plan into `<prefix>.c` / `<prefix>.h`.

Python computes every value (via each op's `emit`); the templates in templates/ hold the file
structure. The output is deterministic: the same graph gives byte-identical sources.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import numpy as np

from tinygen.version import __version__
from tinygen.codegen.cformat import c_array, c_float, c_ident, c_int
from tinygen.codegen.cstruct import struct_fields
from tinygen.codegen.local_symbols import global_symbols, local_types_header
from tinygen.errors import TinygenError
from tinygen.ir.graph import Graph
from tinygen.ops.base import CArray, Kernel, KernelCall, get
from tinygen.paths import RUNTIME_INCLUDE, RUNTIME_KERNELS, TEMPLATES
from tinygen.ops import inplace_rows
from tinygen.plan import liveness, patch
from tinygen.plan.liveness import ALIGN
from tinygen.plan.memory_plan import MemoryPlan


@dataclass
class LayerInfo:
    index: int
    name: str
    op: str
    comment: str
    macs: int
    weight_bytes: int
    symbol: str


@dataclass
class GeneratedModel:
    prefix: str
    files: dict[str, str]  # file name -> text
    runtime_files: list[Path]  # hand-written C the model needs, copied beside it
    weight_bytes: int
    macs: int
    layers: list[LayerInfo] = field(default_factory=list)
    local_symbols: list[str] = field(default_factory=list)  # kernel globals renamed <prefix>_tg_* (local_symbols.py)

    def write(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        for name, text in self.files.items():
            (directory / name).write_text(text)
        for src in self.runtime_files:
            if src.name == "tg_types.h":
                (directory / src.name).write_text(local_types_header(src.read_text(), self.prefix, self.local_symbols))
            else:
                (directory / src.name).write_bytes(src.read_bytes())


def _with_includes(headers: list[str]) -> list[str]:
    """The headers plus every runtime header they include, transitively, sorted."""
    seen: set[str] = set()
    todo = list(headers)
    while todo:
        h = todo.pop()
        if h in seen:
            continue
        seen.add(h)
        todo += re.findall(r'#include "([^"]+)"', (RUNTIME_INCLUDE / h).read_text())
    return sorted(seen)


def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _spec(graph: Graph, name: str, role: str, index: int) -> dict:
    t = graph.t(name)
    q = t.quant
    return {
        "role": role, "index": index, "dtype": t.dtype.value, "ctype": t.dtype.ctype,
        "shape": list(t.shape), "layout": "NHWC" if len(t.shape) == 4 else "",
        "size": t.size, "bytes": t.nbytes, "scale": c_float(q.scale[0]) if q else "1.0",
        "zero_point": q.zero_point[0] if q else 0,
        # quantize/dequantize helpers only for affine integer tensors (not float or bit-packed)
        "qmin": (q.qmin if q else -128) if t.dtype.value in ("int8", "uint8", "int16") else None,
        "qmax": (q.qmax if q else 127) if t.dtype.value in ("int8", "uint8", "int16") else None,
    }


def _source_name(node) -> str:
    """The node's name and, when it differs, where it came from in the user's model (for C comments)."""
    text = node.name if not node.source or node.source == node.name else f"{node.name} from {node.source}"
    return text.replace("*/", "* /")


def _real_scales(multiplier: np.ndarray, shift: np.ndarray, shown: int = 4) -> str:
    """A readable form of requantization multipliers: the real scales m * 2^(shift - 31)."""
    real = [float(m) * 2.0 ** (int(e) - 31) for m, e in zip(multiplier.reshape(-1), shift.reshape(-1))]
    if not real:
        return ""
    more = f", ... ({len(real)} channels)" if len(real) > shown else ""
    return "real scales m * 2^(shift - 31): " + ", ".join(f"{r:.6g}" for r in real[:shown]) + more


def _check_fields(node, kernel: Kernel, call: KernelCall) -> None:
    """The emitted values must fill the kernel's params struct exactly (see cstruct.py)."""
    declared = {f.name: f for f in struct_fields(kernel.header, kernel.params_type)}
    given = [name for name, _ in call.fields]
    problems = []
    missing = sorted(set(declared) - set(given))
    extra = sorted(set(given) - set(declared))
    if missing:
        problems.append(f"missing {missing}")
    if extra:
        problems.append(f"not in the struct {extra}")
    if len(set(given)) != len(given):
        problems.append("a field given twice")
    for name, value in call.fields:
        f = declared.get(name)
        if f is None:
            continue
        if isinstance(value, CArray) and (not f.pointer or f.ctype != value.ctype):
            problems.append(f"{name}: {value.ctype} array for a {'pointer to ' if f.pointer else ''}{f.ctype}")
        elif not isinstance(value, CArray) and value is not None and f.pointer:
            problems.append(f"{name}: a number for a pointer")
        elif value is None and not f.pointer:
            problems.append(f"{name}: NULL for a number")
    if problems:
        raise ValueError(f"{node.describe()}: fields for {kernel.params_type} ({kernel.header}) do not match "
                         f"the struct: {'; '.join(problems)}")


ARENA_ALIGN = ALIGN  # a caller's arena must be aligned like every planned offset


def model_prefix(name: str, where: str = "--name") -> str:
    """The C symbol prefix of a model library: a C identifier, lower case."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,40}", name) or name.lower().startswith("tg_"):
        raise TinygenError(f"{where} {name!r} is not a usable symbol prefix: use a C identifier of up to 41 "
                           "letters, digits and underscores, not starting with a digit or tg_ (e.g. kws_model)")
    return name.lower()


def _chain_call(graph: Graph, plan: MemoryPlan, ch, exprs: dict[str, str]) -> tuple[str, list[str]]:
    """tg_chain_rows's arguments after the add's params (tg_inplace_rows.h): the chain's call, at
    its last node (the add, whose params come first, or the last conv, which passes 0 for them)."""
    index = {n.name: i for i, n in enumerate(graph.nodes)}

    def conv(name: str) -> str:
        """The conv's struct tg_conv_rows_call initializer: params, kernel, scratch."""
        i = index[name]
        node = graph.nodes[i]
        kernel = get(node.op).kernel(node)
        scratch = f"(tg_arena + {plan.offsets[plan.scratch_buffer(node)]})" if kernel.scratch(node, graph) else ""
        fns = f"0, {kernel.symbol}, {scratch}" if scratch else f"{kernel.symbol}, 0, 0"
        return f"{{&L{i}_params, {fns}}}"

    first, last = graph.nodes[index[ch.convs[0]]], graph.nodes[index[ch.convs[-1]]]
    n = len(ch.convs)
    convs = f"(const struct tg_conv_rows_call[]){{{', '.join(conv(c) for c in ch.convs)}}}"
    sc = f"&(const struct tg_conv_rows_call){conv(ch.shortcut)}" if ch.shortcut else "0"
    bands = f"(int8_t *const[]){{{', '.join(exprs[t] for t, _ in ch.bands[:n])}}}"
    band_sc = exprs[ch.bands[n][0]] if ch.shortcut else "0"
    if ch.add:
        add = graph.nodes[index[ch.add]]
        head = [get(add.op).kernel(add).symbol, str(int(add.inputs[1] == last.outputs[0]))]
    else:
        head = ["0", "0"]
    out = graph.nodes[index[ch.last]].outputs[0]
    return "tg_chain_rows", head + [str(n), convs, sc, exprs[first.inputs[0]], exprs[out], bands, band_sc]


def generate(graph: Graph, plan: MemoryPlan, source: str = "", name: str | None = None) -> GeneratedModel:
    """`name` sets the symbol prefix (<name>_invoke, ...); by default the graph's name."""
    prefix = model_prefix(name) if name else c_ident(graph.name).lower()
    exprs: dict[str, str] = {}
    arena_tensors = []
    first: dict[str, int] = {b.name: b.first for b in plan.buffers}
    last: dict[str, int] = {b.name: b.last for b in plan.buffers}
    in_arena: dict[str, str] = {}  # graph input in the arena -> its macro
    for i, name in enumerate(graph.inputs):
        if name in plan.arena_inputs and name not in in_arena:
            t = graph.t(name)
            macro = f"T{len(arena_tensors)}"
            arena_tensors.append({
                "macro": macro, "ctype": t.dtype.ctype, "offset": plan.offsets[name],
                "shape": f"{t.dtype.value}{list(t.shape)}", "first": first[name], "last": last[name],
                "producer": f"the caller (input{i})",
            })
            in_arena[name] = macro
        exprs.setdefault(name, in_arena.get(name, f"input{i}"))
    for i, name in enumerate(graph.outputs):
        exprs.setdefault(name, f"output{i}")

    for st in plan.patches:  # tensors inside a patch stage exist only as tile buffers
        for t, off, _ in st.tiles:
            exprs[t] = f"((int8_t *)(void *)(tg_arena + {plan.offsets[patch.scratch_name(st)] + off}))"
    for node in graph.nodes:
        for out in node.outputs:
            if out in exprs:
                continue
            root = plan.aliases.get(out, out)
            if root in exprs:
                exprs[out] = exprs[root]
                continue
            t = graph.t(out)
            macro = f"T{len(arena_tensors)}"
            arena_tensors.append({
                "macro": macro, "ctype": t.dtype.ctype, "offset": plan.offsets[root],
                "shape": f"{t.dtype.value}{list(t.shape)}", "first": first[root], "last": last[root],
                "producer": _source_name(node),
            })
            exprs[out] = exprs[root] = macro

    layers, infos, scratch_checks = [], [], []
    kernels: set[str] = set()
    headers: set[str] = set()
    weight_bytes = macs = 0
    for idx, node in enumerate(graph.nodes):
        op = get(node.op)
        kernel = op.kernel(node)
        call = op.emit(node, graph)
        _check_fields(node, kernel, call)
        arrays, fields = [], []
        layer_weight_bytes = 0
        given = dict(call.fields)
        for fname, value in call.fields:
            if isinstance(value, CArray):
                values = np.asarray(value.values)
                aname = f"L{idx}_{fname}"
                comment = value.comment
                if fname == "multiplier" and isinstance(given.get("shift"), CArray) and not comment:
                    comment = _real_scales(values, np.asarray(given["shift"].values))
                arrays.append({"name": aname, "ctype": value.ctype, "count": max(values.size, 1),
                               "body": c_array(values if values.size else np.zeros(1, int), value.ctype),
                               "comment": comment})
                layer_weight_bytes += values.size * np.dtype(value.ctype.replace("_t", "")).itemsize
                fields.append((fname, aname))
            elif value is None:
                fields.append((fname, "0"))  # NULL: a pointer this call does not use
            else:
                fields.append((fname, c_int(value)))
        for name in call.inputs:
            t = graph.t(name)
            if t.is_const and name not in exprs:
                aname = f"L{idx}_{c_ident(name)}"
                arrays.append({"name": aname, "ctype": t.dtype.ctype, "count": max(t.size, 1),
                               "body": c_array(t.data, t.dtype.ctype), "comment": f"constant {name} {list(t.shape)}"})
                layer_weight_bytes += t.nbytes
                exprs[name] = aname
        in_exprs = [exprs[i] for i in call.inputs]
        out_exprs = [exprs[o] for o in call.outputs]
        input_array = f"L{idx}_inputs" if call.inputs_as_array else ""
        args = ([input_array] if input_array else in_exprs) + out_exprs
        scratch = kernel.scratch(node, graph)
        if scratch:
            scratch_checks.append({"index": idx, "symbol": kernel.symbol, "params": f"L{idx}_params", "bytes": scratch})
            args.append(f"(tg_arena + {plan.offsets[plan.scratch_buffer(node)]})")
        skip = call.skip_if_inplace and in_exprs and in_exprs[0] == out_exprs[0]
        if not skip:
            kernels.add(kernel.symbol)
            headers.add(kernel.header)
        symbol = kernel.symbol
        fused_into = plan.fused_into(node.name)
        params_arg = f"&L{idx}_params"
        stage = next((st for st in plan.patches if st.first == node.name), None)
        patch_call = None
        if stage is not None:  # a patch stage, run tile by tile here (plan/patch.py)
            patch_call = patch.c_call(graph, stage, {n.name: f"L{i}_params" for i, n in enumerate(graph.nodes)},
                                      exprs, plan.offsets[patch.scratch_name(stage)], idx)
            headers.add(patch.HEADER)
            for m in stage.nodes:  # every member's kernel is called by the loop
                mn = next(n for n in graph.nodes if n.name == m)
                kernels.add(get(mn.op).kernel(mn).symbol)
                headers.add(get(mn.op).kernel(mn).header)
        if node.name in plan.chains:  # a fused chain, run band by band at its last node (plan/fusion.py)
            symbol, args = _chain_call(graph, plan, plan.chains[node.name], exprs)
            if not plan.chains[node.name].add:
                params_arg = "0"  # the add's params: none (the last conv's go in the chain's table)
            headers.add(inplace_rows.HEADER)
        elif liveness.lag_name(node) in plan.offsets:  # in place on row bands (tinygen/ops/inplace_rows.py)
            symbol = inplace_rows.wrapper(node, graph, bool(scratch))
            lag = f"(int8_t *)(void *)(tg_arena + {plan.offsets[liveness.lag_name(node)]})"
            args = [kernel.symbol, out_exprs[0], lag] + ([args[-1]] if scratch else [])
            headers.add(inplace_rows.HEADER)
        m = op.macs(node, graph)
        layers.append({
            "index": idx, "op": node.op, "comment": call.comment or node.name, "arrays": arrays,
            "source": _source_name(node),
            "params_type": kernel.params_type, "params_name": f"L{idx}_params", "params_arg": params_arg, "fields": fields,
            "symbol": symbol, "args": args, "inputs": in_exprs, "outputs": call.outputs,
            "input_array": input_array, "skip": skip, "fused_into": fused_into, "patch": patch_call,
            # a fused pair's first output exists only as band rows, a patch stage's only as tiles:
            # the hook sees none of it
            "out_expr": exprs.get(node.outputs[0], "0"),
            "out_bytes": 0 if fused_into or stage is not None else graph.t(node.outputs[0]).nbytes,
        })
        infos.append(LayerInfo(idx, node.name, node.op, call.comment, m, layer_weight_bytes, kernel.symbol))
        weight_bytes += layer_weight_bytes
        macs += m

    ins = [_spec(graph, n, "input", i) for i, n in enumerate(graph.inputs)]
    for s_in, n in zip(ins, graph.inputs):  # written by the caller into the arena, or copied there
        s_in["macro"] = in_arena.get(n, "")
        s_in["offset"] = plan.offsets[n] if n in in_arena else None
    outs = [_spec(graph, n, "output", i) for i, n in enumerate(graph.outputs)]
    signature = ", ".join([f"const {s['ctype']} *input{s['index']}" for s in ins]
                          + [f"{s['ctype']} *output{s['index']}" for s in outs])
    call_args = ", ".join([f"input{s['index']}" for s in ins] + [f"output{s['index']}" for s in outs])
    ctx = {
        "version": __version__, "source": source or graph.name, "prefix": prefix, "PREFIX": prefix.upper(),
        "guard": f"TG_MODEL_{prefix.upper()}_H", "layers": layers, "arena_tensors": arena_tensors,
        "arena_bytes": plan.arena_bytes, "arena_align": ARENA_ALIGN, "lower_bound": plan.lower_bound, "weight_bytes": weight_bytes,
        "macs": macs, "headers": sorted(headers), "scratch_checks": scratch_checks, "inputs": ins, "outputs": outs, "signature": signature, "call_args": call_args,
    }
    env = _env()
    files = {
        f"{prefix}.h": env.get_template("model.h.j2").render(ctx),
        f"{prefix}.c": env.get_template("model.c.j2").render(ctx),
    }
    sources = [RUNTIME_KERNELS / f"{k}.c" for k in sorted(kernels)]
    wanted = ["tg_types.h", *sorted(headers)]
    for src in sources:
        wanted += re.findall(r'#include "([^"]+)"', src.read_text())
    runtime = [RUNTIME_INCLUDE / h for h in _with_includes(wanted)] + sources
    return GeneratedModel(prefix, files, runtime, weight_bytes, macs, infos, global_symbols(sources))

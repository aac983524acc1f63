"""How tinygen's modules may import each other, checked on the source with `ast`.

* No import cycles between tinygen modules, counting imports inside functions too (a cycle hidden
  in a function still ties the modules together). An edge goes to the module an import names:
  `from a.b import c` is an edge to a.b.c when that is a module, else to a.b; `import a.b` is an
  edge to a.b. The parent packages' __init__ files, which Python also runs, are not edges: they
  only gather their submodules.
* No private name (one leading underscore) is imported from another tinygen module.
* Framework imports (torch, tensorflow, tflite, tflite_micro, larq, larq_compute_engine, keras,
  flatbuffers) only in tinygen/importers/ (reading model files) and tinygen/nn/ (tinygen's PyTorch
  training modules, imported by users' training code and by the torch importer so that saved
  models resolve tinygen's custom ops). Everything else (passes, ops, reference, plan, codegen,
  build, device, cli, pipeline) runs without any framework installed; pipeline and cli reach the
  frameworks only through tinygen.importers.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "tinygen"
FRAMEWORKS = {"torch", "tensorflow", "tflite", "tflite_micro", "larq", "larq_compute_engine", "keras", "flatbuffers",
              "tf_keras"}
FRAMEWORK_HOMES = ("tinygen.importers", "tinygen.nn")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str, path: Path, modules: dict[str, Path]) -> list[tuple[str, int]]:
    """(imported module, line) for every import statement in the file, at any depth."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for a in node.names:
                sub = f"{base}.{a.name}"
                out.append((sub if sub in modules else base, node.lineno))
    return out


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {m: {t for t, _ in _imports(m, p, modules) if t in modules and t != m} for m, p in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, comps = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return comps


def test_the_walk_sees_the_whole_package():
    graph = _graph()
    assert len(graph) > 100
    assert "tinygen.importers.tflite.context" in graph["tinygen.importers.tflite.builtin"]
    assert "tinygen.quant.multiplier" in graph["tinygen.quant.params"]


def test_cycle_finder_finds_a_cycle_through_a_function_level_import():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_imports_inside_functions_and_relative_imports_are_seen(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("def g():\n    import torch.fx\n    from .sib import x\n    from tinygen.quant import params\n")
    modules = {"tinygen.pkg.sib": f, "tinygen.quant.params": f}
    assert _imports("tinygen.pkg.m", f, modules) == [("torch.fx", 2), ("tinygen.pkg.sib", 3),
                                                    ("tinygen.quant.params", 4)]


def test_no_import_cycles_between_tinygen_modules():
    cycles = _cycles(_graph())
    assert not cycles, "import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_no_private_names_cross_modules():
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("tinygen")):
                bad += [f"{path.relative_to(ROOT)}:{node.lineno} imports {a.name}" for a in node.names
                        if a.name.startswith("_") and not a.name.startswith("__")]
    assert not bad, "private names imported across modules: " + "; ".join(bad)


def test_framework_imports_only_in_importers_and_nn():
    modules = _modules()
    bad = []
    for name, path in modules.items():
        if name.startswith(FRAMEWORK_HOMES):
            continue
        for target, line in _imports(name, path, modules):
            if target.split(".")[0] in FRAMEWORKS:
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert not bad, "framework imports outside tinygen/importers and tinygen/nn: " + "; ".join(bad)

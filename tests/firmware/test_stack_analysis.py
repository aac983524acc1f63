"""Worst-case stack from -fcallgraph-info files, on synthetic call graphs (no toolchain needed)."""

from tinygen.compile.sizes import EXCEPTION_FRAME_BYTES, worst_case_stack


def _ci(path, title, nodes, edges):
    lines = [f'graph: {{ title: "{title}"']
    for name, size in nodes:
        if size is None:
            lines.append(f'node: {{ title: "{name}" label: "{name}\\nx.h:1:1" shape : ellipse }}')
        else:
            lines.append(f'node: {{ title: "{name}" label: "{name}\\n{title}:1:1\\n{size} bytes (static)" }}')
    for a, b in edges:
        lines.append(f'edge: {{ sourcename: "{a}" targetname: "{b}" label: "{title}:2:3" }}')
    path.write_text("\n".join(lines) + "\n}\n")


def test_longest_path_across_files_with_statics_and_indirect_hooks(tmp_path):
    _ci(tmp_path / "a.ci", "a.c", [("Reset_Handler", 8), ("main", 32), ("a.c:helper", 100), ("invoke", None)],
        [("Reset_Handler", "main"), ("main", "a.c:helper"), ("main", "invoke")])
    _ci(tmp_path / "b.ci", "b.c", [("invoke", 16), ("__indirect_call", None), ("b.c:profile_hook", 24),
                                   ("tg_fault_entry", 0), ("tg_fault_report", 168), ("memset", None)],
        [("invoke", "__indirect_call"), ("b.c:profile_hook", "memset")])
    r = worst_case_stack(tmp_path, entry="Reset_Handler", handlers=("tg_fault_entry",))
    # Reset(8) + main(32) + helper(100) = 140 beats main -> invoke(16) -> hook(24) = 80.
    assert r.thread_bytes == 140 and r.path == ["Reset_Handler", "main", "a.c:helper"]
    assert r.handler_bytes == 168  # the inline-asm branch tg_fault_entry -> tg_fault_report is known
    assert r.thread_stack_bytes == 140 + EXCEPTION_FRAME_BYTES
    assert r.worst_bytes == 140 + EXCEPTION_FRAME_BYTES + 168
    assert any("memset" in w for w in r.warnings)  # no data for libc leaves without an ELF


def test_indirect_call_reaches_the_hooks(tmp_path):
    _ci(tmp_path / "a.ci", "a.c", [("Reset_Handler", 8), ("invoke", 16), ("__indirect_call", None),
                                   ("a.c:dump_hook", 300)],
        [("Reset_Handler", "invoke"), ("invoke", "__indirect_call")])
    r = worst_case_stack(tmp_path)
    assert r.thread_bytes == 8 + 16 + 300 and r.path[-1] == "a.c:dump_hook"


def test_recursion_is_reported(tmp_path):
    _ci(tmp_path / "a.ci", "a.c", [("Reset_Handler", 8), ("f", 40), ("g", 40)],
        [("Reset_Handler", "f"), ("f", "g"), ("g", "f")])
    r = worst_case_stack(tmp_path)
    assert any("recursion" in w for w in r.warnings)

"""Model-local names for the runtime kernels a model library carries.

Every model library holds its own copies of the tg_* kernels it calls, so two libraries linked
into one firmware would define the same global symbols. The copy of tg_types.h written beside
the model (every runtime header and kernel includes it first) therefore maps each global
function or object the copied kernel sources define, `tg_x`, to `<prefix>_tg_x`. The sources
stay the hand-written ones; only the names the linker sees change. Quoted includes resolve in
the including file's own folder first, so each library's kernels see their own map.
"""

from __future__ import annotations

import re
from pathlib import Path

# A definition at file scope: a line that starts with a type (not `static`) and names a tg_
# identifier followed by "(" (function) or "[" / "=" (object).
_DEFINITION = re.compile(r"^(?!static\b|typedef\b|extern\b|#)[A-Za-z_][\w \t\*]*?\b(tg_\w+)\s*[\(\[=]", re.M)


def global_symbols(sources: list[Path]) -> list[str]:
    """tg_ names with external linkage defined by `sources` (kernel .c files), sorted."""
    names: set[str] = set()
    for src in sources:
        names.update(_DEFINITION.findall(src.read_text()))
    return sorted(names)


def local_types_header(types_h: str, prefix: str, symbols: list[str]) -> str:
    """tg_types.h with the renaming block inserted right after its include guard."""
    guard = "#define TG_TYPES_H\n"
    if guard not in types_h:
        raise ValueError("tg_types.h lacks its TG_TYPES_H include guard")
    lines = [f"\n/* Model library {prefix}: this folder's kernels are model-local (see tinygen/codegen/local_symbols.py). */"]
    lines += [f"#define {s} {prefix}_{s}" for s in symbols]
    return types_h.replace(guard, guard + "\n".join(lines) + "\n", 1)

"""The C params structs, read from their one declaration in runtime_c/include/.

A kernel's params struct is declared once, in C. Codegen reads its fields from the header and
checks every emitted field list against them, so a field Python leaves out (which C would
silently initialise to 0) or misspells fails at generation time, not on the board.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from tinygen.paths import RUNTIME_INCLUDE

_STRUCT = re.compile(r"typedef\s+struct\s*\{(?P<body>[^{}]*)\}\s*(?P<name>\w+)\s*;", re.S)
_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)


@dataclass(frozen=True)
class CField:
    name: str
    ctype: str  # the element type, e.g. "int32_t"
    pointer: bool  # `const T *name`: a flash array (or NULL)


def _fields(body: str) -> tuple[CField, ...]:
    out = []
    for decl in _COMMENT.sub("", body).split(";"):
        decl = " ".join(decl.split())
        if not decl:
            continue
        m = re.fullmatch(r"(?:const\s+)?(\w+)\s+(.*)", decl)
        if m is None:
            raise ValueError(f"cannot read struct member declaration {decl!r}")
        ctype, names = m.groups()
        for name in names.split(","):
            name = name.strip()
            pointer = name.startswith("*")
            name = name.lstrip("*").strip()
            if name.startswith("const "):
                name = name[len("const "):].strip()
            if not re.fullmatch(r"\w+", name):
                raise ValueError(f"cannot read struct member {name!r} in {decl!r}")
            out.append(CField(name, ctype, pointer))
    return tuple(out)


@lru_cache(maxsize=None)
def structs_in(header: str) -> dict[str, tuple[CField, ...]]:
    """Every `typedef struct {...} name;` in runtime_c/include/<header>."""
    text = (RUNTIME_INCLUDE / header).read_text()
    return {m["name"]: _fields(m["body"]) for m in _STRUCT.finditer(text)}


def struct_fields(header: str, params_type: str) -> tuple[CField, ...]:
    structs = structs_in(header)
    if params_type not in structs:
        raise ValueError(f"{header} declares no struct {params_type} (it has {sorted(structs)})")
    return structs[params_type]

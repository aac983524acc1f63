"""The only place Python writes C literals: identifiers, numbers and array bodies."""

from __future__ import annotations

import re

import numpy as np

_C_KEYWORDS = {
    "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum",
    "extern", "float", "for", "goto", "if", "inline", "int", "long", "register", "restrict", "return",
    "short", "signed", "sizeof", "static", "struct", "switch", "typedef", "union", "unsigned", "void",
    "volatile", "while",
}


def c_ident(name: str) -> str:
    """A valid, stable C identifier derived from `name`."""
    s = re.sub(r"[^0-9a-zA-Z_]", "_", name).strip("_") or "model"
    if s[0].isdigit():
        s = "m_" + s
    if s in _C_KEYWORDS:
        s += "_"
    return s


def c_int(v: int) -> str:
    v = int(v)
    if v == -(2**31):
        return "(-2147483647 - 1)"  # INT32_MIN cannot be written as one literal
    return str(v)


def c_float(v: float) -> str:
    return repr(float(v))


def c_array(values: np.ndarray, ctype: str, per_line: int | None = None) -> str:
    flat = np.asarray(values).reshape(-1)
    if ctype == "uint32_t":
        items = [f"0x{int(v) & 0xFFFFFFFF:08x}u" for v in flat]
        per_line = per_line or 8
    else:
        items = [c_int(v) for v in flat]
        per_line = per_line or (16 if ctype in ("int8_t", "uint8_t") else 8)
    lines = ["    " + ", ".join(items[i:i + per_line]) + "," for i in range(0, len(items), per_line)]
    return "\n".join(lines)

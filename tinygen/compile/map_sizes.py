"""Who owns which bytes of a linked firmware: the GNU ld map file, attributed per input object.

The firmware links the model library (DIR/model: the model's C file and its kernels), the
validation harness (harness/, targets/<T>/tg_glue.c), the board support (platform/) and pieces
of newlib and libgcc. The report puts the model library's own figures first, because those are
what a user's firmware will pay; the rest is the harness's.

Map format (GNU ld, `-Map`): after "Linker script and memory map", an output section starts in
column 0 (`.text  0x08000040  0x271c`); its input sections follow, indented, as
`  .text.name  ADDRESS  SIZE  OBJECT` on one line, or the name alone on one line and
`ADDRESS SIZE OBJECT` on the next when the name is long. `*fill*` lines are alignment padding.
Output sections are classified as in sizes.py (text, rodata, data, bss, stack); others (debug
info, .comment, .ARM.attributes) are not in the image.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

KINDS = ("text", "rodata", "data", "bss")
_OUTPUT = re.compile(r"^(\.[\w.]+)(?:\s+0x[0-9a-f]+\s+0x[0-9a-f]+)?")
_INPUT = re.compile(r"^\s+(?:(\S+)\s+)?0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$")
_NAME_ONLY = re.compile(r"^\s(\S+)$")


def _kind(output_section: str) -> str | None:
    if output_section in (".isr_vector", ".text") or output_section.startswith((".ARM.ex", ".text")):
        return "text"
    if output_section.startswith(".rodata"):
        return "rodata"
    if output_section.startswith(".data"):
        return "data"
    if output_section.startswith(".bss"):
        return "bss"
    return None


@dataclass
class Part:
    """Bytes one group of objects puts in each kind of section."""
    text: int = 0
    rodata: int = 0
    data: int = 0
    bss: int = 0
    objects: dict[str, int] = field(default_factory=dict)  # object -> bytes (all kinds)

    @property
    def flash_bytes(self) -> int:
        return self.text + self.rodata + self.data

    @property
    def ram_bytes(self) -> int:
        return self.data + self.bss

    def to_json(self) -> dict:
        return {"text": self.text, "rodata": self.rodata, "data": self.data, "bss": self.bss,
                "flash_bytes": self.flash_bytes, "ram_bytes": self.ram_bytes}


def group_of(obj: str) -> str:
    """model | harness | platform | libraries | linker, from an input object's path."""
    if ".a(" in obj or obj.endswith(".a"):
        return "libraries"
    parts = Path(obj).parts
    for name in ("model", "harness", "platform"):
        if name in parts:
            return name
    if "targets" in parts:
        return "harness"  # tg_glue.c: the harness's view of the model
    if obj.startswith("linker stubs") or not obj.endswith(".o"):
        return "linker"
    return "harness"


def map_parts(map_file: str | Path, group: Callable[[str], str] = group_of) -> dict[str, Part]:
    """{group(object): Part} summed over every input section of the image's output sections."""
    text = Path(map_file).read_text(errors="replace").splitlines()
    try:
        start = next(i for i, line in enumerate(text) if line.startswith("Linker script and memory map"))
    except StopIteration:
        raise ValueError(f"{map_file}: not a GNU ld map file (no memory map section)") from None
    parts: dict[str, Part] = {}
    kind = None
    pending = False  # the previous line was an input section name alone
    for line in text[start + 1:]:
        if not line:
            continue
        if not line[0].isspace():
            m = _OUTPUT.match(line)
            kind = _kind(m.group(1)) if m else None
            pending = False
            continue
        if kind is None or line.lstrip().startswith("*fill*"):
            pending = False
            continue
        m = _INPUT.match(line)
        if m and (m.group(1) is not None or pending):
            size, obj = int(m.group(3), 16), m.group(4).strip()
            if size:
                part = parts.setdefault(group(obj), Part())
                setattr(part, kind, getattr(part, kind) + size)
                part.objects[obj] = part.objects.get(obj, 0) + size
            pending = False
            continue
        pending = bool(_NAME_ONLY.match(line))
    return parts

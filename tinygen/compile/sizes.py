"""Sizes of a linked firmware image and its worst-case stack.

Image sizes are read from the ELF section headers (ELF32 little-endian, parsed here; no binutils
needed): .isr_vector/.text/.ARM.* -> text, .rodata -> rodata, .data, .bss, and the reserved
.stack. Flash = text + rodata + data (its load image); RAM = data + bss + stack.

Worst-case stack (method):
  1. Every object is compiled with `-fstack-usage -fcallgraph-info=su`, which writes per
     function its static frame size (.su) and a VCG call graph with the same sizes (.ci).
  2. The .ci graphs of all objects are merged. Static functions are named "file:func", global
     ones by name, so edges resolve across files exactly as the linker does.
  3. Functions without compiler data (newlib's memcpy/memset, libgcc's __aeabi_* helpers) are
     looked up in the linked ELF and their prologue is disassembled (objdump): push/stmdb
     register lists, vpush, `sub sp, #N`. They are assumed to be leaves (true for the string
     and arithmetic helpers used here).
  4. The longest path from the entry (Reset_Handler) is the thread-mode worst case. Thread code
     runs on its own stack (PSP) and the fault handler on another (MSP), so the two are sized
     separately: the thread stack also holds the hardware exception frame a fault pushes at the
     deepest point (26 words with FP context, plus 4 bytes of alignment padding); the handler
     stack holds the fault handler's own worst case.

Limits: indirect calls resolve only to the functions listed as `indirect_targets` (tinygen's
only function pointers are the harness layer hooks); recursion and dynamic (alloca/VLA) frames
make the bound unsound and are reported in `warnings`; hand-written assembly that moves sp
other than in its prologue is not seen; inline asm branches (Reset_Handler -> tg_reset,
tg_fault_entry -> tg_fault_report) are given as explicit extra edges. The measured high-water mark (painted stack, reported by the
firmware in every RESULT) cross-checks the analysis on the target.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from tinygen.errors import TinygenError

EXCEPTION_FRAME_BYTES = 26 * 4 + 4  # FP extended frame + alignment padding (ARMv7-M B1.5.7)
FORBIDDEN = ("malloc", "_malloc_r", "calloc", "_calloc_r", "realloc", "_realloc_r", "free", "_free_r",
             "_sbrk", "_sbrk_r", "printf", "_printf_r", "_vfprintf_r", "_svfprintf_r", "puts", "_puts_r")

SHT_SYMTAB, SHT_NOBITS = 2, 8
SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR = 1, 2, 4
STT_OBJECT, STT_FUNC = 1, 2


@dataclass
class Symbol:
    name: str
    size: int
    kind: str  # "func" or "object"
    section: str


@dataclass
class ImageSizes:
    text: int
    rodata: int
    data: int
    bss: int
    stack: int
    sections: dict[str, int] = field(default_factory=dict)
    largest: list[Symbol] = field(default_factory=list)  # biggest functions and objects

    @property
    def flash_bytes(self) -> int:
        return self.text + self.rodata + self.data

    @property
    def ram_bytes(self) -> int:
        return self.data + self.bss + self.stack

    def to_json(self) -> dict:
        return {"text": self.text, "rodata": self.rodata, "data": self.data, "bss": self.bss, "stack": self.stack,
                "flash_bytes": self.flash_bytes, "ram_bytes": self.ram_bytes, "sections": self.sections,
                "largest": [{"name": s.name, "bytes": s.size, "kind": s.kind, "section": s.section}
                            for s in self.largest]}


def _read_elf(path: Path):
    data = Path(path).read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 1 or data[5] != 1:
        raise TinygenError(f"{path} is not a 32-bit little-endian ELF file")
    (shoff,) = struct.unpack_from("<I", data, 0x20)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x2E)
    sections = []
    for i in range(shnum):
        sections.append(struct.unpack_from("<IIIIIIIIII", data, shoff + i * shentsize))
    strtab_off = sections[shstrndx][4]

    def name_at(off: int, base: int) -> str:
        end = data.index(b"\0", base + off)
        return data[base + off:end].decode("ascii", "replace")

    named = [(name_at(s[0], strtab_off), s) for s in sections]
    return data, named


def _classify(name: str, flags: int, stype: int) -> str | None:
    if not flags & SHF_ALLOC:
        return None
    if name == ".stack":
        return "stack"
    if flags & SHF_EXECINSTR or name in (".isr_vector",) or name.startswith(".ARM."):
        return "text"
    if stype == SHT_NOBITS:
        return "bss"
    if flags & SHF_WRITE:
        return "data"
    return "rodata"


def elf_sizes(elf: str | Path, top: int = 12) -> ImageSizes:
    data, named = _read_elf(Path(elf))
    totals = {"text": 0, "rodata": 0, "data": 0, "bss": 0, "stack": 0}
    per_section, kinds = {}, {}
    for idx, (name, s) in enumerate(named):
        kind = _classify(name, s[2], s[1])
        kinds[idx] = (name, kind)
        if kind is not None and s[5]:
            totals[kind] += s[5]
            per_section[name] = s[5]
    syms = []
    for name, s in named:
        if s[1] != SHT_SYMTAB:
            continue
        strtab = named[s[6]][1][4]
        for off in range(s[4], s[4] + s[5], 16):
            st_name, _value, size, info, _other, shndx = struct.unpack_from("<IIIBBH", data, off)
            typ = info & 0xF
            if typ not in (STT_OBJECT, STT_FUNC) or size == 0 or shndx not in kinds:
                continue
            sec_name, kind = kinds[shndx]
            if kind is None or kind == "stack":
                continue
            end = data.index(b"\0", strtab + st_name)
            syms.append(Symbol(data[strtab + st_name:end].decode("ascii", "replace"), size,
                               "func" if typ == STT_FUNC else "object", sec_name))
    syms.sort(key=lambda s: (-s.size, s.name))
    return ImageSizes(totals["text"], totals["rodata"], totals["data"], totals["bss"], totals["stack"],
                      per_section, syms[:top])


def defined_functions(elf: str | Path) -> set[str]:
    data, named = _read_elf(Path(elf))
    out = set()
    for _name, s in named:
        if s[1] != SHT_SYMTAB:
            continue
        strtab = named[s[6]][1][4]
        for off in range(s[4], s[4] + s[5], 16):
            st_name, _value, _size, info, _other, shndx = struct.unpack_from("<IIIBBH", data, off)
            if info & 0xF == STT_FUNC and shndx != 0:
                end = data.index(b"\0", strtab + st_name)
                out.add(data[strtab + st_name:end].decode("ascii", "replace"))
    return out


def forbidden_symbols(elf: str | Path) -> list[str]:
    """Allocation and stdio functions that must never be linked into tinygen firmware."""
    have = defined_functions(elf)
    return [n for n in FORBIDDEN if n in have]


# -- stack -------------------------------------------------------------------------------------

@dataclass
class StackReport:
    worst_bytes: int  # both stacks: thread_stack_bytes + handler_bytes
    thread_bytes: int  # deepest thread-mode call chain
    handler_bytes: int  # deepest fault-handler call chain (runs on MSP)
    path: list[str]  # deepest thread-mode call chain, outermost first
    frames: dict[str, int] = field(default_factory=dict)  # function -> own frame bytes
    estimated: list[str] = field(default_factory=list)  # frames taken from disassembly
    warnings: list[str] = field(default_factory=list)

    @property
    def thread_stack_bytes(self) -> int:
        """What the thread stack (PSP) must hold: the call chain plus a fault's exception frame."""
        return self.thread_bytes + EXCEPTION_FRAME_BYTES

    def to_json(self) -> dict:
        return {"worst_bytes": self.worst_bytes, "thread_bytes": self.thread_bytes,
                "thread_stack_bytes": self.thread_stack_bytes,
                "handler_bytes": self.handler_bytes, "exception_frame_bytes": EXCEPTION_FRAME_BYTES,
                "path": self.path, "estimated_from_disassembly": self.estimated, "warnings": self.warnings}


_NODE = re.compile(r'node: \{ title: "([^"]+)" label: "([^"]*)"')
_EDGE = re.compile(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"')
_SIZE = re.compile(r"\\n(\d+) bytes \(([^)]*)\)")


def read_callgraph(build_dir: Path) -> tuple[dict[str, tuple[int, str]], dict[str, set[str]]]:
    """Merge every .ci file under build_dir: (frames {title: (bytes, qualifier)}, edges)."""
    frames: dict[str, tuple[int, str]] = {}
    edges: dict[str, set[str]] = {}
    files = sorted(Path(build_dir).rglob("*.ci"))
    if not files:
        raise TinygenError(f"no .ci call-graph files under {build_dir}: compile with -fcallgraph-info=su")
    for ci in files:
        text = ci.read_text(errors="replace")
        for title, label in _NODE.findall(text):
            m = _SIZE.search(label)
            if m:
                frames[title] = (int(m.group(1)), m.group(2))
        for src, dst in _EDGE.findall(text):
            edges.setdefault(src, set()).add(dst)
    return frames, edges


_PUSH = re.compile(r"\b(?:push(?:\.w)?|stmdb(?:\.w)?\s+sp!,)\s*\{([^}]*)\}")
_VPUSH = re.compile(r"\bvpush\s*\{([^}]*)\}")
_SUBSP = re.compile(r"\bsub(?:s|\.w|w)?\s+sp,\s*(?:sp,\s*)?#(\d+)")
_STRPRE = re.compile(r"\bstr(d)?(?:\.w)?\s+[^\[]*\[sp,\s*#-(\d+)\]!")


def _reg_count(reglist: str) -> int:
    n = 0
    for part in reglist.split(","):
        part = part.strip()
        if "-" in part:
            a, b = part.split("-")
            n += int(re.sub(r"\D", "", b)) - int(re.sub(r"\D", "", a)) + 1
        elif part:
            n += 1
    return n


def prologue_frames(elf: Path, names: set[str]) -> dict[str, int]:
    """Frame bytes of `names` from the first instructions of their disassembly in the ELF."""
    objdump = shutil.which("arm-none-eabi-objdump")
    if not objdump or not names:
        return {}
    proc = subprocess.run([objdump, "-d", "--no-show-raw-insn", str(elf)], capture_output=True, text=True)
    frames: dict[str, int] = {}
    current, seen = None, 0
    for line in proc.stdout.splitlines():
        m = re.match(r"^[0-9a-f]+ <([^>]+)>:", line)
        if m:
            current, seen = (m.group(1) if m.group(1) in names else None), 0
            if current:
                frames[current] = 0
            continue
        if current is None or seen >= 12:
            continue
        seen += 1
        if m := _PUSH.search(line):
            frames[current] += 4 * _reg_count(m.group(1))
        elif m := _VPUSH.search(line):
            regs = _reg_count(m.group(1))
            frames[current] += (8 if "d" in m.group(1) else 4) * regs
        elif m := _SUBSP.search(line):
            frames[current] += int(m.group(1))
        elif m := _STRPRE.search(line):
            frames[current] += int(m.group(2))
    return frames


def worst_case_stack(build_dir: str | Path, entry: str = "Reset_Handler", handlers: tuple[str, ...] = (),
                     elf: str | Path | None = None, indirect_targets: tuple[str, ...] = ("profile_hook", "dump_hook"),
                     extra_edges: dict[str, tuple[str, ...]] | None = None) -> StackReport:
    """Worst-case stack bytes from the merged call graph; see the module docstring."""
    frames, edges = read_callgraph(Path(build_dir))
    extra = {"Reset_Handler": ("tg_reset",), "tg_fault_entry": ("tg_fault_report",)} \
        if extra_edges is None else extra_edges
    for src, dsts in extra.items():
        edges.setdefault(src, set()).update(dsts)
    by_name: dict[str, str] = {}
    for title in frames:
        by_name.setdefault(title.rsplit(":", 1)[-1], title)
    indirect = {by_name[n] for n in indirect_targets if n in by_name}

    warnings: list[str] = []
    unknown: set[str] = set()

    def resolve(t: str) -> str:
        if t in frames:
            return t
        bare = t.replace("__builtin_", "")
        return bare

    def callees(fn: str) -> set[str]:
        out = set()
        for t in edges.get(fn, ()):
            if t == "__indirect_call":
                out |= indirect
            else:
                out.add(resolve(t))
        return out

    # Leaves without compiler data: estimate from the linked image when there is one.
    reachable, stack = set(), [entry, *handlers]
    while stack:
        fn = stack.pop()
        if fn in reachable:
            continue
        reachable.add(fn)
        stack.extend(callees(fn))
    missing = {fn for fn in reachable if fn not in frames}
    estimated: dict[str, int] = {}
    if missing and elf is not None and Path(elf).exists():
        estimated = prologue_frames(Path(elf), missing)
    for fn in missing:
        if fn not in estimated:
            unknown.add(fn)
    own = {fn: frames[fn][0] for fn in frames}
    own.update(estimated)
    for fn, (_, qual) in frames.items():
        if fn in reachable and "dynamic" in qual and "bounded" not in qual:
            warnings.append(f"{fn} has a dynamic (unbounded) stack frame")

    memo: dict[str, tuple[int, list[str]]] = {}
    onpath: set[str] = set()

    def deepest(fn: str) -> tuple[int, list[str]]:
        if fn in memo:
            return memo[fn]
        if fn in onpath:
            warnings.append(f"recursion through {fn}: the stack bound is not sound")
            return 0, [fn]
        onpath.add(fn)
        best, best_path = 0, []
        for c in sorted(callees(fn)):
            d, p = deepest(c)
            if d > best:
                best, best_path = d, p
        onpath.discard(fn)
        memo[fn] = (own.get(fn, 0) + best, [fn] + best_path)
        return memo[fn]

    thread, path = deepest(entry)
    handler = max((deepest(h)[0] for h in handlers), default=0)
    if unknown:
        warnings.append("no stack data for " + ", ".join(sorted(unknown)) + " (counted as 0 bytes)")
    worst = thread + EXCEPTION_FRAME_BYTES + handler
    frames_on_path = {fn: own.get(fn, 0) for fn in path}
    return StackReport(worst, thread, handler, path, frames_on_path, sorted(estimated), sorted(set(warnings)))


def object_sizes(objects) -> dict[str, int]:
    """text/rodata/data/bss summed over relocatable objects (e.g. just the model library's .o
    files), counted before --gc-sections drops unused functions."""
    totals = {"text": 0, "rodata": 0, "data": 0, "bss": 0}
    for obj in objects:
        _, named = _read_elf(Path(obj))
        for name, s in named:
            kind = _classify(name, s[2], s[1])
            if kind in totals:
                totals[kind] += s[5]
    return totals

"""Check a PyTorch zip archive for code it would run when loaded, without unpickling anything.

Unpickling calls whatever callables a pickle names (GLOBAL / STACK_GLOBAL / INST, then REDUCE,
NEWOBJ, BUILD); every callable reaches the stack through one of the naming opcodes (or the
copyreg EXT opcodes), so checking the names against an allowlist decides whether loading is safe.
`torch.export.load` unpickles several members of a .pt2 (sample inputs, pickled weights and
constants, legacy serialized_*.pt) and falls back to weights_only=False, so every member that
torch might unpickle is scanned, including torch.save archives nested inside the zip.
"""

from __future__ import annotations

import io
import pickle
import pickletools
import re
import zipfile
import zlib
from pathlib import Path

from tinygen.errors import TinygenError

# What legitimate torch.export and TorchScript archives name (found by scanning the archives the
# test suite and the examples write).
_ALLOWED = {
    ("torch._utils", "_rebuild_tensor_v2"), ("torch._utils", "_rebuild_parameter"),
    ("torch._utils", "_rebuild_tensor"), ("collections", "OrderedDict"), ("torch", "device"),
    ("torch", "Size"),
}
_ALLOWED_STORAGE = re.compile(r"[A-Za-z0-9]*Storage")
_DTYPES = {"float32", "float16", "bfloat16", "float64", "int8", "uint8", "int16", "int32", "int64", "bool"}
# TorchScript classes are compiled from the archive's own code/ by the C++ loader, not imported.
_TORCHSCRIPT_PREFIXES = ("__torch__.", "torch.jit._pickle")
_NAMING = {"GLOBAL", "STACK_GLOBAL", "INST"}
_STRINGS = {"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE", "STRING", "BINSTRING", "SHORT_BINSTRING"}
_MEMO_OPS = {"MEMOIZE", "BINPUT", "LONG_BINPUT", "PUT"}
_MEMO_GETS = {"BINGET", "LONG_BINGET", "GET"}
# Members torch reads as text/json or as raw bytes, never unpickles.
_TEXT_MEMBERS = re.compile(r"(^|/)(archive_format|archive_version|version|byteorder|\.format_version|"
                           r"\.storage_alignment|serialization_id|models/[^/]*\.json|"
                           r"data/(weights|constants)/[^/]*_config\.json|code/.*\.py|extra_files/.*|data/\d+|"
                           r"constants/\d+|traced_inputs/\d+)$")
MAX_DEPTH = 3


class UnsafePickleError(TinygenError):
    """The archive would run code outside the allowlist when loaded."""


def _allowed(module: str, name: str, torchscript: bool) -> bool:
    if (module, name) in _ALLOWED:
        return True
    if module in ("torch", "torch.storage") and (_ALLOWED_STORAGE.fullmatch(name) or name in _DTYPES):
        return True
    return torchscript and module.startswith(_TORCHSCRIPT_PREFIXES)


def pickle_globals(data: bytes, max_pickles: int = 5):
    """Yield (module, name) for every callable the pickle stream names, in order; (None, why) when a
    name cannot be read without running the pickle. Consecutive pickles (legacy torch.save) are
    read up to `max_pickles`; scanning stops at the first undecodable opcode, which the unpickler
    would also stop at before running anything after it."""
    stream = io.BytesIO(data)
    for _ in range(max_pickles):
        if stream.tell() >= len(data):
            return
        memo: dict = {}
        recent: list = []  # values of the latest string pushes, for STACK_GLOBAL
        last = None
        try:
            for op, arg, _pos in pickletools.genops(stream):
                n = op.name
                if n in _STRINGS:
                    recent = (recent + [arg])[-2:]
                    last = arg
                elif n in _MEMO_OPS:
                    memo[arg if n != "MEMOIZE" else len(memo)] = last
                elif n in _MEMO_GETS:
                    last = memo.get(arg)
                    recent = (recent + [last])[-2:]
                elif n == "GLOBAL" or n == "INST":
                    module, _, name = str(arg).partition(" ")
                    yield module, name
                    recent, last = [], None
                elif n == "STACK_GLOBAL":
                    if len(recent) == 2 and all(isinstance(s, str) for s in recent):
                        yield recent[0], recent[1]
                    else:
                        yield None, "STACK_GLOBAL with computed operands"
                    recent, last = [], None
                elif n.startswith("EXT"):
                    yield None, f"copyreg extension {arg}"
                else:
                    recent, last = [], None
                if n == "STOP":
                    break
            else:
                return
        except Exception:  # noqa: BLE001  (undecodable from here on: the unpickler stops here too)
            return


_ITEM_BYTES = {"Float": 4, "Double": 8, "Half": 2, "BFloat16": 2, "Long": 8, "Int": 4, "Short": 2, "Char": 1,
               "Byte": 1, "Bool": 1, "QInt8": 1, "QUInt8": 1, "QInt32": 4}
_INTS = {"BININT", "BININT1", "BININT2", "LONG1", "LONG4", "INT", "LONG"}


def storage_records(data: bytes):
    """(storage class, key, element count) of every persistent storage id ('storage', cls, key,
    location, numel) in a torch pickle, read without unpickling."""
    memo: dict = {}
    items: list = []
    last = None
    try:
        for op, arg, _pos in pickletools.genops(io.BytesIO(data)):
            n = op.name
            if n in _STRINGS or n in _INTS:
                last = arg
            elif n == "GLOBAL":
                last = tuple(str(arg).split(" ", 1))
            elif n in _MEMO_OPS:
                memo[arg if n != "MEMOIZE" else len(memo)] = last
                continue
            elif n in _MEMO_GETS:
                last = memo.get(arg)
            elif n == "MARK":
                items, last = [], None
                continue
            elif n == "BINPERSID" and len(items) == 5 and items[0] == "storage" and isinstance(items[1], tuple):
                yield items[1][-1], str(items[2]), items[4]
                last = None
            else:
                last = None
            if n == "STOP":
                return
            items = (items + [last])[-5:] if n not in ("TUPLE", "BINPERSID") else items
    except Exception:  # noqa: BLE001  (damaged pickle: torch refuses it before reading storages)
        return


def _short_storages(z: zipfile.ZipFile, names: list[str]):
    """Storage records shorter than the pickle says: torch reads past them (SIGSEGV in jit.load)."""
    sizes = {i.filename: i.file_size for i in z.infolist()}
    for pkl in names:
        # traced_inputs hold the tracing example; torch.jit.load does not read their records
        if not pkl.endswith(".pkl") or pkl.endswith((".debug_pkl", "traced_inputs.pkl")):
            continue
        folder = pkl[: -len(".pkl")]
        folder = folder.rsplit("/", 1)[0] + "/data" if folder.endswith("/data") or folder == "data" else folder
        for cls, key, numel in storage_records(z.read(pkl)):
            item = _ITEM_BYTES.get(cls.replace("Storage", ""), 1)
            record = f"{folder}/{key}"
            if not isinstance(numel, int) or numel < 0:
                yield record, f"a storage of {numel!r} elements"
            elif record in sizes and sizes[record] < numel * item:
                yield record, f"{sizes[record]} bytes, but the pickle says {numel} x {item}-byte elements"
            elif record not in sizes:
                yield record, "missing"


class _NoGlobals(pickle.Unpickler):
    """An unpickler that builds only plain data: any class or function reference is refused,
    except TorchScript's typed-list builders, read here as plain lists."""

    def find_class(self, module, name):
        if module == "torch.jit._pickle" and name in ("build_intlist", "build_boollist", "build_doublelist"):
            return list
        raise pickle.UnpicklingError(f"global {module}.{name}")


def _debug_table_problem(data: bytes) -> str | None:
    """What is wrong with a TorchScript source-range table (.debug_pkl), or None.

    Format (FORMAT_WITH_STRING_TABLE): ("FORMAT_WITH_STRING_TABLE", strings, entries); an entry
    is (byte offset, ((text string indices, file-name string index, first line), start, end),
    debug handle). torch.jit reads the string indices without bounds checks, so an index past the
    table made the TorchScript converter segfault in the fuzz campaign."""
    try:
        obj = _NoGlobals(io.BytesIO(data)).load()
    except Exception:  # noqa: BLE001  (unreadable: torch refuses it with an exception of its own)
        return None
    if not (isinstance(obj, tuple) and len(obj) == 3 and obj[0] == "FORMAT_WITH_STRING_TABLE"):
        return None
    strings, entries = obj[1], obj[2]
    if not isinstance(strings, (tuple, list)) or not isinstance(entries, (tuple, list)):
        return "malformed source-range table"
    n = len(strings)
    for entry in entries:
        try:
            (texts, fname, _line), _start, _end = entry[1]
            idx = list(texts) + [fname]
        except (TypeError, ValueError, IndexError):
            return "malformed source-range entry"
        if any(not isinstance(i, int) or not 0 <= i < n for i in idx):
            return f"a source-range string index outside its table of {n} strings"
    return None


def _bad_debug_tables(z: zipfile.ZipFile, names: list[str]):
    for name in names:
        if name.endswith(".debug_pkl"):
            problem = _debug_table_problem(z.read(name))
            if problem:
                yield name, problem


def _raw_members(z: zipfile.ZipFile, names: list[str]) -> set[str]:
    """Members a .pt2 payload config lists as raw tensor bytes (read with frombuffer, not unpickled)."""
    import json

    raw = set()
    for cfg in names:
        if not re.search(r"data/(weights|constants)/[^/]*_config\.json$", cfg):
            continue
        folder = cfg.rsplit("/", 1)[0]
        try:
            entries = json.loads(z.read(cfg)).get("config", {})
            for entry in entries.values():
                if entry.get("use_pickle") is False:
                    raw.add(f"{folder}/{entry['path_name']}")
        except Exception:  # noqa: BLE001  (unreadable config: scan everything)
            continue
    return raw


def scan_zip(z: zipfile.ZipFile, where: str, torchscript: bool, depth: int = 0):
    """Yield (member, module, name) for every disallowed callable named in the archive."""
    names = z.namelist()
    raw = _raw_members(z, names)
    for name in names:
        if name in raw or _TEXT_MEMBERS.search(name) or name.endswith("/"):
            continue
        data = z.read(name)
        member = f"{where}{name}"
        if data[:4] == b"PK\x03\x04":
            if depth >= MAX_DEPTH:
                yield member, None, "zip nested too deep"
                continue
            try:
                inner = zipfile.ZipFile(io.BytesIO(data))
            except Exception:  # noqa: BLE001  (torch.load fails on it the same way, before unpickling)
                continue
            yield from scan_zip(inner, member + "!", torchscript, depth + 1)
            continue
        for module, what in pickle_globals(data):
            if module is None or not _allowed(module, what, torchscript):
                yield member, module, what


def check_archive(path: Path, torchscript: bool, safe_export: str, trust_pickle: bool = False) -> None:
    """Raise UnsafePickleError naming the first disallowed callable and the member holding it
    (unless `trust_pickle`), and TinygenError for storage records shorter than their tensors."""
    try:
        with zipfile.ZipFile(path) as z:
            for member, module, name in ([] if trust_pickle else scan_zip(z, "", torchscript)):
                found = f"{module}.{name}" if module is not None else name
                raise UnsafePickleError(
                    f"{path}: member '{member}' would run {found} when loaded; refused. {safe_export}, "
                    "or pass --trust-pickle if you trust the file")
            for record, what in _short_storages(z, z.namelist()):
                raise TinygenError(f"{path}: tensor data record '{record}' is {what}: the archive is damaged "
                                   "(truncated?); re-export the model")
            for member, what in _bad_debug_tables(z, z.namelist()):
                raise TinygenError(f"{path}: member '{member}' holds {what}: the archive is damaged; re-export the model")
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, NotImplementedError, RuntimeError) as e:
        raise TinygenError(f"{path}: corrupt archive ({type(e).__name__}: {str(e)[:120]}); re-export the model") from None

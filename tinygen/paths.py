"""Where the non-Python parts of tinygen live (templates, C runtime, board files)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
RUNTIME_C = ROOT / "runtime_c"
RUNTIME_INCLUDE = RUNTIME_C / "include"
RUNTIME_KERNELS = RUNTIME_C / "kernels"
BOARDS = ROOT / "boards"

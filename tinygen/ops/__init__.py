"""Lowered ops, one module each. Importing this package registers every op module in it."""

import importlib
import pkgutil

for _m in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    if _m not in ("base", "common"):
        importlib.import_module(f"{__name__}.{_m}")

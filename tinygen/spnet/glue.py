"""The validation firmware's glue for an SP-Net build (templates/firmware/tg_glue_spnet.c.j2).

The harness stays model-agnostic: the glue declares two inputs, the model's input and
"precision" (int32[1], the switch's bit width), and calls `<name>_invoke_precision_hooked`.
"""

from __future__ import annotations

import json
from pathlib import Path

from tinygen.version import __version__

TEMPLATE = "tg_glue_spnet.c.j2"


def is_spnet_build(out_dir: Path) -> bool:
    return (Path(out_dir) / "spnet.json").is_file()


def glue_context(out_dir: Path, prefix: str, target_name: str, digest: bytes) -> dict:
    from tinygen.compile.firmware import RX_MIN, _padded, _tensor_ctx
    from tinygen.spnet.program import PRECISION_SPEC, SPNetProgram

    prog = SPNetProgram(out_dir)
    first = next(iter(prog.switches.values()))
    ins = _tensor_ctx([first.inputs[0], PRECISION_SPEC], lambda s: s.ctype)
    outs = _tensor_ctx(first.outputs, lambda s: s.ctype)
    off = ins[0]["padded"]
    args = [f"(const {ins[0]['ctype']} *)(const void *)(tg_glue_rx + 0)",
            f"({outs[0]['ctype']} *)(void *)(tg_glue_out + 0)"]
    in_bytes = off + _padded(4)
    return {
        "version": __version__, "prefix": prefix, "PREFIX": prefix.upper(), "target": target_name,
        "hash_bytes": ", ".join(f"0x{b:02x}" for b in digest),
        "num_layers": max(len(s.graph.nodes) for s in prog.switches.values()),
        "inputs": ins, "outputs": outs, "args": args, "in_bytes": in_bytes, "precision_offset": off,
        "rx_capacity": max(in_bytes, RX_MIN), "out_bytes": outs[0]["padded"], "out_alloc": max(outs[0]["padded"], 4),
    }


def switches_in(out_dir: Path) -> list[int]:
    return [s["bits"] for s in json.loads((Path(out_dir) / "spnet.json").read_text())["switches"]]

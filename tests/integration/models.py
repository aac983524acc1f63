"""Small lowered graphs (no framework needed) and helpers to build a bare user project."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np

from tinygen.boards import load_board
from tinygen.codegen import generate
from tinygen.ir.graph import DType, Graph, Node, QuantParams, Tensor
from tinygen.ops.add import add_params
from tinygen.ops.conv2d import Conv2dAttrs
from tinygen.ops.fully_connected import FullyConnectedAttrs
from tinygen.ops.mean import mean_params
from tinygen.paths import BOARDS, RUNTIME_C, TEMPLATES
from tinygen.plan import plan_with_schedule
from tinygen.select import HOST, select_kernels
from tinygen.reference import interpreter

BARE = Path(__file__).parent / "bare_project"


def residual_net(seed: int, channels: int = 4, outputs: int = 2) -> Graph:
    """conv 3x3 -> conv 1x1 -> add (residual) -> mean -> fully connected, seeded weights."""
    rng = np.random.default_rng(seed)
    c = channels
    q = QuantParams.per_tensor(0.05, -3)
    g = Graph(f"residual_{seed}", dialect="lowered", inputs=["x"], outputs=["y"])
    g.add_tensor(Tensor("x", (1, 6, 6, 3), DType.INT8, q))
    for name, shape in [("a", (1, 6, 6, c)), ("b", (1, 6, 6, c)), ("s", (1, 6, 6, c)), ("m", (1, c)), ("y", (1, outputs))]:
        g.add_tensor(Tensor(name, shape, DType.INT8, q))
    w1 = g.add_const("w1", rng.integers(-127, 128, (c, 3, 3, 3)).astype(np.int8))
    b1 = g.add_const("b1", rng.integers(-300, 300, c).astype(np.int32))
    w2 = g.add_const("w2", rng.integers(-127, 128, (c, 1, 1, c)).astype(np.int8))
    b2 = g.add_const("b2", rng.integers(-300, 300, c).astype(np.int32))
    w3 = g.add_const("w3", rng.integers(-127, 128, (outputs, c)).astype(np.int8))
    b3 = g.add_const("b3", rng.integers(-50, 50, outputs).astype(np.int32))
    conv = Conv2dAttrs((1, 1), (1, 1, 1, 1), (1, 1), 1, 3, -3, (1 << 30,) * c, (-7,) * c, -3, 127)
    pw = Conv2dAttrs((1, 1), (0, 0, 0, 0), (1, 1), 1, 3, -3, (1 << 30,) * c, (-8,) * c)
    g.add_node(Node("conv", "conv2d", ["x", w1.name, b1.name], ["a"], conv))
    g.add_node(Node("pw", "conv2d", ["a", w2.name, b2.name], ["b"], pw))
    g.add_node(Node("res", "add", ["a", "b"], ["s"], add_params(0.05, -3, 0.05, -3, 0.05, -3, -3, 127)))
    g.add_node(Node("gap", "mean", ["s"], ["m"], mean_params((1, 2), False, 36, 0.05, -3, 0.05, -3)))
    g.add_node(Node("fc", "fully_connected", ["m", w3.name, b3.name], ["y"],
                    FullyConnectedAttrs(3, -3, (1 << 30,) * outputs, (-6,) * outputs)))
    return g


def write_library(graph: Graph, name: str, directory: Path):
    """Generate the model library `name` into directory; returns (graph, GeneratedModel)."""
    graph, plan = plan_with_schedule(select_kernels(graph, HOST))
    gen = generate(graph, plan, source=f"{graph.name}.pt2", name=name)
    gen.write(directory)
    return graph, gen


def sample(graph: Graph, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded int8 input and the numpy reference's output for it."""
    t = graph.t(graph.inputs[0])
    x = np.random.default_rng(seed).integers(-128, 128, t.shape).astype(np.int8)
    return x, interpreter.run(graph, [x])[0]


def c_bytes(name: str, a: np.ndarray) -> str:
    body = ", ".join(str(int(v)) for v in a.ravel())
    return f"static const int8_t {name}[{a.size}] = {{ {body} }};\n"


def board_header(target: str, limits: str, directory: Path) -> Path:
    """tg_board.h for the platform layer, rendered from tinygen's own template."""
    from tinygen.compile.firmware import pin as _pin, template_env as _env

    t = load_board(target)
    directory.mkdir(parents=True, exist_ok=True)
    text = _env().get_template("tg_board.h.j2").render(
        version="test", target=t.name, limits=limits, console=t.console, tx=_pin(t.console.tx),
        rx=_pin(t.console.rx), clock_hz=t.clock_hz, config=t.platform_config)
    (directory / "tg_board.h").write_text(text)
    return directory


def run_qemu(elf: Path, machine: str, timeout: float = 60.0) -> subprocess.CompletedProcess:
    """Run a firmware whose console is the first UART; its text comes back on stdout."""
    cmd = [shutil.which("qemu-system-arm") or "qemu-system-arm", "-M", machine, "-display", "none",
           "-monitor", "none", "-semihosting-config", "enable=on,target=native",
           "-icount", "shift=7,align=off,sleep=off", "-serial", "stdio", "-kernel", str(elf)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


__all__ = ["BARE", "BOARDS", "RUNTIME_C", "TEMPLATES", "residual_net", "write_library", "sample", "c_bytes",
           "board_header", "run_qemu"]

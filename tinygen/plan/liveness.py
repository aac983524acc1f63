"""Turn a lowered graph into arena buffers with lifetimes [first, last] in node-index units.

* Graph outputs live in the caller's buffers and constants live in flash: neither is in the
  arena. Graph inputs are the caller's too, unless `PlanOptions.input_in_arena`: then each input
  (not also an output, read by some node) is an arena buffer the caller fills before node 0, live
  from node 0 to its last reader, so its bytes are reused once it is consumed (as in TFLite Micro).
* An activation tensor is live from the node that writes it to the last node that reads it (a
  tensor nobody reads is live only at its producer).
* A node's scratch buffer (`OpDef.scratch_bytes`) is live only during that node, as is the lag
  buffer of a node running in place on row bands (`Kernel.inplace_lag`).
* In place: when `OpDef.inplace_input` names an input, the node's first output shares that input's
  storage (an alias) if, in this order, nothing reads the input afterwards and the node's kernel
  declares `Kernel.inplace_ok` (see `find_aliases`). `PlanOptions.fusion=False` turns this off.
* Sizes are rounded up to `ALIGN` bytes so every offset the planner produces stays aligned.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tinygen.ir.graph import Graph, Node
from tinygen.ops.base import get

if TYPE_CHECKING:
    from tinygen.plan.fusion import Chain

ALIGN = 16


@dataclass(frozen=True)
class PlanOptions:
    """What the planner may do beyond one whole tensor per buffer, layer at a time."""

    input_in_arena: bool = False  # graph inputs are arena buffers (the caller writes them there)
    fusion: bool = True  # in-place outputs (later also fused and tiled execution); off for bisecting
    # banded execution (in place on row bands, fused chains) only where it lowers the
    # peak (memory_plan._cheapest); False applies it wherever it can (for tests of the mechanisms)
    cheapest: bool = True
    # patch-based stages (plan/patch.py, only with fusion on) may add at most this fraction of the
    # model's MACs, and of its estimated instructions times patch.INSTRUCTION_SHARE; 0: none
    patch_budget: float = 0.10


DEFAULT = PlanOptions()


def align(n: int, a: int = ALIGN) -> int:
    return (n + a - 1) // a * a


@dataclass(frozen=True)
class Buffer:
    name: str  # tensor name (the root of an alias chain), or "<node>/scratch"
    size: int  # bytes, aligned
    first: int  # index of the node that writes it first
    last: int  # index of the last node that reads it

    def live_at(self, i: int) -> bool:
        return self.first <= i <= self.last


def scratch_name(node: Node) -> str:
    return f"{node.name}/scratch"


def arena_inputs(graph: Graph, options: PlanOptions = DEFAULT) -> list[str]:
    """Graph inputs planned in the arena: with `input_in_arena`, those not also a graph output and
    read by some node (an unread input has no lifetime to plan)."""
    if not options.input_in_arena:
        return []
    read = {t for n in graph.nodes for t in n.inputs}
    return [t for t in dict.fromkeys(graph.inputs) if t not in graph.outputs and t in read]


def external(graph: Graph, options: PlanOptions = DEFAULT) -> set[str]:
    """Tensors held by the caller (graph outputs, and inputs not in the arena): never placed in it."""
    return (set(graph.inputs) - set(arena_inputs(graph, options))) | set(graph.outputs)


def inplace_candidate(graph: Graph, node: Node, ext: set[str]) -> tuple[str, str] | None:
    """(input, output) the op may run in place on, when the order-independent conditions hold.

    The input must be an arena activation (not a constant in flash, not the caller's const input),
    the output must be an arena tensor (not the caller's output buffer), both must have the same
    byte size, and the node must read the input once (a second operand read through the same
    pointer would see already overwritten values)."""
    op = get(node.op)
    k = op.inplace_input(node, graph)
    if k is None or not node.outputs:
        return None
    # the recorded kernel must be proven safe for aliasing (before selection: every variant), or
    # run in place on row bands with a lag buffer smaller than the output it saves
    kernels = [op.kernel(node)] if node.kernel else list(op.kernels)
    if not kernels or not all(kern.inplace_ok for kern in kernels):
        lag = lag_bytes(node, graph)
        if not node.kernel or not lag or align(lag) >= align(graph.t(node.outputs[0]).nbytes):
            return None
    src, dst = node.inputs[k], node.outputs[0]
    s, d = graph.t(src), graph.t(dst)
    if s.is_const or src in ext or dst in ext or s.nbytes != d.nbytes or node.inputs.count(src) != 1:
        return None
    return src, dst


def lag_bytes(node: Node, graph: Graph) -> int:
    """Lag buffer bytes of a node whose kernel runs in place on row bands (tinygen/ops/inplace_rows.py)."""
    if not node.kernel:
        return 0
    kern = get(node.op).kernel(node)
    return 0 if kern.inplace_ok or kern.inplace_lag is None else kern.inplace_lag(node, graph)


def chain_scratch_name(last: str) -> str:
    """The scratch buffer the convs of the fused chain run at node `last` share."""
    return f"{last}/chain_scratch"


def lag_name(node: Node) -> str:
    return f"{node.name}/lag"


def find_aliases(graph: Graph, options: PlanOptions = DEFAULT, chains: Sequence[Chain] = (),
                 skip: Collection[int] = (), stages: Sequence = ()) -> dict[str, str]:  # stages: patch.Stage
    """tensor -> root tensor whose storage it reuses (in-place ops), for the graph's node order.

    A node may overwrite its in-place input only when that node is the input's last reader: the
    input then dies at the node, so the shared storage holds exactly one live tensor at any time,
    and a chain A -> B -> C (each member dying where the next is born) never lets an op overwrite
    a value that something later still reads. The nodes of fused chains (tinygen/plan/fusion.py)
    do not run in place, except a chain's output written over x (`in_place`: x dies in the chain);
    nodes in `skip` run in place only where that costs nothing (no row bands).
    Members of patch stages (tinygen/plan/patch.py) do not either; a stage's `over_input` output
    shares X's storage."""
    if not options.fusion:
        return {}
    last_use: dict[str, int] = {}
    for i, n in enumerate(graph.nodes):
        for t in n.inputs:
            last_use[t] = i
    ext = external(graph, options)
    index = {n.name: i for i, n in enumerate(graph.nodes)}
    in_chain = set()
    over_x = {}  # index of a chain's last node -> x, when the chain's output goes over x
    for ch in chains:
        in_chain |= {index[m] for m in ch.members}
        if ch.in_place:
            over_x[index[ch.last]] = graph.nodes[index[ch.convs[0]]].inputs[0]
    over_stage_input = {}  # index of a stage's first member -> (output, X)
    for st in stages:
        in_chain |= {index[m] for m in st.nodes}
        if st.over_input:
            over_stage_input[index[st.first]] = (st.over_input, st.input)
    aliases: dict[str, str] = {}
    for i, n in enumerate(graph.nodes):
        if i in over_stage_input:
            o, x = over_stage_input[i]
            aliases[o] = aliases.get(x, x)
        if i in over_x:
            aliases[n.outputs[0]] = aliases.get(over_x[i], over_x[i])
            continue
        cand = None if i in in_chain or (i in skip and lag_bytes(n, graph)) else inplace_candidate(graph, n, ext)
        if cand is None:
            continue
        src, dst = cand
        if last_use.get(src) != i:
            continue
        aliases[dst] = aliases.get(src, src)
    return aliases


def buffers(graph: Graph, aliases: dict[str, str], options: PlanOptions = DEFAULT, chains: Sequence[Chain] = (),
            stages: Sequence = ()) -> list[Buffer]:  # stages: patch.Stage (patch imports this module)
    """Arena buffers (arena inputs first, alias chains merged into their root), then scratch buffers.

    A fused chain (tinygen/plan/fusion.py): its inner tensors are band buffers, live from their
    producer to the chain's last node, which computes them all; x and the convs' shared scratch
    live until that node too.
    A patch stage (tinygen/plan/patch.py) runs at its first member: its internal tensors are tile
    buffers in its scratch, live while its members run, as X and its outputs are."""
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    size: dict[str, int] = {}
    ext = external(graph, options)
    internal = {t for st in stages for t, _, _ in st.tiles}
    for t in arena_inputs(graph, options):
        first[t], last[t], size[t] = 0, 0, align(graph.t(t).nbytes)
    for i, n in enumerate(graph.nodes):
        for t in n.outputs:
            if t in ext or t in internal:
                continue
            root = aliases.get(t, t)
            first.setdefault(root, i)
            last[root] = max(last.get(root, i), i)
            size[root] = max(size.get(root, 0), align(graph.t(t).nbytes))
        for t in n.inputs:
            if t in ext or graph.t(t).is_const or t in internal:
                continue
            root = aliases.get(t, t)
            last[root] = max(last.get(root, i), i)
    index = {n.name: i for i, n in enumerate(graph.nodes)}
    runs_until: dict[int, int] = {}
    patched = []
    for st in stages:
        s, e = index[st.first], index[st.nodes[-1]]
        for o in st.outputs:
            root = aliases.get(o, o)
            if root in first:
                first[root] = min(first[root], s)
        x = aliases.get(st.input, st.input)
        if x in last:
            last[x] = max(last[x], e)
        patched.append(Buffer(f"{st.first}/patch", align(st.scratch), s, e))
        runs_until.update({index[m]: -1 for m in st.nodes})
    shared = patched  # (stage scratch) a chain's convs run one after the other: one scratch for all
    for ch in chains:
        end = index[ch.last]
        for t, band in ch.bands:
            size[t], last[t] = align(band), end
        x = graph.nodes[index[ch.convs[0]]].inputs[0]
        x = aliases.get(x, x)  # x may be the in-place output of an earlier layer: its storage is the root's
        if x in last:
            last[x] = max(last[x], end)
        members = [index[m] for m in ch.members]
        s = max(get(graph.nodes[i].op).scratch_bytes(graph.nodes[i], graph) for i in members)
        if s:
            shared.append(Buffer(chain_scratch_name(ch.last), align(s), min(members), end))
        runs_until.update({i: -1 for i in members})
    out = [Buffer(t, size[t], first[t], last[t]) for t in first] + shared
    for i, n in enumerate(graph.nodes):
        s = get(n.op).scratch_bytes(n, graph)
        if s and runs_until.get(i) != -1:
            out.append(Buffer(scratch_name(n), align(s), i, runs_until.get(i, i)))
        lag = lag_bytes(n, graph) if n.outputs and n.outputs[0] in aliases and runs_until.get(i) != -1 else 0
        if lag:  # the input rows a band still reads after they are overwritten, live during the node
            out.append(Buffer(lag_name(n), align(lag), i, i))
    return out


def live_bytes(bufs: list[Buffer], num_nodes: int) -> list[int]:
    """Bytes of buffers live at each node index (a sweep over start/end events)."""
    delta = [0] * (num_nodes + 1)
    for b in bufs:
        delta[b.first] += b.size
        delta[b.last + 1] -= b.size
    out, run = [], 0
    for i in range(num_nodes):
        run += delta[i]
        out.append(run)
    return out


def lower_bound(bufs: list[Buffer], num_nodes: int | None = None) -> int:
    """Largest total size of buffers live at one node: no placement can use less."""
    if num_nodes is None:
        num_nodes = max((b.last + 1 for b in bufs), default=0)
    return max(live_bytes(bufs, num_nodes), default=0)

"""The factor graph of a checked model, and its drawing.

``build_graph`` makes a networkx ``MultiDiGraph``:

- a variable node per variable (named by the variable): ``kind="variable"``,
  ``role``, ``family``, ``shape``, ``plates`` (as in ``model.Variable``), plus
  ``plate_path``: the ``(index, dim)`` plates it is drawn in (those of its own
  ``~`` statement, for latents and observed data);
- a factor node per ``~`` statement, named ``"factor:<variable>"`` (each
  variable has at most one): ``kind="factor"``, ``dist``, ``line``, ``plates``
  (dims, outer first), ``plate_path``, ``variable`` (a chain's transition,
  its second ``~``, is ``"factor:<variable>:transition"``);
- an edge parent → factor per (parent, role), keyed by the role: the argument
  name (``"mean"``, ``"precision"``, ...), or ``"index"`` for integer data used
  as an index and ``"gate"`` for a Categorical latent used as an index (a
  mixture), with ``arguments`` listing the argument(s) it appears in;
- an edge factor → its variable with role ``"target"``.

``to_dot`` prints Graphviz text with plates as nested clusters; ``write_graph``
writes .dot always and .png / .svg / .pdf through Graphviz or matplotlib.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import networkx as nx

from .errors import VmpError
from .language import ast
from .language.distributions import DISTRIBUTIONS
from .language.model import CheckedModel

__all__ = ["build_graph", "to_dot", "write_graph", "factor_id"]


def factor_id(variable: str) -> str:
    """The graph node of the factor of ``variable``."""
    return f"factor:{variable}"


def build_graph(model: CheckedModel) -> nx.MultiDiGraph:
    """The factor graph: variable and factor nodes, edges by argument, plates."""
    graph = nx.MultiDiGraph(name=model.name)
    drawn_in = {f.variable: tuple((p.index, p.dim) for p in f.plates) for f in model.factors}
    for var in model.variables.values():
        graph.add_node(var.name, kind="variable", role=var.role, family=var.family,
                       shape=var.shape, plates=tuple(var.plates), dtype=var.dtype,
                       categories=var.categories, plate_path=drawn_in.get(var.name, ()))
    for factor in model.factors:
        _add_factor(graph, model, factor)
    return graph


def _add_factor(graph, model, factor):
    node = factor_id(factor.variable)
    if node in graph:  # a chain's transition, its second `~` (language/chains.py)
        node = f"{node}:transition"
    path = tuple((p.index, p.dim) for p in factor.plates)
    graph.add_node(node, kind="factor", dist=factor.dist.name, line=factor.span.line,
                   plates=tuple(p.dim for p in factor.plates), plate_path=path,
                   variable=factor.variable)
    spec = DISTRIBUTIONS[factor.dist.name]
    for arg, expr in zip(spec.args, factor.dist.args):
        for name, as_index in _reads(expr):
            if name not in model.variables:
                continue  # a dim or a plate index
            role = _index_role(model.variables[name]) if as_index else arg.name
            if graph.has_edge(name, node, key=role):
                arguments = graph.edges[name, node, role]["arguments"]
                if arg.name not in arguments:
                    graph.edges[name, node, role]["arguments"] = arguments + (arg.name,)
            else:
                graph.add_edge(name, node, key=role, role=role, arguments=(arg.name,))
    graph.add_edge(node, factor.variable, key="target", role="target", arguments=())


def _index_role(var) -> str:
    gated = var.role in ("latent", "point") and var.family == "Categorical"
    return "gate" if gated else "index"


def _reads(expr, as_index: bool = False):
    """(name, read-as-an-index?) for every name an expression reads."""
    if isinstance(expr, ast.Name):
        yield expr.id, as_index
    elif isinstance(expr, ast.Index):
        yield expr.base.id, as_index
        for index in expr.indices:
            yield from _reads(index, True)
    elif isinstance(expr, ast.BinOp):
        yield from _reads(expr.left, as_index)
        yield from _reads(expr.right, as_index)
    elif isinstance(expr, ast.Neg):
        yield from _reads(expr.operand, as_index)
    elif isinstance(expr, ast.Call):
        for arg in expr.args:
            yield from _reads(arg, as_index)


# ---------------------------------------------------------------- DOT text
_STYLE = {
    "latent": 'shape=ellipse',
    "point": 'shape=ellipse, style=dashed',
    "data": 'shape=ellipse, style=filled, fillcolor="#d9d9d9"',
    "param": 'shape=box, style=rounded',
    "hyper": 'shape=plaintext',
    "factor": 'shape=box, style=filled, fillcolor="#404040", fontcolor=white, '
              'fontsize=10, height=0.25',
}


def quote(text) -> str:
    """A DOT string literal: backslashes and quotes escaped, newlines as \\n."""
    text = str(text).replace("\\", "\\\\").replace('"', '\\"')
    return '"' + text.replace("\n", "\\n") + '"'


def _node_line(node, data) -> str:
    if data["kind"] == "factor":
        return f'{quote(node)} [{_STYLE["factor"]}, label={quote(data["dist"])}];'
    shape = "" if not data["shape"] else " (" + ", ".join(map(str, data["shape"])) + ")"
    label = f"{node}\n{data['family'] or data['role']}{shape}"
    return f'{quote(node)} [{_STYLE[data["role"]]}, label={quote(label)}];'


def _plate_tree(graph) -> dict:
    """plate path -> the nodes drawn directly in it."""
    members = {}
    for node, data in graph.nodes(data=True):
        path = data.get("plate_path", ())
        for depth in range(len(path) + 1):
            members.setdefault(path[:depth], [])
        members[path].append(node)
    return members


def to_dot(graph: nx.MultiDiGraph) -> str:
    """Graphviz text; plates are nested ``subgraph cluster_...`` boxes labelled by dim."""
    members = _plate_tree(graph)
    lines = [f"digraph {quote(graph.graph.get('name', 'model'))} {{",
             '  graph [fontname="Helvetica", labeljust=r];',
             '  node [fontname="Helvetica"];', '  edge [fontsize=9];']
    counter = iter(range(len(members)))
    lines += _cluster_lines(graph, members, (), "  ", counter)
    for src, dst, data in graph.edges(data=True):
        label = "" if data["role"] == "target" else f" [label={quote(data['role'])}]"
        lines.append(f"  {quote(src)} -> {quote(dst)}{label};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _cluster_lines(graph, members, path, pad, counter) -> list:
    lines = [pad + _node_line(node, graph.nodes[node]) for node in members[path]]
    children = [p for p in members if len(p) == len(path) + 1 and p[:len(path)] == path]
    for child in children:
        index, dim = child[-1]
        lines.append(f"{pad}subgraph cluster_{next(counter)} {{")
        lines.append(f"{pad}  label={quote(dim)}; tooltip={quote(f'for {index} in {dim}')};")
        lines += _cluster_lines(graph, members, child, pad + "  ", counter)
        lines.append(pad + "}")
    return lines


# ---------------------------------------------------------------- files
def write_graph(graph: nx.MultiDiGraph, path) -> Path:
    """Write the graph as .dot, or render .png / .svg / .pdf; return the path."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt in ("dot", "gv"):
        path.write_text(to_dot(graph), encoding="utf-8")
    elif fmt in ("png", "svg", "pdf"):
        _render(graph, path, fmt)
    else:
        raise VmpError(f"cannot write a graph as '{path.suffix or path.name}'",
                       filename=str(path), hint="use a file name ending in .dot, .png, .svg or .pdf")
    return path


def _render(graph, path: Path, fmt: str):
    dot = shutil.which("dot")
    if dot:
        done = subprocess.run([dot, f"-T{fmt}", "-o", str(path)], capture_output=True,
                              input=to_dot(graph).encode("utf-8"))
        if done.returncode != 0:
            raise VmpError("Graphviz could not draw the graph: "
                           f"{done.stderr.decode(errors='replace').strip()}",
                           filename=str(path))
        return
    try:
        from .plot import draw_matplotlib
    except ImportError:
        raise VmpError(f"drawing a .{fmt} file needs Graphviz's `dot` program or matplotlib",
                       filename=str(path), hint="install Graphviz (e.g. `apt install graphviz`) or "
                            "`pip install 'vmpdsl[plot]'`; a .dot file needs neither"
                       ) from None
    draw_matplotlib(graph, path)

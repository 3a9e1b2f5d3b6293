"""Draw a factor graph with matplotlib (the optional ``plot`` extra).

Used by ``graph.write_graph`` when Graphviz's ``dot`` is not installed.  Nodes
are laid out in layers (parents above children); each plate is a rectangle
around its members, labelled with its dim, outer plates drawn larger.
Importing this module fails with ImportError when matplotlib is missing.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # files only: never open a window, work without a display

import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

_MARKER = {  # role -> (marker, face colour, size)
    "latent": ("o", "white", 900), "point": ("o", "#f2e6c9", 900),
    "data": ("o", "#c8c8c8", 900), "param": ("s", "white", 700),
    "hyper": ("o", "none", 0), "factor": ("s", "#404040", 160),
}


def _layout(graph) -> dict:
    """Layers top to bottom; one column band per plate path, so plates don't overlap.

    Sorting the bands by plate path puts a nested plate right after its parent,
    which keeps every plate's members in adjacent columns.
    """
    layer = {node: depth for depth, nodes in enumerate(nx.topological_generations(graph))
             for node in nodes}
    bands = {}
    for node, data in graph.nodes(data=True):
        bands.setdefault(data["plate_path"], {}).setdefault(layer[node], []).append(node)
    pos, x0 = {}, 0.0
    for path in sorted(bands):
        rows = bands[path]
        for depth, nodes in rows.items():
            for i, node in enumerate(nodes):
                pos[node] = (x0 + i * 1.2, -depth * 1.0)
        x0 += 1.2 * max(len(nodes) for nodes in rows.values()) + 0.9
    return pos


def _draw_plates(ax, graph, pos):
    paths = {data["plate_path"] for _, data in graph.nodes(data=True)}
    plates = {path[:depth] for path in paths for depth in range(1, len(path) + 1)}
    deepest = max((len(p) for p in plates), default=0)
    for plate in sorted(plates, key=len):
        inside = [pos[n] for n, d in graph.nodes(data=True)
                  if d["plate_path"][:len(plate)] == plate]
        pad = 0.35 + 0.2 * (deepest - len(plate))
        xs, ys = [x for x, _ in inside], [y for _, y in inside]
        x0, y0 = min(xs) - pad, min(ys) - pad
        ax.add_patch(Rectangle((x0, y0), max(xs) - x0 + pad, max(ys) - y0 + pad,
                               fill=False, linewidth=1.0, edgecolor="#555555"))
        ax.text(max(xs) + pad - 0.05, y0 + 0.05, plate[-1][1], ha="right", va="bottom",
                fontsize=9)


def draw_matplotlib(graph, path) -> None:
    graph = nx.MultiDiGraph(graph)  # the layout annotates nodes: leave the caller's alone
    pos = _layout(graph)
    fig, ax = plt.subplots(figsize=(8, 6))
    _draw_plates(ax, graph, pos)
    for node, data in graph.nodes(data=True):
        role = data["role"] if data["kind"] == "variable" else "factor"
        marker, face, size = _MARKER[role]
        ax.scatter(*pos[node], marker=marker, s=size, c=face, edgecolors="black", zorder=3)
        label = data["dist"] if role == "factor" else node
        offset = -0.28 if role == "factor" else 0.0
        ax.text(pos[node][0], pos[node][1] + offset, label, ha="center", va="center",
                fontsize=8 if role == "factor" else 10, zorder=4)
    nx.draw_networkx_edges(graph, pos, ax=ax, arrows=True, node_size=900,
                           edge_color="#333333")
    ax.set_title(graph.graph.get("name", ""))
    ax.axis("off")
    ax.margins(0.1)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)

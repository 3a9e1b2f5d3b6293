"""The factor graph: nodes, roles, plates, DOT text and files."""
import shutil
import sys
from pathlib import Path

import pytest

from vmpdsl.errors import VmpError
from vmpdsl.graph import build_graph, factor_id, quote, to_dot, write_graph
from vmpdsl.language import read_model

MODELS = sorted((Path(__file__).resolve().parents[1] / "models").glob("*.vmp"))


def _graph(name):
    return build_graph(read_model(Path(__file__).resolve().parents[1] / "models" / f"{name}.vmp"))


def _roles(graph, factor):
    return {(src, data["role"]) for src, _, data in graph.in_edges(factor, data=True)}


@pytest.mark.parametrize("path", MODELS, ids=[p.stem for p in MODELS])
def test_graph_structure_of_every_model(path, tmp_path):
    model = read_model(path)
    graph = build_graph(model)
    variables = [n for n, d in graph.nodes(data=True) if d["kind"] == "variable"]
    factors = [n for n, d in graph.nodes(data=True) if d["kind"] == "factor"]
    assert sorted(variables) == sorted(model.variables)
    assert len(factors) == len(model.factors)
    for factor in factors:
        targets = list(graph.successors(factor))
        assert targets == [graph.nodes[factor]["variable"]]
    for name, var in model.variables.items():
        node = graph.nodes[name]
        assert (node["role"], node["family"], node["shape"], node["plates"]) == (
            var.role, var.family, var.shape, var.plates)
    out = write_graph(graph, tmp_path / f"{path.stem}.dot")
    assert out.read_text(encoding="utf-8") == to_dot(graph)


def test_gmm_edges_carry_argument_roles_and_gates():
    graph = _graph("gmm")
    assert _roles(graph, factor_id("x")) == {("mu", "mean"), ("Lambda", "precision"),
                                             ("z", "gate")}
    assert graph.edges["z", factor_id("x"), "gate"]["arguments"] == ("mean", "precision")
    assert _roles(graph, factor_id("mu")) == {("m0", "mean"), ("beta0", "precision"),
                                              ("Lambda", "precision")}
    assert _roles(graph, factor_id("z")) == {("pi", "probs")}
    node = graph.nodes[factor_id("Lambda")]
    assert (node["dist"], node["line"], node["plates"]) == ("Wishart", 7, ("K",))


def test_observed_index_is_an_index_edge():
    graph = _graph("lda")
    assert _roles(graph, factor_id("z")) == {("theta", "probs"), ("doc", "index")}
    assert _roles(graph, factor_id("word")) == {("phi", "probs"), ("z", "gate")}
    assert _roles(_graph("hier"), factor_id("y")) == {("theta", "mean"), ("g", "index"),
                                                      ("sigma", "precision")}


def test_dot_has_nested_plate_clusters_labelled_by_dim():
    dot = to_dot(_graph("pca"))
    assert dot.startswith('digraph "pca" {')
    assert dot.count("subgraph cluster_") == 4  # K, D, N and D inside N
    n_start = dot.index('label="N"')
    assert 'label="D"' in dot[n_start:]  # the inner D plate sits inside N
    assert '"W" -> "factor:Y" [label="mean"];' in dot


def test_dot_quotes_identifiers():
    assert quote('a"b\\c') == '"a\\"b\\\\c"'
    assert quote("two\nlines") == '"two\\nlines"'
    text = ("model uni\ndim N\ndata y[N]\nλ ~ Gamma(1.0, 1.0)\n"
            "for n in N:\n    y[n] ~ Normal(0.0, λ)\n")
    dot = to_dot(build_graph(read_model(text)))
    assert '"λ" -> "factor:y" [label="precision"];' in dot


def test_unknown_suffix_is_a_user_error(tmp_path):
    with pytest.raises(VmpError, match="cannot write a graph as '.jpg'"):
        write_graph(_graph("coin"), tmp_path / "g.jpg")


def test_png_without_graphviz_or_matplotlib_says_how_to_get_them(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setitem(sys.modules, "vmpdsl.plot", None)  # import fails
    with pytest.raises(VmpError) as info:
        write_graph(_graph("coin"), tmp_path / "g.png")
    assert "pip install 'vmpdsl[plot]'" in str(info.value)
    assert not (tmp_path / "g.png").exists()


@pytest.mark.parametrize("suffix, magic", [(".png", b"\x89PNG"), (".svg", b"<?xml")])
def test_matplotlib_fallback_draws(tmp_path, monkeypatch, suffix, magic):
    pytest.importorskip("matplotlib")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    out = write_graph(_graph("pca"), tmp_path / f"g{suffix}")
    assert out.read_bytes().startswith(magic)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` is not installed")
def test_graphviz_draws_png(tmp_path):
    out = write_graph(_graph("gmm"), tmp_path / "g.png")
    assert out.read_bytes().startswith(b"\x89PNG")


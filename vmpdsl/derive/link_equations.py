"""Printing the link bounds (derive/links.py): the bound each link factor
becomes, the names of the local parameters' statistics, and their updates.

Read by the printer (vmpdsl/printing/links.py, which prints the local
parameters' and the Newton updates); no sympy, so a fit never imports it.
"""
from __future__ import annotations

import re

from .links import LOCAL_FAMILIES, factor_link, local_name

STAT_TEXT = {"lam": "λ({v})", "c": "c({v})", "g": "g({v})"}
STAT_LATEX = {"lam": r"\lambda({v})", "c": r"c({v})", "g": r"g({v})"}

BOUND_TEXT = {
    "logistic": [
        "{y} ~ {dist}: Jaakkola–Jordan bound, one ξ per observation (ξ² = E[η²] is its optimum)",
        "  log p({y}) ≥ ({y} − {n}/2) η − {n} λ(ξ) η² + {n} c(ξ){choose}",
        "  λ(ξ) = tanh(ξ/2) / (4ξ),  c(ξ) = log σ(ξ) − ξ/2 + λ(ξ) ξ²",
    ],
    "softmax": [
        "{y} ~ {dist}: Böhning's bound with curvature ½I, one ψ per observation (ψ = E[η])",
        "  log p({y}) ≥ η[{y}] − ¼ Σ_k η[k]² + Σ_k η[k] g(ψ)[k] + c(ψ)",
        "  g(ψ) = ψ/2 − softmax(ψ),  c(ψ) = −log Σ_k e^ψ[k] + ψᵀ softmax(ψ) − ¼ ‖ψ‖²",
    ],
}


def stat_text(stat: str, latex: bool) -> str:
    """How a local parameter's statistic prints (a plug-in: no E[·])."""
    return (STAT_LATEX if latex else STAT_TEXT)[stat]


def bound_blocks(derivation, style: str = "text") -> list:
    """One block per link factor: the bound that replaces its log density
    (in LaTeX output, as comment lines)."""
    model = derivation.model
    blocks = []
    for factor in model.factors:
        found = factor_link(factor)
        if found is None or found[0].name not in LOCAL_FAMILIES:
            continue
        link, position = found
        call = factor.dist.args[position]
        y = source_of(model, factor.target) or factor.variable
        binomial = factor.dist.name == "Binomial"
        n = source_of(model, factor.dist.args[0]) if binomial else "1"
        text = "\n".join(BOUND_TEXT[link.name]).format(
            y=y, dist=source_of(model, factor.dist) or factor.dist.name,
            n=n, choose=f" + log C({n}, {y})" if binomial else "")
        text = text.replace("− 1 λ", "− λ").replace("+ 1 c", "+ c")
        eta = source_of(model, call.args[0])
        eta = re.sub(r"\s*@\s*", " ", eta) if eta else eta  # W @ X[n] as W X[n]
        name = local_name(model, factor, link)
        text = text.replace("ξ", name).replace("ψ", name)
        text += f"\n  η = {eta}" if eta else ""
        blocks.append("\n".join("% " + l for l in text.splitlines()) if style == "latex" else text)
    return blocks


def source_of(model, node) -> str | None:
    """The model text a node was parsed from (one line), or None."""
    span = getattr(node, "span", None)
    lines = model.source.splitlines() if model.source else []
    if span is None or span.end_line != span.line or not 1 <= span.line <= len(lines):
        return None
    return lines[span.line - 1][span.column - 1:span.end_column - 1]

"""Printing the link bounds (derive/links.py): the bound each link factor
becomes, the names of the local parameters' statistics, and their updates.

Called from equations.py; kept apart so that module stays about conjugate
updates.
"""
from __future__ import annotations

import sympy

from .links import LOCAL_FAMILIES, factor_link, local_name
from .nonconjugate import LgammaTerm

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


def local_formulas(derivation, update, C: dict) -> list | None:
    """The update of a local parameter from its coefficients (closed form), or
    of a variable with non-conjugate terms (Newton); None for the others."""
    if update.family == "JJ":  # C_lam = −n E[η²], C_c = n
        return [(f"{update.name}²", -C["lam"] / C["c"])]
    if update.family == "SoftmaxBound":  # C_g = E[η], C_c = 1
        return [("argmax", C["g"] / C["c"])]
    records = [r for r in derivation.nonconjugate if r.var == update.name]
    if any(isinstance(r, LgammaTerm) for r in records):
        return [("argmax", sympy.Function("argmax_v")(lgamma_objective(C, records)))]
    if records:
        return gaussian_newton(C)
    return None


def lgamma_objective(C: dict, records: list):
    """C_x v + C_log log v + Σ w lgamma(s v): what a learned shape maximizes."""
    v = sympy.Symbol("v", positive=True)
    total = C["x"] * v + C["log"] * sympy.log(v)
    for r in records:
        weight = sympy.nsimplify(r.coeff) * sympy.Mul(*(sympy.Symbol(str(d)) for d in r.sizes))
        scale = sympy.nsimplify(r.scale) * sympy.Mul(*(sympy.Symbol(str(d)) for d in r.scale_sizes))
        total += weight * sympy.loggamma(scale * v)
    return total


def gaussian_newton(C: dict) -> list:
    """The optimum of the Gaussian variational approximation (Newton steps with
    a line search reach it): e[n] = E[exp(η[n])] = exp(xᵀm + ½ xᵀ S x)."""
    e_xx, e_x = sympy.Symbol("Σ_n e[n] x[n] x[n]ᵀ"), sympy.Symbol("Σ_n e[n] x[n]")
    return [("precision", -2 * C["xx"] + e_xx),
            ("0 = gradient", C["x"] + 2 * C["xx"] * sympy.Symbol("mean") - e_x),
            ("e[n]", sympy.Symbol("exp(x[n]ᵀ mean + x[n]ᵀ cov x[n]/2)"))]


def local_header(update, index: str, plates: str) -> str | None:
    """The first line of a local bound parameter's update."""
    bound = {"JJ": "Jaakkola–Jordan", "SoftmaxBound": "Böhning"}.get(update.family)
    if bound is None:
        return None
    return (f"{update.name}{index} = argmax of the {bound} bound  (local parameters, "
            f"closed form)    # plates {plates or 'none'}")


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

"""Printing what links and learned hyperparameters add (derive/links.py,
derive/nonconjugate.py): the bound each link factor becomes (text from
derive/link_equations.py), the closed-form updates of the local parameters
(Jaakkola–Jordan ξ² = E[η²], Böhning ψ = E[η]), the Newton update of a
Gaussian q under an exp link, and the one-dimensional maximization of a
learned shape or concentration.
"""
from __future__ import annotations

from fractions import Fraction

from ..derive.link_equations import STAT_LATEX, STAT_TEXT, bound_blocks, source_of
from ..derive.nonconjugate import ExpTerm, LgammaTerm
from ..derive.statistics import Mono
from ..derive.terms import Atom
from .formulas import C, cancel, scale

LOCAL = {"JJ": "Jaakkola–Jordan", "SoftmaxBound": "Böhning"}


def jj(form, ctx):
    """ξ² = −C_lam / C_c: with C_lam = −n E[η²] and C_c = n, ξ² = E[η²]."""
    return [("square", cancel(scale(C(form, "lam"), -1), C(form, "c"), ctx.rows))]


def softmax_bound(form, ctx):
    """ψ = C_g / C_c = E[η]."""
    return [("value", cancel(C(form, "g"), C(form, "c"), ctx.rows))]


def local_statistic(r, a: Atom, letters) -> str:
    """λ(ξ_y[n]), c(ξ_y[n]), g(ψ_y[n])[c]: plug-ins of a local parameter."""
    s = r.s
    var = r.model.variables[a.var]
    p = len(var.plates)
    name = s.index(s.name(a.var), [letters[l] for l in a.indices[:p]])
    text = (STAT_LATEX if s.latex else STAT_TEXT)[a.stat].format(v=name)
    rest = [letters[l] for l in a.indices[p:] if not r.is_event(l)]
    return s.index(text if not rest else s.paren(text) if s.latex else text, rest)


def header(r, form, v: str):
    if form.update.point and any(isinstance(t, LgammaTerm)
                                 for t in records(r.ctx, form.update.name)):
        kind = "maximum likelihood" if form.var.role == "param" else "MAP estimate"
        words = f"argmax of E[log joint]   ({kind}, found by Newton's method in log {v})"
        return v, (words if not r.s.latex else
                   rf"\operatorname{{argmax}}\ \mathbb{{E}}[\log \text{{joint}}] \quad "
                   rf"\text{{({kind}, found by Newton's method in }}\log {v}\text{{)}}")
    bound = LOCAL.get(form.update.family)
    if bound is None:
        return None
    words = f"argmax of the {bound} bound   (local parameters, closed form)"
    return v, (words if not r.s.latex else r.s.text(words))


def bounds(r) -> list:
    """The bound each link factor becomes, as printed text (LaTeX: comments)."""
    return bound_blocks(r.ctx.derivation, "latex" if r.s.latex else "text")


# ----------------------------------------------------------- non-conjugate
def records(ctx, name: str) -> list:
    return [t for t in ctx.derivation.nonconjugate if t.var == name]


def nonconjugate_lines(r, form, letters):
    """The update lines of a variable with non-conjugate terms, or None."""
    found = records(r.ctx, form.update.name)
    if any(isinstance(t, LgammaTerm) for t in found):
        return [(None, learned(r, form, letters, found))]
    exp = [t for t in found if isinstance(t, ExpTerm)]
    if exp:
        return newton(r, form, letters, exp[0])
    return None


def learned(r, form, letters, found) -> str:
    """argmax_v of C_x v + C_log log v + Σ w log Γ(s v) (Newton on log v)."""
    from .blocks import render_sum  # blocks imports this module
    s = r.s
    v = s.name(form.update.name)
    parts = []
    for stat, word in (("x", v), ("log", s.func("log", v))):
        pieces = C(form, stat)
        if pieces:
            parts.append(f"{s.paren(render_sum(r, pieces, letters))} {word}")
    for t in found:
        if isinstance(t, LgammaTerm):
            arg = r.with_coeff(t.scale, [s.name(str(d)) for d in t.scale_sizes], v)[1]
            sign, text = r.with_coeff(t.coeff, [s.name(str(d)) for d in t.sizes],
                                      s.func("lgamma", arg))
            parts.append((f"{s.minus()} " if sign < 0 else "+ ") + text)
    body = " ".join(parts)
    body = body[2:] if body.startswith("+ ") else body
    head = f"argmax_{v} " if not s.latex else rf"\operatorname{{argmax}}_{{{v}}} "
    return head + s.paren(body)


def newton(r, form, letters, term: ExpTerm) -> list:
    """A Gaussian q under exp(η): the optimum Newton's method reaches,
    [(left, right)]: S⁻¹ and the stationarity condition of m, with e[n]."""
    from .blocks import render_sum  # blocks imports this module
    s = r.s
    for label, dim in term.dims:
        r.dims.setdefault(label, dim)
        if label != term.label:
            r.ctx.rows.add(label)
    design = " + ".join(r.product(list(t.atoms), letters, raw=True, attach=term.label)
                        for t in term.design)
    n = [letters[l] for l in term.labels]
    e, eta = s.index("e", n), s.index("η" if not s.latex else r"\eta", n)
    sigma = s.sigma(n)
    prior = render_sum(r, scale(C(form, "xx"), -2), letters)
    name = form.update.name
    m = r.ctx.symbol(name, "mean", s)
    S = s.inverse(r.ctx.symbol(name, "precision", s))
    source = source_of(r.model, term_source(r.model)) or ""
    var = s.func("Var", eta) if not s.latex else rf"\operatorname{{Var}}({eta})"
    return [(S, f"{prior} + {sigma}{e} {design} {s.transpose(design)}"),
            ("0", f"{render_sum(r, C(form, 'x'), letters)} {s.minus()} "
                  f"{prior if len(C(form, 'xx')) == 1 else s.paren(prior)} {m} "
                   f"{s.minus()} {sigma}{e} {design}"),
            (e, f"{s.E(s.func('exp', eta))} = "
                f"{s.func('exp', s.E(eta) + ' + ' + s.number(Fraction(1, 2)) + ' ' + var)}"),
            (eta, s.text(source))]


def term_source(model):
    """The argument of the model's exp link (the linear predictor η)."""
    from ..language.ast import Call
    for factor in model.factors:
        for arg in factor.dist.args:
            if isinstance(arg, Call) and arg.func == "exp":
                return arg.args[0]
    return None

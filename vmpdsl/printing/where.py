"""The "where" block: every expectation the updates print, defined once from
the q parameters (E[Lambda[k]] = ν[k] W[k], E[log theta[d,k]] = ψ(γ[d,k]) −
ψ(Σ_l γ[d,l]), …), the named statistics (N[k] = Σ_n r[n,k]) and each
expected square multiplied out.  One function per q family, registered in
``families.PRINTING``.
"""
from __future__ import annotations

from dataclasses import replace

from ..derive.chains import plate_view
from ..derive.statistics import simplify
from .render import Letters
from .squares import expand
from .textbook import where_lines as bar_lines


def var_letters(r, name: str, extra: int = 0):
    """A variable's own index letters: its plates', then ``extra`` more."""
    var = r.model.variables[name]
    prior = r.model.factor_of(name)
    prior = plate_view(r.model, prior) if prior is not None else None  # a chain's z[0]: t
    plates = [p.index for p in prior.plates] if prior is not None else \
        [r.plate_letter(d) for d in var.plates]
    letters = Letters(r, {})
    for i, p in enumerate(plates):
        letters.names[f"@{i}"] = p
    shown = list(plates)
    for j in range(extra):
        dim = var.categories if var.family == "Categorical" else var.event[j]
        shown.append(letters.fresh(dim))
        letters.names[f"@{len(plates) + j}"] = shown[-1]
    return shown, letters


def moment_lines(r, name: str, stat: str) -> list:
    s = r.s
    family = r.ctx.families[name]
    var = r.model.variables[name]
    elementwise = family in ("Dirichlet", "Categorical", "Beta")
    idx, letters = var_letters(r, name, 1 if (elementwise and (var.event or var.categories)
                                              and family != "Beta") else 0)
    v = s.index(s.name(name), idx)
    rows = idx

    def sym(param, indices=None):
        return s.index(r.ctx.symbol(name, param, s), rows if indices is None else indices)
    from .families import PRINTING  # the table imports this module
    return PRINTING[family].moments(r, s, v, sym, stat, var, idx, letters)


def gamma_moments(r, s, v, sym, stat, var, idx, letters):
    a, b = sym("shape"), sym("rate")
    if stat == "x":
        return [(s.E(v), s.frac(a, b, True, True))]
    return [(s.E(s.func("log", v)), f"{s.func('digamma', a)} {s.minus()} {s.func('log', b)}")]


def normal_moments(r, s, v, sym, stat, var, idx, letters):
    m, lam = sym("mean"), sym("precision")
    if stat == "x":
        return [(s.E(v), m)]
    return [(s.E(s.square(v)), f"{s.square(m)} + {s.frac('1', lam, True, True)}")]


def mvnormal_moments(r, s, v, sym, stat, var, idx, letters):
    m, S = sym("mean"), sym("precision")
    if stat == "x":
        return [(s.E(v), m)]
    return [(s.E(f"{v} {s.transpose(v)}"), f"{m} {s.transpose(m)} + {S}")]


def wishart_moments(r, s, v, sym, stat, var, idx, letters):
    nu, W = sym("df"), sym("scale")
    if stat == "x":
        return [(s.E(v), f"{nu} {W}")]
    D = s.name(str(var.event[0]))
    i = letters.fresh(var.event[0])
    half = s.frac(f"{nu} + 1 {s.minus()} {i}", "2", False, True) if not s.latex else \
        s.frac(f"{nu} + 1 - {i}", "2")
    total = (f"Σ_{{{i}=1..{D}}} " if not s.latex else rf"\sum_{{{i}=1}}^{{{D}}} ")
    return [(s.E(s.logdet(v)),
             f"{total}{s.func('digamma', half)} + {D} {s.const('log2')} + {s.logdet(W)}")]


def dirichlet_moments(r, s, v, sym, stat, var, idx, letters):
    j = letters.fresh(var.event[0])
    alpha = sym("concentration")
    total = s.sigma([j]) + sym("concentration", idx[:-1] + [j])
    return [(s.E(s.func("log", v)),
             f"{s.func('digamma', alpha)} {s.minus()} {s.func('digamma', total.strip())}")]


def beta_moments(r, s, v, sym, stat, var, idx, letters):
    a, b = sym("a"), sym("b")
    both = s.func("digamma", f"{a} + {b}")
    if stat == "log":
        return [(s.E(s.func("log", v)), f"{s.func('digamma', a)} {s.minus()} {both}")]
    return [(s.E(s.func("log", f"1 {s.minus()} {v}")),
             f"{s.func('digamma', b)} {s.minus()} {both}")]


def categorical_moments(r, s, v, sym, stat, var, idx, letters):
    rows, k = idx[:-1], idx[-1]
    prob = sym("probs")
    event = f"{s.index(s.name(var.name), rows)} = {k}"
    gap = r",\quad " if s.latex else ",  "
    return [(prob, f"{s.q(event)}{gap}{s.sigma([k])}{prob} = 1")]


def bernoulli_moments(r, s, v, sym, stat, var, idx, letters):
    return [(s.E(v), sym("p"))]


def count_lines(r, name: str) -> list:
    """N[k] = Σ_n r[n,k]: the expected count of each category."""
    s = r.s
    idx, letters = var_letters(r, name, 1)
    prob = s.index(r.ctx.symbol(name, "probs", s), idx)
    return [(s.index(r.ctx.count_name(name, s), idx[-1:]), s.sigma(idx[:-1]) + prob)]


def square_lines(r, sq) -> list:
    """E[(x − μ)(x − μ)ᵀ] = x xᵀ − x E[μ]ᵀ − E[μ] xᵀ + E[μ μᵀ], in the square's letters."""
    bare = replace(sq, coeff=1, rest=(), sums=(), sizes=())
    monos, dims = expand(bare, r.model)
    for label, dim in dims.items():
        r.dims.setdefault(label, dim)
    letters = Letters(r, {})
    if sq.attach:
        for label in sq.attach:
            letters[label]
    for a in [a for _, h in sq.halves for a in h] + list(sq.middle) + list(sq.rest):
        for l in a.indices:
            if not r.is_event(l):
                letters[l]
    inner = [a for _, h in sq.halves for a in h] + list(sq.middle)
    r.selectors(list(sq.rest), list(sq.sums), letters, {}, inner)  # gathers: theta[g[n]]
    lhs = r.square_form(bare, letters)
    from .blocks import render_sum  # blocks imports this module
    rhs = render_sum(r, simplify(monos, r.dims, r.ctx.symmetric), letters, factor=False)
    return [(lhs, rhs)]


def where_lines(r) -> list:
    """Definitions of everything printed, until nothing new is used: the
    responsibilities and counts first, then the squares, then the moments."""
    done, lines = set(), []
    while True:
        pending = [k for k in list(r.used) if k not in done]
        pending += [k for k in list(r.named) if k not in done]
        if not pending:
            return lines
        pending.sort(key=lambda k: (k[1] != "onehot", k[1] != "count", k[0] != "@bar",
                                    k[0] != "@square"))
        for key in pending:
            done.add(key)
            name, stat = key
            if name == "@square":
                lines += square_lines(r, stat)
            elif name == "@bar":  # x̄[k] and S[k] of a textbook Normal–Wishart
                lines += bar_lines(r, *r.named[key])
            elif stat == "count":
                lines += count_lines(r, name)
            elif name in r.ctx.families:
                lines += moment_lines(r, name, stat)


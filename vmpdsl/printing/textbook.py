"""A Normal–Wishart block fed by weighted data, printed as PRML (10.60)–(10.63):

    m[k] = (beta0 m0 + N[k] x̄[k]) / β[k]                                (10.61)
    W[k]⁻¹ = W0⁻¹ + N[k] S[k] + (beta0 N[k] / (beta0 + N[k])) (x̄[k] − m0)(x̄[k] − m0)ᵀ
                                                                          (10.62)
    where x̄[k] = Σ_n r[n,k] x[n] / N[k],
          S[k] = Σ_n r[n,k] (x[n] − x̄[k])(x[n] − x̄[k])ᵀ / N[k]      (10.52), (10.53)

``centred`` recognises the form exactly from the block's coefficients: β is a
prior part B (no rows) plus one weighted count Σ_n w[n] (N[k]); C_Lx is B m0
plus Σ_n w[n] x[n]; −2 C_L is a rest A (W0⁻¹), B m0 m0ᵀ and Σ_n w[n] x[n] x[n]ᵀ,
with the same weights w, rows n and data x throughout.  Then
Σ w x xᵀ + B m0 m0ᵀ − β m mᵀ = N S + B N/β (x̄ − m0)(x̄ − m0)ᵀ (completing the
square; m0 may be absent, a zero prior mean).  Anything else keeps the
monomial form of normal_wishart.py.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction

from ..derive.statistics import Mono, is_output
from .formulas import C, scale


@dataclass
class Centred:
    """The parts of the pattern, as monomials (coefficients included)."""

    prior: list  # B: the prior's share of β (no rows)
    count: Mono  # Σ_n w[n]: the weighted count N[k]
    linear: Mono  # Σ_n w[n] x[n]
    mean0: object  # m0's atom, or None (a zero prior mean)
    rest: list  # A: −2 C_L less the prior's and the data's outer products
    x: object  # the data atom x[n, e] of ``linear`` (x[n] when scalar)
    row: str  # the summed row label n
    scalar: bool = False  # a Normal–Gamma block: x̄ and S are numbers


def centred(form, scalar: bool = False):
    """The Centred parts of a Normal–Wishart block's coefficients, or None;
    ``scalar``: a Normal–Gamma block's (x[n] and m0 without an event axis)."""
    beta, linear, outer = scale(C(form, "xLx"), -2), C(form, "Lx"), scale(C(form, "L"), -2)
    if not all(isinstance(p, Mono) for p in beta + linear + outer):
        return None
    data = [p for p in beta if p.sums]
    prior = [p for p in beta if not p.sums]
    if len(data) != 1 or not prior or len(data[0].sums) != 1:
        return None
    count, row = data[0], data[0].sums[0]
    x = data_vector(count, [p for p in linear if p.sums], row, scalar)
    if x is None:
        return None
    mean0 = prior_mean(prior, [p for p in linear if not p.sums])
    if mean0 is False:
        return None
    rest = without_outer(outer, count, x, row, prior, mean0, scalar)
    if rest is None:
        return None
    return Centred(prior, count, [p for p in linear if p.sums][0], mean0, rest, x, row, scalar)


def data_vector(count: Mono, linear: list, row: str, scalar: bool = False):
    """x of Σ_n w[n] x[n, e] (x[n] when ``scalar``): the one atom the linear
    term adds to the count's."""
    if len(linear) != 1 or linear[0].sums != count.sums or linear[0].coeff != count.coeff:
        return None
    extra = [a for a in linear[0].atoms if a not in count.atoms]
    if len(extra) != 1 or len(linear[0].atoms) != len(count.atoms) + 1:
        return None
    x = extra[0]
    rows = [l for l in x.indices if not is_output(l)]
    axes = 1 if scalar else 2
    return x if rows == [row] and len(x.indices) == axes and x.indices[0] == row else None


def prior_mean(prior: list, linear: list):
    """m0 of B m0 (None when the prior mean is zero; False when not that form)."""
    if not linear:
        return None
    if len(linear) != 1 or len(prior) != 1 or linear[0].coeff != prior[0].coeff:
        return False
    extra = [a for a in linear[0].atoms if a not in prior[0].atoms]
    if len(extra) != 1 or len(linear[0].atoms) != len(prior[0].atoms) + 1 or \
            not all(is_output(l) for l in extra[0].indices):
        return False
    return extra[0]


def without_outer(outer: list, count: Mono, x, row: str, prior: list, mean0,
                  scalar: bool = False):
    """−2 C_L less Σ_n w x xᵀ and B m0 m0ᵀ (Σ_n w x² and B m0² when
    ``scalar``; None unless both are there exactly)."""
    labels = None if scalar else outer_labels(outer)
    if labels is not None and labels[0] is None:
        return None
    data = Mono(count.coeff, count.atoms + twice(x, labels), count.sums)
    wanted = [data] + ([Mono(b.coeff, b.atoms + twice(mean0, labels)) for b in prior]
                       if mean0 is not None else [])
    rest = list(outer)
    for w in wanted:
        match = next((p for p in rest if p.coeff == w.coeff and p.sums == w.sums and
                      sorted(map(repr, p.atoms)) == sorted(map(repr, w.atoms))), None)
        if match is None:
            return None
        rest.remove(match)
    if any(p.sums for p in rest):
        return None
    return rest


def outer_labels(outer: list):
    """The two event output labels of −2 C_L (the matrix's axes)."""
    labels = sorted({l for p in outer for a in p.atoms for l in a.indices if is_output(l)})
    return (labels[-2], labels[-1]) if len(labels) >= 2 else (None, None)


def twice(a, labels):
    """The atom's outer product: a a (a scalar), or a[…, e1] a[…, e2]."""
    return (a, a) if labels is None else (relabel(a, labels[0]), relabel(a, labels[1]))


def relabel(a, event: str):
    return type(a)(a.var, a.stat, a.indices[:-1] + (event,))


# --------------------------------------------------------------- printing
@dataclass
class Bar:
    """A block parameter printed in x̄ and S (the subclasses render one)."""

    parts: Centred
    name: str  # the block's update
    plates: tuple  # its plate labels


class BarMean(Bar):
    """m = (B m0 + N x̄) / β (PRML 10.61)."""

    def render(self, r, letters) -> str:
        s = r.s
        n, xbar = count_text(r, self.parts, letters), bar_text(r, self, letters)
        r.named[("@bar", self.name)] = (self, letters)
        beta = s.index(r.ctx.symbol(self.name, "beta", s), [letters[l] for l in self.plates])
        if self.parts.mean0 is None:  # a zero prior mean: m = N x̄ / β
            return s.frac(f"{n} {xbar}", beta, True, True)
        lead = f"{prior_text(r, self.parts, letters)} {r.product([self.parts.mean0], letters)}"
        return s.frac(f"{lead} + {n} {xbar}", beta, False, True)


class BarScale(Bar):
    """W⁻¹ = A + N S + (B N / (B + N)) (x̄ − m0)(x̄ − m0)ᵀ (PRML 10.62)."""

    def render(self, r, letters) -> str:
        from .blocks import render_sum  # blocks imports the family table, which imports us
        s = r.s
        n, xbar, b, scatter = scatter_parts(r, self, letters)
        weight = s.frac(f"{b} {n}", f"{b} + {n}", True, False)
        weight = weight if s.latex else s.paren(weight)
        rest = render_sum(r, self.parts.rest, letters) + " + " if self.parts.rest else ""
        if self.parts.mean0 is None:  # a zero prior mean: x̄ x̄ᵀ
            return f"{rest}{n} {scatter} + {weight} {xbar} {s.transpose(xbar)}"
        diff = s.paren(f"{xbar} {s.minus()} {r.product([self.parts.mean0], letters)}")
        return f"{rest}{n} {scatter} + {weight} {diff}{diff}{s.T}"


class BarRate(Bar):
    """b = b0 + ½ N S + B N (x̄ − m0)² / (2 (B + N)): the Normal–Gamma rate
    (Murphy 2007, §3; PRML (10.62)'s scalar form, halved)."""

    def render(self, r, letters) -> str:
        from .blocks import render_sum
        s = r.s
        n, xbar, b, scatter = scatter_parts(r, self, letters)
        rest = render_sum(r, scale(self.parts.rest, Fraction(1, 2)), letters) + " + " \
            if self.parts.rest else ""
        diff = xbar if self.parts.mean0 is None else \
            f"{xbar} {s.minus()} {r.product([self.parts.mean0], letters)}"
        half = s.number(Fraction(1, 2))
        return f"{rest}{half} {n} {scatter} + " + \
            s.frac(f"{b} {n} {s.square(diff)}", f"2 {s.paren(f'{b} + {n}')}", True)


def scatter_parts(r, value, letters) -> tuple:
    """(N, x̄, B, S) as printed, for W⁻¹ or b; the "where" block will define
    x̄ and S (where_lines)."""
    n, xbar = count_text(r, value.parts, letters), bar_text(r, value, letters)
    scatter = r.s.index(r.s.name("S"), [letters[l] for l in value.plates])
    r.named[("@bar", value.name)] = (value, letters)
    return n, xbar, prior_text(r, value.parts, letters), scatter


def count_text(r, parts: Centred, letters) -> str:
    return r.mono(parts.count, letters)[1]


def prior_text(r, parts: Centred, letters) -> str:
    from .blocks import render_sum
    text = render_sum(r, parts.prior, letters)
    return text if len(parts.prior) == 1 else r.s.paren(text)


def bar_text(r, value, letters) -> str:
    """x̄[k] (LaTeX \\bar{x}_{k})."""
    s = r.s
    name = s.name(value.parts.x.var)
    bar = rf"\bar{{{name}}}" if s.latex else name + "\u0304"
    return s.index(bar, [letters[l] for l in value.plates])


def where_lines(r, value, letters) -> list:
    """x̄[k] = Σ_n r[n,k] x[n] / N[k];  S[k] = Σ_n r[n,k] (x[n] − x̄[k])(…)ᵀ / N[k]."""
    s, parts = r.s, value.parts
    n, xbar = count_text(r, parts, letters), bar_text(r, value, letters)
    weighted = replace(parts.linear, atoms=tuple(parts.count.atoms) + (parts.x,))  # Σ_n r[n,k] x[n]
    total = r.mono(weighted, letters)[1]
    weights = r.product([a for a in parts.count.atoms], letters)
    weights = weights + " " if weights else ""
    xn = s.index(s.name(parts.x.var), [letters[parts.row]])
    sigma = s.sigma([letters[parts.row]])
    diff = s.paren(f"{xn} {s.minus()} {xbar}")
    scatter = s.index(s.name("S"), [letters[l] for l in value.plates])
    share = s.frac("1", n, True, True)  # PRML's (1/N_k) Σ_n …
    share = share if s.latex else s.paren(share)
    spread = s.square(f"{xn} {s.minus()} {xbar}") if parts.scalar else f"{diff}{diff}{s.T}"
    return [(xbar, f"{share} {total}"), (scatter, f"{share} {sigma}{weights}{spread}")]

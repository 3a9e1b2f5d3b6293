"""Interacting elements of one categorical: two gates by the same array.

A stochastic block model reads ``B[z[i], z[j]]``: its log density holds the
product ``[z_i = a] [z_j = b]`` of two elements of one categorical array.
Under mean field the elements are independent, so

    Σ_{i,j} f(i,j) [z_i = a][z_j = b]
      = Σ_{i,j} f(i,j) [z_i = a][z_j = b]  as a product of two factors  (T1)
      − Σ_i f(i,i) [z_i = a][z_i = b]      the same, on the diagonal    (T2)
      + Σ_i f(i,i) δ_ab [z_i = a]          what the diagonal really is  (T3)

because for i = j the two indicators are one variable ([z_i = a][z_i = b] =
δ_ab [z_i = a]).  T1 and T2 keep the two atoms apart (their expectation is the
product of the elements' expectations: exact for i ≠ j, and T2 removes exactly
what T1 wrongly counts for i = j); the diagonal is written with δ over the row
labels, so no plate loses its sum.  The coefficient of [z_i = a] collected
from all three does not depend on q(z_i): updating one element at a time
(``interacting``: a serial schedule, emit/serial_emit.py) is coordinate ascent.
Two gates by the same element (``B[z[i], z[i]]``) are T3 alone.
"""
from __future__ import annotations

from ..language.ast import Index, Name
from .expressions import EYE, FactorContext
from .terms import Atom, Term

PAIR_STAT = "onehot"


def expand_pairs(terms: list, ctx: FactorContext) -> list:
    """Every monomial with two one-hot atoms of one categorical, rewritten as above."""
    out = []
    for term in terms:
        pair = _pair(term, ctx)
        out.extend(_expand(term, *pair) if pair else [term])
    return out


def _pair(term: Term, ctx: FactorContext):
    """The two one-hot atoms of one stateful Categorical in ``term``, or None."""
    seen: dict = {}
    for a in term.atoms:
        var = ctx.model.variables.get(a.var)
        if a.stat == PAIR_STAT and var is not None and var.family == "Categorical" \
                and var.role in ("latent", "point"):
            seen.setdefault(a.var, []).append(a)
    pairs = [found for found in seen.values() if len(found) == 2]
    if not pairs:
        return None
    if len(pairs) > 1 or any(len(found) > 2 for found in seen.values()):
        raise ctx.error("this factor gates by three or more elements of one categorical "
                        "(or by pairs of two); vmpdsl derives products of two elements only",
                        "index by at most two elements of one Categorical per factor")
    return tuple(pairs[0])


def _expand(term: Term, first: Atom, second: Atom) -> list:
    rows_a, rows_b = first.indices[:-1], second.indices[:-1]
    rest = tuple(a for a in term.atoms if a is not first and a is not second)
    same = Atom(EYE, "value", (first.indices[-1], second.indices[-1]))
    if rows_a == rows_b:  # one element gated twice: [z = a][z = b] = δ_ab [z = a]
        return [Term(term.coeff, rest + (first, same), term.sizes)]
    diagonal = tuple(Atom(EYE, "value", (r, s)) for r, s in zip(rows_a, rows_b))
    return [term,
            Term(-term.coeff, term.atoms + diagonal, term.sizes),
            Term(term.coeff, rest + (first, same) + diagonal, term.sizes)]


def is_pair(found: list, family: str) -> bool:
    """Two one-hot atoms of one categorical left by ``expand_pairs`` (T1, T2):
    canonical form keeps them apart, as a product of expectations."""
    return family == "Categorical" and len(found) == 2 and \
        all(a.stat == PAIR_STAT for a in found)


def interacting(update) -> bool:
    """Does a latent's own update read its other elements (a serial schedule)?"""
    return any(a.var == update.name and a is not m.target
               for messages in update.messages.values() for m in messages
               for a in m.term.atoms)


def self_gated(model) -> set:
    """Categorical latents that one factor reads at two different indices
    (``B[z[i], z[j]]``): their rows are not independent given the globals."""
    found = set()
    for factor in model.factors:
        reads: dict = {}
        for node in _nodes(factor.dist.args):
            if isinstance(node, Index) and isinstance(node.base, Name):
                var = model.variables.get(node.base.id)
                if var is not None and var.family == "Categorical" and \
                        var.role in ("latent", "point"):
                    reads.setdefault(var.name, set()).add(node.indices)
        found |= {name for name, indices in reads.items() if len(indices) > 1}
    return found


def _nodes(exprs):
    for expr in exprs:
        yield expr
        children = [getattr(expr, a) for a in ("base", "left", "right", "operand")
                    if hasattr(expr, a)]
        yield from _nodes(children + list(getattr(expr, "args", ())) +
                          list(getattr(expr, "indices", ())))

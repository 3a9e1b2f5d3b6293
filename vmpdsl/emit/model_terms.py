"""The update program's monomials, arranged at compile time for the emitted code.

``arrange(contractions)`` splits one coefficient (or the ELBO) into
* its constant part — the monomials of data, hypers and sizes alone, with like
  terms added and those that cancel dropped — which the constants function
  computes once per fit;
* its varying part, one ``Term`` per distinct product of random operands, the
  constant factors of monomials that share that product folded into one
  (``(0.5 nu0 − 0.5 D) Σ_k E[log|Λ_k|]``).

``row_statistics`` finds the products a local latent's rows send to the other
updates (N[k] = Σ_n r[n,k], Σ_n r[n,k] x[n], word-topic counts): each is
computed once per update of that latent (``statistics_<latent>``) and read by
every update that needs it.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction

from ..lower import DERIVED, HOISTED, HYPER, RANDOM, Contraction, Operand

STAT = "statistic"  # an operand kind: a named row statistic (statistics_<latent>)


@dataclass(frozen=True)
class Term:
    """Σ over non-output labels of ``scale`` × Π ``ops``; ``scale`` is a list
    of (coefficient, sizes, constant operands) added together."""

    scale: tuple
    ops: tuple
    out: tuple
    label_dims: tuple


def like_terms(contractions) -> list:
    """Like monomials (the same operands, sizes and output) added; zeros dropped."""
    found: dict = {}
    for c in contractions:
        k = (c.operands, c.out, tuple(sorted(map(str, c.sizes))))
        if k in found:
            old = found[k]
            found[k] = replace(old, coeff=Fraction(old.coeff) + Fraction(c.coeff)
                               if isinstance(old.coeff, Fraction) and isinstance(c.coeff, Fraction)
                               else float(old.coeff) + float(c.coeff))
        else:
            found[k] = c
    return [c for c in found.values() if c.coeff != 0]


def is_constant(c: Contraction) -> bool:
    return all(o.constant for o in c.operands)


def arrange(contractions, rows=frozenset()) -> tuple:
    """(constant contractions, [Term]) of one coefficient or of the ELBO;
    ``rows``: the dims of the data's rows, along which nothing is folded."""
    contractions = like_terms(contractions)
    constant = [c for c in contractions if is_constant(c)]
    groups: dict = {}
    for c in contractions:
        if is_constant(c):
            continue
        randoms = tuple(o for o in c.operands if not o.constant)
        consts = tuple(o for o in c.operands if o.constant)
        carried = {l for o in randoms for l in o.labels}
        # constants along the randoms' own axes fold into one array per fit
        # (−½ (W0⁻¹ + beta0 m0 m0ᵀ) against E[Λ_k]); a one-hot gather stays
        dims = dict(c.label_dims)
        foldable = all(set(o.labels) <= carried and o.kind in (HYPER, DERIVED, HOISTED)
                       and not {dims[l] for l in o.labels} & (set(rows) | {None})
                       for o in consts)
        k = (randoms, c.out) if foldable else (c.operands, c.out, len(groups))
        scale = (c.coeff, tuple(c.sizes), consts if foldable else ())
        ops = randoms if foldable else c.operands
        if k in groups:
            groups[k] = replace(groups[k], scale=groups[k].scale + (scale,))
        else:
            groups[k] = Term((scale,), ops, c.out, c.label_dims)
    return constant, list(groups.values())


# ------------------------------------------------------------ row statistics
@dataclass(frozen=True)
class Statistic:
    latent: str
    ops: tuple  # operands over canonical labels
    out: tuple
    label_dims: tuple
    name: str = ""


def canonical(ops, out, label_dims) -> tuple:
    """Operands and outputs with labels renamed by first appearance."""
    names: dict = {}
    dims = dict(label_dims)

    def rename(l):
        return names.setdefault(l, f"^{len(names)}")
    new_ops = tuple(Operand(o.kind, o.name, o.stat, tuple(rename(l) for l in o.labels),
                            o.factored) for o in ops)
    new_out = tuple(rename(l) for l in out)
    return new_ops, new_out, tuple(sorted((names[l], dims[l]) for l in names)), names


def statistic_of(term: Term, step_name, model, local: tuple) -> list:
    """[(statistic operands, its labels, the term's other operands)], one per
    local latent's statistic in the term that is summed over that latent's
    rows (which nothing else random carries); the statistic takes the
    constants that share a row label with it (x[n,d] with r[n,k])."""
    found = []
    for r in term.ops:
        if r.kind != RANDOM or r.name not in local or r.name == step_name or r.factored:
            continue
        rows = set(r.labels[:len(model.variables[r.name].plates)])
        if any(rows & set(o.labels) for _, _, consts in term.scale for o in consts):
            continue  # a folded constant along the rows: no row sum to take out
        mine = [o for o in term.ops if o is r or (o.constant and rows & set(o.labels))]
        others = [o for o in term.ops if not any(o is m for m in mine)]
        if not rows - set(term.out) or rows & {l for o in others for l in o.labels}:
            continue
        wanted = [l for l in term.out if any(l in o.labels for o in mine)]
        wanted += [l for o in others for l in o.labels if any(l in m.labels for m in mine)]
        found.append((mine, tuple(dict.fromkeys(wanted)), others))
    return found


def row_statistics(program, terms_by_step: dict, local: tuple) -> dict:
    """{latent: [Statistic]} of every row statistic the terms read; a
    statistic that another one holds summed over more labels is not kept."""
    found: dict = {}
    candidates = []
    for step_name, terms in terms_by_step.items():
        for term in terms:
            got = statistic_of(term, step_name, program.model, local)
            if len(got) == 1:  # (a product of two locals' statistics is no row sum)
                mine, out, _ = got[0]
                ops, new_out, dims, _ = canonical(mine, out, term.label_dims)
                candidates.append((ops, new_out, dims))
    for ops, out, dims in sorted(candidates, key=lambda c: -len(c[1])):
        latent = next(o.name for o in ops if o.kind == RANDOM)
        stats = found.setdefault(latent, [])
        if not any(st.ops == ops and set(out) <= set(st.out) for st in stats):
            stats.append(Statistic(latent, ops, out, dims))
    return found


def using_statistic(term: Term, stats: list, step_name, model, local: tuple):
    """The term with its row statistic as one operand (kind STAT), or None."""
    for mine, out, others in statistic_of(term, step_name, model, local):
        ops, new_out, _, names = canonical(mine, out, term.label_dims)
        for s in stats:
            if s.ops == ops and set(new_out) <= set(s.out):
                back = {v: k for k, v in names.items()}
                labels = tuple(back[l] for l in s.out)
                return replace(term, ops=(Operand(STAT, s.name, "value", labels),) + tuple(others))
    return None

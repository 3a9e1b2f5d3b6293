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

from ..lower import ONEHOT, RANDOM, Contraction, Operand

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


def arrange(contractions) -> tuple:
    """(constant contractions, [Term]) of one coefficient or of the ELBO."""
    contractions = like_terms(contractions)
    constant = [c for c in contractions if is_constant(c)]
    groups: dict = {}
    for c in contractions:
        if is_constant(c):
            continue
        randoms = tuple(o for o in c.operands if not o.constant)
        consts = tuple(o for o in c.operands if o.constant)
        foldable = all(not o.labels for o in consts)  # scalars: hypers, sizes
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


def statistic_of(term: Term, step_name: str, model):
    """The row statistic of a term: its operands but the other latents', when
    exactly one is a local latent's statistic summed over that latent's rows."""
    randoms = [o for o in term.ops if o.kind == RANDOM]
    if len(randoms) != 1 or randoms[0].name == step_name or randoms[0].factored:
        return None
    r = randoms[0]
    var = model.variables.get(r.name)
    if var is None or not var.plates:
        return None
    rows = r.labels[:len(var.plates)]
    if not any(l not in term.out for l in rows):
        return None
    carried = tuple(l for l in term.out if any(l in o.labels for o in term.ops))
    return canonical(term.ops, carried, term.label_dims)


def row_statistics(program, steps_terms: dict) -> dict:
    """{latent: [Statistic]} of every row statistic the updates read, and
    each term's (statistic, its labels) in ``uses``."""
    found: dict = {}
    for step_name, terms in steps_terms.items():
        for term in terms:
            got = statistic_of(term, step_name, program.model)
            if got is None:
                continue
            ops, out, dims, _ = got
            latent = next(o.name for o in ops if o.kind == RANDOM)
            stats = found.setdefault(latent, [])
            if not any(s.ops == ops and s.out == out for s in stats):
                stats.append(Statistic(latent, ops, out, dims))
    return found


def using_statistic(term: Term, stats: list, step_name: str, model):
    """The term with its row statistic as one operand (kind STAT), or None."""
    got = statistic_of(term, step_name, model)
    if got is None:
        return None
    ops, out, _, names = got
    for s in stats:
        if s.ops == ops and s.out == out:
            back = {v: k for k, v in names.items()}
            labels = tuple(back[l] for l in out)
            return replace(term, ops=(Operand(STAT, s.name, "value", labels),))
    return None

"""Non-conjugate parts of a log density that have a closed-form expectation.

Two kinds, each recorded on the factor's context while its density is
written, and optimized directly by the update of the one variable they hold
(runtime/newton.py), not through messages:

* ``ExpTerm``, ``−ω_n exp(η_n)`` of ``Poisson(exp(η))`` with η = a_n + x_nᵀw
  linear in one Gaussian vector w: E[exp(η)] = exp(a + xᵀm + ½ xᵀSx) (Ormerod &
  Wand 2012).  q(w) stays Gaussian and is moved by Newton steps with a line
  search on the exact ELBO.
* ``LgammaTerm``, ``weight · lgamma(scale · v)`` of a Gamma shape or a
  Dirichlet concentration ``v * ones(K)`` where v is a scalar ``param`` or
  ``point`` (empirical Bayes): its update maximizes the expected log joint
  in v by Newton's method on log v.

Either way the variable's update returns the natural parameters of the q (or
point) it found, so the rest of the pipeline treats it like any other.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction

from .. import repairs
from ..language.model import CheckedModel
from .expressions import ONES, STATEFUL_ROLES, FactorContext
from .terms import Atom, Term


@dataclass(frozen=True)
class ExpTerm:
    """−Σ_rows ω exp(offset + design · E-linear w); labels are the factor's plates."""

    var: str
    design: tuple  # Terms with free labels plates + (label,)
    offset: tuple  # Terms with free labels plates
    labels: tuple  # plate labels
    label: str  # w's event label in ``design``
    dims: tuple  # ((label, dim), ...) for plates + (label,)
    weight: Atom | None = None  # a row mask or count (derive/weights.py)


@dataclass(frozen=True)
class LgammaTerm:
    """``coeff · Π sizes · lgamma(scale · Π scale_sizes · var)``."""

    var: str
    coeff: object
    sizes: tuple
    scale: object
    scale_sizes: tuple


def randoms_in(terms, ctx: FactorContext) -> list:
    variables = ctx.model.variables
    return [a for t in terms for a in t.atoms
            if a.var in variables and variables[a.var].role in STATEFUL_ROLES]


def lgamma_of(func: str, s: list, out: tuple, ctx: FactorContext, role: str,
              sign: int, consumes: int = 0) -> list:
    """``sign · lgamma(s)`` (func "lgamma", elementwise over ``out``) or
    ``sign · lgamma(Σ s)`` ("lgamma_sum"): monomials of a constant, or an
    LgammaTerm for a scalar param / point times ones."""
    from .densities import constant_only
    found = randoms_in(s, ctx)
    if not found:
        return [t.scaled(sign) for t in constant_only(func, s, out, ctx, role, consumes)]
    var = ctx.model.variables[found[0].var]
    (term,) = s if len(s) == 1 else (None,)
    if term is None or len(found) != 1 or found[0].stat != "x" or var.shape \
            or var.role == "latent" or any(a.var != ONES for a in term.atoms if a is not found[0]):
        raise ctx.error(
            f"the {role} of this {ctx.factor.dist.name} is '{found[0].var}', a random quantity; "
            f"vmpdsl learns a {role} only as a scalar param or point, optionally times "
            f"ones(K)", repairs.constant_argument(found[0].var, role))
    ones = tuple(ctx.label_dims[l] for a in term.atoms if a.var == ONES for l in a.indices)
    plates = tuple(p.dim for p in ctx.factor.plates)
    scale, sizes = (ones, plates) if func == "lgamma_sum" else ((), plates + ones)
    ctx.nonconjugate.append(LgammaTerm(var.name, Fraction(sign), sizes,
                                       term.coeff, tuple(term.sizes) + scale))
    return []


def linear_atom(t: Term, target, ctx: FactorContext) -> Atom:
    """The one MvNormal latent's atom in a term of η (else an error)."""
    found = randoms_in([t], ctx)
    a = found[0]
    var = ctx.model.variables[a.var]
    if var.role != "latent" and var.family == "MvNormal":
        raise ctx.error(f"'{a.var}' is estimated as a point inside exp(η); vmpdsl "
                        f"optimizes a Gaussian q there", f"keep '{a.var}' a latent")
    if len(found) != 1 or a.stat != "x" or var.role != "latent" or \
            var.family != "MvNormal" or var.plates or target not in (None, a.var):
        raise ctx.error(
            "exp(η) is supported when η is linear in one MvNormal vector without "
            "plates (dot(X[n], w) plus constants)", "write η as dot(X[n], w) + offset")
    return a


def exp_term(eta_terms: list, ctx: FactorContext) -> ExpTerm:
    """The ExpTerm of ``exp(η)`` for η linear in one unplated MvNormal latent:
    its terms without the latent are the offset; the others, with the latent's
    atom taken out and its label renamed to one, the design."""
    offset, design, target, label = [], [], None, None
    for t in eta_terms:
        if not randoms_in([t], ctx):
            offset.append(t)
            continue
        a = linear_atom(t, target, ctx)
        target, label = a.var, label or a.indices[0]
        rest = tuple(Atom(b.var, b.stat, tuple(label if l == a.indices[0] else l for l in b.indices))
                     for b in t.atoms if b is not a)
        design.append(Term(t.coeff, rest, t.sizes))
    if target is None:
        raise ctx.error("exp(η) holds no random variable here; use a constant rate",
                        "write the rate as a number or a hyper")
    selectors = tuple(ctx.selectors.values())  # gathers in η multiply it
    design = [Term(t.coeff, t.atoms + selectors, t.sizes) for t in design]
    offset = [Term(t.coeff, t.atoms + selectors, t.sizes) for t in offset]
    labels = ctx.plate_labels
    dims = tuple((l, ctx.label_dims[l]) for l in labels + (label,))
    return ExpTerm(target, tuple(design), tuple(offset), labels, label, dims)


def newton_families(model: CheckedModel, records: list) -> dict:
    """q families that the Newton updates need: a learned shape or concentration
    is positive, so its point lives in the Gamma family (mode = its value)."""
    return {r.var: "Gamma" for r in records if isinstance(r, LgammaTerm)
            and model.variables[r.var].role in ("param", "point")}


def weighted(records: list, weight: Atom | None, ctx: FactorContext) -> list:
    """The factor's records with its row weight (a mask or a count)."""
    if weight is None:
        return list(records)
    if any(isinstance(r, LgammaTerm) for r in records):
        raise ctx.error("a learned shape or concentration in a factor whose rows are "
                        "weighted (missing observations) is not supported",
                        "fit without missing='skip'")
    return [replace(r, weight=weight) for r in records]

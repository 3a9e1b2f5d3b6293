"""Blocks: one q over several variables (structured mean field).

A block is a set of latents given one joint q-factor.  It enters the rest of the
pipeline as a single latent: one ``Update`` named after its first member, with
the block family's statistics, and every monomial that touches a member is
rewritten so that the members' atoms become one atom of the block.  The update
is then the usual VMP message (the sum of the factors' coefficients of each
block statistic), the ELBO the usual Σ E[log f] + H[q] with the block family's
expectations and joint entropy; the runtime splits the joint posterior into the
members' own posteriors at the end (``Family.marginals``).

This module finds the conjugate pairs (PRML §10.2):

    Lambda ~ Wishart(...);  mu ~ MvNormal(m0, beta0 * Lambda)   → NormalWishart
    tau ~ Gamma(...);       mu ~ Normal(m0, kappa0 * tau)       → NormalGamma

(the scale of the precision may be any expression without the pair, even a
latent).  The pair is a block when, after derivation, every monomial holding
the mean holds the precision's value with matching indices, i.e. the log joint
is a function of μᵀΛμ, Λμ, Λ and log|Λ| only (block statistics xLx, Lx, L,
logdet; families/normal_wishart.py).  Otherwise (the mean used elsewhere, a
precision shared by two means, different plates) the pair stays factorized.
``fit(mean_field=True)`` (``CheckedModel.mean_field``) keeps every pair factorized.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..families.registry import FAMILIES
from ..language.model import CheckedModel
from .terms import Atom, Term

# (mean family, precision family) → block family
PAIRS = {("MvNormal", "Wishart"): "NormalWishart", ("Normal", "Gamma"): "NormalGamma"}
# The precision's own statistics as block statistics.
PRECISION_STATS = {"x": "L", "logdet": "logdet", "log": "logdet"}


@dataclass(frozen=True)
class Block:
    """A joint q over ``members`` (mean first, then precision) of ``family``."""

    family: str
    members: tuple
    plates: int  # the number of plate axes the members share

    @property
    def name(self) -> str:
        """The key of the block's state (and update) in the emitted module."""
        return self.members[0]


def find_blocks(model: CheckedModel, factors: list) -> list:
    """The conjugate mean–precision pairs of a model whose canonical monomials
    (``factors``: FactorTerms) allow a joint q; none under mean field."""
    if model.mean_field:
        return []
    terms = [t for f in factors for t in f.terms]
    candidates = {}
    for mean, precision in pairs_in_priors(model, factors):
        candidates.setdefault(precision, []).append(mean)
    blocks = []
    for precision, means in candidates.items():
        if len(means) == 1 and joint_form(model, means[0], precision, terms):
            family = PAIRS[(model.variables[means[0]].family, q_of(model, precision))]
            plates = len(model.variables[precision].plates)
            blocks.append(Block(family, (means[0], precision), plates))
    return blocks


def pairs_in_priors(model: CheckedModel, factors: list):
    """(mean, precision) latents where the mean's prior holds mean·precision."""
    for f in factors:
        mean = model.variables[f.factor.variable]
        if mean.role != "latent" or mean.family not in ("MvNormal", "Normal"):
            continue
        found = {a.var for t in f.terms if any(a.var == mean.name for a in t.atoms)
                 for a in t.atoms}
        for name in sorted(found - {mean.name}):
            other = model.variables.get(name)
            if (other is not None and other.role == "latent"
                    and (mean.family, q_of(model, name)) in PAIRS
                    and tuple(other.plates) == tuple(mean.plates)):
                yield mean.name, name


def q_of(model: CheckedModel, name: str) -> str | None:
    """The q family a latent's prior gives (an Exponential prior: Gamma)."""
    family = FAMILIES.get(model.variables[name].family)
    return family.posterior if family is not None else None


def joint_form(model, mean: str, precision: str, terms: list) -> bool:
    """Every monomial holding the mean pairs it with the precision's value."""
    nplates = len(model.variables[mean].plates)
    for term in terms:
        if any(a.var == mean for a in term.atoms):
            if joint_atom(term, mean, precision, nplates) is None:
                return False
    return True


def joint_atom(term: Term, mean: str, precision: str, nplates: int) -> Atom | None:
    """The block atom replacing the mean's and precision's atoms of ``term``
    (μᵀΛμ → xLx, Λμ → Lx, Λ → L, log|Λ| → logdet), None if they do not form one."""
    mus = [a for a in term.atoms if a.var == mean]
    lams = [a for a in term.atoms if a.var == precision]
    if len(lams) != 1 or len(mus) > 1:
        return None
    (lam,) = lams
    plates, event = lam.indices[:nplates], lam.indices[nplates:]
    if not mus:
        stat = PRECISION_STATS.get(lam.stat)
        return Atom(mean, stat, lam.indices) if stat else None
    (mu,) = mus
    if lam.stat != "x" or mu.indices[:nplates] != plates:
        return None
    own = mu.indices[nplates:]
    # the labels the block atom sums over must be summed nowhere else in the term
    elsewhere = {l for a in term.atoms if a is not mu and a is not lam for l in a.indices}
    if mu.stat == "xx" and sorted(own) == sorted(event) and len(set(event)) == len(event) \
            and not set(event) & elsewhere:
        return Atom(mean, "xLx", plates)
    if mu.stat == "x" and len(own) == len(event) == 0:
        return Atom(mean, "Lx", plates)
    if mu.stat == "x" and len(own) == 1 and len(event) == 2 and event[0] != event[1] \
            and own[0] in event and own[0] not in elsewhere:
        return Atom(mean, "Lx", plates + tuple(l for l in event if l != own[0]))
    return None


def rewrite(term: Term, blocks: list) -> Term:
    """``term`` with each block's member atoms replaced by its block atom."""
    for block in blocks:
        if any(a.var in block.members for a in term.atoms):
            joint = joint_atom(term, *block.members, block.plates)
            rest = tuple(a for a in term.atoms if a.var not in block.members)
            term = Term(term.coeff, rest + (joint,), term.sizes)
    return term

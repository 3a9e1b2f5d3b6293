"""The sweep order: from the data toward the priors.

Every order of coordinate updates raises the ELBO, but from a start at the
priors the first sweep decides which optimum the fit climbs to.  Updating a
noise precision against weights still at their prior mean 0 explains all of
the data as noise, and a weight precision updated next then pins the weights
at 0: linear regression on data in large units stops there, "converged".  So
a sweep updates, in this order:

1. the latents nearest the observed factors first (level 0: they share a
   factor with data; level 1: they share one with a level-0 latent; ...), so
   that each update sees the data through latents already fitted to it;
2. within a level, means before the precisions that scale them (a latent in
   the precision argument of a Normal or MvNormal factor comes after the
   others), so that a precision is estimated from residuals, not from the
   prior's guess of the mean;
3. last, the latents whose family's start is a complete random state that the
   others are fitted to first (``Family.start_leads``: a Categorical's random
   responsibilities, the E-step after the M-step of EM);

ties keep the declaration order.  The order is fixed at compile time and is
the same in every sweep.
"""
from __future__ import annotations

from ..families.registry import FAMILIES
from ..language.shapes import _names as expression_names

# Distributions whose second argument is a precision (LANGUAGE.md).
PRECISION_ARGUMENT = {"Normal": 1, "MvNormal": 1}


def sweep_order(derivation) -> list:
    """The derivation's updates in sweep order (see the module docstring)."""
    model, updates = derivation.model, derivation.updates
    names = [u.name for u in updates]
    level = data_distance(derivation, set(names))
    scales = precision_latents(model, set(names))

    def key(position):
        update = updates[position]
        leads = getattr(FAMILIES.get(update.family), "start_leads", False)
        return (leads, level[update.name], update.name in scales, position)
    return [updates[i] for i in sorted(range(len(updates)), key=key)]


def data_distance(derivation, latents: set) -> dict:
    """Each latent's number of factor hops from an observed factor (a latent
    no observed factor reaches comes after all others)."""
    model = derivation.model
    neighbours = {name: set() for name in latents}
    frontier = set()
    for factor in derivation.factors:
        present = {a.var for t in factor.terms for a in t.atoms if a.var in latents}
        for name in present:
            neighbours[name] |= present - {name}
        if model.variables[factor.factor.variable].role == "data":
            frontier |= present
    level, distance = {}, 0
    while frontier:
        level.update((name, distance) for name in frontier)
        frontier = {n for name in frontier for n in neighbours[name]} - set(level)
        distance += 1
    return {name: level.get(name, distance) for name in latents}


def precision_latents(model, latents: set) -> set:
    """The latents in the precision argument of some Normal or MvNormal factor."""
    found = set()
    for factor in model.factors:
        position = PRECISION_ARGUMENT.get(factor.dist.name)
        if position is not None and len(factor.dist.args) > position:
            found |= {n.id for n in expression_names(factor.dist.args[position])} & latents
    return found


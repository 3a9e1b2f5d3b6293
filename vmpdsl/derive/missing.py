"""Missing observations (``fit(missing="skip")``): which factors a mask drops.

With missing data allowed, every likelihood factor ``y[n] ~ ...`` is multiplied
by a 0/1 mask over the target's plate axes (``data['@m0'][n]``: 1 where the
observation is present).  A dropped factor contributes nothing to any message
or to the ELBO, which is exact in VMP: it is the model without those factors.

A Categorical latent whose only child is one masked likelihood over the same
plates (the mixture indicator ``z[n]`` of ``x[n]``) would otherwise keep
sending its prior's pseudo-counts to ``pi`` for a row with no observation, so
its prior factor and its entropy take the child's mask too: the row leaves
the model entirely, exactly as if it had been removed.
"""
from __future__ import annotations

from ..language.ast import Index, Name
from ..language.model import CheckedModel, Factor
from .terms import Atom


def mask_name(model: CheckedModel, data_name: str) -> str:
    """The key of a data array's observed-mask (a valid '@x0' key)."""
    names = [v.name for v in model.by_role("data")]
    return f"@m{names.index(data_name)}"


def target_labels(factor: Factor) -> tuple | None:
    """The plate indices of a likelihood's target, or None if it is not plain."""
    target = factor.target
    if isinstance(target, Name):
        return ()
    if isinstance(target, Index) and all(isinstance(i, Name) for i in target.indices):
        plates = {p.index for p in factor.plates}
        labels = tuple(i.id for i in target.indices)
        if set(labels) <= plates:
            return labels
    return None


def masked_factors(model: CheckedModel) -> dict:
    """{factor position: (mask name, target labels)} for every likelihood factor."""
    out = {}
    for position, factor in enumerate(model.factors):
        var = model.variables[factor.variable]
        labels = target_labels(factor)
        if var.role == "data" and labels is not None:
            out[position] = (mask_name(model, var.name), labels)
    return out


def _mentions(expr, name: str) -> bool:
    if isinstance(expr, Name):
        return expr.id == name
    return any(_mentions(child, name) for child in _children(expr))


def _children(expr):
    for value in getattr(expr, "__dict__", {}).values():
        if isinstance(value, tuple):
            yield from (v for v in value if hasattr(v, "__dict__"))
        elif hasattr(value, "__dict__") and not isinstance(value, type):
            yield value


def orphan_masks(model: CheckedModel) -> dict:
    """{Categorical latent: mask name} for local indicators with one masked child."""
    masked = masked_factors(model)
    out = {}
    for var in model.variables.values():
        if var.role != "latent" or var.family != "Categorical" or not var.plates:
            continue
        children = [(p, f) for p, f in enumerate(model.factors)
                    if f.variable != var.name and any(_mentions(a, var.name) for a in f.dist.args)]
        if len(children) != 1 or children[0][0] not in masked:
            continue
        position, child = children[0]
        dims = {p.index: p.dim for p in child.plates}
        labels = masked[position][1]
        if tuple(dims[l] for l in labels) == tuple(var.plates):
            out[var.name] = masked[position][0]
    return out


def mask_selector(model: CheckedModel, position: int, factor: Factor) -> Atom | None:
    """The mask atom that multiplies factor ``position``, or None."""
    if not getattr(model, "missing", False):
        return None
    masked = masked_factors(model)
    if position in masked:
        name, labels = masked[position]
        return Atom(name, "value", labels)
    orphans = orphan_masks(model)
    if factor.variable in orphans and model.variables[factor.variable].role == "latent":
        labels = target_labels(factor)
        if labels is not None:
            return Atom(orphans[factor.variable], "value", labels)
    return None

"""Data-driven starts of mixture indicators, decided at compile time.

A Categorical latent ``z`` whose rows gate the parameters of real-valued data
along the same rows (``x[n] ~ MvNormal(mu[z[n]], Lambda[z[n]])``,
``x[n, d] ~ Normal(mu[z[n], d], tau)``, several such arrays, a hierarchy
above ``mu``) starts from k-means++ seeding and a few Lloyd steps on those
rows (runtime/kmeans.py) instead of random responsibilities.  A random start
gives every component the global mean of the data: the first sweeps then
merge well-separated clusters into one component, and the fit converges
there.  Gates of other data (naive Bayes' features, counts) keep the
random start, as does ``fit(init="random")``; LDA's shape of local block
starts from its documents clustered at run time (runtime/local_restart.py,
``gated_start``).

The table ``KMEANS_STARTS`` in the emitted module has one row per such
latent: ``(latent, ((data name, mask key or None), ...))``.  Each data array
has the latent's plate axes first; its remaining axes are the columns.
"""
from __future__ import annotations

from ..language.ast import Index, Name
from ..language.model import CheckedModel
from .weights import _children, mask_name, target_labels

# Likelihoods over the real line, where distances between rows mean something.
REAL_VALUED = ("Normal", "MvNormal")


def kmeans_starts(model: CheckedModel) -> tuple:
    """The ``KMEANS_STARTS`` table of ``model`` (see the module docstring)."""
    table = []
    for var in model.variables.values():
        if var.role not in ("latent", "point") or var.family != "Categorical" \
                or not var.plates or var.name in model.chains:
            continue
        gated = tuple(_gated_data(model, var.name, var.plates))
        if gated:
            table.append((var.name, gated))
    return tuple(table)


def _gated_data(model: CheckedModel, name: str, plates: tuple):
    """(data name, mask key) of each real-valued likelihood that ``name``'s
    rows gate, its target indexed first by the same rows."""
    seen = set()
    for factor in model.factors:
        var = model.variables[factor.variable]
        if var.role != "data" or factor.dist.name not in REAL_VALUED or var.name in seen:
            continue
        labels = target_labels(factor)
        dims = {p.index: p.dim for p in factor.plates}
        if labels is None or tuple(dims[l] for l in labels[:len(plates)]) != tuple(plates):
            continue
        rows = tuple(Name(l) for l in labels[:len(plates)])
        uses = [u for arg in factor.dist.args for u in _uses(arg, name)]
        if uses and all(u == rows for u in uses):
            seen.add(var.name)
            yield var.name, mask_name(model, var.name) if model.missing else None


def _uses(expr, name: str):
    """The index tuples of every use of ``name`` in ``expr`` (None: unindexed)."""
    if isinstance(expr, Index) and isinstance(expr.base, Name) and expr.base.id == name:
        yield tuple(expr.indices)
        return
    if isinstance(expr, Name) and expr.id == name:
        yield None
        return
    for child in _children(expr):
        yield from _uses(child, name)


def starts_lines(model: CheckedModel) -> list:
    """The emitted table (read by runtime/driver.py ``_initial_state``), when
    the model has such latents."""
    starts = kmeans_starts(model)
    return [f"KMEANS_STARTS = {starts!r}", ""] if starts else []

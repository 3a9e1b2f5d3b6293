"""Local / global structure of a model, found at compile time.

The data's rows split the latents in two.  A *row plate* is the leading axis
of the observed arrays (N of ``x[N, D]``, T of ``word[T]``); a *group plate*
is the category axis of an integer data array on a row plate (Dc of
``doc[T]: int``, used as ``theta[doc[t]]``): it partitions the rows into
groups.  A latent plated over a row or group plate is **local** (``z[n]``;
``θ[d]`` with its tokens): each of its rows touches only its own rows of data,
the locals of those rows and the globals.  Every other latent is **global**
(``π``, ``μ_k``, ``Λ_k``, the topics ``φ_k``): it is shared by all rows.

So a row block (a range of groups with their rows, or a range of rows) can
update its locals by itself, given the globals; and every message to a global
is a sum over rows.  Each such message monomial factors into a *row
statistic* — the contraction of its data and local operands over the rows,
which is additive over row blocks — times the global operands:
``Σ_n E[z][n,k] x[n,i] E[μ][k,i]`` is ``S[k,i] E[μ][k,i]`` with
``S[k,i] = Σ_n E[z][n,k] x[n,i]``.  ``statistics`` lists them per global
update; ``vmpdsl equations`` prints them (printing/locality.py).

The local block is what ``fit(local_iters=n)`` iterates before each global
update (runtime: runtime/local_loop.py), as batch VB for LDA does.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from ..lower import HOISTED, RANDOM, Contraction

def row_plates(model) -> set:
    """The leading axes of the data arrays (what SVI and chunked fits slice)."""
    return {v.shape[0] for v in model.by_role("data") if v.shape and isinstance(v.shape[0], str)}


def observed_row_plates(model) -> set:
    """The leading axes of the observed data arrays (those with a factor): a
    covariate such as lgssm's transition matrix A[D, D] has no rows of data."""
    observed = {f.variable for f in model.factors}
    return {v.shape[0] for v in model.by_role("data") if v.shape and
            isinstance(v.shape[0], str) and v.name in observed}


def group_plates(model) -> dict:
    """{group plate: (index array, row plate)} for integer data on a row plate
    whose values are the categories of a plate."""
    rows, dims = row_plates(model), set(model.dims)
    groups = {}
    for v in model.by_role("data"):
        if v.dtype == "int" and len(v.shape) == 1 and v.shape[0] in rows \
                and isinstance(v.categories, str) and v.categories in dims \
                and v.categories not in rows and v.family is None:
            groups.setdefault(v.categories, (v.name, v.shape[0]))
    return groups


def local_plates(model) -> set:
    return observed_row_plates(model) | set(group_plates(model))


def local_block(program) -> tuple:
    """The local latents, in sweep order."""
    model, plates = program.model, local_plates(program.model)
    block = []
    for step in program.steps:
        var = model.variables.get(step.name)
        if var is not None and var.plates and var.plates[0] in plates:
            block.append(step.name)
    return tuple(block)


@dataclass(frozen=True)
class Statistic:
    """One message monomial to a global: ``coeff × S × globals`` with
    ``S = Σ_rows rowed`` (a Contraction over the row-plated operands)."""

    target: str  # the global latent
    stat: str  # which coefficient of its q
    statistic: Contraction
    rest: tuple  # the global operands it is contracted with


def statistics(program) -> list:
    """The row statistics of every message to a global latent."""
    model = program.model
    plates = local_plates(model)
    block = set(local_block(program))
    hoisted = {h.name: h.contraction for h in program.hoisted}
    found = []
    for step in program.steps:
        if step.name in block:
            continue
        for stat in step.stats:
            for c in stat.contractions:
                split = split_rows(c, plates, block, hoisted)
                if split is not None:
                    found.append(Statistic(step.name, stat.stat, *split))
    return found


def split_rows(c: Contraction, plates: set, block: set, hoisted: dict | None = None):
    """(row statistic, other operands) of a contraction, None when no operand
    runs over a row or group plate (a data product hoisted by lower, in
    ``hoisted``, runs over the rows it summed)."""
    dims = dict(c.label_dims)
    row_labels = {l for l, d in dims.items() if d in plates}
    summed = {name for name, inner in (hoisted or {}).items()
              if any(d in plates for _, d in inner.label_dims)}
    rowed = tuple(o for o in c.operands if set(o.labels) & row_labels
                  or (o.kind == RANDOM and o.name in block)
                  or (o.kind == HOISTED and o.name in summed))
    row_sizes = tuple(s for s in c.sizes if s in plates)
    if not rowed and not row_sizes:
        return None
    rest = tuple(o for o in c.operands if o not in rowed)
    keep = {l for o in rest for l in o.labels} | set(c.out)
    labels = tuple(dict.fromkeys(l for o in rowed for l in o.labels
                                 if l in keep and l not in row_labels))
    used = {l for o in rowed for l in o.labels}
    inner = Contraction(1.0, row_sizes, rowed, labels,
                        tuple((l, d) for l, d in c.label_dims if l in used))
    return inner, rest


# ------------------------------------------------------------------ printing
def unhoisted(c: Contraction, hoisted: dict) -> Contraction:
    """The statistic with each data product that lower hoisted (``@h1``)
    written out as its operands, so the printout names only model arrays."""
    operands, dims = [], dict(c.label_dims)
    for position, o in enumerate(c.operands):
        inner = hoisted.get(o.name) if o.kind == HOISTED else None
        if inner is None:
            operands.append(o)
            continue
        rename = dict(zip(inner.out, o.labels))
        for label, dim in inner.label_dims:
            rename.setdefault(label, f"{label}~{position}")
            dims.setdefault(rename[label], dim)
        operands += [replace(x, labels=tuple(rename[l] for l in x.labels)) for x in inner.operands]
    return replace(c, operands=tuple(operands), label_dims=tuple(sorted(dims.items())))

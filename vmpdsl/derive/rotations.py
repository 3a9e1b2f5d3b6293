"""Bilinear pairs that the fit may rotate (Luttinen & Ilin 2010).

In ``dot(W[d], z[n])`` with Gaussian W and z, the map z → R z, W → W R⁻¹
leaves every product W[d]ᵀ z[n] — so every likelihood built from them —
unchanged, for any invertible K×K matrix R.  Only the priors of W and z and
the entropies of q(W), q(z) change, in closed form, so after a sweep the fit
can choose the R that maximizes the ELBO (runtime/rotate.py).  Coordinate ascent
alone moves along this valley very slowly (a rotation of PCA's loadings
within their subspace takes thousands of sweeps).

A pair (A, B) is rotated when, decided here at compile time:

- A and B are MvNormal latents (not point estimates) over the same K-vector,
  and every use of either, outside its own prior, is ``dot(A[...], B[...])``
  (either order) with each indexed by its plates only;
- each prior has mean ``zeros(K)`` and a precision that is either constant
  (numbers, dims and hypers: ``eye(K)``) or ``diag(alpha)``, an ARD precision:
  alpha a Gamma latent over K with constant prior arguments, used nowhere
  else (its q is then re-optimized with R in closed form);
- neither latent's rows carry weights (missing-data masks, collapsed rows).

The table is ``((A, ard_of_A or None), (B, ard_of_B or None))`` per pair.
"""
from __future__ import annotations

from ..language.ast import BinOp, Call, Index, Name, Neg, Slice
from .weights import row_latents


def rotation_pairs(model) -> tuple:
    """The pairs of the module docstring, in declaration order."""
    uses = latent_uses(model)
    weighted = set(row_latents(model))
    pairs, seen = [], set()
    for name in model.variables:
        partners = {u[1] for u in uses.get(name, ())}
        if name in seen or len(partners) != 1 or None in partners:
            continue
        other = partners.pop()
        if {u[1] for u in uses.get(other, ())} != {name} or {name, other} & weighted:
            continue
        sides = [rotatable_side(model, n, uses) for n in (name, other)]
        if all(sides) and same_event(model, name, other):
            pairs.append(((name, sides[0][0]), (other, sides[1][0])))
            seen |= {name, other}
    return tuple(pairs)


def latent_uses(model) -> dict:
    """{latent: [(factor position, partner in a dot or None, expression)]} for
    every occurrence of a latent in a factor's arguments."""
    latents = {n for n, v in model.variables.items() if v.role in ("latent", "point")}
    uses = {}

    def walk(expr, position):
        if isinstance(expr, Call) and expr.func == "dot" and len(expr.args) == 2:
            rows = [row_reference(model, a) for a in expr.args]
            if all(rows) and rows[0] != rows[1]:
                for mine, partner in ((rows[0], rows[1]), (rows[1], rows[0])):
                    uses.setdefault(mine, []).append((position, partner, expr))
                for a in expr.args:  # indices may hold latents (mixtures)
                    for index in a.indices if isinstance(a, Index) else ():
                        walk(index, position)
                return
        if isinstance(expr, Name) and expr.id in latents:
            uses.setdefault(expr.id, []).append((position, None, expr))
        for child in children(expr):
            walk(child, position)
    for position, factor in enumerate(model.factors):
        for arg in factor.dist.args:
            walk(arg, position)
    return uses


def children(expr) -> tuple:
    if isinstance(expr, BinOp):
        return expr.left, expr.right
    if isinstance(expr, Neg):
        return (expr.operand,)
    if isinstance(expr, Call):
        return tuple(expr.args)
    if isinstance(expr, Index):
        return (expr.base,) + tuple(i for i in expr.indices if not isinstance(i, Slice))
    return ()


def row_reference(model, expr) -> str | None:
    """The name of an MvNormal latent when ``expr`` is one of its K-vectors:
    the bare name of an unplated one, or one index per plate."""
    base = expr.base if isinstance(expr, Index) else expr
    if not isinstance(base, Name) or base.id not in model.variables:
        return None
    var = model.variables[base.id]
    if var.role != "latent" or var.family != "MvNormal" or len(var.event) != 1:
        return None
    indices = expr.indices if isinstance(expr, Index) else ()
    if len(indices) != len(var.plates) or any(isinstance(i, Slice) for i in indices):
        return None
    return base.id


def rotatable_side(model, name, uses) -> tuple | None:
    """(ARD latent or None,) when ``name``'s prior allows the rotation, else None."""
    factor = model.factor_of(name)
    if factor is None or factor.dist.name != "MvNormal" or len(factor.dist.args) != 2:
        return None
    mean, precision = factor.dist.args
    if not (isinstance(mean, Call) and mean.func == "zeros"):
        return None
    if is_constant(model, precision):
        return (None,)
    alpha = ard_latent(model, name, precision, model.factors.index(factor), uses)
    return (alpha,) if alpha else None


def ard_latent(model, name, precision, position, uses) -> str | None:
    """alpha when ``precision`` is ``diag(alpha)``, alpha a Gamma latent over
    the event with constant prior arguments, used in this prior only."""
    if not (isinstance(precision, Call) and precision.func == "diag"
            and len(precision.args) == 1 and isinstance(precision.args[0], Name)):
        return None
    alpha = model.variables.get(precision.args[0].id)
    if alpha is None or alpha.role != "latent" or alpha.family != "Gamma" \
            or tuple(alpha.shape) != tuple(model.variables[name].event):
        return None
    if [(p, e) for p, _, e in uses.get(alpha.name, ())] != [(position, precision.args[0])]:
        return None
    prior = model.factor_of(alpha.name)
    if not all(is_constant(model, a) for a in prior.dist.args):
        return None
    return alpha.name


def is_constant(model, expr) -> bool:
    """Numbers, dims, hypers and built-ins only (no latent, data or param)."""
    if isinstance(expr, Name):
        return expr.id in model.hypers or expr.id in model.dims
    if isinstance(expr, Index):
        return False
    return all(is_constant(model, child) for child in children(expr))


def same_event(model, a, b) -> bool:
    return tuple(model.variables[a].event) == tuple(model.variables[b].event)

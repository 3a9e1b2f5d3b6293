"""Row weights: a per-row factor multiplying every factor of a plate's rows.

Two uses share this one mechanism (a data operand ``@…`` over plate axes that
multiplies factors, and the entropies of the latents of those rows):

* **Observed-masks** (``fit(missing="skip")``).  Every likelihood factor
  ``y[n] ~ ...`` is multiplied by a 0/1 mask over the target's plate axes
  (``data['@m0'][n]``: 1 where the observation is present).  A dropped factor
  contributes nothing to any message or to the ELBO, which is exact in VMP: it
  is the model without those factors.  A Categorical latent whose only child
  is one masked likelihood over the same plates (the mixture indicator
  ``z[n]`` of ``x[n]``) would otherwise keep sending its prior's pseudo-counts
  to ``pi`` for a row with no observation, so its prior factor and its entropy
  take the child's mask too: the row leaves the model entirely.

* **Duplicate counts** (collapsed plates).  When the rows of a plate are
  exchangeable and all their data are integers (``collapsible_plates``: LDA's
  tokens, a mixture of counts), rows with equal data have equal factors, so
  their q's are equal at every fixed point.  The fit then keeps one row per
  distinct data row and weights it by its count (``data['@w0'][t]``): every
  factor of the plate is multiplied by the weight, and so is the entropy of
  each latent of the plate.  The weight leaves the messages *to* those
  latents: row t's share of the ELBO is w_t·(E[log f_t] + H[q_t]), whose
  optimum over q_t does not depend on w_t > 0.  With all weights 1 the program
  is the unweighted one.  (A 0/1 mask stays in its latent's messages: a row
  without observations then keeps a uniform q instead of one computed from the
  placeholder value; for the ELBO either is the same.)
"""
from __future__ import annotations

from ..language.ast import Index, Name
from ..language.model import CheckedModel, Factor
from .terms import Atom, Term


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
        if var.role != "latent" or var.family != "Categorical" or not var.plates \
                or var.name in model.chains:  # a chain's elements are one block
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


# ------------------------------------------------------------ collapsing
def collapsible_plates(model: CheckedModel) -> tuple:
    """The plates whose duplicate rows may be merged into counted rows:
    ``((dim, weight key, data over it, latents over it), ...)``.

    A plate P qualifies when its rows are exchangeable given the globals and
    equal data means equal factors: every array with P in its shape is integer
    data of shape [P] (compared exactly) or a latent / point with plates [P];
    at least one data array is over P; every factor inside P has P as its only
    plate, and every use of a row variable is ``v[t]`` with that plate's index
    (no global reads a row, no row reads another); the dim P itself appears in
    no expression (its size changes when rows merge).  Models with missing-data
    masks are never collapsed (their weights are the masks)."""
    if model.missing:
        return ()
    out = []
    for dim in model.dims:
        data = [v for v in model.variables.values() if dim in v.shape and v.role == "data"]
        rows = [v for v in model.variables.values() if dim in v.shape and v.role != "data"]
        if not data or not all(v.shape == (dim,) and v.dtype == "int" for v in data):
            continue
        if not all(v.role in ("latent", "point") and v.plates == (dim,) and dim not in v.event
                   for v in rows):
            continue
        if _rows_stay_apart(model, dim, {v.name for v in data + rows}):
            out.append((dim, f"@w{len(out)}", tuple(v.name for v in data),
                        tuple(v.name for v in rows)))
    return tuple(out)


def _rows_stay_apart(model: CheckedModel, dim: str, row_vars: set) -> bool:
    """Every factor touches the rows of ``dim`` only as ``v[t]`` inside ``for t in dim``."""
    if not all(_row_uses_ok(e, dim, row_vars, None)
               for e in list(model.hypers.values()) + [d for d in model.dims.values() if d]):
        return False
    for factor in model.factors:
        over = [p for p in factor.plates if p.dim == dim]
        if over and tuple(factor.plates) != tuple(over[:1]):
            return False
        t = over[0].index if over else None
        if not all(_row_uses_ok(e, dim, row_vars, t)
                   for e in (factor.target,) + tuple(factor.dist.args)):
            return False
    return True


def _row_uses_ok(expr, dim: str, row_vars: set, t: str | None) -> bool:
    if isinstance(expr, Index) and isinstance(expr.base, Name) and expr.base.id in row_vars:
        return t is not None and expr.indices == (Name(t),)
    if isinstance(expr, Name):
        return expr.id != dim and expr.id not in row_vars
    return all(_row_uses_ok(c, dim, row_vars, t) for c in _children(expr))


def row_latents(model: CheckedModel) -> dict:
    """{latent: weight key} for every latent whose rows carry a weight (its
    entropy is multiplied by it): the orphans of masks, the latents of
    collapsed plates."""
    if model.missing:
        return orphan_masks(model)
    return {name: key for _, key, _, latents in collapsible_plates(model) for name in latents}


# ------------------------------------------------------------ derive hooks
class RowWeights:
    """The row weights of one model, decided once for ``derive``."""

    def __init__(self, model: CheckedModel):
        self.model = model
        self.collapsed = collapsible_plates(model)
        self.masked = masked_factors(model) if model.missing else {}
        self.orphans = orphan_masks(model) if model.missing else {}
        self.own = {name: key for _, key, _, latents in self.collapsed for name in latents}

    def factor_weight(self, position: int, factor: Factor) -> Atom | None:
        """The weight atom that multiplies factor ``position``, or None."""
        for dim, key, _, _ in self.collapsed:
            over = [p.index for p in factor.plates if p.dim == dim]
            if over:
                return Atom(key, "value", tuple(over))
        if position in self.masked:
            name, labels = self.masked[position]
            return Atom(name, "value", labels)
        if factor.variable in self.orphans and \
                self.model.variables[factor.variable].role == "latent":
            labels = target_labels(factor)
            if labels is not None:
                return Atom(self.orphans[factor.variable], "value", labels)
        return None

    def message_term(self, term: Term, target: Atom) -> Term:
        """``term`` as it contributes to the update of ``target``'s variable: a
        count weight leaves the messages to the latents of its own rows (see
        the module docstring); every other message keeps the term whole."""
        key = self.own.get(target.var)
        if key is None:
            return term
        return Term(term.coeff, tuple(a for a in term.atoms if a.var != key), term.sizes)

"""Lower: derived messages → an ordered update program of tensor contractions.

Each message monomial becomes one ``Contraction`` (an einsum with a coefficient
and size multipliers).  Two rewrites happen here, once, at compile time:

* identity and ones arrays are eliminated by relabelling (``δ_ij w_i w_j`` is
  the trace ``w.xx[i,i]``), so no D×D identity is ever multiplied;
* data-only operands are *hoisted*: contracted together once per fit into one
  constant (XᵀX, Xᵀy, per-group sums, token counts) whenever that does not
  make a larger array than its inputs, so the loop touches only what changes.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .derive.expressions import EYE, ONES, STATEFUL_ROLES
from .derive.messages import Derivation, constant_axes
from .derive.schedule import sweep_order
from .derive.terms import Atom, Term
from .families import FAMILIES

# Operand kinds
RANDOM, DATA, ONEHOT, HYPER, DERIVED, HOISTED = (
    "random", "data", "onehot", "hyper", "derived", "hoisted")


@dataclass(frozen=True)
class Operand:
    kind: str
    name: str
    stat: str
    labels: tuple
    # the runtime may hold this statistic factored (a SharedOuter): pass it to contract
    factored: bool = False

    @property
    def constant(self) -> bool:
        return self.kind != RANDOM


@dataclass(frozen=True)
class Contraction:
    """``coeff × Π sizes × einsum(operands → out)``; absent out labels broadcast."""

    coeff: float
    sizes: tuple
    operands: tuple
    out: tuple
    label_dims: tuple  # ((label, dim), ...) for every label involved


@dataclass(frozen=True)
class Hoisted:
    name: str
    contraction: Contraction


@dataclass(frozen=True)
class StatUpdate:
    stat: str
    contractions: tuple


@dataclass(frozen=True)
class Step:
    """Update one latent: accumulate each statistic's coefficient, then q."""

    name: str
    family: str
    stats: tuple  # of StatUpdate
    point: bool = False  # update to the mode, expectations by plug-in


@dataclass
class Program:
    derivation: Derivation
    steps: list
    elbo: list  # of Contraction: every monomial of E[log p]
    elbo_rest: list  # the monomials without the last-updated latent (see lower)
    hoisted: list = field(default_factory=list)

    @property
    def model(self):
        return self.derivation.model


def lower(derivation: Derivation) -> Program:
    model = derivation.model
    hoister = Hoister()
    steps = []
    for update in sweep_order(derivation):
        stats = []
        for stat in sorted(update.messages):
            contractions = []
            for message in update.messages[stat]:
                factor = derivation.factors[message.factor]
                c = contraction(message.term, message.target, factor, model)
                contractions.append(hoister.hoist(c))
            stats.append(StatUpdate(stat, tuple(contractions)))
        steps.append(Step(update.name, update.family, tuple(stats), update.point))
    elbo = [hoister.hoist(contraction(t, None, f, model))
            for f in derivation.factors for t in f.terms]
    # The monomials holding the last-updated latent v sum to Σ_s <C_s, E[u_s(v)]>
    # with the coefficients its update has just computed, so a sweep's ELBO
    # needs only the others (for a mixture, the costly gated terms are skipped).
    last = steps[-1].name if steps else None
    elbo_rest = [c for c, t in zip(elbo, (t for f in derivation.factors for t in f.terms))
                 if all(a.var != last for a in t.atoms)]
    return Program(derivation, steps, elbo, elbo_rest, hoister.items)


def operand(atom, model) -> Operand:
    var = model.variables.get(atom.var)
    if var is None and atom.var.startswith(("@m", "@w", "@t")):
        kind = DATA  # a row mask or count (derive/weights.py) or a slice mask
        # (derive/chains.py), bound with the data
    elif var is None:
        kind = DERIVED
    elif var.role in STATEFUL_ROLES:
        family = FAMILIES.get(var.family)  # None for a param (a point, no prior)
        family = family and FAMILIES[family.posterior or family.name]
        return Operand(RANDOM, atom.var, atom.stat, atom.indices,
                       factored=bool(family) and atom.stat in family.factored_stats)
    elif atom.stat == "onehot":
        kind = ONEHOT
    else:
        kind = DATA if var.role == "data" else HYPER
    return Operand(kind, atom.var, atom.stat, atom.indices)


def contraction(term: Term, target, factor, model) -> Contraction:
    """One monomial as an einsum, leaving out ``target`` (the updated statistic)."""
    out = tuple(target.indices) if target is not None else ()
    atoms = [a for a in term.atoms if a is not target]
    out, eyes, fresh = distinct_outputs(out, factor)
    atoms += eyes
    # a δ over two plate labels (pairs.py) consumes a plate's sum: not a constant axis
    sizes = term.sizes + constant_axes(atoms, out, factor)
    atoms, out = eliminate_identities(atoms, out)
    operands = tuple(operand(a, model) for a in atoms if a.var != ONES)
    labels = {l for a in atoms for l in a.indices} | set(out)
    label_dims = {**factor.label_dims, **fresh}
    dims = tuple(sorted((l, label_dims[l]) for l in labels))
    return Contraction(term.coeff, sizes, operands, out, dims)


def distinct_outputs(out: tuple, factor):
    """A target statistic indexed twice by one gate (``B.log[k, k]`` from
    ``B[z[i], z[i]]``) receives only its diagonal: the repeated output label
    becomes a fresh one tied to the first by δ (an einsum output names each
    label once).  Returns (out, δ atoms, {fresh label: dim})."""
    seen, labels, eyes, fresh = set(), [], [], {}
    for label in out:
        if label in seen:
            new = f"{label}'"
            while new in seen or new in fresh:
                new += "'"
            eyes.append(Atom(EYE, "value", (label, new)))
            fresh[new] = factor.label_dims[label]
            label = new
        seen.add(label)
        labels.append(label)
    return tuple(labels), eyes, fresh


def eliminate_identities(atoms: list, out: tuple):
    """Replace each δ_ij by renaming j → i, unless both labels are outputs."""
    atoms = list(atoms)
    while True:
        eye = next((a for a in atoms if a.var == EYE
                    and not (a.indices[0] in out and a.indices[1] in out)), None)
        if eye is None:
            return atoms, out
        i, j = eye.indices
        if j in out:
            i, j = j, i
        atoms.remove(eye)
        atoms = [type(a)(a.var, a.stat, tuple(i if l == j else l for l in a.indices))
                 for a in atoms]


class Hoister:
    """Contract data-only operands once per fit, deduplicated by content."""

    def __init__(self):
        self.items: list = []
        self.names: dict = {}

    def hoist(self, c: Contraction) -> Contraction:
        constants = [o for o in c.operands if o.constant]
        randoms = [o for o in c.operands if not o.constant]
        if len(constants) < 2 and not (constants and randoms and self.reduces(constants, randoms, c)):
            return c
        keep = {l for o in randoms for l in o.labels} | set(c.out)
        labels = tuple(dict.fromkeys(l for o in constants for l in o.labels if l in keep))
        if not randoms and not c.out:
            labels = ()
        biggest = max(len(set(o.labels)) for o in constants)
        if len(labels) > biggest or any(o.kind == ONEHOT and set(o.labels) <= set(labels)
                                        for o in constants):
            # would build an array larger than its inputs (X_ni X_nj), or a
            # one-hot made dense (row weights times [word_t = v])
            return c
        if len(constants) == 1 and len(set(constants[0].labels)) == len(labels):
            return c  # nothing to contract
        dims = tuple((l, d) for l, d in c.label_dims if l in {x for o in constants for x in o.labels})
        inner = Contraction(1, (), tuple(constants), labels, dims)
        key = (inner.operands, labels)
        if key not in self.names:
            name = f"@h{len(self.items) + 1}"
            self.names[key] = name
            self.items.append(Hoisted(name, inner))
        hoisted = Operand(HOISTED, self.names[key], "value", labels)
        return Contraction(c.coeff, c.sizes, (hoisted,) + tuple(randoms), c.out, c.label_dims)

    @staticmethod
    def reduces(constants, randoms, c) -> bool:
        keep = {l for o in randoms for l in o.labels} | set(c.out)
        return any(l not in keep for o in constants for l in o.labels)

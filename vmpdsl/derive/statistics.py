"""Simplifications of message monomials that hold for every reader of them.

A ``Mono`` is one monomial of a collected coefficient, read off a message:
the target statistic removed, its output axes renamed to the fixed labels
``^0, ^1, …``, every other label made unique to its factor, and the labels it
sums over listed explicitly (a summed label that no atom carries multiplies by
its dim's size: ``Σ_n ½ log τ`` is ``N/2 log τ``).  On that form:

* ``eliminate_delta``: ``Σ_j δ[i,j] A[j]`` is ``A[i]`` (``tr E[wwᵀ]`` instead of
  ``Σ_{i,j} δ[i,j] E[wwᵀ][i,j]``);
* ``reduce_selectors``: a selector whose category is summed and used by nothing
  else sums to one (``Σ_i [g[n] = i]`` is 1, ``Σ_k q(z[n] = k)`` is 1);
* ``combine``: like monomials (equal up to the order of their atoms and the
  names of their summed labels) are added, across factors.

These are exact identities (a selector's rows hold one category each; fit
checks labels are in range), so the printer and the emitter may both use them.
The module depends only on ``terms`` (no sympy).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from fractions import Fraction

from .terms import Atom

ONES, EYE = "@ones", "@eye"


@dataclass(frozen=True)
class Mono:
    """``coeff × Π sizes × Σ_{sums} Π atoms``; ``factor`` is the factor it came from."""

    coeff: Fraction | float
    atoms: tuple
    sums: tuple = ()  # summed labels (carried by atoms or not)
    sizes: tuple = ()  # dims multiplying the monomial
    factor: int = -1

    def carried(self) -> set:
        return {l for a in self.atoms for l in a.indices}

    def scaled(self, c) -> "Mono":
        return replace(self, coeff=self.coeff * c)


def is_output(label: str) -> bool:
    return label.startswith("^")


def output_label(position: int) -> str:
    return f"^{position}"


def is_weight(var: str) -> bool:
    """Row weights (``@w0`` counts of merged rows, ``@m0`` observed-masks) are
    how the fit computes, not part of the mathematics of one row.  A sliced
    plate's mask (``@t0``, derive/chains.py) is: it says which rows there are."""
    return var.startswith("@") and var not in (ONES, EYE) and not var.startswith(("@c", "@t"))


def from_message(term, target: Atom, factor_index: int, plates: tuple, label_dims: dict,
                 dims: dict, outputs: tuple = ()) -> Mono:
    """A message's monomial with its target removed, weights and ``ones``
    dropped, labels renamed (outputs ``^i`` or as given, others ``label.factor``)."""
    outputs = outputs or tuple(output_label(i) for i in range(len(target.indices)))
    rename = dict(zip(target.indices, outputs))

    def name(label):
        return rename.get(label, f"{label}.{factor_index}")
    others = [a for a in term.atoms if a is not target]
    labels = dict.fromkeys([p for p in plates] + [l for a in others for l in a.indices])
    sums = tuple(name(l) for l in labels if l not in rename)
    for l in list(labels) + list(target.indices):
        dims[name(l)] = label_dims[l]
    atoms = tuple(Atom(a.var, a.stat, tuple(name(l) for l in a.indices)) for a in others
                  if a.var != ONES and not is_weight(a.var))
    return Mono(term.coeff, atoms, sums, tuple(map(str, term.sizes)), factor_index)


def rename_label(mono: Mono, old: str, new: str) -> Mono:
    atoms = tuple(Atom(a.var, a.stat, tuple(new if l == old else l for l in a.indices))
                  for a in mono.atoms)
    return replace(mono, atoms=atoms, sums=tuple(l for l in mono.sums if l != old))


def eliminate_delta(mono: Mono) -> Mono:
    """Contract every δ whose labels are not both outputs."""
    for a in mono.atoms:
        if a.var == EYE and len(a.indices) == 2:
            i, j = a.indices
            rest = replace(mono, atoms=tuple(b for b in mono.atoms if b is not a))
            if i == j:
                return eliminate_delta(rest)  # Σ_i δ[i,i] = size: i stays summed
            if not is_output(j):
                return eliminate_delta(rename_label(rest, j, i))
            if not is_output(i):
                return eliminate_delta(rename_label(rest, i, j))
    return mono


def reduce_selectors(mono: Mono) -> Mono:
    """Drop one-hot selectors whose summed category label nothing else uses."""
    for a in mono.atoms:
        if a.stat == "onehot" and a.indices and a.indices[-1] in mono.sums:
            category = a.indices[-1]
            if not any(category in b.indices for b in mono.atoms if b is not a):
                rest = replace(mono, atoms=tuple(b for b in mono.atoms if b is not a),
                               sums=tuple(l for l in mono.sums if l != category))
                return reduce_selectors(rest)
    return mono


def drop_observed_selector_sums(term, model):
    """A factor's monomial with every observed selector that nothing else uses
    removed: Σ_j [g[n] = j] = 1 exactly (labels are checked to be in range), so
    hier's Σ_{n,j} [g[n] = j]/2 is N/2, for the printout and the emitted code
    alike.  (Latent gates stay: their rows sum to one only up to rounding.)"""
    kept = list(term.atoms)
    for a in term.atoms:
        var = model.variables.get(a.var)
        if a.stat == "onehot" and var is not None and var.role == "data" and \
                not any(a.indices[-1] in b.indices for b in kept if b is not a):
            kept.remove(a)
    if len(kept) == len(term.atoms):
        return term
    return type(term)(term.coeff, tuple(kept), term.sizes)


def size_dims(mono: Mono, dims: dict) -> tuple:
    """The dims a monomial multiplies by: its sizes and its uncarried sums."""
    carried = mono.carried()
    return tuple(sorted(map(str, mono.sizes)) +
                 sorted(str(dims[l]) for l in mono.sums if l not in carried))


def like_key(mono: Mono, dims: dict, symmetric=lambda a: False) -> tuple:
    """Equal keys mean equal monomials up to the coefficient: atoms sorted,
    summed labels renamed by first appearance (outputs kept), the last two
    labels of a symmetric atom (E[Λ], E[x xᵀ], δ) taken in either order."""
    flips = [i for i, a in enumerate(mono.atoms) if symmetric(a) and len(a.indices) >= 2]
    keys = []
    for mask in range(2 ** min(len(flips), 4)):
        atoms = list(mono.atoms)
        for bit, i in enumerate(flips[:4]):
            if mask >> bit & 1:
                a = atoms[i]
                atoms[i] = Atom(a.var, a.stat, a.indices[:-2] + a.indices[:-3:-1])
        keys.append(atoms_key(atoms, dims))
    return min(keys), size_dims(mono, dims)


def atoms_key(atoms: list, dims: dict) -> tuple:
    order = sorted(atoms, key=lambda a: (a.var, a.stat, len(a.indices),
                                         tuple(l if is_output(l) else "" for l in a.indices)))
    names: dict = {}

    def name(l):
        if is_output(l):
            return l
        return names.setdefault(l, f"#{len(names)}:{dims.get(l)}")
    return tuple((a.var, a.stat, tuple(name(l) for l in a.indices)) for a in order)


def add_coeffs(a, b):
    """a + b; decimals the model wrote stay those decimals (0.1 − 1 + 1 is 0.1)."""
    if isinstance(a, float) or isinstance(b, float):
        total = float(Decimal(repr(float(a))) + Decimal(repr(float(b)))) \
            if not isinstance(a, Fraction) or a.denominator == 1 else float(a) + float(b)
        return Fraction(int(total)) if total.is_integer() else total
    return a + b


def combine(monos: list, dims: dict, symmetric=lambda a: False) -> list:
    """Sum like monomials; drop those that cancel.  The first one's form is kept."""
    found: dict = {}
    for m in monos:
        key = like_key(m, dims, symmetric)
        found[key] = replace(found[key], coeff=add_coeffs(found[key].coeff, m.coeff)) \
            if key in found else m
    return [m for m in found.values() if m.coeff != 0]


def simplify(monos: list, dims: dict, symmetric=lambda a: False) -> list:
    """δ elimination, selector reduction, then like terms combined."""
    return combine([reduce_selectors(eliminate_delta(m)) for m in monos], dims, symmetric)

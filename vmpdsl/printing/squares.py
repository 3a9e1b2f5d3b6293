"""Quadratic forms recovered from the monomials of a Normal factor.

A (Mv)Normal factor's log density is ``½ log|P| − ½ (x − m)ᵀ P (x − m)``; the
derivation expands the square into monomials (``x xᵀ``, ``x E[μ]ᵀ``, …).  When
a message's target multiplies every monomial of the square (the precision, a
gate, a weight), the textbook writes the square back:
``Σ_n r[n,k] E[(x[n] − μ[k])(x[n] − μ[k])ᵀ]``.  This module finds such squares
exactly: each monomial is split into the product of two *halves* (``x[n]``,
``μ[k]``, ``X[n]ᵀw``) around an optional middle matrix, the coefficients form a
symmetric matrix over the halves, and a rank-one matrix ``c s sᵀ`` is the
square ``c E[(Σ_p s_p h_p)ᵀ M (Σ_p s_p h_p)]``.  Anything else stays monomials.
``expand`` multiplies a square back out (for the "where" block and the tests).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction

from ..derive.statistics import Mono, is_output
from ..derive.terms import Atom

STATEFUL = ("latent", "point", "param")
NONLINEAR = ("log", "log1m", "logdet")


@dataclass(frozen=True)
class Square:
    """``coeff × Π sizes × Σ_{sums} Π rest × E[hᵀ M h]`` with ``h = Σ s_p h_p``.

    Each half's atoms carry the placeholder label ``•`` where it attaches (to
    an output label in ``attach``, or to the middle's ``•L``/``•R``) and
    internal labels ``~0, ~1, …``; ``dims`` gives the dims of those labels."""

    coeff: Fraction | float
    rest: tuple
    middle: tuple
    halves: tuple  # of (sign, atoms)
    attach: tuple | None
    sums: tuple
    sizes: tuple
    factor: int
    dims: tuple  # ((label, dim), ...) of '•', '~i'

    def scaled(self, c) -> "Square":
        return replace(self, coeff=self.coeff * c)


class SquareFinder:
    """Finds squares in one factor's message to one statistic."""

    def __init__(self, model, rows: set, dims: dict):
        self.model, self.rows, self.dims = model, rows, dims

    def is_event(self, label: str) -> bool:
        return label not in self.rows

    def find(self, monos: list, precision_names: set, target_var: str) -> tuple:
        """(squares, monomials left as they are)."""
        groups, left = {}, []
        for m in monos:
            split = self.split(m, precision_names)
            if split is None:
                left.append(m)
            else:
                key, halves = split
                groups.setdefault(key, []).append((m, halves))
        squares = []
        for key, members in groups.items():
            square = self.square(key, members, target_var)
            if square is None:
                left += [m for m, _ in members]
            else:
                squares.append(square)
        return squares, left

    # ----------------------------------------------------------- one monomial
    def split(self, m: Mono, precision_names: set):
        """(group key, (the two halves, optional selectors)) or None when the
        monomial is not rest × middle × half × half."""
        rest, middle, halves = self.classify(m, precision_names)
        if halves is None:
            return None
        ends = [l for l in middle[0].indices if self.is_event(l)] if middle else \
            sorted({l for a in halves for l in a.indices if is_output(l) and self.is_event(l)})
        keyed = self.attached(self.components(self.unmerge(halves)), ends)
        if keyed is None:
            return None
        halves_out = tuple(self.half_key(part, label) for label, part in keyed)
        mid = tuple(Atom(a.var, a.stat, tuple(
            {ends[0]: "•L", ends[1]: "•R"}.get(l, l) for l in a.indices)) for a in middle)
        # An observed selector [g[n] = j] whose j only the halves use may be
        # missing from a monomial (derive drops Σ_j [g[n] = j] = 1 where nothing
        # else uses j): such monomials belong to the same square.
        optional = [a for a in rest if self.observed_selector(a)]
        free = {a.indices[-1] for a in optional}
        sums = tuple(sorted(l for l in m.sums if not self.is_event(l) and l not in free))
        attach = tuple(ends) if ends and not middle else None
        dim = self.dims[ends[0]] if ends else None
        kept = [a for a in rest if a not in optional]
        key = (tuple(sorted(kept, key=repr)), mid, sums, tuple(sorted(m.sizes)), attach, dim)
        return key, (halves_out, tuple(optional))

    def classify(self, m: Mono, precision_names: set) -> tuple:
        """(rest, middle, halves): the precision's atoms, gates and δ are the
        rest (no event axis) or the middle matrix; the others are the halves."""
        rest, middle, halves = [], [], []
        for a in m.atoms:
            if a.var in precision_names or a.stat == "onehot" or a.var == "@eye":
                (middle if any(map(self.is_event, a.indices)) else rest).append(a)
            else:
                halves.append(a)
        if not halves or any(a.stat in NONLINEAR or a.var.startswith("@") for a in halves):
            return rest, middle, None
        if len(middle) > 1 or (middle and len([l for l in middle[0].indices
                                               if self.is_event(l)]) != 2):
            return rest, middle, None
        return rest, middle, halves

    def attached(self, parts: list, ends: list):
        """The two halves with the end (output or middle label) each attaches
        to, in the ends' order; None unless there are two, one per end."""
        if len(parts) != 2:
            return None
        keyed = []
        for part in parts:
            attached = [l for l in ends if any(l in a.indices for a in part)]
            if len(attached) > 1 or (ends and not attached):
                return None
            keyed.append((attached[0] if attached else None, part))
        if ends:
            keyed.sort(key=lambda p: ends.index(p[0]))
        return keyed

    def observed_selector(self, a: Atom) -> bool:
        var = self.model.variables.get(a.var)
        return a.stat == "onehot" and var is not None and var.role == "data" and \
            not is_output(a.indices[-1])

    def unmerge(self, atoms: list) -> list:
        """``v.xx`` as two ``v.x`` atoms (a second moment is a product of halves)."""
        out = []
        for a in atoms:
            var = self.model.variables.get(a.var)
            if a.stat == "xx" and var is not None and var.role in STATEFUL:
                p = len(var.plates)
                if var.event:
                    out += [Atom(a.var, "x", a.indices[:p] + (a.indices[p],)),
                            Atom(a.var, "x", a.indices[:p] + (a.indices[p + 1],))]
                else:
                    out += [Atom(a.var, "x", a.indices), Atom(a.var, "x", a.indices)]
            else:
                out.append(a)
        return out

    def components(self, atoms: list):
        """Groups of atoms joined by shared event labels (outputs never join)."""
        parts: list = []
        for a in atoms:
            labels = {l for l in a.indices if self.is_event(l) and not is_output(l)}
            joined = [p for p in parts if labels & p[1]]
            atoms_, labels_ = [a], set(labels)
            for p in joined:
                parts.remove(p)
                atoms_ = p[0] + atoms_
                labels_ |= p[1]
            parts.append((atoms_, labels_))
        return [p[0] for p in parts]

    def half_key(self, atoms: list, attach: str | None) -> tuple:
        names: dict = {}
        out = []
        for a in sorted(atoms, key=lambda a: (a.var, a.stat, len(a.indices))):
            labels = []
            for l in a.indices:
                if l == attach:
                    labels.append("•")
                elif self.is_event(l):
                    labels.append(names.setdefault(l, f"~{len(names)}"))
                    self.dims.setdefault(names[l], self.dims[l])
                else:
                    labels.append(l)
            out.append(Atom(a.var, a.stat, tuple(labels)))
        return tuple(out)

    # ----------------------------------------------------- the rank-one test
    def square(self, key, members, target_var: str):
        rest, middle, sums, sizes, attach, dim = key
        selectors = tuple(dict.fromkeys(a for _, (_, opt) in members for a in opt))
        rest = rest + selectors
        sums = sums + tuple(a.indices[-1] for a in selectors)
        coeffs: dict = {}
        order: list = []
        for m, ((h1, h2), _) in members:
            for h in (h1, h2):
                if h not in order:
                    order.append(h)
            if h1 == h2:
                coeffs[h1, h1] = coeffs.get((h1, h1), 0) + m.coeff
            else:
                for a, b in ((h1, h2), (h2, h1)):
                    coeffs[a, b] = coeffs.get((a, b), 0) + m.coeff / 2
        first = sorted(order, key=lambda h: all(a.var != target_var for a in h))
        lead = next((h for h in first if coeffs.get((h, h), 0) != 0), None)
        if lead is None:
            return None
        c0 = coeffs[lead, lead]
        signs = {h: as_number(coeffs.get((lead, h), 0) / c0) for h in order}
        for p in order:
            for q in order:
                if not close(coeffs.get((p, q), 0), c0 * signs[p] * signs[q]):
                    return None
        halves = tuple((signs[h], h) for h in first if signs[h] != 0)
        if len(halves) < 2:
            return None  # a plain second moment (E[w wᵀ], X[n] X[n]ᵀ) reads better as is
        labels = {l for _, h in halves for a in h for l in a.indices if l.startswith(("~", "•"))}
        dims = tuple(sorted((l, self.dims[l] if l.startswith("~") else dim) for l in labels))
        return Square(c0, rest, middle, halves, attach, sums, sizes, members[0][0].factor, dims)


def as_number(x):
    """Exact signs stay exact; a float ratio near a small fraction becomes it."""
    if isinstance(x, Fraction):
        return x
    f = Fraction(x).limit_denominator(12)
    return f if abs(float(f) - x) < 1e-12 * max(1.0, abs(x)) else x


def close(a, b) -> bool:
    if isinstance(a, Fraction) and isinstance(b, Fraction):
        return a == b
    return abs(float(a) - float(b)) <= 1e-12 * max(1.0, abs(float(a)), abs(float(b)))


# ---------------------------------------------------------------- expanding
def expand(square: Square, model) -> list:
    """The square multiplied out into monomials over its own labels, each
    random variable's halves merged back into its statistic (``v v → v.xx``)."""
    left, right = square.attach or ("•L", "•R")
    dims = dict(square.dims)
    monos = []
    for sp, hp in square.halves:
        for sq, hq in square.halves:
            atoms = list(square.rest) + [relabel(a, {"•L": left, "•R": right})
                                         for a in square.middle]
            atoms += [relabel(a, {"•": left}, "L") for a in hp]
            atoms += [relabel(a, {"•": right}, "R") for a in hq]
            internal = [l for a in atoms for l in a.indices if l.startswith(("~", "•"))]
            monos.append(Mono(square.coeff * sp * sq, tuple(merge(atoms, model)),
                              square.sums + tuple(dict.fromkeys(internal)), square.sizes,
                              square.factor))
    return monos, {**{f"{l}{s}": d for l, d in dims.items() for s in ("L", "R")},
                   "•L": dims.get("•"), "•R": dims.get("•")}


def relabel(a: Atom, mapping: dict, side: str = "") -> Atom:
    return Atom(a.var, a.stat, tuple(mapping.get(l, l + side if l.startswith("~") else l)
                                     for l in a.indices))


def merge(atoms: list, model) -> list:
    """Two ``v.x`` atoms on the same rows are one ``v.xx`` (mean field keeps a
    variable's own moments together)."""
    groups: dict = {}
    for a in atoms:
        var = model.variables.get(a.var)
        if a.stat == "x" and var is not None and var.role in STATEFUL:
            groups.setdefault((a.var, a.indices[:len(var.plates)]), []).append(a)
    out = [a for a in atoms if not any(a in g for g in groups.values() if len(g) == 2)]
    for (var, rows), found in groups.items():
        if len(found) == 2:
            p = len(rows)
            out.append(Atom(var, "xx", rows + found[0].indices[p:] + found[1].indices[p:]))
    return out

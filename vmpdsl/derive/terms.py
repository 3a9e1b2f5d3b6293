"""Tensor monomials: the algebra the derivation runs on.

A factor's log density, after its argument expressions are substituted, is a
sum of ``Term``s.  A term is ``coeff × Π sizes × Π atoms``, summed over every
index label its atoms carry (Einstein convention) — exactly an einsum.  An
``Atom`` is one array: a sufficient statistic of a latent variable (``w.x``,
``w.xx``, ``tau.log``, ``z.onehot``), a data or hyper array (``X.value``), the
one-hot encoding of integer data (``g.onehot``), or a derived constant.

Why not sympy tensors: the messages of variational message passing need to
know, per monomial, *which* sufficient statistic of *which* variable it holds
and over which axes; with explicit atoms and index labels that is a field
lookup, and each monomial lowers one-to-one to an einsum.  sympy is used where
it shines: printing the derived equations and checking them symbolically.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from itertools import product as cartesian

from ..errors import VmpCheckError

Coeff = Fraction | float


@dataclass(frozen=True)
class Atom:
    """One array in a monomial: ``var.stat[indices]``."""

    var: str
    stat: str
    indices: tuple = ()

    def __str__(self) -> str:
        idx = f"[{','.join(self.indices)}]" if self.indices else ""
        return f"{self.var}.{self.stat}{idx}"


@dataclass(frozen=True)
class Term:
    """``coeff × Π sizes × Π atoms``; ``sizes`` are dim names whose sizes multiply."""

    coeff: Coeff
    atoms: tuple = ()
    sizes: tuple = ()

    @property
    def labels(self) -> set:
        return {i for a in self.atoms for i in a.indices}

    def times(self, other: "Term") -> "Term":
        return Term(self.coeff * other.coeff, self.atoms + other.atoms,
                    self.sizes + other.sizes)

    def scaled(self, c: Coeff) -> "Term":
        return Term(self.coeff * c, self.atoms, self.sizes)

    def __str__(self) -> str:
        parts = [format_coeff(self.coeff)] + list(self.sizes) + [str(a) for a in self.atoms]
        return " * ".join(parts)


def format_coeff(c: Coeff) -> str:
    if isinstance(c, Fraction):
        return str(c.numerator) if c.denominator == 1 else f"{c.numerator}/{c.denominator}"
    return repr(float(c))


def const(c: Coeff) -> list:
    """A number as a sum of terms (zero is the empty sum)."""
    return [] if c == 0 else [Term(c)]


def atom(var: str, stat: str, indices=()) -> list:
    return [Term(Fraction(1), (Atom(var, stat, tuple(indices)),))]


def add(*sums: list) -> list:
    out = []
    for s in sums:
        out.extend(s)
    return out


def scale(c: Coeff, s: list) -> list:
    return [] if c == 0 else [t.scaled(c) for t in s]


# A product of sums is expanded; past this many monomials (a product of
# three 5-term sums inside a Normal's square has 15 625) the derivation, the
# equations and the module would grow without bound, so it is refused.
MAX_TERMS = 2000


def mul(*sums: list) -> list:
    """The product of sums of terms, expanded."""
    result = [Term(Fraction(1))]
    for s in sums:
        if len(result) * len(s) > MAX_TERMS:
            raise VmpCheckError(
                f"this expression expands to {len(result) * len(s)} products of variables "
                f"(vmpdsl allows {MAX_TERMS})",
                hint="a product of sums is multiplied out; introduce a variable for a sum, "
                     "or use dot(...) / sum(...) over a dim")
        result = [a.times(b) for a, b in cartesian(result, s)]
    return result


def neg(s: list) -> list:
    return scale(Fraction(-1), s)


def sub(a: list, b: list) -> list:
    return add(a, neg(b))


def with_sizes(s: list, sizes: tuple) -> list:
    return [Term(t.coeff, t.atoms, t.sizes + tuple(sizes)) for t in s]

"""The checked model: the typed output of ``check.py`` and the input of every
later stage (graph, derive, lower, emit).

Names are bound, every variable has a role and a shape, and every ``~``
statement is a ``Factor`` that knows the plates around it.  Shapes are tuples
of dim names (str) or fixed sizes (int); sizes are bound from data at fit time.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import Span
from .ast import Dist, Expr, Program

ROLES = ("latent", "point", "data", "param", "hyper")

# Families that a latent (or point) variable may have as its prior.
LATENT_FAMILIES = ("Normal", "MvNormal", "Gamma", "Wishart", "Dirichlet",
                   "Categorical", "Beta", "Bernoulli", "Exponential")


@dataclass(frozen=True)
class Plate:
    """One enclosing ``for index in dim:`` (``dim[start:stop]`` for a slice)."""

    index: str
    dim: str
    start: int = 0
    stop: int | None = None

    @property
    def sliced(self) -> bool:
        return bool(self.start) or self.stop is not None


@dataclass(frozen=True)
class Variable:
    """A named quantity of the model.

    latent / point: ``plates`` are the dims of the plates around its ``~``
    (leading axes), ``event`` the distribution's own shape (``("D",)`` for an
    MvNormal over D, ``("D", "D")`` for a Wishart, ``()`` for scalars and
    Categorical).  data / param / hyper: ``plates`` is empty for data and hypers
    (``event`` is the declared shape); a param's leading axes that its uses
    index are its plates (``param mu[K, D]`` used as ``mu[z[n]]`` in an MvNormal
    mean: plates ``("K",)``, event ``("D",)``).
    ``family``: the prior's distribution for latent / point; the likelihood's
    distribution for data that is observed through ``~`` (else None); None for
    params and hypers.
    ``categories``: for Categorical latents and categorical int data, the dim
    (or size) of the category axis (``"K"``); else None.
    """

    name: str
    role: str
    plates: tuple = ()
    event: tuple = ()
    family: str | None = None
    dtype: str = "real"
    categories: str | int | None = None
    span: Span | None = field(default=None, compare=False)

    @property
    def shape(self) -> tuple:
        return tuple(self.plates) + tuple(self.event)


@dataclass(frozen=True)
class Factor:
    """One ``~`` statement: ``target ~ dist`` inside ``plates`` (outer first).

    ``variable`` is the name on the left-hand side; the factor is the prior of
    that variable when it is latent / point, and a likelihood when it is data.
    """

    variable: str
    target: Expr
    dist: Dist
    plates: tuple  # of Plate
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True)
class CheckedModel:
    name: str
    dims: dict  # dim name -> default Expr or None, in declaration order
    variables: dict  # name -> Variable, in declaration order (no dims)
    hypers: dict  # hyper name -> default value Expr
    factors: tuple  # of Factor, in source order
    program: Program = field(compare=False, default=None)
    chains: dict = field(compare=False, default_factory=dict)  # name -> language.chains.Chain
    missing: bool = False  # likelihood factors carry observed-masks (fit(missing="skip"))
    mean_field: bool = False  # no joint blocks: q(mu) q(Lambda) (fit(mean_field=True))
    literal_dims: tuple = ()  # ((dim, size), ...): dims a literal's length fixes (a = [1, 2])

    @property
    def source(self) -> str:
        return self.program.source if self.program else ""

    @property
    def filename(self) -> str | None:
        return self.program.filename if self.program else None

    def by_role(self, role: str) -> list:
        """Variables of one role, in declaration order."""
        return [v for v in self.variables.values() if v.role == role]

    def factor_of(self, name: str) -> Factor | None:
        """The prior factor of a latent / point variable (None for others)."""
        for factor in self.factors:
            if factor.variable == name and self.variables[name].role in ("latent", "point"):
                return factor
        return None

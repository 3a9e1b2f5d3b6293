"""The family registry: one ``Family`` record per distribution of LANGUAGE.md.

Adding a family means writing one module that ends with its record and adding
one line to ``_RECORDS`` below.

``runtime_source`` gives the source text of the numeric functions, which the
code emitter pastes into a generated module below the header
``import weakref`` / ``import numpy as np`` / ``from scipy import special as sps`` /
``from scipy import linalg as sla`` and the prelude (runtime/prelude.py).  That is why every family function is a
plain module-level function that uses only those names, the ``runtime/helpers.py``
helpers it lists and its family's other functions.
"""
from __future__ import annotations

import functools
import inspect

from ..runtime import helpers as runtime_helpers
from .bernoulli import BERNOULLI
from .beta import BETA
from .binomial import BINOMIAL
from .categorical import CATEGORICAL
from .categorical_chain import CATEGORICAL_CHAIN
from .dirichlet import DIRICHLET
from .exponential import EXPONENTIAL
from .family import FUNCTION_FIELDS, Family
from .gamma import GAMMA
from .gaussian_chain import GAUSSIAN_CHAIN
from .local_bounds import JJ, SOFTMAX_BOUND
from .mvnormal import MVNORMAL
from .normal import NORMAL
from .normal_wishart import NORMALGAMMA, NORMALWISHART
from .poisson import POISSON
from .wishart import WISHART

__all__ = ["Family", "FAMILIES", "JOINT_FAMILIES", "FUNCTION_FIELDS", "get_family",
           "runtime_source", "RUNTIME_HEADER"]

_RECORDS = (NORMAL, MVNORMAL, GAMMA, WISHART, DIRICHLET, CATEGORICAL, BETA, BERNOULLI,
            BINOMIAL, POISSON, EXPONENTIAL,
            JJ, SOFTMAX_BOUND,  # not in the language: local parameters of link bounds
            CATEGORICAL_CHAIN, GAUSSIAN_CHAIN,  # blocks over a chain's elements
            NORMALWISHART, NORMALGAMMA)
# The joint mean–precision families (derive/blocks.py) are not distributions
# of the language either.
JOINT_FAMILIES = ("NormalWishart", "NormalGamma")

FAMILIES: dict[str, Family] = {record.name: record for record in _RECORDS}

RUNTIME_HEADER = ("import weakref\n"  # prelude's log-determinant memo, which they read
                  "import numpy as np\n"
                  "from scipy import special as sps\n"
                  "from scipy import linalg as sla\n")


def get_family(name: str) -> Family:
    """The record of distribution ``name``; KeyError listing the known names."""
    try:
        return FAMILIES[name]
    except KeyError:
        known = ", ".join(FAMILIES)
        raise KeyError(f"unknown distribution {name!r}; known: {known}") from None


def _helper_order() -> dict:
    """Each runtime helper's position in its module, for a stable output order."""
    order = {}
    for name, value in vars(runtime_helpers).items():
        if inspect.isfunction(value) and value.__module__ == runtime_helpers.__name__:
            order[value] = len(order)
    return order


def runtime_source(families: list[str], helpers: tuple[str, ...] = ()) -> str:
    """Source of the helpers and functions the named families need.

    A family's posterior family comes along (Exponential brings Gamma), and
    a block family's members (NormalWishart brings MvNormal and Wishart).
    ``helpers`` names further runtime helpers the caller's own code uses
    (``"symmetrize"``).  Helpers come first in their
    module order, then each family's functions in registry order; nothing is
    repeated.
    """
    records = []
    for name in families:
        record = get_family(name)
        related = (record.posterior or "",) + record.members
        for needed in (record,) + tuple(FAMILIES.get(r) for r in related):
            if needed is not None and needed not in records:
                records.append(needed)
    records.sort(key=_RECORDS.index)
    order = _helper_order()
    wanted = {fn for record in records for fn in record.helpers}
    for name in helpers:
        fn = getattr(runtime_helpers, name, None)
        if fn not in order:
            raise KeyError(f"unknown helper {name!r}; known: "
                           + ", ".join(fn.__name__ for fn in order))
        wanted.add(fn)
    functions = sorted(wanted, key=order.__getitem__)
    functions += [fn for record in records for fn in record.functions]
    return "\n\n".join(function_source(fn) for fn in functions)


@functools.lru_cache(maxsize=None)
def function_source(fn) -> str:
    """A runtime function's source, read once per process (every compile
    pastes the same functions)."""
    return inspect.getsource(fn).rstrip() + "\n"

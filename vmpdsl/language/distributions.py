"""The distributions of the language, as one table the checker reads.

Each entry names the arguments (the names LANGUAGE.md uses, which are also the
edge roles of the factor graph) and their shapes as patterns: ``()`` a scalar,
``("a",)`` a vector of some length a, ``("a", "a")`` a square a × a matrix.
The event shape and the category dim are patterns over the same symbols, so
``MvNormal(m0, L)`` with m0 of shape (D,) makes a D-vector.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass

from ..errors import Span, VmpCheckError
from .shapes import fmt_shape


@dataclass(frozen=True)
class Arg:
    name: str
    pattern: tuple = ()
    fixed: bool = False  # must not depend on a latent, point or param


@dataclass(frozen=True)
class DistSpec:
    name: str
    args: tuple
    event: tuple = ()
    dtype: str = "real"  # of the values: "int" for the discrete families
    categories: str | None = None  # the symbol whose size is the number of categories


_SCALAR, _VECTOR, _MATRIX = (), ("a",), ("a", "a")

DISTRIBUTIONS = {spec.name: spec for spec in (
    DistSpec("Normal", (Arg("mean"), Arg("precision"))),
    DistSpec("MvNormal", (Arg("mean", _VECTOR), Arg("precision", _MATRIX)), event=_VECTOR),
    DistSpec("Gamma", (Arg("shape"), Arg("rate"))),
    DistSpec("Wishart", (Arg("df"), Arg("scale", _MATRIX)), event=_MATRIX),
    DistSpec("Dirichlet", (Arg("concentration", _VECTOR),), event=_VECTOR),
    DistSpec("Categorical", (Arg("probs", _VECTOR),), dtype="int", categories="a"),
    DistSpec("Beta", (Arg("a"), Arg("b"))),
    DistSpec("Bernoulli", (Arg("p"),), dtype="int"),
    DistSpec("Binomial", (Arg("trials", fixed=True), Arg("p")), dtype="int"),
    DistSpec("Poisson", (Arg("rate"),), dtype="int"),
    DistSpec("Exponential", (Arg("rate"),)),
)}

_KIND = {0: "a scalar", 1: "a vector", 2: "a square matrix"}


def lookup(name: str, span: Span) -> DistSpec:
    """The spec of a distribution name, or an error with a did-you-mean."""
    if name in DISTRIBUTIONS:
        return DISTRIBUTIONS[name]
    close = difflib.get_close_matches(name, DISTRIBUTIONS, n=1, cutoff=0.5)
    by_case = [d for d in DISTRIBUTIONS if d.lower() == name.lower()]
    guess = by_case or close
    hint = f"did you mean {guess[0]}?" if guess else \
        "the distributions are " + ", ".join(DISTRIBUTIONS)
    raise VmpCheckError(f"unknown distribution '{name}'", span, hint=hint)


def signature(spec: DistSpec) -> str:
    return f"{spec.name}({', '.join(a.name for a in spec.args)})"


def bind_shapes(spec: DistSpec, shapes: list, spans: list, same=None) -> dict:
    """Match argument shapes to the spec's patterns; return symbol -> dim.
    ``same(a, b)`` says whether two sizes agree (a dim and a literal's length
    may); a named dim is preferred to a fixed size.

    Raises an error naming the argument, the kind it must be and the shapes
    that disagree.
    """
    binding, bound_by = {}, {}
    for arg, shape, span in zip(spec.args, shapes, spans):
        if len(shape) != len(arg.pattern):
            raise VmpCheckError(
                f"the {arg.name} of {spec.name} must be {_KIND[len(arg.pattern)]}, "
                f"but this has shape {fmt_shape(shape)}", span,
                hint=f"{signature(spec)} takes {_describe_args(spec)}")
        for symbol, dim in zip(arg.pattern, shape):
            if symbol not in binding:
                binding[symbol], bound_by[symbol] = dim, (arg.name, shape)
            elif not (same or (lambda a, b: a == b))(binding[symbol], dim):
                raise VmpCheckError(_disagree(spec, arg, shape, bound_by[symbol]), span)
            elif isinstance(dim, str):
                binding[symbol] = dim
    return binding


def _disagree(spec, arg, shape, first) -> str:
    first_name, first_shape = first
    if first_name == arg.name:
        return (f"the {arg.name} of {spec.name} must be a square matrix, "
                f"but this has shape {fmt_shape(shape)}")
    return (f"the {arg.name} of {spec.name} has shape {fmt_shape(shape)}, which does not "
            f"fit its {first_name} of shape {fmt_shape(first_shape)}")


def _describe_args(spec: DistSpec) -> str:
    return ", ".join(f"{a.name} ({_KIND[len(a.pattern)]})" for a in spec.args)


def substitute(pattern: tuple, binding: dict) -> tuple:
    return tuple(binding[symbol] for symbol in pattern)

"""Links: a nonlinear function that may stand as a likelihood's whole argument.

``y ~ Bernoulli(logistic(e))``, ``hits ~ Binomial(n, sigmoid(e))``,
``y ~ Categorical(softmax(v))`` and ``c ~ Poisson(exp(e))`` are not
conjugate-exponential; the derive stage rewrites each into a bound
(derive/links.py).  Here the checker only learns where a link may appear and
what shape its argument has: a link must be the whole argument in one of the
places below, of a factor whose target is observed data.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import VmpCheckError
from . import ast


@dataclass(frozen=True)
class Link:
    name: str  # canonical name (sigmoid is logistic)
    places: tuple  # ((distribution, argument position), ...)
    vector: bool  # softmax maps a vector to a vector; the others act on scalars


LINKS = {
    "logistic": Link("logistic", (("Bernoulli", 0), ("Binomial", 1)), False),
    "softmax": Link("softmax", (("Categorical", 0),), True),
    "exp": Link("exp", (("Poisson", 0),), False),
}
LINKS["sigmoid"] = LINKS["logistic"]


def link_of(expr) -> Link | None:
    """The link an argument expression applies, or None."""
    if isinstance(expr, ast.Call) and expr.func in LINKS:
        return LINKS[expr.func]
    return None


def infer_argument(typer, dist: str, position: int, expr, role: str):
    """The type of a distribution argument; a link where one is allowed is
    typed by its inner expression (links keep shapes)."""
    link = link_of(expr)
    if link is None or (dist, position) not in link.places:
        return typer.infer(expr)  # elsewhere a link is an unknown, non-conjugate call
    if len(expr.args) != 1:
        raise VmpCheckError(f"{expr.func} takes 1 argument, got {len(expr.args)}", expr.span)
    if role != "data":
        raise VmpCheckError(
            f"{expr.func}(...) is supported in the likelihood of observed data; here "
            f"the {dist} describes a latent variable", expr.span,
            hint="observe the variable as data, or give the latent a conjugate prior")
    inner = typer.infer(expr.args[0])
    if link.vector != (len(inner.shape) == 1) or len(inner.shape) > 1:
        kind = "a vector" if link.vector else "a scalar"
        raise VmpCheckError(f"the argument of {expr.func} must be {kind}", expr.args[0].span)
    return inner

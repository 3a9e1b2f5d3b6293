"""Links as rewrites of a density into a bound (DESIGN.md, "Bounds as rewrites").

A likelihood whose argument is a link is replaced by a lower bound on its log
density that is quadratic in the linear predictor η, with local parameters
per observation.  The parameters are a ``point`` variable added to the model
(``ξ_y``, ``ψ_y``) whose statistics are the functions of them that the bound
holds (families/local_bounds.py); their update is closed form, and the rest of
the pipeline — messages, lowering, the ELBO — is unchanged.  The ELBO is then
a lower bound on the mean-field ELBO of the exact model, so on log p(data).

* ``Bernoulli(logistic(η))``, ``Binomial(n, logistic(η))``:
  log p = y η − n log(1 + e^η) + log C(n, y) = (y − n) η + n log σ(η) + log C(n, y),
  and the Jaakkola–Jordan bound on each of the n terms gives
  log p ≥ (y − n/2) η − n λ(ξ) η² + n c(ξ) + log C(n, y).
* ``Categorical(softmax(η))``: Böhning's bound with curvature ½I,
  log p ≥ Σ_k [y = k] η_k − ¼ Σ_k η_k² + Σ_k η_k g_k(ψ) + c(ψ).
  (The curvature ½(I − 11ᵀ/C) would couple the classes' weight rows, which mean
  field keeps apart; ½I bounds it and keeps each row's update separate.)
"""
from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

from ..language.links import LINKS, Link
from ..language.model import CheckedModel, Factor, Variable
from .densities import constant_only
from .nonconjugate import exp_term
from .terms import add, atom, const, mul, scale, sub

HALF = Fraction(1, 2)
LOCAL_FAMILIES = {"logistic": "JJ", "softmax": "SoftmaxBound"}
PREFIX = {"logistic": "ξ_", "softmax": "ψ_"}


def factor_link(factor: Factor) -> tuple | None:
    """(link, argument position) of a factor whose argument is a link, or None."""
    for position, expr in enumerate(factor.dist.args):
        link = LINKS.get(getattr(expr, "func", None))
        if link is not None and (factor.dist.name, position) in link.places:
            return link, position
    return None


def local_name(model: CheckedModel, factor: Factor, link: Link) -> str:
    """The local parameters' name: ξ_y for y's factor, avoiding the user's names."""
    taken = {v.name for v in model.variables.values() if v.family not in LOCAL_FAMILIES.values()}
    name = PREFIX[link.name] + factor.variable
    while name in taken:
        name += "_"
    return name


def with_local_parameters(model: CheckedModel) -> CheckedModel:
    """The model with one point variable of local parameters per bounded factor."""
    variables = dict(model.variables)
    for factor in model.factors:
        found = factor_link(factor)
        if found is None or found[0].name not in LOCAL_FAMILIES:
            continue
        link = found[0]
        name = local_name(model, factor, link)
        event = (model.variables[factor.variable].categories,) if link.vector else ()
        variables[name] = Variable(name, "point", tuple(p.dim for p in factor.plates), event,
                                   LOCAL_FAMILIES[link.name], span=factor.span)
    return replace(model, variables=variables)


def link_density(factor: Factor, ctx, x, arg) -> list | None:
    """The bound replacing the log density of a factor with a link, or None."""
    found = factor_link(factor)
    if found is None:
        return None
    link, position = found
    inner = factor.dist.args[position].args[0]

    def eta(out=()):  # converted afresh per use: η² needs distinct dummy labels
        from .expressions import to_terms
        return to_terms(inner, out, ctx)
    if link.name == "exp":  # no quadratic bound: Newton on E[exp(η)] (nonconjugate.py)
        ctx.nonconjugate.append(exp_term(eta(), ctx))
        return add(mul(x(()), eta()),
                   scale(-1, constant_only("lgamma1p", x(()), (), ctx, "count")))
    name = local_name(ctx.model, factor, link)
    if link.name == "softmax":
        return softmax_bound(x, eta, name, ctx)
    if factor.dist.name == "Binomial":
        return add(binomial_coefficient(arg(0, ()), x(()), ctx),
                   logistic_bound(arg(0, ()), x, eta, name, ctx))
    return logistic_bound(const(1), x, eta, name, ctx)


def logistic_bound(trials: list, x, eta, name: str, ctx) -> list:
    labels = ctx.plate_labels
    lam, c = atom(name, "lam", labels), atom(name, "c", labels)
    return add(mul(sub(x(()), scale(HALF, trials)), eta()),
               scale(-1, mul(trials, lam, eta(), eta())),
               mul(trials, c))


def binomial_coefficient(n: list, y: list, ctx) -> list:
    return add(constant_only("lgamma1p", n, (), ctx, "number of trials"),
               scale(-1, constant_only("lgamma1p", y, (), ctx, "count")),
               scale(-1, constant_only("lgamma1p", sub(n, y), (), ctx, "count")))


def softmax_bound(x, eta, name: str, ctx) -> list:
    labels = ctx.plate_labels
    k = ctx.fresh(ctx.model.variables[ctx.factor.variable].categories)
    return add(mul(x((k,)), eta((k,))),
               scale(Fraction(-1, 4), mul(eta((k,)), eta((k,)))),
               mul(eta((k,)), atom(name, "g", labels + (k,))),
               atom(name, "c", labels))

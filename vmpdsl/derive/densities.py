"""Each family's log density, written once, in terms of its arguments.

A density function receives ``x(out)`` (the target) and ``arg(k, out)`` (its
k-th argument), both returning sums of terms with the given free labels, and
returns ``log f`` as a sum of terms.  Nonlinear functions of arguments
(log, logdet, lgamma, inverse) go through the rules below: a constant becomes
a derived constant computed once per fit; a random variable is allowed only
where the result is one of its sufficient statistics (``log tau`` of a Gamma,
``logdet Λ`` of a Wishart); anything else is not conjugate and is reported with
the factor, the variable and a way out.
"""
from __future__ import annotations

import math
from fractions import Fraction

from .. import repairs
from .expressions import EYE, STATEFUL_ROLES, FactorContext
from .nonconjugate import lgamma_of  # a learned shape or concentration
from .terms import Atom, Term, add, atom, const, mul, scale, sub, with_sizes

HALF = Fraction(1, 2)
LOG_2PI = math.log(2 * math.pi)
LOG_2 = math.log(2)

# Which statistic a nonlinear function of a random variable's value produces.
LOG_STATS = {"log": "log", "log1m": "log1m"}

def random_vars(s: list, ctx: FactorContext) -> list:
    return sorted({a.var for t in s for a in t.atoms
                   if ctx.model.variables.get(a.var) is not None
                   and ctx.model.variables[a.var].role in STATEFUL_ROLES})


def free_labels(s: list, out: tuple, ctx: FactorContext) -> tuple:
    """Labels a constant sum keeps: plates, selectors, then the argument's axes."""
    present = {i for t in s for a in t.atoms for i in a.indices}
    selectors = [a.indices[-1] for a in ctx.selectors.values()]
    lead = [l for l in list(ctx.plate_labels) + selectors if l in present and l not in out]
    return tuple(lead) + tuple(out)


def constant_fn(func: str, s: list, out: tuple, ctx: FactorContext,
                consumes: int = 0, arg=None) -> list:
    inputs = free_labels(s, out, ctx)
    labels = inputs[:len(inputs) - consumes]
    dims = tuple(ctx.label_dims[l] for l in inputs)
    name = ctx.constants.add(func, s, inputs, labels, dims, arg)
    return atom(name, "value", labels)


def not_conjugate(ctx, randoms: list, what: str, role: str, products: bool = True):
    """The error for a function of an argument holding ``randoms``: it names a
    switch variable if there is one (the alternatives it chooses want a gate)."""
    variables = ctx.model.variables
    var = next((v for v in randoms if variables[v].family in repairs.SWITCHES), randoms[0])
    family = variables[var].family
    return ctx.error(f"in this {ctx.factor.dist.name} factor, {what} involves '{var}' "
                     f"({family or 'point'}), which is not conjugate",
                     repairs.for_role(var, family, role, products))


def log_of(s: list, out: tuple, ctx: FactorContext, role: str, func: str = "log") -> list:
    """``log(s)`` (or ``log(1 - s)`` with func='log1m') as a sum of terms."""
    randoms = random_vars(s, ctx)
    if not randoms:
        return constant_fn(func, s, out, ctx)
    if len(s) != 1 or (func == "log1m" and (len(s[0].atoms) != 1 or len(randoms) != 1)):
        raise not_conjugate(ctx, randoms, f"the log of the {role}", role, func == "log")
    (t,) = s
    rand = [a for a in t.atoms if a.var in randoms]
    if any(a.stat != "x" for a in rand):
        raise not_conjugate(ctx, randoms, f"the log of the {role}", role)
    # a product of random factors (alpha * lam[n]): under mean field
    # E[log(a b)] = E[log a] + E[log b], one statistic per factor
    result = add(*(atom(a.var, LOG_STATS[func], a.indices) for a in rand))
    rest = Term(t.coeff, tuple(a for a in t.atoms if a not in rand), t.sizes)
    if rest.atoms or rest.sizes or rest.coeff != 1:
        result = add(result, log_of([rest], out, ctx, role))
    return result


def logdet_of(s: list, out: tuple, ctx: FactorContext, role: str) -> list:
    """``log det`` of a matrix argument with labels ``out = (i, j)``."""
    i, j = out
    randoms = random_vars(s, ctx)
    if not randoms:
        return constant_fn("logdet", s, out, ctx, consumes=2)
    if len(s) != 1 or len(randoms) != 1:
        raise not_conjugate(ctx, randoms, f"the log-determinant of the {role}", role)
    (t,) = s
    eye = [a for a in t.atoms if a.var == EYE and set(a.indices) == {i, j}]
    full = [a for a in t.atoms if i in a.indices and j in a.indices and a.var != EYE]
    if eye:  # a diagonal matrix: logdet = Σ_i log(diagonal_i)
        rest = tuple(Atom(a.var, a.stat, tuple(i if l == j else l for l in a.indices))
                     for a in t.atoms if a is not eye[0])
        logs = log_of([Term(t.coeff, rest, t.sizes)], (i,), ctx, role)
        dim = ctx.label_dims[i]
        return [lt if i in lt.labels else with_sizes([lt], (dim,))[0] for lt in logs]
    if len(full) == 1 and full[0].var in randoms and full[0].stat == "x":
        rest = Term(t.coeff, tuple(a for a in t.atoms if a is not full[0]), t.sizes)
        result = atom(full[0].var, "logdet", tuple(l for l in full[0].indices if l not in out))
        if rest.atoms or rest.sizes or rest.coeff != 1:
            scalar = log_of([rest], (), ctx, role)
            result = add(result, with_sizes(scalar, (ctx.label_dims[i],)))
        return result
    raise not_conjugate(ctx, randoms, f"the log-determinant of the {role}", role)


def constant_only(func: str, s: list, out: tuple, ctx: FactorContext, role: str,
                  consumes: int = 0, arg=None) -> list:
    randoms = random_vars(s, ctx)
    if randoms:
        var = randoms[0]
        raise ctx.error(f"the {role} of this {ctx.factor.dist.name} is '{var}', a random "
                        f"quantity; it must be a constant", repairs.constant_argument(var, role))
    return constant_fn(func, s, out, ctx, consumes, arg)


# ---------------------------------------------------------------- densities
def normal(x, arg, ctx, event):
    # Every use converts its argument afresh: a squared mean such as
    # dot(X[n], w)² needs two distinct dummy labels (w_i w_j → w.xx[i, j]).
    def tau():
        return arg(1, ())

    def m():
        return arg(0, ())

    def xv():
        return x(())
    return add(scale(HALF, log_of(tau(), (), ctx, "precision")), const(-HALF * LOG_2PI),
               scale(-HALF, mul(tau(), xv(), xv())), mul(tau(), xv(), m()),
               scale(-HALF, mul(tau(), m(), m())))


def mvnormal(x, arg, ctx, event):
    (dim,) = event
    i, j = ctx.fresh(dim), ctx.fresh(dim)
    L = arg(1, (i, j))
    xi, xj, mi, mj = x((i,)), x((j,)), arg(0, (i,)), arg(0, (j,))
    return add(scale(HALF, logdet_of(L, (i, j), ctx, "precision")),
               [Term(-HALF * LOG_2PI, (), (dim,))],
               scale(-HALF, mul(L, xi, xj)), mul(L, xi, mj),
               scale(-HALF, mul(L, mi, mj)))


def gamma(x, arg, ctx, event):
    a, b, xv = arg(0, ()), arg(1, ()), x(())
    return add(mul(sub(a, const(1)), log_of(xv, (), ctx, "value")), scale(-1, mul(b, xv)),
               mul(a, log_of(b, (), ctx, "rate")),
               lgamma_of("lgamma", a, (), ctx, "shape", -1))


def exponential(x, arg, ctx, event):
    rate, xv = arg(0, ()), x(())
    return add(log_of(rate, (), ctx, "rate"), scale(-1, mul(rate, xv)))


def wishart(x, arg, ctx, event):
    dim = event[0]
    i, j = ctx.fresh(dim), ctx.fresh(dim)
    nu, X, V = arg(0, ()), x((i, j)), arg(1, (i, j))
    size = [Term(Fraction(1), (), (dim,))]
    vinv = constant_only("inv", V, (i, j), ctx, "scale matrix", consumes=0)
    return add(scale(HALF, mul(sub(sub(nu, size), const(1)), logdet_of(X, (i, j), ctx, "value"))),
               scale(-HALF, mul(vinv, X)),
               scale(-HALF * LOG_2, mul(nu, size)),
               scale(-HALF, mul(nu, logdet_of(V, (i, j), ctx, "scale matrix"))),
               scale(-1, constant_only("mvlgamma_half", nu, (), ctx, "degrees of freedom",
                                       arg=dim)))


def dirichlet(x, arg, ctx, event):
    (dim,) = event
    i = ctx.fresh(dim)
    alpha = arg(0, (i,))
    k = ctx.fresh(dim)
    return add(mul(sub(alpha, const(1)), log_of(x((i,)), (i,), ctx, "value")),
               lgamma_of("lgamma_sum", arg(0, (k,)), (k,), ctx, "concentration", 1, consumes=1),
               lgamma_of("lgamma", alpha, (i,), ctx, "concentration", -1))


def categorical(x, arg, ctx, event):
    """``x((i,))`` is the one-hot statistic of the target over category label i."""
    i = ctx.fresh(event[0])
    return mul(x((i,)), log_of(arg(0, (i,)), (i,), ctx, "probability"))


def beta(x, arg, ctx, event):
    a, b, p = arg(0, ()), arg(1, ()), x(())
    return add(mul(sub(a, const(1)), log_of(p, (), ctx, "value")),
               mul(sub(b, const(1)), log_of(p, (), ctx, "value", "log1m")),
               constant_only("lgamma", add(a, b), (), ctx, "shape"),
               scale(-1, constant_only("lgamma", a, (), ctx, "shape")),
               scale(-1, constant_only("lgamma", b, (), ctx, "shape")))


def bernoulli(x, arg, ctx, event):
    p, xv = arg(0, ()), x(())
    return add(mul(xv, log_of(p, (), ctx, "probability")),
               mul(sub(const(1), xv), log_of(p, (), ctx, "probability", "log1m")))


def binomial(x, arg, ctx, event):
    n, p, xv = arg(0, ()), arg(1, ()), x(())
    lchoose = add(constant_only("lgamma1p", n, (), ctx, "number of trials"),
                  scale(-1, constant_only("lgamma1p", xv, (), ctx, "count")),
                  scale(-1, constant_only("lgamma1p", sub(n, xv), (), ctx, "count")))
    return add(lchoose, mul(xv, log_of(p, (), ctx, "probability")),
               mul(sub(n, xv), log_of(p, (), ctx, "probability", "log1m")))


def poisson(x, arg, ctx, event):
    rate, xv = arg(0, ()), x(())
    return add(mul(xv, log_of(rate, (), ctx, "rate")), scale(-1, rate),
               scale(-1, constant_only("lgamma1p", xv, (), ctx, "count")))


DENSITIES = {
    "Normal": normal, "MvNormal": mvnormal, "Gamma": gamma, "Exponential": exponential,
    "Wishart": wishart, "Dirichlet": dirichlet, "Categorical": categorical, "Beta": beta, "Bernoulli": bernoulli,
    "Binomial": binomial, "Poisson": poisson,
}

"""Closed-form posterior predictives (``EXACT``, one rule per likelihood).

Used when the model has one observed factor over one plate, no per-row
latents and no new groups (``predictive.predict_any``); a rule returns None
when its case does not apply, and the Monte Carlo path answers instead.

* Normal(mean, prec): ``mean`` affine in Gaussian latents (degree ≤ 1 in the
  random latents, each with a Normal or MvNormal q).  Under mean field the
  latents are independent, so the predictive mean is the expression at
  their means and the variance of the mean is Σ_L Jᵀ Σ_L J, J = ∂mean/∂L
  (exact for an affine expression; one batched evaluation with unit
  perturbations on the draws axis).  ``prec`` known (a constant, hyper or
  point): Gaussian.  ``prec`` a Gamma q latent: ∫ N(y | m, s + 1/α) q(α) dα
  by the emitted module's quadrature (as for regressions).
* Poisson(rate) with ``rate`` a Gamma q latent (possibly gathered):
  negative binomial.
* Bernoulli(p) / Binomial(n, p) with ``p`` a Beta q latent: Bernoulli of the
  mean / beta-binomial; Categorical(p) with a Dirichlet q: Categorical of the mean.
* Mixtures: one Categorical z[n] gating the observed factor, π Dirichlet
  (or a point): Σ_k E[π_k] p_k(x) with p_k a rule above at z = k — exact,
  since the mixture is linear in π and mean field makes the components
  independent (poisson_mix: negative binomials; LDA: Σ_k θ̄_dk φ̄_kv).
"""
from __future__ import annotations

import numpy as np
from scipy import special as sps
from scipy import stats

from .evaluate import Evaluator
from .language.ast import BinOp, Call, Index, Name, Neg, Num, Slice
from .predict import local_names
from .predictive import NewRows, shaped
from .runtime.new_data import QUAD_NODES, _gamma_scale_mixture_logpdf  # as emitted modules do

MAX_EXACT_ELEMENTS = 2000  # latent elements perturbed for an exact Gaussian variance


def exact_predictive(fit, rows: NewRows):
    """The closed-form predictive of the new rows, or None (see the module docs)."""
    if len(rows.observed) != 1 or rows.new_groups:
        return None
    if local_names(rows.model):
        return exact_mixture(fit, rows)
    factor = rows.observed[0]
    rule = EXACT.get(factor.dist.name)
    if rule is None or len(factor.plates) != 1:
        return None
    context = Context(fit, rows, factor)
    out = rule(context, *factor.dist.args)
    if out is None:
        return None
    mean, var, log_dens, how = out
    size = (rows.dims[rows.row_dim],)  # a global parameter predicts the same for every row
    mean = np.broadcast_to(mean, size + np.shape(mean)[1:]).copy()
    var = np.broadcast_to(var, size + np.shape(var)[1:]).copy()
    name = factor.variable
    return shaped(rows, {"mean": {name: mean}, "var": {name: var}}, f"exact ({how})", 0,
                  log_dens if name in rows.data else None)


def exact_mixture(fit, rows: NewRows):
    """Σ_k π̄_nk p_k(x_n): one Categorical z[n] gating the observed factor; the
    mixture is linear in π (its mean is exact) and, under mean field, each
    component's parameters are independent of the others', so each p_k is
    the closed form of a rule with z fixed at k."""
    names = local_names(rows.model)
    if len(names) != 1:
        return None
    z, factor = names[0], rows.observed[0]
    prior = rows.model.factor_of(z)
    if prior is None or prior.dist.name != "Categorical" or factor.dist.name not in EXACT \
            or len(factor.plates) != 1 or [p.dim for p in prior.plates] != [rows.row_dim]:
        return None
    weights = mixing_weights(Context(fit, rows, prior), prior.dist.args[0])
    parts = None if weights is None else components(fit, rows, factor, z, weights.shape[-1])
    if parts is None:
        return None
    out = {"observed": [factor.variable], "samples": 0, "log_density": None,
           "method": f"exact (mixture of {parts[0][3]})", **mixture_moments(weights, parts)}
    if factor.variable in rows.data:
        out["log_density"] = sps.logsumexp(
            np.stack([p[2] for p in parts], -1), b=weights, axis=-1)
        out["responsibilities"] = fit.local(dict(rows.data))[z]["probs"]
    return out


def components(fit, rows: NewRows, factor, z: str, count: int):
    """The rule's (mean, var, log density, name) with z fixed at each k, or None."""
    parts = []
    for k in range(count):
        ctx = Context(fit, rows, factor)
        ctx.random.discard(z)
        ctx.env[z] = np.full((1, rows.dims[rows.row_dim]), k)
        part = EXACT[factor.dist.name](ctx, *factor.dist.args)
        if part is None:
            return None
        parts.append(part)
    return parts


def mixture_moments(weights, parts) -> dict:
    """Mean and variance of a mixture: Σ w m, Σ w (v + m²) − mean²."""
    def along(w, value):  # a weight per row against a value per row (and event)
        return w.reshape(w.shape + (1,) * (np.ndim(value) - 1)) * value
    mean = sum(along(w, p[0]) for w, p in zip(weights.T, parts))
    var = sum(along(w, p[1] + p[0] ** 2) for w, p in zip(weights.T, parts)) - mean ** 2
    return {"mean": mean, "var": var}


def mixing_weights(ctx, probs_expr):
    """E[π] per row (rows, K): a Dirichlet q's mean, or the value of a point."""
    if degree(probs_expr, ctx.random) == 0:
        probs = ctx.value(probs_expr)[0]
    else:
        alpha = ctx.q_param(probs_expr, "Dirichlet", "concentration")
        if alpha is None:
            return None
        probs = alpha / alpha.sum(-1, keepdims=True)
    return np.broadcast_to(probs, (ctx.rows.dims[ctx.rows.row_dim], probs.shape[-1]))


class Context:
    """The fit, the new rows and the factor: evaluation with latents replaced."""

    def __init__(self, fit, rows, factor):
        self.fit, self.rows, self.factor = fit, rows, factor
        self.random = {n for n, q in fit.posterior.items() if "value" not in q}
        self.env = {n: np.asarray(v)[None] for n, v in fit.result["hypers"].items()}
        self.env.update({n: v[None] for n, v in rows.data.items()})
        for name, q in fit.posterior.items():
            self.env[name] = np.asarray(q["value"] if "value" in q else fit.mean(name))[None]

    def value(self, expr, **replace) -> np.ndarray:
        """expr over (draws, rows) with some latents' arrays replaced."""
        env = dict(self.env, **replace)
        return Evaluator(env, self.rows.dims, self.factor.plates)(expr).array

    def target(self):
        """The new rows' observed values, or None when not given."""
        if self.factor.variable not in self.rows.data:
            return None
        return self.value(self.factor.target)[0]

    def q_param(self, expr, family: str, param: str):
        """A q parameter of the one latent ``expr`` names (gathers allowed), per row;
        None unless ``expr`` is exactly such a latent with that q family."""
        name = bare_latent(expr, self.random)
        if name is None or self.fit.family(name) != family:
            return None
        return self.value(expr, **{name: np.asarray(self.fit.posterior[name][param])[None]})[0]


def bare_latent(expr, random: set):
    """The random latent ``expr`` is (``L`` or ``L[i]`` with non-random indices)."""
    if isinstance(expr, Name) and expr.id in random:
        return expr.id
    if isinstance(expr, Index) and isinstance(expr.base, Name) and expr.base.id in random \
            and all(degree(i, random) == 0 for i in expr.indices):
        return expr.base.id
    return None


def degree(expr, random: set) -> float:
    """Polynomial degree of ``expr`` in the random latents (inf: not polynomial)."""
    if isinstance(expr, Num):
        return 0
    if isinstance(expr, Name):
        return 1 if expr.id in random else 0
    if isinstance(expr, Neg):
        return degree(expr.operand, random)
    if isinstance(expr, Index):
        inner = max((degree(i, random) for i in expr.indices if not isinstance(i, Slice)),
                    default=0)
        return degree(expr.base, random) if inner == 0 else float("inf")
    if isinstance(expr, BinOp):
        left, right = degree(expr.left, random), degree(expr.right, random)
        if expr.op in "+-":
            return max(left, right)
        if expr.op == "/":
            return left if right == 0 else float("inf")
        return left + right
    if isinstance(expr, Call):
        args = [degree(a, random) for a in expr.args]
        if expr.func in ("dot",):
            return sum(args)
        if expr.func in ("sum", "diag", "zeros", "ones", "eye"):
            return max(args, default=0)
        return 0 if not any(args) else float("inf")
    return float("inf")


def latents_in(expr, random: set) -> set:
    """The random latents ``expr`` mentions."""
    found = set()

    def walk(e):
        if isinstance(e, Name) and e.id in random:
            found.add(e.id)
        for child in getattr(e, "__dict__", {}).values():
            for item in child if isinstance(child, tuple) else (child,):
                if hasattr(item, "span"):
                    walk(item)
    walk(expr)
    return found


# ------------------------------------------------------------------- rules
def normal_rule(ctx: Context, mean_expr, prec_expr):
    """Normal: Gaussian (known precision) or normal-gamma scale mixture."""
    names = latents_in(mean_expr, ctx.random)
    if degree(mean_expr, ctx.random) > 1 or any(
            ctx.fit.family(n) not in ("Normal", "MvNormal") for n in names):
        return None
    mean = ctx.value(mean_expr)[0]
    spread = np.zeros_like(mean)
    for name in names:
        part = affine_variance(ctx, mean_expr, name, mean)
        if part is None:
            return None
        spread = spread + part
    y = ctx.target()
    if degree(prec_expr, ctx.random) == 0:
        var = spread + 1.0 / ctx.value(prec_expr)[0]
        dens = None if y is None else stats.norm.logpdf(y, mean, np.sqrt(var))
        return mean, var, dens, "normal"
    a = ctx.q_param(prec_expr, "Gamma", "shape")
    b = ctx.q_param(prec_expr, "Gamma", "rate")
    if a is None or np.ptp(a) > 0 or np.ptp(b) > 0:
        return None
    a, b = float(a.flat[0]), float(b.flat[0])
    var = spread + (b / (a - 1.0) if a > 1.0 else np.inf)
    if y is None:
        return mean, var, None, "normal-gamma scale mixture"
    dens = _gamma_scale_mixture_logpdf(y, mean, spread, a, b)
    return mean, var, dens, f"normal-gamma scale mixture, {QUAD_NODES}-node quadrature"


def affine_variance(ctx: Context, expr, name: str, mean: np.ndarray):
    """Σ_blocks Jᵀ Σ J of an expression affine in latent ``name``, per row."""
    q = ctx.fit.posterior[name]
    centre = np.asarray(ctx.fit.mean(name), dtype=float)
    size = centre.size
    if size > MAX_EXACT_ELEMENTS:
        return None
    bumps = centre[None] + np.eye(size).reshape((size,) + centre.shape)
    jac = ctx.value(expr, **{name: bumps}) - mean[None]  # (elements, rows)
    if ctx.fit.family(name) == "Normal":
        return np.einsum("en,e->n", jac ** 2, 1.0 / np.asarray(q["precision"]).reshape(-1))
    dim = centre.shape[-1]
    cov = np.broadcast_to(q["cov"], centre.shape + (dim,)).reshape(-1, dim, dim)
    jac = jac.reshape(-1, dim, jac.shape[-1])
    return np.einsum("bin,bij,bjn->n", jac, cov, jac)


def poisson_rule(ctx: Context, rate_expr):
    """Poisson with a Gamma q rate: negative binomial NB(a, b / (b + 1))."""
    a = ctx.q_param(rate_expr, "Gamma", "shape")
    b = ctx.q_param(rate_expr, "Gamma", "rate")
    if a is None:
        return None
    y = ctx.target()
    dens = None if y is None else (sps.gammaln(y + a) - sps.gammaln(a) - sps.gammaln(y + 1)
                                   + a * np.log(b / (b + 1.0)) - y * np.log1p(b))
    return a / b, a / b + a / b ** 2, dens, "negative binomial"


def bernoulli_rule(ctx: Context, p_expr):
    """Bernoulli with a Beta q probability: Bernoulli(a / (a + b))."""
    a = ctx.q_param(p_expr, "Beta", "a")
    b = ctx.q_param(p_expr, "Beta", "b")
    if a is None:
        return None
    p, y = a / (a + b), ctx.target()
    dens = None if y is None else sps.xlogy(y, p) + sps.xlog1py(1 - y, -p)
    return p, p * (1 - p), dens, "Bernoulli of the Beta mean"


def binomial_rule(ctx: Context, trials_expr, p_expr):
    """Binomial with a Beta q probability: beta-binomial."""
    a = ctx.q_param(p_expr, "Beta", "a")
    b = ctx.q_param(p_expr, "Beta", "b")
    if a is None or degree(trials_expr, ctx.random) != 0:
        return None
    n, y = ctx.value(trials_expr)[0], ctx.target()
    mean = n * a / (a + b)
    var = n * a * b * (a + b + n) / ((a + b) ** 2 * (a + b + 1))
    dens = None if y is None else (sps.gammaln(n + 1) - sps.gammaln(y + 1) - sps.gammaln(n - y + 1)
                                   + sps.betaln(y + a, n - y + b) - sps.betaln(a, b))
    return mean, var, dens, "beta-binomial"


def categorical_rule(ctx: Context, probs_expr):
    """Categorical with a Dirichlet q probability vector: Categorical(α / Σα);
    the "mean" and "var" are those of the one-hot vector."""
    alpha = ctx.q_param(probs_expr, "Dirichlet", "concentration")
    if alpha is None:
        return None
    p, y = alpha / alpha.sum(-1, keepdims=True), ctx.target()
    p = np.broadcast_to(p, (ctx.rows.dims[ctx.rows.row_dim], p.shape[-1]))
    dens = None if y is None else np.log(np.take_along_axis(
        p, np.asarray(y, dtype=np.intp).reshape(-1, 1), axis=-1)[:, 0])
    return p, p * (1 - p), dens, "Dirichlet-categorical"


EXACT = {"Normal": normal_rule, "Poisson": poisson_rule, "Bernoulli": bernoulli_rule,
         "Binomial": binomial_rule, "Categorical": categorical_rule}

"""Questions a fitted model answers about new data, without refitting.

Three operations, all with the fit's global posteriors held fixed:

``local(fit, new_data)``
    The posterior of the *local* latents of new rows (the mixture
    responsibilities of new x).  A latent is local when one of its plates is
    the leading axis of the data arrays (the observation plate: N of
    ``x[N, D]``, T of ``word[T]``); every other latent is global.  The update
    is the emitted module's own update of that latent — the same message, with
    the fit's expectations for the globals and the new data bound — so it is
    the exact closed-form "amortized" map x ↦ q(z | x).  Several coupled local
    latents are iterated to a fixed point; a single one needs one step.

``predict(fit, new_data)``
    The posterior predictive, integrating over q (never a plug-in of means):

    * regression — a data factor ``y[n] ~ Normal(dot(X[n], w), prec)`` with
      w MvNormal (or a point) and prec a Gamma latent, a point, a hyper or a
      number.  Predictive mean xᵀE[w]; variance xᵀΣx + E[1/α]
      (= b/(a − 1) for q(α) = Gamma(a, b), infinite when a ≤ 1).  Density:
      Gaussian N(xᵀm, xᵀΣx + 1/α) when α is known or a point; Student-t
      t_{2a}(xᵀŵ, b/a) — exact — when w is a point and q(α) Gamma; and when
      both are random (mean field q(w) q(α)) the exact density
      ∫ N(y | xᵀm, xᵀΣx + 1/α) q(α) dα, which is not a Student-t, by
      Gauss–Legendre quadrature in log α over q(α)'s central 1 − 2·10⁻¹⁵
      (``QUAD_NODES`` nodes; agrees with adaptive quadrature to ~1e-13).
    * mixtures — exactly one Categorical local latent per observation row and
      no other local latents.  p(x | q) = E_q[Σ_k π_k p(x | θ_k)]: the
      Dirichlet mixing weights enter linearly, so they are replaced by their
      mean probabilities (exact); points are plugged in (exact); any other
      random global (a Wishart Λ_k, a Gaussian μ_k, a Gamma rate) is
      integrated by Monte Carlo from q with ``samples`` draws (default
      ``MC_SAMPLES``, seeded): log p̂ = logsumexp_s log p(x | θ_s) − log S.
      The result says which ("exact" or "monte carlo", and the sample count).
      The per-draw log p(x | θ) is logsumexp_k of the local latent's own
      update coefficients evaluated at the draw (they hold the full
      log π_k + log p(x | θ_k), constants included).

``score(fit, new_data)``
    The log predictive density of each new row (the array ``predict`` gives
    as ``log_density``; regression needs y in the new data).

Other model shapes raise ``VmpError`` saying what is supported.  The emitted
standalone module does not carry these functions (yet): they live here and
call into the module's ``bind_data``, ``UPDATES`` and family tables.
"""
from __future__ import annotations

import numpy as np
from scipy import special as sps

from .errors import VmpDataError, VmpError
from .language.ast import Call, Index, Name, Num

MC_SAMPLES = 2000
QUAD_NODES = 128
SUPPORTED = ("supported model shapes: regressions with a factor "
             "'y[n] ~ Normal(dot(X[n], w), prec)' (w MvNormal latent or point; prec a Gamma "
             "latent, a point, a hyper or a number), and mixtures with one Categorical "
             "local latent per observation (z[n] ~ Categorical(...) gating the data's "
             "factors), e.g. gmm, gmm_em, poisson_mix")


# ------------------------------------------------------------------- local
def _module(fit):
    return fit.model._compiled.module


def local_latents(fit) -> list:
    return _module(fit).local_latents()


def _bind(fit, new_data: dict):
    """Bind new data, with every global dim taken from the fit and checked."""
    module = _module(fit)
    try:
        return module._bind_new(fit.result, new_data)
    except module.DataError as err:
        raise VmpDataError(str(err)) from None


def local(fit, new_data: dict, max_iter: int = 500, tol: float = 1e-12) -> dict:
    """The posterior of the local latents of new rows, globals held fixed
    (the emitted module's own ``local``, so the package and the module agree)."""
    module = _module(fit)
    if not module.local_latents():
        raise VmpError(f"model '{fit.model.name}' has no local latents (latents plated "
                       f"over the observation plate), so there is nothing to infer per "
                       f"new row; use predict() for the predictive distribution")
    try:
        return module.local(fit.result, new_data, max_iter=max_iter, tol=tol)
    except module.DataError as err:
        raise VmpDataError(str(err)) from None


# ----------------------------------------------------------------- predict
def predict(fit, new_data: dict, samples: int = MC_SAMPLES, seed: int = 0) -> dict:
    """The posterior predictive for new data (see the module docs)."""
    shape = regression_shape(fit)
    if shape is not None:
        return _predict_regression(fit, new_data, shape)
    if _mixture_latent(fit) is not None:
        return _predict_mixture(fit, new_data, samples, seed)
    raise VmpError(f"predict does not support model '{fit.model.name}'; {SUPPORTED}")


def score(fit, new_data: dict, samples: int = MC_SAMPLES, seed: int = 0) -> np.ndarray:
    """log p(new row | training data) under q, one value per new row."""
    result = predict(fit, new_data, samples, seed)
    if result.get("log_density") is None:
        raise VmpDataError(f"score needs the observed variable '{result['observed']}' "
                           f"in the new data")
    return result["log_density"]


# -------------------------------------------------------------- regression
def regression_shape(fit):
    """(y, X, w, prec) names of a factor y[n] ~ Normal(dot(X[n], w), prec), or None."""
    checked = fit.model.checked
    for factor in checked.factors:
        var = checked.variables.get(factor.variable)
        if var is None or var.role != "data" or factor.dist.name != "Normal":
            continue
        if len(factor.plates) != 1 or len(factor.dist.args) != 2:
            continue
        plate = factor.plates[0].index
        target = factor.target
        if not (isinstance(target, Index) and len(target.indices) == 1
                and isinstance(target.indices[0], Name) and target.indices[0].id == plate):
            continue
        mean, prec = factor.dist.args
        if not (isinstance(mean, Call) and mean.func == "dot" and len(mean.args) == 2):
            continue
        pair = _design_and_weights(mean.args, plate, checked)
        if pair is None:
            continue
        if isinstance(prec, Num):
            return factor.variable, pair[0], pair[1], float(prec.value)
        if isinstance(prec, Name) and _precision_ok(prec.id, fit):
            return factor.variable, pair[0], pair[1], prec.id
    return None


def _design_and_weights(args, plate, checked):
    for a, b in (args, args[::-1]):
        if (isinstance(a, Index) and isinstance(a.base, Name) and len(a.indices) == 1
                and isinstance(a.indices[0], Name) and a.indices[0].id == plate
                and isinstance(b, Name)):
            x_var, w_var = checked.variables.get(a.base.id), checked.variables.get(b.id)
            if (x_var is not None and x_var.role == "data" and w_var is not None
                    and w_var.family == "MvNormal" and w_var.role in ("latent", "point")
                    and not w_var.plates):
                return a.base.id, b.id
    return None


def _precision_ok(name, fit):
    var = fit.model.checked.variables.get(name)
    if var is None or var.plates or var.event:
        return False
    return var.role == "hyper" or (var.role in ("latent", "point") and var.family == "Gamma")


def _predict_regression(fit, new_data, shape):
    from scipy import stats  # here, so that importing this module stays cheap
    y_name, x_name, w_name, prec = shape
    if not isinstance(new_data, dict) or x_name not in new_data:
        raise VmpDataError(f"predict needs the inputs '{x_name}' in the new data")
    D = fit.dims[_weights_dim(fit, w_name)]
    X = np.asarray(new_data[x_name], dtype=float)
    if X.ndim == 1 and X.shape[0] == D:
        X = X[None, :]
    if X.ndim != 2 or X.shape[1] != D or not np.all(np.isfinite(X)):
        raise VmpDataError(f"'{x_name}' must be a finite (rows, {D}) array, got shape {X.shape}")
    q_w = fit.posterior[w_name]
    if "value" in q_w:
        mean_w, cov_w = np.asarray(q_w["value"]), np.zeros((D, D))
    else:
        mean_w, cov_w = np.asarray(q_w["mean"]), np.asarray(q_w["cov"])
    mean = X @ mean_w
    spread = np.einsum("ni,ij,nj->n", X, cov_w, X)
    y = new_data.get(y_name)
    if y is not None:
        y = np.asarray(y, dtype=float).reshape(-1)
        if y.shape != mean.shape or not np.all(np.isfinite(y)):
            raise VmpDataError(f"'{y_name}' must be {mean.shape[0]} finite values to score")
    out = {"observed": y_name, "mean": mean}
    q_prec = None if not isinstance(prec, str) else fit.posterior.get(prec)
    if q_prec is None or "value" in q_prec:
        alpha = float(prec) if not isinstance(prec, str) else (
            float(np.asarray(fit.result["hypers"][prec])) if q_prec is None
            else float(q_prec["value"]))
        out.update(var=spread + 1.0 / alpha, distribution="normal (exact)")
        if y is not None:
            out["log_density"] = stats.norm.logpdf(y, mean, np.sqrt(out["var"]))
        return out
    a, b = float(q_prec["shape"]), float(q_prec["rate"])
    noise_var = b / (a - 1.0) if a > 1.0 else np.inf
    out["var"] = spread + noise_var
    if not np.any(spread > 0):
        out["distribution"] = f"student-t, df {2 * a:.6g} (exact)"
        out.update(df=2 * a, scale=np.full_like(mean, np.sqrt(b / a)))
        if y is not None:
            out["log_density"] = stats.t.logpdf(y, 2 * a, mean, np.sqrt(b / a))
        return out
    out["distribution"] = (f"normal-gamma scale mixture (not a Student-t under mean field); "
                           f"density by {QUAD_NODES}-node quadrature over q({prec})")
    if y is not None:
        out["log_density"] = _gamma_scale_mixture_logpdf(y, mean, spread, a, b)
    return out


def _weights_dim(fit, w_name):
    return fit.model.checked.variables[w_name].event[0]


def _gamma_scale_mixture_logpdf(y, mean, spread, a, b):
    """log ∫ N(y | mean, spread + 1/α) Gamma(α | a, b) dα by Gauss–Legendre in
    u = log α over the central 1 − 2·1e-15 of q(α) (a smooth, analytic
    integrand on a finite interval: the rule converges geometrically)."""
    from scipy import stats
    gamma = stats.gamma(a, scale=1.0 / b)
    lo, hi = np.log(gamma.ppf(1e-15)), np.log(gamma.isf(1e-15))
    nodes, weights = np.polynomial.legendre.leggauss(QUAD_NODES)
    u = lo + 0.5 * (hi - lo) * (nodes + 1.0)
    log_w = np.log(0.5 * (hi - lo) * weights) + gamma.logpdf(np.exp(u)) + u
    var = spread[:, None] + np.exp(-u)[None, :]
    logpdf = -0.5 * (np.log(2 * np.pi * var) + (y - mean)[:, None] ** 2 / var)
    return sps.logsumexp(logpdf + log_w[None, :], axis=1)


# ---------------------------------------------------------------- mixtures
def _mixture_latent(fit):
    """The one Categorical local latent of a mixture, or None."""
    module = _module(fit)
    names = local_latents(fit)
    if len(names) != 1:
        return None
    row = next(r for r in module.LATENTS if r[0] == names[0])
    return names[0] if row[1] == "Categorical" and not row[4] else None


def _mixing_weights(fit, z):
    """The Dirichlet latent that is z's direct prior (Categorical(pi)), if any."""
    checked = fit.model.checked
    for factor in checked.factors:
        if factor.variable == z and factor.dist.args and isinstance(factor.dist.args[0], Name):
            var = checked.variables.get(factor.dist.args[0].id)
            if var is not None and var.family == "Dirichlet" and var.role == "latent":
                return var.name
    return None


def _predict_mixture(fit, new_data, samples, seed):
    module = _module(fit)
    z = _mixture_latent(fit)
    dim, data = _bind(fit, new_data)
    q, E, K, hyper = module.fixed_state(fit.result, dim, data)
    update = next(r[3] for r in module.UPDATES if r[0] == z)
    weights = _mixing_weights(fit, z)
    functions = module.FAMILY_FUNCTIONS
    rows = {r[0]: r for r in module.LATENTS}
    plug, random = {}, []
    for name, params in fit.posterior.items():
        if name == z:
            continue
        family, point = rows[name][1], rows[name][4]
        if point:
            continue  # E already holds the plug-in statistics
        if name == weights:
            mean = params["concentration"] / params["concentration"].sum(-1, keepdims=True)
            plug[name] = functions[family]["point_expectations"](mean)
        else:
            random.append((name, family, params))
    E = dict(E, **plug)
    responsibilities = local(fit, new_data)[z]["probs"]
    if not random:
        log_density = sps.logsumexp(update(E, K, data, hyper, dim)["onehot"], axis=-1)
        return {"observed": [s[0] for s in module.DATA_SPEC], "log_density": log_density,
                "method": "exact", "samples": 0, "responsibilities": responsibilities}
    if not (isinstance(samples, (int, np.integer)) and samples >= 1):
        raise VmpDataError(f"samples must be a positive whole number, got {samples!r}")
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(samples):
        E_s = dict(E)
        for name, family, params in random:
            E_s[name] = functions[family]["point_expectations"](
                functions[family]["sample"](params, rng))
        draws.append(sps.logsumexp(update(E_s, K, data, hyper, dim)["onehot"], axis=-1))
    log_density = sps.logsumexp(np.stack(draws), axis=0) - np.log(samples)
    sampled = ", ".join(name for name, *_ in random)
    return {"observed": [s[0] for s in module.DATA_SPEC], "log_density": log_density,
            "method": f"monte carlo over q({sampled}), {samples} draws (seed {seed})",
            "samples": samples, "responsibilities": responsibilities}

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
      Where each component's predictive has a closed form (a Poisson with a
      Gamma rate, a Categorical with a Dirichlet, …) the package computes
      the mixture exactly instead (``predictive_exact.exact_mixture``).
      The per-draw log p(x | θ) is logsumexp_k of the local latent's own
      update coefficients evaluated at the draw (they hold the full
      log π_k + log p(x | θ_k), constants included).

    * hidden Markov chains — one Categorical chain latent (hmm): per new
      sequence, the one-step-ahead predictive log p(x_t | x_{<t}), the
      filtered states p(z_t | x_{≤t}) and log p(x) (``log_density``), from a
      forward pass per draw of the globals from q (exact when they are all
      points); see runtime/chains.py.  ``local`` gives the smoothed
      q(z) of new sequences (forward–backward with the globals fixed).

``score(fit, new_data)``
    The log predictive density of each new row (the array ``predict`` gives
    as ``log_density``; regression needs y in the new data).

Other model shapes are answered by ``vmpdsl.predictive`` (closed forms where
they exist, otherwise Monte Carlo from q, stated in the result).

Which shape a model has is decided here, once, at compile time (``plan``);
the emitted module carries the plan as its ``PREDICTIVE`` table and the
numerics as its own ``local``, ``predict`` and ``score`` (runtime.py), so a
standalone module answers the same questions and the package only delegates.
"""
from __future__ import annotations

import numpy as np

from .data_in import as_data_dict
from .derive.pairs import self_gated
from .errors import VmpDataError, VmpError
from .language.ast import Call, Index, Name, Num
from .language.model import CheckedModel

MC_SAMPLES = 2000
MAX_SAMPLES = 100_000  # Monte Carlo draws; more cannot move an answer, only hang

# ------------------------------------------------------ the plan (compile time)
def plan(model: CheckedModel):
    """``("regression", y, X, w, prec, D)``, ``("mixture", z, weights)`` or None."""
    chain = next((name for name in local_names(model) if name in model.chains
                  and model.variables[name].family == "Categorical"), None)
    if chain is not None:  # a hidden Markov chain: runtime/chains.py
        return ("chain", chain) if len(local_names(model)) == 1 else None
    shape = regression_shape(model)
    if shape is not None:
        return ("regression",) + shape + (model.variables[shape[2]].event[0],)
    z = mixture_latent(model)
    if z is not None:
        return ("mixture", z, mixing_weights(model, z))
    return None


def local_names(model: CheckedModel) -> list:
    """Latents plated over an observation plate (a leading axis of the data)."""
    rows = {v.shape[0] for v in model.by_role("data") if v.shape and isinstance(v.shape[0], str)}
    return [v.name for v in model.variables.values()
            if v.role in ("latent", "point") and set(v.plates) & rows]


def regression_shape(model: CheckedModel):
    """(y, X, w, prec) names of a factor y[n] ~ Normal(dot(X[n], w), prec), or None."""
    for factor in model.factors:
        var = model.variables.get(factor.variable)
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
        pair = design_and_weights(mean.args, plate, model)
        if pair is None:
            continue
        if isinstance(prec, Num):
            return factor.variable, pair[0], pair[1], float(prec.value)
        if isinstance(prec, Name) and precision_ok(prec.id, model):
            return factor.variable, pair[0], pair[1], prec.id
    return None


def design_and_weights(args, plate, model):
    """(X, w) of ``dot(X[n], w)`` (either order) with w a global MvNormal, or None."""
    for a, b in (args, args[::-1]):
        if (isinstance(a, Index) and isinstance(a.base, Name) and len(a.indices) == 1
                and isinstance(a.indices[0], Name) and a.indices[0].id == plate
                and isinstance(b, Name)):
            x_var, w_var = model.variables.get(a.base.id), model.variables.get(b.id)
            if (x_var is not None and x_var.role == "data" and w_var is not None
                    and w_var.family == "MvNormal" and w_var.role in ("latent", "point")
                    and not w_var.plates):
                return a.base.id, b.id
    return None


def precision_ok(name, model):
    """Whether ``name`` is a scalar hyper or a scalar Gamma latent / point."""
    var = model.variables.get(name)
    if var is None or var.plates or var.event:
        return False
    return var.role == "hyper" or (var.role in ("latent", "point") and var.family == "Gamma")


def mixture_latent(model):
    """The one Categorical local latent of a mixture, or None."""
    names = local_names(model)
    if len(names) != 1 or names[0] in model.chains or names[0] in self_gated(model):
        return None
    var = model.variables[names[0]]
    return names[0] if var.family == "Categorical" and var.role == "latent" else None


def mixing_weights(model, z):
    """The Dirichlet latent that is z's direct prior (Categorical(pi)), if any."""
    for factor in model.factors:
        if factor.variable == z and factor.dist.args and isinstance(factor.dist.args[0], Name):
            var = model.variables.get(factor.dist.args[0].id)
            if var is not None and var.family == "Dirichlet" and var.role == "latent":
                return var.name
    return None


# ------------------------------------------------------ the package's face
def _call(fit, function, *args, **kwargs):
    """The emitted module's answer for new rows; its errors, and an answer that
    overflowed (new data far off the training scale), become VmpDataErrors."""
    module = fit.model._compiled.module
    new_data = args[0]
    try:
        with np.errstate(over="ignore", invalid="ignore"):  # judged below, as a whole
            answer = getattr(module, function)(fit.result, new_data, *args[1:], **kwargs)
    except module.DataError as err:
        raise VmpDataError(str(err)) from None
    except module.FitError as err:
        raise VmpDataError(f"the new rows cannot be fitted: {err}; are they on the scale "
                           f"of the training data?") from None
    bad = next((key for key, value in _arrays(answer) if not np.all(np.isfinite(value))), None)
    if bad is not None:
        raise VmpDataError(f"the {function} of the new rows is not finite ({bad} overflows); "
                           f"are they on the scale of the training data?")
    return answer


def new_rows(fit, new_data, samples=None):
    """The new rows as a dict of arrays (a DataFrame, as for fit), checked
    before any path computes with them; the Monte Carlo draws bounded."""
    if samples is not None and not (isinstance(samples, (int, np.integer))
                                    and not isinstance(samples, bool)
                                    and 1 <= samples <= MAX_SAMPLES):
        raise VmpDataError(f"samples must be a whole number from 1 to {MAX_SAMPLES:,}, "
                           f"got {samples!r}")
    names = [v.name for v in fit.model.checked.by_role("data")]
    new_data = as_data_dict(new_data, names)
    check_new_arrays(new_data, names)
    return new_data


def check_new_arrays(new_data, names: list):
    """The model's arrays among the new rows: numbers, and at least one row."""
    if not isinstance(new_data, dict):
        return  # the module says what it needs
    for name in names:
        if name not in new_data:
            continue
        try:
            kind = np.asarray(new_data[name]).dtype.kind
        except ValueError:  # ragged
            kind = "O"
        if kind not in "biuf":
            raise VmpDataError(f"'{name}' of the new rows must be an array of real numbers")
        if np.ndim(new_data[name]) and np.shape(new_data[name])[0] == 0:
            raise VmpDataError(f"'{name}' of the new rows has no rows")


def _arrays(answer, prefix=""):
    """(key, float array) pairs of a nested answer."""
    items = answer.items() if isinstance(answer, dict) else [("", answer)]
    for key, value in items:
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from _arrays(value, f"{name}.")
        elif isinstance(value, np.ndarray) and value.dtype.kind == "f":
            yield name or "the result", value


def local(fit, new_data: dict, max_iter: int = 500, tol: float = 1e-12) -> dict:
    """The posterior of the local latents of new rows, globals held fixed."""
    if not local_names(fit.model.checked):
        raise VmpError(f"model '{fit.model.name}' has no local latents (latents plated "
                       f"over the observation plate), so there is nothing to infer per "
                       f"new row; use predict() for the predictive distribution")
    return _call(fit, "local", new_rows(fit, new_data), max_iter=max_iter, tol=tol)


def predict(fit, new_data: dict, samples: int = MC_SAMPLES, seed: int = 0) -> dict:
    """The posterior predictive for new data (see the module docs)."""
    new_data = new_rows(fit, new_data, samples)
    shape = fit.model._compiled.module.PREDICTIVE
    if shape is None and fit.model.checked.chains:  # a Gaussian chain (a Categorical's is "chain")
        raise VmpError(f"predict of model '{fit.model.name}' is not supported: its chain "
                       f"is not a Categorical one; fit.local(new_data) gives the smoothed "
                       f"states of new sequences")
    if shape is None:
        from .predictive import predict_any
        return predict_any(fit, new_data, samples, seed)
    if shape[0] == "mixture":  # a closed form where the emitted code would sample
        from .predictive import NewRows, predict_any
        from .predictive_exact import exact_predictive
        rows = NewRows(fit, new_data)
        if rows.new_groups:  # unseen groups (a new document): drawn from their prior
            return predict_any(fit, new_data, samples, seed)
        exact = exact_predictive(fit, rows)
        if exact is not None:
            return exact
    return _call(fit, "predict", new_data, samples=samples, seed=seed)


def score(fit, new_data: dict, samples: int = MC_SAMPLES, seed: int = 0) -> np.ndarray:
    """log p(new row | training data) under q, one value per new row."""
    new_data = new_rows(fit, new_data, samples)
    if fit.model._compiled.module.PREDICTIVE is None:
        out = predict(fit, new_data, samples, seed)
        if out["log_density"] is None:
            raise VmpDataError(f"score needs the observed data ({out['observed']}) "
                               f"in the new data")
        return out["log_density"]
    return _call(fit, "score", new_data, samples=samples, seed=seed)

"""``Fit.to_arviz``: draws from q as ArviZ data (optional extra ``.[arviz]``).

Groups: ``posterior`` (one chain of ``draws`` independent draws from q — not
MCMC: every draw is exact and independent, so r_hat is 1 and ess ≈ draws),
``sample_stats`` (``elbo``, the trace over the sweeps, on its own dim
``iteration``), ``observed_data`` (the arrays observed through ``~``) and
``constant_data`` (the other data arrays, e.g. regressors and group
indices), when the fit holds its data, and — for models without per-row
latents — ``log_likelihood`` (log p(x_i | θ_s) per observation and draw, for
``az.loo`` and ``az.waic``).  Dims are named after the model's
plates and shapes (``mu``: ``("K", "D")``); a dim repeated within one
variable gets a suffix (a Wishart's ``("D", "D_1")``); coords are 0 .. size−1.

Targets ArviZ 0.x (``InferenceData``, what ``pip install arviz`` gives on
Python 3.11; tested) and ArviZ ≥ 1 (``from_dict`` of groups, a DataTree).
"""
from __future__ import annotations

import numpy as np

from .errors import VmpError


def to_arviz(fit, draws: int = 1000, seed: int | None = 0):
    """The fit as ArviZ data (see the module docs)."""
    try:
        import arviz as az
    except ImportError:
        raise VmpError("to_arviz needs ArviZ: pip install 'vmpdsl[arviz]'") from None
    model = fit.model.checked
    sample = fit.sample(draws, seed)
    groups = {"posterior": {name: value[None] for name, value in sample.items()},
              "sample_stats": {"elbo": np.asarray(fit.elbo)[None, None, :]}}
    dims = {name: dim_names(name, model.variables[name].shape, value.shape[1:])
            for name, value in sample.items()}
    dims["elbo"] = ["iteration"]
    data = fit.data or {}
    for group, observed in (("observed_data", True), ("constant_data", False)):
        arrays = {v.name: np.asarray(data[v.name]) for v in model.by_role("data")
                  if v.name in data and (v.family is not None) == observed}
        if arrays:
            groups[group] = arrays
            dims.update({name: dim_names(name, model.variables[name].shape, a.shape)
                         for name, a in arrays.items()})
    log_lik = log_likelihood(fit, sample)
    if log_lik:
        groups["log_likelihood"] = {name: value[None] for name, value in log_lik.items()}
    coords = {d: np.arange(size) for d, size in fit.dims.items()}
    attrs = {"inference_library": "vmpdsl", "model": fit.model.name,
             "method": "variational message passing (mean field); independent draws from q",
             "converged": int(fit.converged), "iterations": int(fit.iterations)}
    if int(az.__version__.split(".")[0]) >= 1:
        return az.from_dict(groups, coords=coords, dims=dims, attrs=attrs)
    return az.from_dict(**groups, coords=coords, dims=dims, attrs=attrs)


def log_likelihood(fit, sample: dict) -> dict:
    """log p(x_i | θ_s) of every observation at every draw, for ``az.loo``/``az.waic``:
    only for models without per-row latents (their likelihood would need z
    integrated out) and when the fit holds its data."""
    from .predict import local_names
    from .predictive import NewRows, log_density
    model = fit.model.checked
    if not fit.data or local_names(model):
        return {}
    rows = NewRows(fit, fit.data)
    env = {name: np.asarray(v)[None] for name, v in fit.result["hypers"].items()}
    env.update({name: v[None] for name, v in rows.data.items()})
    env.update({name: np.asarray(q["value"])[None] for name, q in fit.posterior.items()
                if "value" in q})
    env.update({name: v for name, v in sample.items() if "value" not in fit.posterior[name]})
    return {f.variable: log_density(f, env, rows.dims) for f in rows.given}


def dim_names(name: str, shape: tuple, sizes: tuple) -> list:
    """Dim names of a variable's axes; fixed sizes and repeats get distinct names."""
    names = []
    for axis, (dim, size) in enumerate(zip(shape, sizes)):
        base = label = dim if isinstance(dim, str) else f"{name}_dim_{axis}"
        repeat = 0
        while label in names:
            repeat += 1
            label = f"{base}_{repeat}"
        names.append(label)
    return names

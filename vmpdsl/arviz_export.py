"""``Fit.to_arviz``: draws from q as ArviZ data (optional extra ``.[arviz]``).

Groups: ``posterior`` (one chain of ``draws`` independent draws from q — not
MCMC: every draw is exact and independent, so r_hat is 1 and ess ≈ draws),
``sample_stats`` (``elbo``, the trace over the sweeps, on its own dim
``iteration``), ``observed_data`` (the arrays observed through ``~``) and
``constant_data`` (the other data arrays, e.g. regressors and group
indices), when the fit holds its data.  Dims are named after the model's
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
    coords = {d: np.arange(size) for d, size in fit.dims.items()}
    attrs = {"inference_library": "vmpdsl", "model": fit.model.name,
             "method": "variational message passing (mean field); independent draws from q",
             "converged": int(fit.converged), "iterations": int(fit.iterations)}
    if int(az.__version__.split(".")[0]) >= 1:
        return az.from_dict(groups, coords=coords, dims=dims, attrs=attrs)
    return az.from_dict(**groups, coords=coords, dims=dims, attrs=attrs)


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

"""The posterior predictive of any model, for the shapes ``predict.plan`` does
not cover (those keep the emitted module's exact regression and mixture code).

For new rows, each observed factor's predictive integrates over q:

* **exact** when the model has one observed factor over one plate and a
  closed form exists (``EXACT``): a Normal whose mean is affine in Gaussian
  latents (``dot(X[n], w) + b``, ``theta[g[n]]``; mean field makes their
  variances add) with a known precision (Gaussian) or a Gamma q precision
  (the exact normal–gamma scale mixture by quadrature, as for regressions);
  Poisson with a Gamma q rate (negative binomial); Bernoulli and Binomial
  with a Beta q probability (Bernoulli of the mean, beta-binomial).
* otherwise **Monte Carlo**: S draws θ_s of the global latents from q; a
  per-row latent of the new rows (``z[n]``, ``theta[i]`` of new pumps) is
  drawn from its q given the new rows (``Fit.local``, the globals held at
  q) and importance-weighted by prior / q, or drawn from its prior when the
  new data lack the observations; log p(x_n) ≈ logmeanexp_s of
  log p(x_n, z_s | θ_s) − log q(z_s).  The result says so and gives S.
* a gather by an index the fit never saw (``theta[g[n]]`` with a new group)
  draws that element from its prior given the drawn parents (Monte Carlo).

Every quantity is per row of the observation plate: the log density of each
row (``log_density``, when the new data hold the observed arrays) and the
predictive mean and variance of the observed arrays that are not given.
Factor arguments are evaluated by ``evaluate.Evaluator``; families come from
the records (``log_density``, ``sample``/``simulate``).
"""
from __future__ import annotations

import numpy as np
from scipy import special as sps

from .errors import VmpDataError, VmpError
from .evaluate import Evaluator
from .families.registry import FAMILIES
from .language.distributions import DISTRIBUTIONS
from .posterior import latent_draws
from .predict import local_names


# ----------------------------------------------------------------- binding
class NewRows:
    """New data bound to the fitted model: sizes, arrays, which targets are given."""

    def __init__(self, fit, new_data: dict):
        if not isinstance(new_data, dict):
            raise VmpDataError("new data must be a dict of arrays by name")
        self.model = fit.model.checked
        self.dims = dict(fit.dims)
        self.observed = [f for f in self.model.factors
                         if self.model.variables[f.variable].role == "data"]
        self.rows = {f.plates[0].dim for f in self.observed if f.plates}
        if len(self.rows) != 1:
            raise VmpError(f"predict needs the observed factors of model '{fit.model.name}' "
                           f"to share one outer plate (the rows)")
        (self.row_dim,) = self.rows
        self.data = {}
        for var in self.model.by_role("data"):
            if var.name in new_data:
                self.data[var.name] = self.bind(var, new_data[var.name])
        for name, size in list(self.dims.items()):
            if name in new_data and name not in self.data:
                self.dims[name] = int(new_data[name])
        if not any(self.row_dim in v.event for v in self.model.by_role("data")
                   if v.name in self.data) and self.row_dim not in new_data:
            raise VmpDataError(f"the new data must give the new rows: arrays over "
                               f"{self.row_dim}, or the number of rows as '{self.row_dim}'")
        self.given = [f for f in self.observed if f.variable in self.data]
        self.extend_groups()

    def bind(self, var, value) -> np.ndarray:
        """A new data array checked against its declaration; the rows' size bound."""
        array = np.asarray(value, dtype=float)
        if array.ndim != len(var.event):
            raise VmpDataError(f"'{var.name}' must have {len(var.event)} axes "
                               f"({', '.join(map(str, var.event))}), got shape {array.shape}")
        if not np.all(np.isfinite(array)):
            raise VmpDataError(f"'{var.name}' has a non-finite value in the new data")
        for axis, d in enumerate(var.event):
            size = array.shape[axis]
            if d == self.row_dim:
                self.dims[d] = size
            elif self.dims.get(d, size) != size:
                raise VmpDataError(f"dim {d} is {size} in the new '{var.name}' but "
                                   f"{self.dims[d]} in the fit; only the rows "
                                   f"({self.row_dim}) may change")
        if var.dtype != "int":
            return array
        if not np.all(array == np.round(array)) or (var.categories is not None
                                                    and np.any(array < 0)):
            what = f" ≥ 0 (it indexes {var.categories})" if var.categories else ""
            raise VmpDataError(f"'{var.name}' must hold whole numbers{what}")
        return array.astype(np.intp)

    def extend_groups(self):
        """An integer index with values past its dim grows the dim when latents
        are plated over it (a new group); any other value out of range is an error."""
        self.new_groups = {}
        grouped = {d for v in self.model.variables.values() for d in v.plates
                   if v.role in ("latent", "point")}
        for var in self.model.by_role("data"):
            if var.categories in self.dims and var.name in self.data and self.data[var.name].size:
                top, size = int(self.data[var.name].max()) + 1, self.dims[var.categories]
                if top > size and var.categories not in grouped:
                    raise VmpDataError(f"'{var.name}' has the value {top - 1} but "
                                       f"{var.categories} = {size}")
                if top > size:
                    self.new_groups[var.categories] = size
                    self.dims[var.categories] = top


# ------------------------------------------------------------------ factors
def arguments(factor, env: dict, dims: dict) -> dict:
    """The factor's distribution parameters, evaluated over (draws, plates)."""
    evaluate = Evaluator(env, dims, factor.plates)
    names = [a.name for a in DISTRIBUTIONS[factor.dist.name].args]
    return {name: evaluate(arg).array for name, arg in zip(names, factor.dist.args)}


def target_value(factor, env: dict, dims: dict) -> np.ndarray:
    """The observed value of the factor's target over (1, plates)."""
    return Evaluator(env, dims, factor.plates)(factor.target).array


def log_density(factor, env: dict, dims: dict) -> np.ndarray:
    """log f(target | arguments) over (draws, plates)."""
    family = FAMILIES[factor.dist.name]
    return family.log_density(target_value(factor, env, dims), arguments(factor, env, dims))


def per_row(values: np.ndarray, factor, row_dim: str) -> np.ndarray:
    """(draws, plates…) → (draws, rows): the row plate kept, the others summed."""
    dims = [p.dim for p in factor.plates]
    if row_dim not in dims:
        raise VmpError(f"the factor of '{factor.variable}' is not over the rows ({row_dim})")
    keep = 1 + dims.index(row_dim)
    values = np.moveaxis(values, keep, 1)
    return values.reshape(values.shape[:2] + (-1,)).sum(-1)


def simulate(factor, env: dict, dims: dict, rng, size: int = 1) -> np.ndarray:
    """A draw of the factor's variable per (draw, plates) from its distribution
    (at least ``size`` draws, even where every argument is fixed)."""
    family = FAMILIES[factor.dist.name]
    draw = family.simulate or family.sample
    if draw is None:
        raise VmpError(f"cannot draw from {factor.dist.name} for prediction")
    params = arguments(factor, env, dims)
    lead = 1 + len(factor.plates)  # every draw and plate element gets its own value
    shape = np.broadcast_shapes(*(np.shape(v)[:lead] for v in params.values()),
                                (size,) + tuple(dims[p.dim] for p in factor.plates))
    params = {k: np.broadcast_to(v, shape + np.shape(v)[lead:]) for k, v in params.items()}
    return np.asarray(draw(params, rng))


# ------------------------------------------------------------------- entry
def predict_any(fit, new_data: dict, samples: int, seed: int) -> dict:
    """The posterior predictive of the new rows (see the module docs)."""
    from .predictive_exact import exact_predictive
    rows = NewRows(fit, new_data)
    exact = None if rows.new_groups else exact_predictive(fit, rows)
    return exact if exact is not None else monte_carlo(fit, rows, samples, seed)


def shaped(rows: NewRows, values: dict, method: str, samples: int, log_dens) -> dict:
    """The result dict; one observed array gives ``mean``/``var`` arrays, several dicts."""
    out = {"method": method, "samples": samples, "log_density": log_dens}
    names = [f.variable for f in rows.observed]
    if len(names) == 1:
        out["observed"] = names[0]
        out.update({k: v.get(names[0]) for k, v in values.items()})
    else:
        out["observed"] = names
        out.update(values)
    return out


# -------------------------------------------------------------- Monte Carlo
CHUNK = 256  # draws held in memory at once (a chunk of per-row latents is chunk × rows)


def monte_carlo(fit, rows: NewRows, samples: int, seed: int) -> dict:
    """logmeanexp over draws of q (per-row latents importance-weighted), in
    chunks of draws.  The globals come from their own random stream, so a
    row's answer does not depend on the other new rows (when no per-row
    latent is drawn)."""
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 1:
        raise VmpDataError(f"samples must be a positive whole number, got {samples!r}")
    streams = np.random.default_rng([seed, 0]), np.random.default_rng([seed, 1])
    chunks = [chunk_terms(fit, rows, min(CHUNK, samples - start), streams)
              for start in range(0, samples, CHUNK)]
    log_dens = None
    if rows.given:
        log_dens = sps.logsumexp(np.concatenate([c[0] for c in chunks]), axis=0) \
            - np.log(samples)
    values = {"mean": {}, "var": {}}
    for name in chunks[0][1]:
        draws = [c[1][name] for c in chunks]  # (sum, sum of squares) per chunk
        mean = sum(d[0] for d in draws) / samples
        values["mean"][name] = mean
        values["var"][name] = sum(d[1] for d in draws) / samples - mean ** 2
    method = (f"monte carlo: {samples} draws (seed {seed}) of "
              f"{', '.join(chunks[0][2]) or 'no random latent'} from q{chunks[0][3]}")
    return shaped(rows, values, method, samples, log_dens)


def chunk_terms(fit, rows: NewRows, size: int, streams):
    """For ``size`` draws: per-row log p(given rows, z | θ) − log q(z), the
    (sum, sum of squares) of predictive draws of the other observed arrays,
    the names drawn and the local method phrase."""
    global_rng, local_rng = streams
    env, drawn = global_draws(fit, rows, size, global_rng)
    weight, how = local_draws(fit, rows, env, size, local_rng)
    log_joint, moments = np.zeros((1, rows.dims[rows.row_dim])) + weight, {}
    for factor in rows.observed:
        if factor in rows.given:
            log_joint = log_joint + per_row(log_density(factor, env, rows.dims), factor,
                                            rows.row_dim)
        else:
            draws = simulate(factor, env, rows.dims, local_rng, size)
            moments[factor.variable] = (draws.sum(0), (draws ** 2).sum(0))
    return np.broadcast_to(log_joint, (size, log_joint.shape[1])), moments, drawn, how


def global_draws(fit, rows: NewRows, samples: int, rng):
    """env with data and hypers (one 'draw'), points by value, and ``samples``
    draws of every other global latent; new groups drawn from their prior."""
    env = {name: np.asarray(v)[None] for name, v in fit.result["hypers"].items()}
    env.update({name: v[None] for name, v in rows.data.items()})
    local, drawn = set(local_names(rows.model)), []
    for name, q in fit.posterior.items():
        if name in local:
            continue
        if "value" in q:
            env[name] = np.asarray(q["value"])[None]
        else:
            env[name] = latent_draws(fit, name, samples, rng)
            drawn.append(name)
    for name in new_group_latents(rows):
        env[name] = with_new_groups(rows, name, env, rng)
    return env, drawn


def new_group_latents(rows: NewRows) -> list:
    """Latents plated over a dim that the new data grow (new groups)."""
    return [v.name for v in rows.model.variables.values() if v.role in ("latent", "point")
            and set(v.plates) & set(rows.new_groups)]


def with_new_groups(rows: NewRows, name: str, env: dict, rng) -> np.ndarray:
    """The fitted draws of ``name`` for the known groups, prior draws for the new."""
    factor = rows.model.factor_of(name)
    if factor is None or [p.dim for p in factor.plates] != list(rows.model.variables[name].plates):
        raise VmpError(f"cannot draw new groups of '{name}' from its prior")
    fitted = env[name]
    prior = simulate(factor, env, rows.dims, rng, fitted.shape[0])
    prior = np.broadcast_to(prior, (max(prior.shape[0], fitted.shape[0]),) + prior.shape[1:])
    known = tuple(slice(0, rows.new_groups.get(d, rows.dims[d]))
                  for d in rows.model.variables[name].plates)
    out = prior.copy()
    out[(slice(None),) + known] = fitted[(slice(None),) + known]
    return out


def local_draws(fit, rows: NewRows, env: dict, samples: int, rng):
    """Draw the per-row latents of the new rows into ``env``; return the per-row
    log importance weight log p(z | θ) − log q(z) and a phrase for the method."""
    names = [n for n in local_names(rows.model) if n in fit.posterior]
    if not names:
        return np.zeros((1, rows.dims[rows.row_dim])), ""
    if len(rows.given) == len(rows.observed) and not rows.new_groups:
        weight = importance_draws(fit, rows, names, env, samples, rng)
        return weight, (f"; per-row {', '.join(names)} drawn from q given the new rows "
                        f"(globals at q) and importance-weighted by prior / q")
    for name in names:  # no observations to condition on: the prior
        env[name] = simulate(rows.model.factor_of(name), env, rows.dims, rng, samples)
    return np.zeros((1, rows.dims[rows.row_dim])), \
        f"; per-row {', '.join(names)} drawn from their prior"


def importance_draws(fit, rows: NewRows, names: list, env: dict, samples: int, rng):
    """Draw z ~ q(z | new rows) (``Fit.local``) into ``env``; return per row
    Σ_z [log p(z | θ_s) − log q(z)] (points are plugged in, no weight)."""
    q_local = fit.local({**rows.data, **{d: rows.dims[d] for d in rows.model.dims
                                          if d not in data_dims(rows.model)}})
    weight, drawn = np.zeros((1, rows.dims[rows.row_dim])), []
    for name in names:
        q = q_local[name]
        if "value" in q:
            env[name] = np.asarray(q["value"])[None]
            continue
        family, factor = FAMILIES[fit.family(name)], rows.model.factor_of(name)
        env[name] = np.stack([np.asarray(family.sample(q, rng)) for _ in range(samples)])
        weight = weight - per_row(family.log_density(env[name], q), factor, rows.row_dim)
        drawn.append(factor)
    for factor in drawn:  # the priors once every local latent is drawn
        weight = weight + per_row(log_density(factor, env, rows.dims), factor, rows.row_dim)
    return weight


def data_dims(model) -> set:
    """Dims fixed by the shapes of data arrays."""
    return {d for v in model.by_role("data") for d in v.event if isinstance(d, str)}

"""Bernoulli(p) on {0, 1}.

log p(x) = x log(p / (1 − p)) + log(1 − p)
statistic x; coefficient C_x = logit p.
"""
import numpy as np
from scipy import special as sps

from ..runtime.helpers import first_index, found_at
from .family import Family


def bernoulli_params_from_coeffs(coeffs):
    logit = np.asarray(coeffs["x"], dtype=float)
    if np.any(np.isnan(logit)):
        raise FloatingPointError(f"Bernoulli coefficient is NaN; {found_at(logit, np.isnan(logit))}")
    return {"p": sps.expit(logit)}


def bernoulli_coeffs_from_params(params):
    with np.errstate(divide="ignore"):
        return {"x": sps.logit(np.asarray(params["p"], dtype=float))}


def bernoulli_expectations(params):
    return {"x": np.asarray(params["p"], dtype=float)}


def bernoulli_entropy(params):
    p = np.asarray(params["p"], dtype=float)
    return sps.entr(p) + sps.entr(1.0 - p)


def bernoulli_mode(params):
    # Ties (p = 1/2) resolve to 0.
    return (np.asarray(params["p"], dtype=float) > 0.5).astype(float)


def bernoulli_point_expectations(value):
    return {"x": np.asarray(value, dtype=float)}


def bernoulli_sample(params, rng):
    p = np.asarray(params["p"], dtype=float)
    return (rng.random(p.shape) < p).astype(float)


def bernoulli_log_density(x, params):
    p = np.asarray(params["p"], dtype=float)
    x = np.asarray(x, dtype=float)
    return sps.xlogy(x, p) + sps.xlog1py(1.0 - x, -p)


def bernoulli_check_support(x):
    values = np.asarray(x, dtype=float)
    bad = ~((values == 0) | (values == 1))
    if np.any(bad):
        return f"Bernoulli observations must be 0 or 1; {found_at(x, bad)}"
    return None


def bernoulli_check_params(params):
    p = np.asarray(params["p"], dtype=float)
    bad = ~((p >= 0) & (p <= 1))
    if np.any(bad):
        return f"Bernoulli p must lie in [0, 1]; {found_at(p, bad)}"
    return None


BERNOULLI = Family(
    name="Bernoulli", stats=("x",), param_names=("p",),
    event_rank={"x": 0}, value_rank=0, posterior="Bernoulli",
    params_from_coeffs=bernoulli_params_from_coeffs,
    coeffs_from_params=bernoulli_coeffs_from_params,
    expectations=bernoulli_expectations, entropy=bernoulli_entropy, mode=bernoulli_mode,
    point_expectations=bernoulli_point_expectations, sample=bernoulli_sample,
    log_density=bernoulli_log_density, check_support=bernoulli_check_support,
    check_params=bernoulli_check_params,
    helpers=(first_index, found_at),
)

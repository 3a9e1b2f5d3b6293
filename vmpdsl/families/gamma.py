"""Gamma(shape, rate) on (0, ∞); also the q of an Exponential prior.

log p(x) = (a − 1) log x − b x + a log b − log Γ(a)
statistics x, log = log x; coefficients C_x = −b, C_log = a − 1.
"""
import numpy as np
from scipy import special as sps

from ..runtime.helpers import first_index, found_at, positive_problem, require_positive
from .family import Family, scipy_marginal


def gamma_params_from_coeffs(coeffs):
    # (new arrays, or numpy scalars for a scalar latent, as Normal's)
    shape = require_positive(coeffs["log"] + 1.0, "Gamma shape")
    rate = require_positive(-coeffs["x"], "Gamma rate")
    if shape.shape != rate.shape:
        shape, rate = (a.copy() for a in np.broadcast_arrays(shape, rate))
    return {"shape": shape, "rate": rate}


def gamma_coeffs_from_params(params):
    return {"x": -np.asarray(params["rate"], dtype=float),
            "log": np.asarray(params["shape"], dtype=float) - 1.0}


def gamma_expectations(params):
    shape, rate = params["shape"], params["rate"]
    return {"x": shape / rate, "log": sps.digamma(shape) - np.log(rate)}


def gamma_entropy(params):
    shape = params["shape"]
    return (shape - np.log(params["rate"]) + sps.gammaln(shape)
            + (1.0 - shape) * sps.digamma(shape))


def gamma_bound_share(coeffs, params):
    # <C, E[u]> + H[q] for q made from C is q's log normalizer log Γ(a) − a log b
    # (two special functions, instead of the inner products and the entropy)
    shape = params["shape"]
    return sps.gammaln(shape) - shape * np.log(params["rate"])


def gamma_mode(params):
    shape = np.asarray(params["shape"], dtype=float)
    if not np.all(shape > 1.0):
        raise FloatingPointError("Gamma mode needs shape > 1 (otherwise the density "
                                 f"peaks at 0); {found_at(shape, ~(shape > 1.0))}")
    return (shape - 1.0) / params["rate"]


def gamma_point_expectations(value):
    value = np.asarray(value, dtype=float)
    return {"x": value, "log": np.log(value)}


def gamma_sample(params, rng):
    return rng.gamma(params["shape"], 1.0 / np.asarray(params["rate"], dtype=float))


def gamma_log_density(x, params):
    shape, rate = np.asarray(params["shape"], dtype=float), params["rate"]
    return (sps.xlogy(shape - 1.0, x) - rate * x + shape * np.log(rate)
            - sps.gammaln(shape))


def gamma_check_support(x):
    values = np.asarray(x, dtype=float)
    bad = ~(np.isfinite(values) & (values > 0))
    if np.any(bad):
        return f"Gamma observations must be positive and finite; {found_at(x, bad)}"
    return None


def gamma_check_params(params):
    return (positive_problem(params["shape"], "Gamma shape")
            or positive_problem(params["rate"], "Gamma rate"))



def gamma_marginal(params):
    from scipy import stats
    return scipy_marginal(stats.gamma(params["shape"], scale=1.0 / np.asarray(params["rate"])))


GAMMA = Family(
    name="Gamma", stats=("x", "log"), param_names=("shape", "rate"),
    event_rank={"x": 0, "log": 0}, value_rank=0, posterior="Gamma",
    params_from_coeffs=gamma_params_from_coeffs,
    coeffs_from_params=gamma_coeffs_from_params,
    expectations=gamma_expectations, entropy=gamma_entropy, bound_share=gamma_bound_share,
    mode=gamma_mode,
    point_expectations=gamma_point_expectations, sample=gamma_sample,
    log_density=gamma_log_density, check_support=gamma_check_support,
    check_params=gamma_check_params,
    helpers=(first_index, found_at, positive_problem, require_positive),
    marginal=gamma_marginal,
)

"""Beta(a, b) on (0, 1).

log p(x) = (a − 1) log x + (b − 1) log(1 − x) − log B(a, b)
statistics log = log x, log1m = log(1 − x); coefficients a − 1, b − 1.
"""
import numpy as np
from scipy import special as sps

from ..runtime.helpers import first_index, found_at, positive_problem, require_positive
from .family import Family, scipy_marginal


def beta_params_from_coeffs(coeffs):
    a = require_positive(np.asarray(coeffs["log"], dtype=float) + 1.0, "Beta a")
    b = require_positive(np.asarray(coeffs["log1m"], dtype=float) + 1.0, "Beta b")
    a, b = np.broadcast_arrays(a, b)
    return {"a": a.copy(), "b": b.copy()}


def beta_coeffs_from_params(params):
    return {"log": np.asarray(params["a"], dtype=float) - 1.0,
            "log1m": np.asarray(params["b"], dtype=float) - 1.0}


def beta_expectations(params):
    a, b = params["a"], params["b"]
    total = sps.digamma(np.add(a, b))
    return {"log": sps.digamma(a) - total, "log1m": sps.digamma(b) - total}


def beta_entropy(params):
    a, b = np.asarray(params["a"], dtype=float), np.asarray(params["b"], dtype=float)
    return (sps.betaln(a, b) - (a - 1.0) * sps.digamma(a) - (b - 1.0) * sps.digamma(b)
            + (a + b - 2.0) * sps.digamma(a + b))


def beta_mode(params):
    a, b = np.broadcast_arrays(np.asarray(params["a"], dtype=float),
                               np.asarray(params["b"], dtype=float))
    bad = ~((a > 1.0) & (b > 1.0))
    if np.any(bad):
        raise FloatingPointError("Beta mode needs a > 1 and b > 1 (otherwise it lies on "
                                 f"the boundary); found a={a[first_index(bad)].item()!r}, "
                                 f"b={b[first_index(bad)].item()!r} at index {first_index(bad)}")
    return (a - 1.0) / (a + b - 2.0)


def beta_point_expectations(value):
    value = np.asarray(value, dtype=float)
    return {"log": np.log(value), "log1m": np.log1p(-value)}


def beta_sample(params, rng):
    return rng.beta(params["a"], params["b"])


def beta_log_density(x, params):
    a, b = np.asarray(params["a"], dtype=float), np.asarray(params["b"], dtype=float)
    return sps.xlogy(a - 1.0, x) + sps.xlog1py(b - 1.0, -np.asarray(x)) - sps.betaln(a, b)


def beta_check_support(x):
    values = np.asarray(x, dtype=float)
    bad = ~((values > 0) & (values < 1))
    if np.any(bad):
        return f"Beta observations must lie strictly between 0 and 1; {found_at(x, bad)}"
    return None


def beta_check_params(params):
    return positive_problem(params["a"], "Beta a") or positive_problem(params["b"], "Beta b")



def beta_marginal(params):
    from scipy import stats
    return scipy_marginal(stats.beta(params["a"], params["b"]))


BETA = Family(
    name="Beta", stats=("log", "log1m"), param_names=("a", "b"),
    event_rank={"log": 0, "log1m": 0}, value_rank=0, posterior="Beta",
    params_from_coeffs=beta_params_from_coeffs, coeffs_from_params=beta_coeffs_from_params,
    expectations=beta_expectations, entropy=beta_entropy, mode=beta_mode,
    point_expectations=beta_point_expectations, sample=beta_sample,
    log_density=beta_log_density, check_support=beta_check_support,
    check_params=beta_check_params,
    helpers=(first_index, found_at, positive_problem, require_positive),
    marginal=beta_marginal,
)

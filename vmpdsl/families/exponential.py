"""Exponential(rate) on (0, ∞): a Gamma(1, rate).

log p(x) = log λ − λ x.  As a prior its statistics are Gamma's (x, log with a
zero coefficient), so a latent with this prior has a Gamma q: the q functions
are those of FAMILIES["Gamma"].
"""
import numpy as np

from ..runtime.helpers import first_index, found_at, positive_problem
from .family import Family


def exponential_log_density(x, params):
    rate = np.asarray(params["rate"], dtype=float)
    return np.log(rate) - rate * x


def exponential_check_support(x):
    values = np.asarray(x, dtype=float)
    bad = ~(np.isfinite(values) & (values > 0))
    if np.any(bad):
        return f"Exponential observations must be positive and finite; {found_at(x, bad)}"
    return None


def exponential_check_params(params):
    return positive_problem(params["rate"], "Exponential rate")



def exponential_sample(params, rng):
    return rng.exponential(1.0 / np.asarray(params["rate"], dtype=float))


EXPONENTIAL = Family(
    name="Exponential", stats=("x", "log"), param_names=("rate",),
    event_rank={"x": 0, "log": 0}, value_rank=0, posterior="Gamma",
    log_density=exponential_log_density, check_support=exponential_check_support,
    check_params=exponential_check_params,
    helpers=(first_index, found_at, positive_problem),
    simulate=exponential_sample,
)

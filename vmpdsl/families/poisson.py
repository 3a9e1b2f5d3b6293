"""Poisson(rate) on 0, 1, 2, ...; observation-only (no latent q).

log p(x) = x log λ − λ − log x!
"""
import numpy as np
from scipy import special as sps

from ..runtime.helpers import first_index, found_at, positive_problem
from .family import Family


def poisson_log_density(x, params):
    rate = np.asarray(params["rate"], dtype=float)
    x = np.asarray(x, dtype=float)
    return sps.xlogy(x, rate) - rate - sps.gammaln(x + 1.0)


def poisson_check_support(x):
    values = np.asarray(x, dtype=float)
    bad = ~(np.isfinite(values) & (values == np.floor(values)) & (values >= 0))
    if np.any(bad):
        return f"Poisson counts must be non-negative integers; {found_at(x, bad)}"
    return None


def poisson_check_params(params):
    return positive_problem(params["rate"], "Poisson rate")



def poisson_sample(params, rng):
    return rng.poisson(np.asarray(params["rate"], dtype=float)).astype(float)


POISSON = Family(
    name="Poisson", stats=(), param_names=("rate",), event_rank={}, value_rank=0,
    posterior=None, log_density=poisson_log_density,
    check_support=poisson_check_support, check_params=poisson_check_params,
    helpers=(first_index, found_at, positive_problem),
    simulate=poisson_sample,
)

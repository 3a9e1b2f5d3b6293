"""Binomial(trials, p) on 0 .. trials; observation-only (no latent q).

log p(x) = log C(n, x) + x log p + (n − x) log(1 − p)
"""
import numpy as np
from scipy import special as sps

from ..runtime.helpers import first_index, found_at
from .family import Family


def binomial_log_density(x, params):
    n, p = np.asarray(params["trials"], dtype=float), np.asarray(params["p"], dtype=float)
    x = np.asarray(x, dtype=float)
    log_choose = sps.gammaln(n + 1.0) - sps.gammaln(x + 1.0) - sps.gammaln(n - x + 1.0)
    return log_choose + sps.xlogy(x, p) + sps.xlog1py(n - x, -p)


def binomial_check_support(x, trials):
    values = np.asarray(x, dtype=float)
    bad = ~(np.isfinite(values) & (values == np.floor(values)) & (values >= 0) & (values <= trials))
    if np.any(bad):
        return (f"Binomial counts must be integers between 0 and the number of trials; "
                f"{found_at(x, bad)}")
    return None


def binomial_check_params(params):
    n = np.asarray(params["trials"], dtype=float)
    bad = ~(np.isfinite(n) & (n == np.floor(n)) & (n >= 0))
    if np.any(bad):
        return f"Binomial trials must be non-negative integers; {found_at(n, bad)}"
    p = np.asarray(params["p"], dtype=float)
    bad = ~((p >= 0) & (p <= 1))
    if np.any(bad):
        return f"Binomial p must lie in [0, 1]; {found_at(p, bad)}"
    return None



def binomial_sample(params, rng):
    trials = np.asarray(params["trials"], dtype=float).astype(np.int64)
    return rng.binomial(trials, np.asarray(params["p"], dtype=float)).astype(float)


BINOMIAL = Family(
    name="Binomial", stats=(), param_names=("trials", "p"), event_rank={},
    value_rank=0, posterior=None, log_density=binomial_log_density,
    check_support=binomial_check_support, check_params=binomial_check_params,
    helpers=(first_index, found_at),
    simulate=binomial_sample,
)

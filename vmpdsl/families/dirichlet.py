"""Dirichlet(concentration α) on the K-simplex.

log p(x) = Σ_k (α_k − 1) log x_k − log B(α),  log B(α) = Σ log Γ(α_k) − log Γ(Σ α)
statistic log = log x (K,); coefficient C_log = α − 1.
"""
import numpy as np
from scipy import special as sps

from ..runtime.helpers import first_index, found_at, positive_problem, require_positive, simplex_problem
from .family import Family, scipy_marginal


def dirichlet_params_from_coeffs(coeffs):
    alpha = np.asarray(coeffs["log"], dtype=float) + 1.0
    return {"concentration": require_positive(alpha, "Dirichlet concentration").copy()}


def dirichlet_coeffs_from_params(params):
    return {"log": np.asarray(params["concentration"], dtype=float) - 1.0}


def dirichlet_expectations(params):
    alpha = np.asarray(params["concentration"], dtype=float)
    total = np.sum(alpha, axis=-1, keepdims=True)
    return {"log": sps.digamma(alpha) - sps.digamma(total)}


def dirichlet_entropy(params):
    alpha = np.asarray(params["concentration"], dtype=float)
    total = np.sum(alpha, axis=-1)
    log_beta = np.sum(sps.gammaln(alpha), axis=-1) - sps.gammaln(total)
    return (log_beta + (total - alpha.shape[-1]) * sps.digamma(total)
            - np.sum((alpha - 1.0) * sps.digamma(alpha), axis=-1))


def dirichlet_mode(params):
    """(α − 1) / Σ(α − 1).  An α_k of exactly 1 gives x_k = 0: Σ_k (α_k − 1) log x_k
    does not depend on x_k there, so mass on it only lowers the rest (the M-step
    of a ``param`` with a zero count, an ML probability of 0).  Below 1 the
    density is unbounded at the boundary and there is no mode."""
    alpha = np.asarray(params["concentration"], dtype=float)
    excess = np.sum(alpha - 1.0, axis=-1, keepdims=True)
    if not (np.all(alpha >= 1.0) and np.all(excess > 0)):
        bad = ~(alpha >= 1.0) | ~(excess > 0)
        raise FloatingPointError("Dirichlet mode needs every concentration ≥ 1 and one > 1 "
                                 f"(otherwise it lies on the boundary); {found_at(alpha, bad)}")
    return (alpha - 1.0) / excess


def dirichlet_point_expectations(value):
    """log x, with log 0 (an ML probability of 0) as −1e30: its exp is exactly 0
    and 0 × −1e30 is 0, as 0 log 0 is in the ELBO, where −inf would give nan;
    a non-zero weight on it still gives an ELBO near −1e30, not a finite guess."""
    value = np.asarray(value, dtype=float)
    with np.errstate(divide="ignore"):
        return {"log": np.where(value > 0, np.log(value), -1e30)}


def dirichlet_sample(params, rng):
    # Normalised Gamma draws; rng.dirichlet does not broadcast over batches.
    draws = rng.gamma(np.asarray(params["concentration"], dtype=float))
    return draws / np.sum(draws, axis=-1, keepdims=True)


def dirichlet_log_density(x, params):
    alpha = np.asarray(params["concentration"], dtype=float)
    log_beta = np.sum(sps.gammaln(alpha), axis=-1) - sps.gammaln(np.sum(alpha, axis=-1))
    return np.sum(sps.xlogy(alpha - 1.0, x), axis=-1) - log_beta


def dirichlet_check_support(x):
    return simplex_problem(x, "Dirichlet observations", "probability vectors", "vector")


def dirichlet_check_params(params):
    alpha = np.asarray(params["concentration"], dtype=float)
    if alpha.ndim < 1:
        return "Dirichlet concentration must be a vector (e.g. alpha * ones(K))"
    return positive_problem(alpha, "Dirichlet concentration")



def dirichlet_marginal(params):
    # x_k ~ Beta(α_k, Σα − α_k)
    from scipy import stats
    alpha = np.asarray(params["concentration"], dtype=float)
    return scipy_marginal(stats.beta(alpha, np.sum(alpha, axis=-1, keepdims=True) - alpha))


DIRICHLET = Family(
    name="Dirichlet", stats=("log",), param_names=("concentration",),
    event_rank={"log": 1}, value_rank=1, posterior="Dirichlet",
    params_from_coeffs=dirichlet_params_from_coeffs,
    coeffs_from_params=dirichlet_coeffs_from_params,
    expectations=dirichlet_expectations, entropy=dirichlet_entropy, mode=dirichlet_mode,
    point_expectations=dirichlet_point_expectations, sample=dirichlet_sample,
    log_density=dirichlet_log_density, check_support=dirichlet_check_support,
    check_params=dirichlet_check_params,
    helpers=(first_index, found_at, positive_problem, require_positive, simplex_problem),
    marginal=dirichlet_marginal,
)

"""Normal(mean, precision), univariate.

log p(x) = ½ log τ − ½ log 2π − τ/2 (x − m)²
statistics x, xx = x²; coefficients C_x = τ m, C_xx = −τ/2.
"""
import numpy as np

from ..runtime.helpers import first_index, found_at, positive_problem, require_positive
from .family import Family, scipy_marginal


def normal_params_from_coeffs(coeffs):
    # (new arrays, or numpy scalars for a scalar latent: no np.asarray, whose
    # 0-d arrays make every later operation slower)
    precision = require_positive(-2.0 * coeffs["xx"], "Normal precision")
    mean = coeffs["x"] / precision
    if mean.shape != precision.shape:
        mean, precision = (a.copy() for a in np.broadcast_arrays(mean, precision))
    return {"mean": mean, "precision": precision}


def normal_coeffs_from_params(params):
    precision = np.asarray(params["precision"], dtype=float)
    return {"x": precision * params["mean"], "xx": -0.5 * precision}


def normal_expectations(params):
    mean = params["mean"]
    if type(mean) is not np.ndarray and type(mean) is not np.float64:  # a user's number
        mean = np.asarray(mean, dtype=float)
    return {"x": mean, "xx": mean ** 2 + 1.0 / params["precision"]}


def normal_entropy(params):
    # 2.8378770664093453 is log 2π + 1 as numpy rounds it (np.log costs ~0.5 µs a call)
    return 0.5 * (2.8378770664093453 - np.log(params["precision"]))


def normal_entropy_total(params):
    precision = params["precision"]
    if type(precision) is not np.ndarray:  # a scalar latent's: one number already
        return normal_entropy(params)
    # (two array operations fewer than summing normal_entropy's rows)
    return 0.5 * (precision.size * 2.8378770664093453
                  - np.add.reduce(np.log(precision), axis=None))


def normal_bound_share(coeffs, params):
    # <C, E[u]> + H[q] for q made from C is q's log normalizer ½ (τ m² − log τ + log 2π)
    precision = params["precision"]
    return 0.5 * (precision * params["mean"] ** 2 - np.log(precision) + np.log(2.0 * np.pi))


def normal_mode(params):
    return np.array(params["mean"], dtype=float)


def normal_point_expectations(value):
    value = np.asarray(value, dtype=float)
    return {"x": value, "xx": value ** 2}


def normal_sample(params, rng):
    return rng.normal(params["mean"], 1.0 / np.sqrt(params["precision"]))


def normal_start(params, rng, plated):
    # Components indexed by a plate (mixture means, factor loadings) are
    # exchangeable at their prior: a mean drawn from it separates them.
    return dict(params, mean=normal_sample(params, rng)) if plated else params


def normal_log_density(x, params):
    precision = np.asarray(params["precision"], dtype=float)
    return 0.5 * (np.log(precision / (2.0 * np.pi)) - precision * (x - params["mean"]) ** 2)


def normal_check_support(x):
    values = np.asarray(x, dtype=float)
    if not np.all(np.isfinite(values)):
        return f"Normal observations must be finite real numbers; {found_at(x, ~np.isfinite(values))}"
    return None


def normal_check_params(params):
    mean = np.asarray(params["mean"], dtype=float)
    if not np.all(np.isfinite(mean)):
        return f"Normal mean must be finite; {found_at(mean, ~np.isfinite(mean))}"
    return positive_problem(params["precision"], "Normal precision")



def normal_marginal(params):
    from scipy import stats
    return scipy_marginal(stats.norm(params["mean"], 1.0 / np.sqrt(params["precision"])))


NORMAL = Family(
    name="Normal", stats=("x", "xx"), param_names=("mean", "precision"),
    event_rank={"x": 0, "xx": 0}, value_rank=0, posterior="Normal",
    params_from_coeffs=normal_params_from_coeffs,
    coeffs_from_params=normal_coeffs_from_params,
    expectations=normal_expectations, entropy=normal_entropy, entropy_total=normal_entropy_total,
    bound_share=normal_bound_share,
    mode=normal_mode,
    point_expectations=normal_point_expectations, sample=normal_sample, start=normal_start,
    log_density=normal_log_density, check_support=normal_check_support,
    check_params=normal_check_params,
    helpers=(first_index, found_at, positive_problem, require_positive),
    marginal=normal_marginal,
)

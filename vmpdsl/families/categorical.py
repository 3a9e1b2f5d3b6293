"""Categorical(probs) over 0 .. K−1.

log p(x) = Σ_k [x = k] log π_k
statistic onehot (K,); coefficient C_onehot = log π (up to a constant).
A value is an integer index; a point value (and an init) is a probability
vector over the K categories, whose plug-in one-hot expectation is itself.
"""
import numpy as np

from ..runtime.prelude import remember, remembered
from ..runtime.helpers import first_index, found_at, last_axis_max, simplex_problem
from .family import Family, scipy_marginal


def categorical_params_from_coeffs(coeffs):
    logits = np.asarray(coeffs["onehot"], dtype=float)
    # A NaN or ±inf anywhere in a row shows in its maximum: check the maxima
    # (one value a row) instead of every probability.
    top = last_axis_max(logits)
    if not np.all(np.isfinite(top)):
        bad = ~np.isfinite(top[..., 0])
        raise FloatingPointError("Categorical coefficients must be finite for at least one "
                                 f"category; the row at index {first_index(bad)} is not")
    probs = logits - top  # one new array, then in place: responsibilities are N×K
    np.exp(probs, out=probs)
    norm = probs @ np.ones(probs.shape[-1])  # row sums (a GEMV: 12× np.sum's time over K = 8)
    probs /= norm[..., None]
    # log Σ_k e^{C_k} per row, the ELBO share of this q (bound_share)
    return {"probs": remember(probs, top[..., 0] + np.log(norm))}


def categorical_coeffs_from_params(params):
    with np.errstate(divide="ignore"):
        return {"onehot": np.log(np.asarray(params["probs"], dtype=float))}


def categorical_expectations(params):
    return {"onehot": np.asarray(params["probs"], dtype=float)}


def categorical_entropy(params):
    # −Σ p log p; p = 0 contributes 0 (0 · log 1e-300), so no special cases.
    probs = np.asarray(params["probs"], dtype=float)
    return -np.einsum("...k,...k->...", probs, np.log(np.maximum(probs, 1e-300)))


def categorical_bound_share(coeffs, params):
    # <C, p> + H[p] = log Σ_k e^{C_k} for p = softmax(C); at the top category
    # C_k − log p_k equals it, so N logs replace the entropy's N×K.
    probs = np.asarray(params["probs"], dtype=float)
    known = remembered(probs)  # the update's own normalizers (params_from_coeffs)
    if known is not None:
        return known
    logits = np.asarray(coeffs["onehot"], dtype=float)
    return last_axis_max(logits)[..., 0] - np.log(last_axis_max(probs)[..., 0])


def categorical_mode(params):
    probs = np.asarray(params["probs"], dtype=float)
    best = np.argmax(probs, axis=-1)
    return (np.arange(probs.shape[-1]) == best[..., None]).astype(float)


def categorical_point_expectations(value):
    return {"onehot": np.asarray(value, dtype=float)}


def categorical_sample(params, rng):
    # Inverse CDF per batch element: count the cumulative masses below a uniform.
    probs = np.asarray(params["probs"], dtype=float)
    cumulative = np.cumsum(probs, axis=-1)
    u = rng.random(probs.shape[:-1]) * cumulative[..., -1]
    return np.minimum(np.sum(cumulative <= u[..., None], axis=-1), probs.shape[-1] - 1)


def categorical_start(params, rng, plated):
    # Random responsibilities, plated or not: the components a Categorical
    # selects are exchangeable until the assignments differ.
    probs = params["probs"]
    return {"probs": rng.dirichlet(np.ones(probs.shape[-1]), size=probs.shape[:-1])}


def categorical_log_density(x, params):
    x = np.asarray(x).astype(int)
    probs = np.asarray(params["probs"], dtype=float)
    probs = np.broadcast_to(probs, np.broadcast_shapes(x.shape, probs.shape[:-1]) + probs.shape[-1:])
    x = np.broadcast_to(x, probs.shape[:-1])
    with np.errstate(divide="ignore"):
        return np.log(np.take_along_axis(probs, x[..., None], axis=-1)[..., 0])


def categorical_check_support(x, categories):
    values = np.asarray(x, dtype=float)
    bad = ~(np.isfinite(values) & (values == np.floor(values)) & (values >= 0) & (values < categories))
    if np.any(bad):
        return (f"Categorical observations must be integers in 0 .. {categories - 1}; "
                f"{found_at(x, bad)}")
    return None


def categorical_check_params(params):
    return simplex_problem(params["probs"], "Categorical probs", "non-negative vectors", "row")



def categorical_marginal(params):
    # the one-hot indicator [x = k] is Bernoulli(p_k)
    from scipy import stats
    return scipy_marginal(stats.bernoulli(np.asarray(params["probs"], dtype=float)))


CATEGORICAL = Family(
    name="Categorical", stats=("onehot",), param_names=("probs",),
    event_rank={"onehot": 1}, value_rank=0, posterior="Categorical",
    params_from_coeffs=categorical_params_from_coeffs,
    coeffs_from_params=categorical_coeffs_from_params,
    expectations=categorical_expectations, entropy=categorical_entropy,
    mode=categorical_mode, point_expectations=categorical_point_expectations,
    sample=categorical_sample, log_density=categorical_log_density,
    bound_share=categorical_bound_share,
    start=categorical_start, start_leads=True,
    check_support=categorical_check_support, check_params=categorical_check_params,
    helpers=(first_index, found_at, simplex_problem, last_axis_max),
    marginal=categorical_marginal,
)

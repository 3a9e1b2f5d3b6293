"""MvNormal(mean, precision) over D-vectors.

log p(x) = ½ log|P| − D/2 log 2π − ½ (x − m)ᵀ P (x − m)
statistics x (D,), xx = x xᵀ (D, D); coefficients C_x = P m, C_xx = −P/2.
Functions read ``mean`` and ``precision`` (what a prior and a q both have);
``cov`` is produced for users and read by expectations when present.
"""
import numpy as np

from ..runtime.prelude import SharedOuter, compact, remember, remembered
from ..runtime.helpers import (broadcast_view, chol_inverse, chol_logdet, chol_lower, first_index,
                               found_at, spd_inverse, spd_problem, symmetrize)
from .family import Family, scipy_marginal


def mvnormal_params_from_coeffs(coeffs):
    c_x = np.asarray(coeffs["x"], dtype=float)
    c_xx = compact(np.asarray(coeffs["xx"], dtype=float), 2)
    # Only the symmetric part of C_xx pairs with x xᵀ, hence C + Cᵀ.
    precision = -(c_xx + np.swapaxes(c_xx, -1, -2))
    dim = c_x.shape[-1]
    rows, shared = c_x.shape[:-1], precision.shape[:-2]
    # (one precision for all rows, the common case, without np.broadcast_shapes' µs)
    batch = rows if shared == rows or len(shared) <= len(rows) and shared == (1,) * len(shared) \
        else np.broadcast_shapes(rows, shared)
    one = precision.size == dim * dim  # one precision for every row: one 2-D factor
    chol = chol_lower(precision.reshape(dim, dim) if one else precision, "MvNormal precision")
    cov = chol_inverse(chol).reshape(precision.shape)
    if one:  # one covariance for every row: a single GEMM (cov is symmetric)
        mean = c_x @ cov.reshape(dim, dim)
    else:
        mean = (cov @ c_x[..., None])[..., 0]
    # A precision shared along a plate stays shared: broadcast views, no copies.
    full = batch + (dim, dim)
    precision = broadcast_view(precision, full)
    return {"mean": broadcast_view(mean, batch + (dim,)), "cov": broadcast_view(cov, full),
            "precision": remember(precision, chol_logdet(chol))}


def mvnormal_coeffs_from_params(params):
    if "precision" in params:
        precision = np.asarray(params["precision"], dtype=float)
    else:
        precision = spd_inverse(params["cov"], "MvNormal cov")
    return {"x": (precision @ np.asarray(params["mean"], dtype=float)[..., None])[..., 0],
            "xx": -0.5 * precision}


def mvnormal_expectations(params):
    mean = np.asarray(params["mean"], dtype=float)
    if "cov" in params:
        cov = np.asarray(params["cov"], dtype=float)
    else:
        cov = spd_inverse(params["precision"], "MvNormal precision")
    full = mean.shape + mean.shape[-1:]
    if mean.ndim > 1 and np.broadcast_shapes(full, cov.shape) == full:
        shared = compact(broadcast_view(cov, full), 2)
        if shared.size < mean.size * full[-1]:
            # rows sharing one covariance: E[x xᵀ] stays factored (see SharedOuter)
            return {"x": mean, "xx": SharedOuter(mean, shared)}
    return {"x": mean, "xx": np.asarray(SharedOuter(mean, cov))}


def mvnormal_entropy(params):
    precision = np.asarray(params["precision"], dtype=float)
    return np.broadcast_to(mvnormal_distinct_entropy(precision), precision.shape[:-2])


def mvnormal_entropy_total(params):
    # the distinct rows' entropies, each times the rows that share it (PCA's
    # z: one number times N, not a sum over N broadcast copies)
    precision = np.asarray(params["precision"], dtype=float)
    entropy = mvnormal_distinct_entropy(precision)
    rows = int(np.prod(precision.shape[:-2])) // max(np.size(entropy), 1)
    return rows * np.add.reduce(entropy, axis=None)


def mvnormal_distinct_entropy(precision):
    """The entropy of each distinct row (a precision shared along a plate: once)."""
    logdet = remembered(precision)  # the update's own factor (params_from_coeffs)
    if logdet is None:
        logdet = chol_logdet(chol_lower(compact(precision, 2), "MvNormal precision"))
    return 0.5 * (precision.shape[-1] * (1.0 + np.log(2.0 * np.pi)) - logdet)


def mvnormal_mode(params):
    return np.array(params["mean"], dtype=float)


def mvnormal_point_expectations(value):
    value = np.asarray(value, dtype=float)
    return {"x": value, "xx": value[..., :, None] * value[..., None, :]}


def mvnormal_sample(params, rng):
    # x = m + L⁻ᵀ z with P = L Lᵀ has covariance L⁻ᵀ L⁻¹ = P⁻¹.
    chol = chol_lower(params["precision"], "MvNormal precision")
    mean = np.asarray(params["mean"], dtype=float)
    batch = np.broadcast_shapes(mean.shape, chol.shape[:-1])
    z = rng.standard_normal(batch)
    chol = np.broadcast_to(chol, batch + chol.shape[-1:])
    return mean + np.linalg.solve(np.swapaxes(chol, -1, -2), z[..., None])[..., 0]


def mvnormal_start(params, rng, plated):
    # Components indexed by a plate (mixture means, factor loadings) are
    # exchangeable at their prior: a mean drawn from it separates them.
    return dict(params, mean=mvnormal_sample(params, rng)) if plated else params


def mvnormal_log_density(x, params):
    precision = np.asarray(params["precision"], dtype=float)
    chol = chol_lower(precision, "MvNormal precision")
    resid = np.asarray(x, dtype=float) - params["mean"]
    quad = np.einsum("...i,...ij,...j->...", resid, precision, resid)
    dim = precision.shape[-1]
    return 0.5 * (chol_logdet(chol) - dim * np.log(2.0 * np.pi) - quad)


def mvnormal_check_support(x):
    values = np.asarray(x, dtype=float)
    if values.ndim < 1:
        return "MvNormal observations must be vectors; got a scalar"
    if not np.all(np.isfinite(values)):
        return f"MvNormal observations must be finite; {found_at(x, ~np.isfinite(values))}"
    return None


def mvnormal_check_params(params):
    mean = np.asarray(params["mean"], dtype=float)
    if mean.ndim < 1 or not np.all(np.isfinite(mean)):
        return "MvNormal mean must be a finite vector"
    for name in ("precision", "cov"):
        if name in params:
            problem = spd_problem(params[name], f"MvNormal {name}")
            if problem is not None:
                return problem
            if np.shape(params[name])[-1] != mean.shape[-1]:
                return (f"MvNormal {name} is {np.shape(params[name])[-1]}-dimensional "
                        f"but the mean has length {mean.shape[-1]}")
    if "precision" not in params and "cov" not in params:
        return "MvNormal needs a precision (or cov) matrix"
    return None



def mvnormal_marginal(params):
    # each coordinate of a Gaussian vector is Gaussian with its diagonal variance
    from scipy import stats
    cov = params["cov"] if "cov" in params else np.linalg.inv(params["precision"])
    sd = np.sqrt(np.diagonal(np.asarray(cov, dtype=float), axis1=-2, axis2=-1))
    return scipy_marginal(stats.norm(params["mean"], sd))


MVNORMAL = Family(
    name="MvNormal", stats=("x", "xx"), param_names=("mean", "cov", "precision"),
    event_rank={"x": 1, "xx": 2}, value_rank=1, posterior="MvNormal", factored_stats=("xx",),
    params_from_coeffs=mvnormal_params_from_coeffs,
    coeffs_from_params=mvnormal_coeffs_from_params,
    expectations=mvnormal_expectations, entropy=mvnormal_entropy,
    entropy_total=mvnormal_entropy_total, mode=mvnormal_mode,
    point_expectations=mvnormal_point_expectations, sample=mvnormal_sample, start=mvnormal_start,
    log_density=mvnormal_log_density, check_support=mvnormal_check_support,
    check_params=mvnormal_check_params,
    helpers=(first_index, found_at, spd_problem, symmetrize, chol_lower, chol_logdet,
             chol_inverse, spd_inverse, broadcast_view),
    internals=(mvnormal_distinct_entropy,),
    marginal=mvnormal_marginal,
)

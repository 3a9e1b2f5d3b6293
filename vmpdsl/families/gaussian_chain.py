"""GaussianChain: the q of an MvNormal chain (x[0], x[t] given x[t-1]) as one
block, from a Kalman filter and RTS smoother in information form; see
categorical_chain.py for what a chain block is.  A Normal (scalar) chain is
the case D = 1, its statistics and parameters without the event axes (its
``cov`` is a variance).
"""
import numpy as np

from ..runtime.helpers import (chol_inverse, chol_logdet, chol_lower, first_index, found_at,
                      positive_problem, spd_problem, symmetrize)
from .family import Family


def gaussianchain_potentials(coeffs):
    """Information form: node precisions J (…, T, D, D), vectors h (…, T, D) and
    couplings M (…, T, D, D) with log q = Σ −½ xᵀJx + hᵀx + Σ_{t≥1} x_tᵀ M_t x_{t-1}."""
    h = np.array(coeffs["x"], dtype=float)
    c_xx = np.array(np.broadcast_to(coeffs["xx"], h.shape + h.shape[-1:]), dtype=float)
    if "prev_x" in coeffs and np.ndim(coeffs["prev_x"]):
        h[..., :-1, :] += np.broadcast_to(coeffs["prev_x"], h.shape)[..., 1:, :]
    if "prev_xx" in coeffs and np.ndim(coeffs["prev_xx"]):
        c_xx[..., :-1, :, :] += np.broadcast_to(coeffs["prev_xx"], c_xx.shape)[..., 1:, :, :]
    J = -(c_xx + np.swapaxes(c_xx, -1, -2))
    M = np.broadcast_to(np.asarray(coeffs.get("cross", 0.0), dtype=float), J.shape)
    free = np.all(J == 0, (-2, -1)) & np.all(h == 0, -1) & np.all(M == 0, (-2, -1))
    free[..., :-1] &= np.all(M[..., 1:, :, :] == 0, (-2, -1))
    J[free] = np.eye(h.shape[-1])  # an absent element: a standard normal stand-in
    return J, h, M, free


def gaussianchain_filter(J, h, M):
    """Information filter: the forward potentials (P_t, p_t) of x_t given
    elements ≤ t, their Cholesky factors, and log Z = Σ_t ½ p_tᵀP_t⁻¹p_t − ½ log|P_t| + D/2 log 2π."""
    P, p = np.empty_like(J), np.empty_like(h)
    chol = np.empty_like(J)
    log_z = np.zeros(h.shape[:-2])
    dim = h.shape[-1]
    for t in range(h.shape[-2]):
        P_t, p_t = J[..., t, :, :], h[..., t, :]
        if t:
            gain = M[..., t, :, :] @ inverse  # M_t P_{t-1}⁻¹
            P_t = P_t - gain @ np.swapaxes(M[..., t, :, :], -1, -2)
            p_t = p_t + (gain @ p[..., t - 1, :, None])[..., 0]
        L = chol_lower(symmetrize(P_t), "GaussianChain filtered precision")
        inverse = chol_inverse(L)
        P[..., t, :, :], p[..., t, :], chol[..., t, :, :] = P_t, p_t, L
        mean = (inverse @ p_t[..., None])[..., 0]
        log_z = log_z + 0.5 * np.sum(p_t * mean, -1) - 0.5 * chol_logdet(L) \
            + 0.5 * dim * np.log(2 * np.pi)
    return P, p, chol, log_z


def gaussianchain_params_from_coeffs(coeffs):
    if np.ndim(coeffs["x"]) == np.ndim(coeffs["xx"]):  # a scalar chain: D = 1
        params = gaussianchain_params_from_coeffs(
            {s: np.expand_dims(c, (-1,) if s in ("x", "prev_x") else (-2, -1))
             for s, c in coeffs.items()})
        return dict(params, mean=params["mean"][..., 0], cov=params["cov"][..., 0, 0],
                    precision=params["precision"][..., 0, 0],
                    cross_cov=params["cross_cov"][..., 0, 0])
    J, h, M, free = gaussianchain_potentials(coeffs)
    if h.shape[-2] == 0:  # an empty chain (T = 0): nothing to infer
        zero = np.zeros(h.shape[:-2])
        return {"mean": h, "cov": J, "precision": J, "cross_cov": J,
                "log_normalizer": zero, "entropy": zero}
    P, p, chol, log_z = gaussianchain_filter(J, h, M)
    absent = np.sum(free, -1)  # their stand-ins' log Z and entropy terms
    mean, cov = np.empty_like(h), np.empty_like(J)
    cross = np.zeros_like(J)  # cross[t] = Cov(x_t, x_{t-1})
    last = chol_inverse(chol[..., -1, :, :])
    cov[..., -1, :, :] = last
    mean[..., -1, :] = (last @ p[..., -1, :, None])[..., 0]
    for t in range(h.shape[-2] - 2, -1, -1):
        filtered = chol_inverse(chol[..., t, :, :])
        gain = filtered @ np.swapaxes(M[..., t + 1, :, :], -1, -2)  # x_t | x_{t+1}
        mean[..., t, :] = (filtered @ p[..., t, :, None])[..., 0] \
            + (gain @ mean[..., t + 1, :, None])[..., 0]
        cov[..., t, :, :] = symmetrize(filtered + gain @ cov[..., t + 1, :, :]
                                       @ np.swapaxes(gain, -1, -2))
        cross[..., t + 1, :, :] = cov[..., t + 1, :, :] @ np.swapaxes(gain, -1, -2)
    dim = h.shape[-1]
    entropy = np.sum(0.5 * dim * (1 + np.log(2 * np.pi)) - 0.5 * chol_logdet(chol), -1)
    # The marginal precision of each x_t (the contract's MvNormal names), from its
    # smoothed covariance.
    precision = chol_inverse(chol_lower(cov, "GaussianChain smoothed cov"))
    return {"mean": mean, "cov": cov, "precision": precision, "cross_cov": cross,
            "log_normalizer": log_z - absent * 0.5 * dim * np.log(2 * np.pi),
            "entropy": entropy - absent * 0.5 * dim * (1 + np.log(2 * np.pi))}


def gaussianchain_coeffs_from_params(params):
    raise FloatingPointError("a GaussianChain's coefficients are not kept")


def gaussianchain_expectations(params):
    mean = np.asarray(params["mean"], dtype=float)
    cov = np.asarray(params["cov"], dtype=float)
    if mean.ndim == cov.ndim:  # a scalar chain: variances, as 1 × 1 covariances
        stats = gaussianchain_expectations(
            {"mean": mean[..., None], "cov": cov[..., None, None],
             "cross_cov": np.asarray(params.get("cross_cov", np.zeros_like(cov)))[..., None, None]})
        return {s: v[..., 0] if s in ("x", "prev_x") else v[..., 0, 0] for s, v in stats.items()}
    xx = cov + mean[..., :, None] * mean[..., None, :]
    prev_x, prev_xx = np.zeros_like(mean), np.zeros_like(xx)
    prev_x[..., 1:, :], prev_xx[..., 1:, :, :] = mean[..., :-1, :], xx[..., :-1, :, :]
    cross = np.array(params.get("cross_cov", np.zeros_like(cov)), dtype=float)
    cross[..., 1:, :, :] += mean[..., 1:, :, None] * mean[..., :-1, None, :]
    return {"x": mean, "xx": xx, "prev_x": prev_x, "prev_xx": prev_xx, "cross": cross}


def gaussianchain_entropy(params):
    if "entropy" in params:
        return np.asarray(params["entropy"], dtype=float)
    cov = np.asarray(params["cov"], dtype=float)  # independent elements
    if np.ndim(params["mean"]) == cov.ndim:
        cov = cov[..., None, None]
    dim = cov.shape[-1]
    logdet = chol_logdet(chol_lower(cov, "GaussianChain cov"))
    return np.sum(0.5 * dim * (1 + np.log(2 * np.pi)) + 0.5 * logdet, -1)


def gaussianchain_bound_share(coeffs, params):
    return np.asarray(params["log_normalizer"], dtype=float)


def gaussianchain_mode(params):
    return np.asarray(params["mean"], dtype=float)  # a Gaussian's mode is its mean


def gaussianchain_point_expectations(value):
    value = np.asarray(value, dtype=float)
    return gaussianchain_expectations({"mean": value, "cov": np.zeros(value.shape + value.shape[-1:])})


def gaussianchain_sample(params, rng):
    """A path drawn from q, x_T first, then backwards x_t | x_{t+1}."""
    mean = np.asarray(params["mean"], dtype=float)
    cov = np.asarray(params["cov"], dtype=float)
    cross = np.asarray(params.get("cross_cov", np.zeros_like(cov)), dtype=float)
    draw = np.empty_like(mean)
    noise = rng.standard_normal(mean.shape)
    last = np.linalg.cholesky(cov[..., -1, :, :])
    draw[..., -1, :] = mean[..., -1, :] + (last @ noise[..., -1, :, None])[..., 0]
    for t in range(mean.shape[-2] - 2, -1, -1):
        nxt = cov[..., t + 1, :, :]
        gain = np.swapaxes(np.linalg.solve(nxt, cross[..., t + 1, :, :]), -1, -2)
        cond = symmetrize(cov[..., t, :, :] - gain @ cross[..., t + 1, :, :])
        shift = (gain @ (draw[..., t + 1, :] - mean[..., t + 1, :])[..., None])[..., 0]
        root = np.linalg.cholesky(cond + 1e-12 * np.eye(mean.shape[-1]))
        draw[..., t, :] = mean[..., t, :] + shift + (root @ noise[..., t, :, None])[..., 0]
    return draw


def gaussianchain_log_density(x, params):
    """log q(path) as a joint Gaussian, from the smoothed moments (x_T, then x_t | x_{t+1})."""
    x = np.asarray(x, dtype=float)
    mean, cov = np.asarray(params["mean"]), np.asarray(params["cov"])
    cross = np.asarray(params.get("cross_cov", np.zeros_like(cov)))
    dim = mean.shape[-1]

    def normal(value, m, S):
        L = np.linalg.cholesky(S)
        z = np.linalg.solve(L, (value - m)[..., None])[..., 0]
        return -0.5 * np.sum(z * z, -1) - 0.5 * chol_logdet(L) - 0.5 * dim * np.log(2 * np.pi)
    total = normal(x[..., -1, :], mean[..., -1, :], cov[..., -1, :, :])
    for t in range(mean.shape[-2] - 2, -1, -1):
        gain = np.swapaxes(np.linalg.solve(cov[..., t + 1, :, :], cross[..., t + 1, :, :]), -1, -2)
        m = mean[..., t, :] + (gain @ (x[..., t + 1, :] - mean[..., t + 1, :])[..., None])[..., 0]
        total = total + normal(x[..., t, :], m, cov[..., t, :, :] - gain @ cross[..., t + 1, :, :])
    return total


def gaussianchain_check_support(x, categories):
    values = np.asarray(x, dtype=float)
    bad = ~np.isfinite(values)
    return f"chain values must be finite; {found_at(x, bad)}" if np.any(bad) else None


def gaussianchain_check_params(params):
    mean = np.asarray(params.get("mean", 0.0), dtype=float)
    if not np.all(np.isfinite(mean)):
        return "GaussianChain mean must be finite"
    if "cov" not in params:
        return "GaussianChain needs a mean and a cov (a variance for a scalar chain)"
    cov = np.asarray(params["cov"], dtype=float)
    if cov.ndim == mean.ndim:
        return positive_problem(cov, "GaussianChain variance")
    return spd_problem(cov, "GaussianChain cov")


GAUSSIAN_CHAIN = Family(
    name="GaussianChain", stats=("x", "xx", "prev_x", "prev_xx", "cross"),
    param_names=("mean", "cov", "precision", "cross_cov", "log_normalizer", "entropy"),
    event_rank={"x": 1, "xx": 2, "prev_x": 1, "prev_xx": 2, "cross": 2}, value_rank=1,
    posterior="GaussianChain",
    params_from_coeffs=gaussianchain_params_from_coeffs,
    coeffs_from_params=gaussianchain_coeffs_from_params,
    expectations=gaussianchain_expectations, entropy=gaussianchain_entropy,
    mode=gaussianchain_mode, point_expectations=gaussianchain_point_expectations,
    sample=gaussianchain_sample, log_density=gaussianchain_log_density,
    bound_share=gaussianchain_bound_share,
    check_support=gaussianchain_check_support, check_params=gaussianchain_check_params,
    helpers=(chol_lower, chol_logdet, chol_inverse, symmetrize, first_index, found_at,
             positive_problem, spd_problem),
    internals=(gaussianchain_potentials, gaussianchain_filter),
)

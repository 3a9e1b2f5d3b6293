"""The rotation step of the sweep loop (Luttinen & Ilin 2010; copied verbatim
into emitted modules that have a bilinear pair; numpy and scipy only).

For each pair (A, B) of ``ROTATIONS`` (derive/rotations.py: A, B meet only in
``dot(A[...], B[...])``), q(B) is mapped by b → R b and q(A) by a → R⁻ᵀ a,
which leaves every product aᵀb, hence the likelihood, unchanged.  Rows of
each side: m → T m, Σ → T Σ Tᵀ; the ELBO changes by

    (n_B − n_A) log|det R|                       (the entropies)
    − ½ tr(Λ T S Tᵀ)                             (a prior of constant precision Λ)
    − Σ_k a'_k log(b_k + ½ (T S Tᵀ)_kk)           (an ARD prior diag(alpha), q(alpha) optimal)

with S = Σ_rows E[x xᵀ] and T = R⁻ᵀ for A, T = R for B (a' = a + n/2 the
shape of q(alpha), b its prior rate).  R is found by L-BFGS from R = I with
the analytic gradient, and applied only when it raises that closed form, so
the step never lowers the ELBO; an ARD q(alpha) is then updated from the
rotated A, which is its optimum.
"""
import numpy as np
from scipy import optimize as sopt


# L-BFGS stops when no entry of the ELBO's gradient by R exceeds this (nats).
GRADIENT_TOL = 1e-5


def rotate_pairs(q, E, K, data, hyper, dim):
    """Rotate every pair of ROTATIONS; returns the total rise of the ELBO."""
    return sum(rotate_pair(q, E, K, data, hyper, dim, pair) for pair in ROTATIONS)


def rotate_pair(q, E, K, data, hyper, dim, pair):
    sides = [rotation_side(q, E, K, data, hyper, dim, *side) for side in pair]
    if None in sides:  # a prior that is not of the supported form at this state
        return 0.0
    objective = rotation_objective(*sides)
    size = sides[0]["S"].shape[0]
    start, slope = objective(np.eye(size))
    if np.max(np.abs(slope)) <= GRADIENT_TOL:  # R = I is optimal already
        return 0.0
    with np.errstate(all="ignore"):
        found = sopt.minimize(lambda r: tuple(-v for v in objective(r.reshape(size, size))),
                              np.eye(size).ravel(), jac=True, method="L-BFGS-B",
                              options={"gtol": GRADIENT_TOL})
    R = found.x.reshape(size, size)
    gain = objective(R)[0] - start
    if not (np.isfinite(gain) and gain > 0.0):
        return 0.0
    for side, T in zip(sides, (np.linalg.inv(R).T, R)):
        transform_side(q, E, K, data, hyper, dim, side, T)
    return float(gain)


def rotation_side(q, E, K, data, hyper, dim, name, ard):
    """A side's sufficient statistics and prior, or None if the prior has a
    mean other than 0 or a precision that differs between rows."""
    rows = {row[0]: row for row in UPDATES}
    params = q[name]
    mean = np.asarray(params["mean"], dtype=float)
    size = mean.shape[-1]
    flat = mean.reshape(-1, size)
    if flat.shape[0] == 0:  # an empty plate (N = 0): nothing to rotate
        return None
    cov = compact(np.asarray(params["cov"], dtype=float), 2).reshape(-1, size, size)
    S = flat.T @ flat + cov.sum(0) * (flat.shape[0] / cov.shape[0])
    side = {"name": name, "n": flat.shape[0], "S": S, "ard": ard}
    if ard is not None:
        rate = -np.asarray(rows[ard][4](E, K, data, hyper, dim)["x"], dtype=float)
        shape = np.asarray(rows[ard][3](E, K, data, hyper, dim)["log"], dtype=float) + 1.0
        side.update(rate=np.broadcast_to(rate, (size,)), shape=np.broadcast_to(shape, (size,)))
        return side
    prior = rows[name][4](E, K, data, hyper, dim)
    c_xx = compact(np.asarray(prior["xx"], dtype=float), 2).reshape(-1, size, size)
    if np.any(prior["x"]) or c_xx.shape[0] != 1:
        return None
    side["precision"] = -(c_xx[0] + c_xx[0].T)
    return side


def rotation_objective(first, second):
    """R ↦ (the ELBO's change up to a constant, its gradient by R); the first
    side is mapped by R⁻ᵀ, the second by R."""
    def objective(R):
        sign, logdet = np.linalg.slogdet(R)
        if sign == 0 or not np.isfinite(logdet):
            return -np.inf, np.zeros_like(R)
        inverse_t = np.linalg.inv(R).T
        v0, g0 = prior_term(first, inverse_t)
        v1, g1 = prior_term(second, R)
        entropy = second["n"] - first["n"]
        value = entropy * logdet + v0 + v1
        return value, entropy * inverse_t - inverse_t @ g0.T @ inverse_t + g1
    return objective


def prior_term(side, T):
    """The side's prior term at transform T and its gradient by T."""
    TS = T @ side["S"]
    if side["ard"] is None:
        precision = side["precision"]
        return -0.5 * np.sum(precision * (TS @ T.T)), -precision @ TS
    rate = side["rate"] + 0.5 * np.einsum("ij,ij->i", TS, T)
    if np.any(rate <= 0.0):
        return -np.inf, np.zeros_like(T)
    return -np.sum(side["shape"] * np.log(rate)), -(side["shape"] / rate)[:, None] * TS


def transform_side(q, E, K, data, hyper, dim, side, T):
    """q(x) → the law of T x for every row; then an ARD q(alpha) re-optimized."""
    rows = {row[0]: row for row in UPDATES}
    name = side["name"]
    params = q[name]
    mean = np.asarray(params["mean"], dtype=float)
    full = mean.shape + mean.shape[-1:]
    cov = compact(np.asarray(params["cov"], dtype=float), 2)
    inverse = np.linalg.inv(T)
    precision = compact(np.asarray(params["precision"], dtype=float), 2)
    rotated = {"mean": mean @ T.T,
               "cov": np.broadcast_to(T @ cov @ T.T, full),
               "precision": np.broadcast_to(inverse.T @ precision @ inverse, full)}
    _set_state(q, E, name, "MvNormal", False, rotated)
    if side["ard"] is not None:
        ard = side["ard"]
        coeffs = rows[ard][3](E, K, data, hyper, dim)
        _set_state(q, E, ard, "Gamma", False, _posterior(ard, "Gamma", coeffs))

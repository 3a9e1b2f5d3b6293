"""Newton updates for the non-conjugate terms of derive/nonconjugate.py
(copied verbatim into every emitted module; numpy and scipy only).

Each takes the coefficients the conjugate messages collected (``C``), the
variable's current statistics and its non-conjugate terms, maximizes the
exact expected log joint in that variable with a monotone line search (every
accepted step raises it, so the ELBO stays monotone), and returns the natural
parameters of the q (or point) it found, which the family turns into
parameters as usual.
"""
import numpy as np
from scipy import special as sps

from .prelude import SharedOuter, dense

NEWTON_STEPS = 100


def _backtrack(objective, value, local):
    """(t, objective(t)) for the first t in 1, ½, ¼, … with objective(t) ≥
    value; (None, None) when even a tiny step does not rise.  A ``local`` step
    (small, where the objective is concave) is taken whole: there the gain,
    second order in the step, is below what a sum of many terms resolves, and
    Newton's last steps are what fix the optimum's digits."""
    t = 1.0
    while t > 1e-12:
        trial = objective(t)
        if trial >= value or local:
            return t, trial
        t *= 0.5
    return None, None


def _gaussian_moments(stats):
    """(mean, covariance) of a Gaussian q from its statistics."""
    mean = np.array(stats["x"], dtype=float)
    second = stats["xx"]
    if isinstance(second, SharedOuter):
        return mean, np.array(np.broadcast_to(second.cov, second.shape), dtype=float)
    return mean, np.asarray(dense(second), dtype=float) - np.outer(mean, mean)


def _exp_rates(mean, cov, terms):
    """ω exp(a + Xm + ½ xᵀSx) per row of each term, as (X, rates) pairs."""
    out = []
    for design, offset, weight in terms:
        X = np.asarray(design, dtype=float).reshape(-1, mean.shape[-1])
        a = np.broadcast_to(offset, np.shape(design)[:-1]).reshape(-1)
        w = np.broadcast_to(weight, np.shape(design)[:-1]).reshape(-1)
        with np.errstate(over="ignore"):
            rates = w * np.exp(a + X @ mean + 0.5 * np.einsum("nd,de,ne->n", X, cov, X))
        out.append((X, rates))
    return out


def _gaussian_objective(c_x, prec, mean, cov, terms):
    """C_xᵀm − ½ tr(Λ(mmᵀ + S)) + ½ log|S| − Σ ω E[exp(η)]: the ELBO in q(w)."""
    try:
        chol = np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        return -np.inf
    value = (c_x @ mean - 0.5 * (mean @ prec @ mean + np.sum(prec * cov))
             + np.sum(np.log(np.diagonal(chol))))
    value -= sum(np.sum(rates) for _, rates in _exp_rates(mean, cov, terms))
    return value if np.isfinite(value) else -np.inf


def gva_coefficients(C, stats, terms):
    """Gaussian variational update of a vector w with terms −Σ ω exp(a + xᵀw):
    Newton steps (m, S) → (m + P⁻¹g, P⁻¹) with P = Λ + Σ ω_n e_n x_n x_nᵀ, each
    shortened until the objective rises (the step is an ascent direction of the
    jointly concave objective).  Returns the coefficients of the optimum."""
    c_x = np.asarray(C["x"], dtype=float)
    prec = -(np.asarray(C["xx"], dtype=float) + np.asarray(C["xx"], dtype=float).T)
    mean, cov = _gaussian_moments(stats)
    value = _gaussian_objective(c_x, prec, mean, cov, terms)
    if not np.isfinite(value):  # a start where E[exp(η)] overflows: start from the prior part
        mean, cov = np.zeros_like(mean), np.linalg.inv(prec)
        value = _gaussian_objective(c_x, prec, mean, cov, terms)
    for _ in range(NEWTON_STEPS):
        step, delta, local = _gaussian_newton_step(c_x, prec, mean, cov, terms)
        t, better = _backtrack(lambda t: _gaussian_objective(
            c_x, prec, mean + t * step, cov + t * delta, terms), value, local)
        if better is None:
            break
        mean, cov = mean + t * step, 0.5 * ((cov + t * delta) + (cov + t * delta).T)
        value = better
        # the gain is second order in the step: stop on the step's size
        if np.max(np.abs(t * step)) <= 1e-13 * (1.0 + np.max(np.abs(mean))) and \
                np.max(np.abs(t * delta)) <= 1e-13 * np.max(np.abs(cov)):
            break
    precision = np.linalg.inv(cov)
    precision = 0.5 * (precision + precision.T)
    return {"x": precision @ mean, "xx": -0.5 * precision}


def _gaussian_newton_step(c_x, prec, mean, cov, terms):
    """(Δm, ΔS, small?) towards (m + P⁻¹g, P⁻¹), P = Λ + Σ ω_n e_n x_n x_nᵀ."""
    rated = _exp_rates(mean, cov, terms)
    grad = c_x - prec @ mean - sum(X.T @ rates for X, rates in rated)
    hess = prec + sum((X * rates[:, None]).T @ X for X, rates in rated)
    new_cov = np.linalg.inv(0.5 * (hess + hess.T))
    step, delta = new_cov @ grad, new_cov - cov
    return step, delta, grad @ step <= 1e-9 and np.max(np.abs(delta)) <= 1e-6 * np.max(np.abs(cov))


def gva_expected_exp(stats, terms):
    """−Σ ω E[exp(η)] under the current q(w): the ELBO share of the terms."""
    mean, cov = _gaussian_moments(stats)
    return -float(sum(np.sum(rates) for _, rates in _exp_rates(mean, cov, terms)))


def _lgamma_objective(c_x, c_log, v, terms):
    value = c_x * v + c_log * np.log(v) + sum(w * sps.gammaln(s * v) for w, s in terms)
    return value if np.isfinite(value) else -np.inf


def lgamma_coefficients(C, stats, terms):
    """A positive scalar v with terms Σ w lgamma(s v) (a learned Gamma shape or
    Dirichlet concentration): Newton on u = log v, each step halved until the
    objective C_x v + C_log log v + Σ w lgamma(s v) rises.  Returns Gamma
    coefficients whose mode is the optimum."""
    c_x, c_log = float(np.sum(C["x"])), float(np.sum(C["log"]))
    v = float(np.asarray(stats["x"]))
    value = _lgamma_objective(c_x, c_log, v, terms)
    for _ in range(NEWTON_STEPS):
        d1 = c_x + c_log / v + sum(w * s * sps.digamma(s * v) for w, s in terms)
        d2 = -c_log / v ** 2 + sum(w * s * s * sps.zeta(2.0, s * v) for w, s in terms)
        g1, g2 = d1 * v, d2 * v * v + d1 * v  # derivatives in u = log v
        step = -g1 / g2 if g2 < 0 else np.sign(g1)
        t, better = _backtrack(lambda t: _lgamma_objective(c_x, c_log, v * np.exp(t * step),
                                                           terms), value, g2 < 0 and abs(step) < 1e-4)
        if better is None:
            break
        v, value = v * np.exp(t * step), better
        if abs(t * step) <= 1e-14:  # the gain is second order in the step: stop on the step
            break
    shape = np.shape(C["x"])
    return {"x": np.full(shape, -1.0), "log": np.full(shape, v)}  # Gamma mode (a − 1)/b = v


def lgamma_expected(stats, terms):
    """Σ w lgamma(s v) at the point's value: the ELBO share of the terms."""
    v = float(np.asarray(stats["x"]))
    return float(sum(w * sps.gammaln(s * v) for w, s in terms))

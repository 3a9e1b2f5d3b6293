"""Hand-written mean-field VMP for models/linreg.vmp: q(alpha) q(lambda) q(w).

Data-only products XᵀX, Xᵀy, yᵀy are formed once; a sweep is O(D³) (one
Cholesky), independent of N. Update order w, alpha, lambda as in vmpdsl (data
toward the priors, derive/schedule.py); alpha and lambda start at their priors.
"""
import numpy as np

from ._common import (LOG2PI, gamma_entropy, gamma_logprior, gamma_moments,
                      run_loop, spd_inv_logdet)


def fit(data, init, max_iter=500, tol=1e-8, callback=None, a0=1e-2, b0=1e-4, e0=1e-2, f0=1e-4):
    X = np.asarray(data["X"], float)
    y = np.asarray(data["y"], float)
    N, D = X.shape
    XtX = X.T @ X
    Xty = X.T @ y
    yty = float(y @ y)
    m = np.array(init["w"]["mean"], float)
    cov = np.array(init["w"]["cov"], float)
    S = {"m": m, "Eww": cov + np.outer(m, m), "Ea": a0 / b0, "El": e0 / f0}
    eye = np.eye(D)

    def sweep():
        prec = S["Ea"] * XtX + S["El"] * eye
        cov, logdet_prec = spd_inv_logdet(prec)
        m = S["Ea"] * (cov @ Xty)
        Eww = cov + np.outer(m, m)
        resid = yty - 2.0 * Xty @ m + np.sum(XtX * Eww)
        a_shape, a_rate = a0 + 0.5 * N, b0 + 0.5 * resid
        Ea, Elog_a = gamma_moments(a_shape, a_rate)
        l_shape, l_rate = e0 + 0.5 * D, f0 + 0.5 * np.trace(Eww)
        El, Elog_l = gamma_moments(l_shape, l_rate)
        S.update(Ea=Ea, El=El)
        S.update(m=m, Eww=Eww, cov=cov, alpha=(a_shape, a_rate), lam=(l_shape, l_rate))
        elbo = (gamma_logprior(a0, b0, Ea, Elog_a) + gamma_logprior(e0, f0, El, Elog_l)
                + 0.5 * D * Elog_l - 0.5 * D * LOG2PI - 0.5 * El * np.trace(Eww)
                + 0.5 * N * Elog_a - 0.5 * N * LOG2PI - 0.5 * Ea * resid
                + gamma_entropy(a_shape, a_rate) + gamma_entropy(l_shape, l_rate)
                + 0.5 * (D * (1.0 + LOG2PI) - logdet_prec))
        return float(elbo)

    trace = run_loop(sweep, max_iter, tol, callback)
    return {"elbo": trace, "iterations": len(trace),
            "posterior": {"alpha": dict(zip(("shape", "rate"), S["alpha"])),
                          "lambda": dict(zip(("shape", "rate"), S["lam"])),
                          "w": {"mean": S["m"], "cov": S["cov"]}}}

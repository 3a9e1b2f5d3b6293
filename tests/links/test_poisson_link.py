"""Poisson(exp(η)): q(w) Gaussian on the closed-form expected log density
(E[exp(xᵀw)] = exp(xᵀm + ½xᵀSx)).  Its optimum, found independently by
scipy.optimize over (m, Cholesky factor of S), must be the fit's to 1e-8."""
import numpy as np
from scipy import optimize
from scipy.special import gammaln

from link_cases import fit, poisson_data


def negative_elbo(params, X, c):
    """−ELBO and its gradient; S = L Lᵀ with L lower triangular."""
    D = X.shape[1]
    m, L = params[:D], np.zeros((D, D))
    L[np.tril_indices(D)] = params[D:]
    S = L @ L.T
    e = np.exp(X @ m + 0.5 * np.einsum("nd,de,ne->n", X, S, X))
    elbo = (c @ (X @ m) - e.sum() - gammaln(c + 1).sum()
            - 0.5 * D * np.log(2 * np.pi) - 0.5 * (m @ m + np.trace(S))
            + 0.5 * D * np.log(2 * np.pi * np.e) + np.sum(np.log(np.abs(np.diag(L)))))
    grad_m = X.T @ (c - e) - m
    grad_S = -0.5 * (X * e[:, None]).T @ X - 0.5 * np.eye(D)
    grad_L = 2 * grad_S @ L + np.diag(1 / np.diag(L))
    return -elbo, -np.concatenate([grad_m, grad_L[np.tril_indices(D)]])


def test_poisson_reg_reaches_the_closed_form_elbo_optimum():
    data = poisson_data(np.random.default_rng(0), N=60, D=3)
    result = fit("poisson_reg", data, max_iter=50, tol=1e-14)
    D = 3
    start = np.concatenate([np.zeros(D), np.eye(D)[np.tril_indices(D)]])
    best = optimize.minimize(negative_elbo, start, args=(data["X"], data["c"]), jac=True,
                             method="BFGS", options={"gtol": 1e-12, "maxiter": 10000})
    m, L = best.x[:D], np.zeros((D, D))
    L[np.tril_indices(D)] = best.x[D:]
    np.testing.assert_allclose(result.mean("w"), m, atol=1e-8)
    np.testing.assert_allclose(result.posterior["w"]["cov"], L @ L.T, atol=1e-8)
    np.testing.assert_allclose(result.elbo[-1], -best.fun, rtol=1e-12)


def test_poisson_reg_elbo_is_the_exact_expected_log_joint():
    """Without a bound, the reported ELBO is the closed form itself."""
    data = poisson_data(np.random.default_rng(1), N=30, D=2)
    result = fit("poisson_reg", data, max_iter=3)
    S = result.posterior["w"]["cov"]
    L = np.linalg.cholesky(S)
    params = np.concatenate([result.mean("w"), L[np.tril_indices(2)]])
    np.testing.assert_allclose(result.elbo[-1], -negative_elbo(params, data["X"], data["c"])[0],
                               rtol=1e-12)

"""An HMM with every global a ``param`` (no prior) is Baum–Welch EM: each
sweep is the M-step (the ML estimates, where a probability of 0 is legal)
from the current q(z), then the E-step (forward–backward), and its ELBO is
the data's log-likelihood.  Checked sweep by sweep against a hand-written
Baum–Welch (Rabiner 1989; Bishop PRML §13.2.1) from the same responsibilities."""
import numpy as np
from scipy.stats import multivariate_normal

import vmpdsl
from chain_cases import quiet_fit, simulate_hmm

HMM_EM = """model hmm_em
dim T, K, D
data x[T, D]
param pi0[K]
param A[K, K]
param mu[K, D]
param Lambda[K, D, D]
z[0] ~ Categorical(pi0)
for t in T[1:]:
    z[t] ~ Categorical(A[z[t-1]])
for t in T:
    x[t] ~ MvNormal(mu[z[t]], Lambda[z[t]])
"""


def m_step(x, R, counts):
    """PRML (13.18)-(13.21): π = γ(z_1), A_jk ∝ Σ_t ξ(z_{t−1,j}, z_tk), μ_k and
    Σ_k the responsibility-weighted mean and covariance."""
    Nk = R.sum(0)
    mu = (R.T @ x) / Nk[:, None]
    cov = np.stack([(R[:, k, None] * (x - mu[k])).T @ (x - mu[k]) / Nk[k]
                    for k in range(len(Nk))])
    return R[0] / R[0].sum(), counts / counts.sum(1, keepdims=True), mu, cov


def e_step(x, pi, A, mu, cov):
    """Scaled forward–backward (PRML §13.2.4): γ, Σ_t ξ_t and log p(x)."""
    T, K = len(x), len(pi)
    logp = np.stack([multivariate_normal(mu[k], cov[k]).logpdf(x) for k in range(K)], 1)
    top = logp.max(1)
    phi = np.exp(logp - top[:, None])
    alpha, c = np.empty((T, K)), np.empty(T)
    for t in range(T):
        a = (pi if t == 0 else alpha[t - 1] @ A) * phi[t]
        c[t] = a.sum()
        alpha[t] = a / c[t]
    beta = np.ones((T, K))
    for t in range(T - 1, 0, -1):
        beta[t - 1] = A @ (phi[t] * beta[t]) / c[t]
    counts = A * (alpha[:-1].T @ (phi[1:] * beta[1:] / c[1:, None]))
    return alpha * beta, counts, np.log(c).sum() + top.sum()


def baum_welch(x, R, sweeps):
    counts = R[:-1].T @ R[1:]  # a start of independent steps, as vmpdsl's init
    trace = []
    for _ in range(sweeps):
        params = m_step(x, R, counts)
        R, counts, loglik = e_step(x, *params)
        trace.append(loglik)
    return np.array(trace), params


def test_hmm_em_is_baum_welch_every_sweep():
    rng = np.random.default_rng(1)
    x, _ = simulate_hmm(rng, 50, K=2, D=2)  # separated enough that γ(z_1) underflows to 0
    R0 = rng.dirichlet(np.ones(2), size=50)
    fit = quiet_fit(vmpdsl.load(HMM_EM), {"x": x, "K": 2}, init={"z": R0},
                    max_iter=30, tol=0.0)
    trace, (pi, A, mu, cov) = baum_welch(x, R0, 30)
    np.testing.assert_allclose(fit.elbo, trace, rtol=1e-10)
    assert np.any(pi == 0)  # the ML start probability lies on the boundary
    np.testing.assert_allclose(fit.posterior["pi0"]["value"], pi, atol=1e-12)
    np.testing.assert_allclose(fit.posterior["A"]["value"], A, rtol=1e-9)
    np.testing.assert_allclose(fit.posterior["mu"]["value"], mu, rtol=1e-9)
    np.testing.assert_allclose(np.linalg.inv(fit.posterior["Lambda"]["value"]), cov, rtol=1e-9)

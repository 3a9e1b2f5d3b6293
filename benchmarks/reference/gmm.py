"""Hand-written VB for models/gmm.vmp with the joint Normal–Wishart q(mu_k, Λ_k)
(PRML §10.2, as scikit-learn's BayesianGaussianMixture): q(pi) Π_k q(mu_k, Λ_k) Π_n q(z_n).

Same update order as vmpdsl's default (pi, the Normal–Wishart block, z): the
M-step (10.58)–(10.63) from the current responsibilities, then the E-step.
Per sweep: one pass over the data for the statistics (N_k, Σ r x, Σ r x xᵀ as
one GEMM) and one GEMM for the Mahalanobis terms through the Cholesky factors
of E[Λ_k] = ν_k W_k; the ELBO reuses the z logits (Σ_n logsumexp), so it costs
no extra pass.  ``init`` needs only the starting responsibilities ``z``.
"""
import numpy as np
from scipy import special as sps

from ._common import (LOG2PI, dirichlet_elog, dirichlet_entropy, gmm_priors, log_multigamma,
                      log_softmax_rows, run_loop, spd_inv_logdet)


def fit(data, init, max_iter=500, tol=1e-8, callback=None, alpha0=1.0, beta0=1.0,
        nu0=None, W0=None, m0=None):
    x, K, nu0, W0inv, m0, const_lambda, const_pi = gmm_priors(data, alpha0, nu0, W0, m0)
    N, D = x.shape
    prior_outer = W0inv + beta0 * np.outer(m0, m0)
    offsets = np.arange(D)
    S = {"R": np.array(init["z"], dtype=float)}

    def sweep():
        R = S["R"]
        Nk = R.sum(0)
        Sx = R.T @ x                                                   # K×D
        Sxx = ((R[:, :, None] * x[:, None, :]).reshape(N, K * D).T @ x).reshape(K, D, D)
        conc = alpha0 + Nk                                             # (10.58)
        elogpi = dirichlet_elog(conc)
        beta = beta0 + Nk                                              # (10.60)
        m = (beta0 * m0 + Sx) / beta[:, None]                          # (10.61)
        W_inv = prior_outer + Sxx - beta[:, None, None] * m[:, :, None] * m[:, None, :]  # (10.62)
        W_inv = 0.5 * (W_inv + np.swapaxes(W_inv, 1, 2))
        nu = nu0 + Nk                                                  # (10.63)
        W, logdet_W_inv = spd_inv_logdet(W_inv)
        EL = nu[:, None, None] * W
        elogdet = (sps.digamma(0.5 * (nu[:, None] - offsets)).sum(1)
                   + D * np.log(2.0) - logdet_W_inv)                   # (10.65)
        # q(z): E[(x − μ)ᵀΛ(x − μ)] = D/β + (x − m)ᵀ E[Λ] (x − m)   (10.64)
        L = np.linalg.cholesky(EL)
        Lcat = np.swapaxes(L, 0, 1).reshape(D, K * D)
        proj = (x @ Lcat).reshape(N, K, D)
        proj -= np.einsum("kd,kde->ke", m, L)
        quad = np.einsum("nkd,nkd->nk", proj, proj)
        logits = -0.5 * quad
        logits += elogpi + 0.5 * elogdet - 0.5 * D * LOG2PI - 0.5 * D / beta
        R, lse = log_softmax_rows(logits)
        S.update(R=R, m=m, beta=beta, conc=conc, nu=nu, W=W)
        # ELBO: the z/x part is Σ_n logsumexp(logits_n)
        elbo = lse
        elbo += const_pi + (alpha0 - 1.0) * elogpi.sum() + dirichlet_entropy(conc, elogpi)
        dm = m - m0
        mu_quad = D / beta + np.einsum("ki,kij,kj->k", dm, EL, dm)
        elbo += np.sum(0.5 * D * (np.log(beta0) - LOG2PI) + 0.5 * elogdet - 0.5 * beta0 * mu_quad)
        trW0EL = np.einsum("ij,kji->k", W0inv, EL)
        elbo += np.sum(0.5 * (nu0 - D - 1.0) * elogdet - 0.5 * trW0EL + const_lambda)
        log_norm = 0.5 * nu * (D * np.log(2.0) - logdet_W_inv) + log_multigamma(0.5 * nu, D)
        entropy_lambda = log_norm + 0.5 * nu * D - 0.5 * (nu - D - 1.0) * elogdet
        elbo += np.sum(entropy_lambda + 0.5 * D * (1.0 + LOG2PI - np.log(beta)) - 0.5 * elogdet)
        return float(elbo)

    trace = run_loop(sweep, max_iter, tol, callback)
    return {"elbo": trace, "iterations": len(trace),
            "posterior": {"pi": {"concentration": S["conc"]},
                          "mu": {"mean": S["m"], "beta": S["beta"], "df": S["nu"], "scale": S["W"]},
                          "Lambda": {"df": S["nu"], "scale": S["W"]},
                          "z": {"probs": S["R"]}}}

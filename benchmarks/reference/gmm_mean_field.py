"""Hand-written mean-field VMP for models/gmm.vmp, q(pi) Π_k q(Λ_k) q(mu_k) Π_n q(z_n).

Same factorization and update order as vmpdsl's ``mean_field=True`` (mu,
Lambda, pi, z: from the data toward the priors, derive/schedule.py; mu and Λ
separate, not Bishop's joint Normal–Wishart, which is vmpdsl's default and
``gmm.py``).  q(Λ) starts at its prior; ``init`` needs only ``z``. Per sweep: one pass over the data
for the statistics (N_k, Σ r x, Σ r x xᵀ as one GEMM) and one GEMM for the
Mahalanobis terms through the Cholesky factors of E[Λ_k]; the ELBO reuses the
z logits (Σ_n logsumexp), so it costs no extra pass.
"""
import numpy as np
from scipy import special as sps

from ._common import (LOG2PI, dirichlet_elog, dirichlet_entropy, gmm_priors, log_multigamma,
                      log_softmax_rows, run_loop, spd_inv_logdet)


def fit(data, init, max_iter=500, tol=1e-8, callback=None, alpha0=1.0, beta0=1.0,
        nu0=None, W0=None, m0=None):
    x, K, nu0, W0inv, m0, const_lambda, const_pi = gmm_priors(data, alpha0, nu0, W0, m0)
    N, D = x.shape
    m0m0 = np.outer(m0, m0)
    digamma_offsets = np.arange(D)

    R = np.array(init["z"], dtype=float)
    S = {"R": R, "EL": np.broadcast_to(nu0 * np.linalg.inv(W0inv), (K, D, D))}

    def sweep():
        R, EL = S["R"], S["EL"]
        Nk = R.sum(0)
        Sx = R.T @ x                                                   # K×D
        Sxx = ((R[:, :, None] * x[:, None, :]).reshape(N, K * D).T @ x).reshape(K, D, D)
        # q(mu_k): precision (β0 + N_k) E[Λ_k], mean (β0 m0 + Σ r x)/(β0 + N_k)
        bk = beta0 + Nk
        prec = bk[:, None, None] * EL
        cov, logdet_prec = spd_inv_logdet(prec)
        m = (beta0 * m0 + Sx) / bk[:, None]
        Emumu = cov + m[:, :, None] * m[:, None, :]
        # q(Λ_k): df = ν0 + N_k + 1, scale⁻¹ as below
        Sxm = Sx[:, :, None] * m[:, None, :]
        dm = m0[None, :, None] * m[:, None, :]
        scale_inv = (W0inv + beta0 * (Emumu - dm - np.swapaxes(dm, 1, 2) + m0m0)
                     + Sxx - Sxm - np.swapaxes(Sxm, 1, 2) + Nk[:, None, None] * Emumu)
        scale_inv = 0.5 * (scale_inv + np.swapaxes(scale_inv, 1, 2))
        df = nu0 + Nk + 1.0
        scale, logdet_scale_inv = spd_inv_logdet(scale_inv)
        EL = df[:, None, None] * scale
        elogdet = (sps.digamma(0.5 * (df[:, None] - digamma_offsets)).sum(1)
                   + D * np.log(2.0) - logdet_scale_inv)
        # q(pi)
        conc = alpha0 + Nk
        elogpi = dirichlet_elog(conc)
        # q(z): logits through the Cholesky factors of E[Λ_k]
        L = np.linalg.cholesky(EL)                                     # K×D×D
        Lcat = np.swapaxes(L, 0, 1).reshape(D, K * D)                  # [L_1 … L_K]
        proj = (x @ Lcat).reshape(N, K, D)
        proj -= np.einsum("kd,kde->ke", m, L)
        quad = np.einsum("nkd,nkd->nk", proj, proj)
        quad += np.einsum("kij,kji->k", EL, cov)
        logits = -0.5 * quad
        logits += elogpi + 0.5 * elogdet - 0.5 * D * LOG2PI
        R, lse = log_softmax_rows(logits)
        S.update(R=R, EL=EL, m=m, conc=conc, df=df, scale=scale, cov=cov)
        # ELBO: the z/x part is Σ_n logsumexp(logits_n)
        elbo = lse
        elbo += const_pi + (alpha0 - 1.0) * elogpi.sum() + dirichlet_entropy(conc, elogpi)
        trW0EL = np.einsum("ij,kji->k", W0inv, EL)
        elbo += np.sum(0.5 * (nu0 - D - 1.0) * elogdet - 0.5 * trW0EL + const_lambda)
        log_norm = 0.5 * df * (D * np.log(2.0) - logdet_scale_inv) + log_multigamma(0.5 * df, D)
        elbo += np.sum(log_norm + 0.5 * df * D - 0.5 * (df - D - 1.0) * elogdet)
        ELm = np.einsum("kij,kj->ki", EL, m)
        mu_quad = (np.einsum("kij,kji->k", EL, Emumu) - 2.0 * ELm @ m0
                   + np.einsum("i,kij,j->k", m0, EL, m0))
        elbo += np.sum(0.5 * D * np.log(beta0) + 0.5 * elogdet - 0.5 * D * LOG2PI
                       - 0.5 * beta0 * mu_quad)
        elbo += np.sum(0.5 * (D * (1.0 + LOG2PI) - logdet_prec))
        return float(elbo)

    trace = run_loop(sweep, max_iter, tol, callback)
    return {"elbo": trace, "iterations": len(trace),
            "posterior": {"pi": {"concentration": S["conc"]},
                          "Lambda": {"df": S["df"], "scale": S["scale"]},
                          "mu": {"mean": S["m"], "cov": S["cov"]},
                          "z": {"probs": S["R"]}}}

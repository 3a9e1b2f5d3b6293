"""Hand-written variational Bayes for a Gaussian HMM (MacKay 1997; Beal 2003 ch. 3),
the model of models/hmm.vmp:

    q(pi0) q(A) Π_k q(Λ_k) q(mu_k) · q(z_0 … z_{T−1})

with q(z) one block (the chain, exact given the rest: forward–backward on
the sub-normalized parameters exp E[log A], exp E[log pi0] and the expected
Gaussian log densities).  Same update order as vmpdsl's sweep (mu, Λ, pi0,
A, z: from the data toward the priors, the chain last; derive/schedule.py)
and mu and Λ factorized.  A start gives q(z) as per-step probabilities (its
elements independent), q(Λ) starts at its prior; the first sweep's expected
transition counts are then Σ_t r_{t−1} r_tᵀ.  The ELBO of a sweep is the
priors' and entropies' terms plus log Z of the forward pass.  ``data["x"]`` may be a list
of sequences of different lengths (sharing every global; ``init["z"]`` then
stacks their probabilities); a NaN step is unobserved: no emission, the
chain runs through it.
"""
import numpy as np
from scipy import special as sps

from ._common import (LOG2PI, dirichlet_elog, dirichlet_entropy, dirichlet_logprior,
                      run_loop, spd_inv_logdet)


def _log_multigamma(a, d):
    return 0.25 * d * (d - 1) * np.log(np.pi) + sps.gammaln(a - 0.5 * np.arange(d)).sum()


def forward_backward(logits, log_A):
    """Scaled forward–backward for one sequence: marginals (T, K), expected
    transition counts Σ_t ξ_t (K, K), log Z."""
    T, K = logits.shape
    top = logits.max(1)
    phi = np.exp(logits - top[:, None])
    lift = log_A.max()
    A = np.exp(log_A - lift)
    alpha = np.empty((T, K))
    scale = np.empty(T)
    a = phi[0]
    for t in range(T):
        if t:
            a = (a @ A) * phi[t]
        c = a.sum()
        a = a / c
        alpha[t] = a
        scale[t] = c
    beta = np.empty((T, K))
    b = np.ones(K)
    beta[-1] = b
    for t in range(T - 1, 0, -1):
        b = A @ (phi[t] * b) / scale[t]
        beta[t - 1] = b
    R = alpha * beta
    counts = A * (alpha[:-1].T @ (phi[1:] * beta[1:] / scale[1:, None]))
    log_z = np.log(scale).sum() + top.sum() + (T - 1) * lift
    return R, counts, log_z


def fit(data, init, max_iter=500, tol=1e-8, callback=None, alpha=1.0, mu_precision=1e-2):
    sequences = data["x"] if isinstance(data["x"], list) else [data["x"]]
    ends = np.cumsum([len(s) for s in sequences])[:-1]
    x = np.concatenate(sequences).astype(float)
    seen = np.all(np.isfinite(x), 1)
    x = np.where(seen[:, None], x, 0.0)
    K = int(data["K"])
    T, D = x.shape
    nu0, W0inv, logdetW0 = float(D), np.eye(D), 0.0
    const_lambda = -0.5 * nu0 * D * np.log(2.0) - 0.5 * nu0 * logdetW0 - _log_multigamma(0.5 * nu0, D)
    R = np.array(init["z"], dtype=float)
    S = {"R": R, "counts": sum(r[:-1].T @ r[1:] for r in np.split(R, ends)),
         "EL": np.stack([nu0 * np.eye(D)] * K)}  # q(Λ) starts at its prior

    def sweep():
        R, EL = S["R"], S["EL"]
        Ro = R * seen[:, None] if not seen.all() else R
        Nk = Ro.sum(0)
        Sx = Ro.T @ x
        Sxx = ((Ro[:, :, None] * x[:, None, :]).reshape(T, K * D).T @ x).reshape(K, D, D)
        # q(mu_k): precision mu_precision·I + N_k E[Λ_k], mean cov E[Λ_k] Σ_t r_tk x_t
        prec = mu_precision * np.eye(D) + Nk[:, None, None] * EL
        cov, logdet_prec = spd_inv_logdet(prec)
        m = np.einsum("kij,kjl,kl->ki", cov, EL, Sx)
        Emumu = cov + m[:, :, None] * m[:, None, :]
        # q(Λ_k): df = D + N_k, scale⁻¹ = I + Σ_t r_tk E[(x_t − mu_k)(x_t − mu_k)ᵀ]
        Sxm = Sx[:, :, None] * m[:, None, :]
        scale_inv = W0inv + Sxx - Sxm - np.swapaxes(Sxm, 1, 2) + Nk[:, None, None] * Emumu
        scale_inv = 0.5 * (scale_inv + np.swapaxes(scale_inv, 1, 2))
        df = nu0 + Nk
        scale, logdet_scale_inv = spd_inv_logdet(scale_inv)
        EL = df[:, None, None] * scale
        elogdet = (sps.digamma(0.5 * (df[:, None] - np.arange(D))).sum(1)
                   + D * np.log(2.0) - logdet_scale_inv)
        # q(pi0), q(A): the first marginal and the expected transition counts
        conc0 = alpha + sum(r[0] for r in np.split(R, ends) if len(r))
        elogpi0 = dirichlet_elog(conc0)
        concA = alpha + S["counts"]
        elogA = dirichlet_elog(concA)
        # q(z): expected Gaussian log densities, then forward–backward
        L = np.linalg.cholesky(EL)
        proj = (x @ np.swapaxes(L, 0, 1).reshape(D, K * D)).reshape(T, K, D)
        proj -= np.einsum("kd,kde->ke", m, L)
        logits = -0.5 * np.einsum("tkd,tkd->tk", proj, proj)
        logits -= 0.5 * np.einsum("kij,kji->k", EL, cov)
        logits += 0.5 * elogdet - 0.5 * D * LOG2PI
        logits[~seen] = 0.0
        parts = [forward_backward(np.concatenate([lg[:1] + elogpi0, lg[1:]]), elogA)
                 for lg in np.split(logits, ends) if len(lg)]
        R = np.concatenate([p[0] for p in parts])
        counts, log_z = sum(p[1] for p in parts), sum(p[2] for p in parts)
        S.update(R=R, counts=counts, m=m, cov=cov, conc0=conc0, concA=concA, df=df,
                 scale=scale, EL=EL, log_z=log_z)
        elbo = log_z
        elbo += dirichlet_logprior(alpha, K, elogpi0) + dirichlet_entropy(conc0, elogpi0)
        elbo += dirichlet_logprior(alpha, K, elogA) + dirichlet_entropy(concA, elogA).sum()
        trW0EL = np.einsum("ij,kji->k", W0inv, EL)
        elbo += np.sum(0.5 * (nu0 - D - 1.0) * elogdet - 0.5 * trW0EL + const_lambda)
        log_norm = 0.5 * df * (D * np.log(2.0) - logdet_scale_inv) + np.array(
            [_log_multigamma(0.5 * v, D) for v in df])
        elbo += np.sum(log_norm + 0.5 * df * D - 0.5 * (df - D - 1.0) * elogdet)
        elbo += np.sum(0.5 * D * np.log(mu_precision) - 0.5 * D * LOG2PI
                       - 0.5 * mu_precision * np.einsum("kii->k", Emumu))
        elbo += np.sum(0.5 * (D * (1.0 + LOG2PI) - logdet_prec))
        return float(elbo)

    trace = run_loop(sweep, max_iter, tol, callback)
    return {"elbo": trace, "iterations": len(trace),
            "posterior": {"pi0": {"concentration": S["conc0"]},
                          "A": {"concentration": S["concA"]},
                          "Lambda": {"df": S["df"], "scale": S["scale"]},
                          "mu": {"mean": S["m"], "cov": S["cov"]},
                          "z": {"probs": S["R"]}}}

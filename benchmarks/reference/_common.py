"""Shared pieces of the hand-written references: entropies, the loop, Cholesky helpers."""
import time

import numpy as np
from scipy import linalg as sla
from scipy import special as sps

LOG2PI = np.log(2.0 * np.pi)


def gamma_moments(shape, rate):
    return shape / rate, sps.digamma(shape) - np.log(rate)


def gamma_entropy(shape, rate):
    return shape - np.log(rate) + sps.gammaln(shape) + (1.0 - shape) * sps.digamma(shape)


def gamma_logprior(a, b, e_x, e_log):
    """E[log Gamma(x; a, b)] (shape a, rate b)."""
    return a * np.log(b) - sps.gammaln(a) + (a - 1.0) * e_log - b * e_x


def dirichlet_elog(conc):
    return sps.digamma(conc) - sps.digamma(conc.sum(-1, keepdims=True))


def dirichlet_entropy(conc, elog):
    total = conc.sum(-1)
    return (sps.gammaln(conc).sum(-1) - sps.gammaln(total)
            - ((conc - 1.0) * elog).sum(-1))


def dirichlet_logprior(a, k, elog):
    """E[log Dir(p; a·1_k)] summed over every row of elog."""
    rows = elog.size // k
    return rows * (sps.gammaln(k * a) - k * sps.gammaln(a)) + (a - 1.0) * elog.sum()


def spd_inv_logdet(p):
    """(P⁻¹, log det P) of a batch of SPD matrices via Cholesky."""
    chol = np.linalg.cholesky(p)
    logdet = 2.0 * np.log(np.diagonal(chol, axis1=-2, axis2=-1)).sum(-1)
    eye = np.broadcast_to(np.eye(p.shape[-1]), p.shape)
    linv = np.linalg.solve(chol, eye)
    return np.swapaxes(linv, -1, -2) @ linv, logdet


def log_multigamma(a, d):
    """log Γ_d(a), elementwise over an array a."""
    a = np.asarray(a, dtype=float)
    return 0.25 * d * (d - 1) * np.log(np.pi) + sps.gammaln(a[..., None] - 0.5 * np.arange(d)).sum(-1)


def gmm_priors(data, alpha0, nu0, W0, m0):
    """x, K and gmm.vmp's prior constants (defaults ν0 = D, W0 = I, m0 = 0):
    (x, K, ν0, W0⁻¹, m0, the Wishart prior's log normalizer, the Dirichlet's)."""
    x = np.asarray(data["x"], dtype=float)
    K, D = int(data["K"]), x.shape[1]
    nu0 = float(D if nu0 is None else nu0)
    W0 = np.eye(D) if W0 is None else np.asarray(W0, float)
    m0 = np.zeros(D) if m0 is None else np.asarray(m0, float)
    W0inv, logdetW0 = spd_inv_logdet(W0)
    const_lambda = (-0.5 * nu0 * D * np.log(2.0) - 0.5 * nu0 * logdetW0
                    - log_multigamma(0.5 * nu0, D))
    const_pi = sps.gammaln(K * alpha0) - K * sps.gammaln(alpha0)
    return x, K, nu0, W0inv, m0, const_lambda, const_pi


def log_softmax_rows(logits):
    """(probabilities, Σ_rows logsumexp) of an (N, K) array, in place on ``logits``."""
    top = logits.max(axis=1, keepdims=True)
    logits -= top
    np.exp(logits, out=logits)
    norm = logits.sum(axis=1, keepdims=True)
    logits /= norm
    return logits, float(np.log(norm).sum() + top.sum())


def run_loop(sweep, max_iter, tol, callback):
    """The same loop and stopping rule as vmpdsl: one sweep + ELBO per iteration,
    stop when |ΔELBO| ≤ tol·|ELBO|."""
    trace = []
    for it in range(max_iter):
        trace.append(sweep())
        if callback is not None:
            callback(it + 1, trace[-1])
        if len(trace) > 1 and abs(trace[-1] - trace[-2]) <= tol * abs(trace[-1]):
            break
    return np.asarray(trace)

"""Shared pieces of the chain tests: models, simulated sequences, quiet fits,
and the hand-written references they are checked against."""
from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
from scipy.special import digamma, multigammaln

import vmpdsl

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # benchmarks.reference: the hand-written VB-HMM

LGSSM_KNOWN = """model lgssm_known
dim T, D, M
data y[T, M]
data A[D, D]
data C[M, D]
data Q[D, D]
data R[M, M]
x[0] ~ MvNormal(zeros(D), eye(D))
for t in T[1:]:
    x[t] ~ MvNormal(A @ x[t-1], Q)
for t in T:
    y[t] ~ MvNormal(C @ x[t], R)
"""

HMM_SEQUENCES = """model hmm_seq
dim S, T, K, D
data x[S, T, D]
hyper alpha = 1.0
pi0 ~ Dirichlet(alpha * ones(K))
for k in K:
    A[k] ~ Dirichlet(alpha * ones(K))
    Lambda[k] ~ Wishart(D, eye(D))
    mu[k] ~ MvNormal(zeros(D), 1e-2 * eye(D))
for s in S:
    z[s, 0] ~ Categorical(pi0)
    for t in T[1:]:
        z[s, t] ~ Categorical(A[z[s, t-1]])
    for t in T:
        x[s, t] ~ MvNormal(mu[z[s, t]], Lambda[z[s, t]])
"""


def model(name: str):
    return vmpdsl.load(str(ROOT / "models" / f"{name}.vmp"))


def quiet_fit(m, data, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return m.fit(data, **kwargs)


def simulate_hmm(rng, T, K=3, D=2, spread=3.0):
    A = np.full((K, K), 0.1 / max(K - 1, 1)) + np.eye(K) * (0.9 - 0.1 / max(K - 1, 1))
    A = A / A.sum(1, keepdims=True)
    centres = spread * rng.standard_normal((K, D))
    z = np.zeros(T, dtype=int)
    z[0] = rng.integers(K)
    for t in range(1, T):
        z[t] = rng.choice(K, p=A[z[t - 1]])
    return centres[z] + rng.standard_normal((T, D)), z


def simulate_lgssm(rng, T, D=2, M=3):
    angle = 0.3
    A = 0.95 * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    A = A[:D, :D]
    C = rng.standard_normal((M, D))
    x = np.zeros((T, D))
    x[0] = rng.standard_normal(D)
    for t in range(1, T):
        x[t] = A @ x[t - 1] + 0.3 * rng.standard_normal(D)
    y = x @ C.T + 0.5 * rng.standard_normal((T, M))
    return {"y": y, "A": A, "C": C}, x


def kalman_rts(y, A, C, Q, R):
    """Covariance-form Kalman filter and RTS smoother (Q, R precisions), x_0 ~ N(0, I):
    smoothed means, covariances, lag-one covariances Cov(x_t, x_{t-1}), log p(y)."""
    T, D = len(y), A.shape[0]
    Qc, Rc = np.linalg.inv(Q), np.linalg.inv(R)
    mf, Pf, mp, Pp = np.zeros((T, D)), np.zeros((T, D, D)), np.zeros((T, D)), np.zeros((T, D, D))
    loglik = 0.0
    for t in range(T):
        mp[t], Pp[t] = (np.zeros(D), np.eye(D)) if t == 0 else (A @ mf[t - 1], A @ Pf[t - 1] @ A.T + Qc)
        S = C @ Pp[t] @ C.T + Rc
        gain = Pp[t] @ C.T @ np.linalg.inv(S)
        resid = y[t] - C @ mp[t]
        mf[t], Pf[t] = mp[t] + gain @ resid, Pp[t] - gain @ C @ Pp[t]
        loglik += -0.5 * (resid @ np.linalg.solve(S, resid) + np.linalg.slogdet(2 * np.pi * S)[1])
    ms, Ps, lag = mf.copy(), Pf.copy(), np.zeros((T, D, D))
    for t in range(T - 2, -1, -1):
        G = Pf[t] @ A.T @ np.linalg.inv(Pp[t + 1])
        ms[t] = mf[t] + G @ (ms[t + 1] - mp[t + 1])
        Ps[t] = Pf[t] + G @ (Ps[t + 1] - Pp[t + 1]) @ G.T
        lag[t + 1] = Ps[t + 1] @ G.T
    return ms, Ps, lag, loglik


def wishart_moments(df, scale):
    D = scale.shape[-1]
    logdet = np.linalg.slogdet(scale)[1] + D * np.log(2.0) + sum(
        digamma((df - i) / 2.0) for i in range(D))
    return df * scale, logdet


def wishart_prior_and_entropy(df, scale, nu0):
    """E[log Wishart(Λ; nu0, I)] + H[Wishart(df, scale)] (Bishop B.78–B.82)."""
    D = scale.shape[-1]
    mean, logdet = wishart_moments(df, scale)
    log_b0 = -0.5 * nu0 * D * np.log(2.0) - multigammaln(nu0 / 2.0, D)
    prior = log_b0 + 0.5 * (nu0 - D - 1) * logdet - 0.5 * np.trace(mean)
    log_norm = 0.5 * df * D * np.log(2.0) + 0.5 * df * np.linalg.slogdet(scale)[1] \
        + multigammaln(df / 2.0, D)
    return prior + log_norm + 0.5 * df * D - 0.5 * (df - D - 1) * logdet


def vb_lgssm(y, A, C, sweeps):
    """Hand-written VB-EM for lgssm (q(x) q(R) q(Q), Beal 2003 ch. 5 with
    Wishart precisions), in vmpdsl's sweep order (x, R, Q; derive/schedule.py):
    q(x) is the RTS smoother at E[Q], E[R] (q(Q), q(R) start at their priors).
    The ELBO after a sweep is E[log p(y, x, Q, R)] under the new q(Q), q(R)
    and the sweep's q(x), plus the entropies; q(x)'s entropy is
    Σ_t ½ log|2πe Cov(x_t | x_{t+1})| (a Markov chain's chain rule)."""
    T, M = y.shape
    D = A.shape[0]
    EQ, ER = D * np.eye(D), M * np.eye(M)
    trace = []
    for _ in range(sweeps):
        ms, Ps, lag, _ = kalman_rts(y, A, C, EQ, ER)
        xx = Ps + ms[:, :, None] * ms[:, None, :]
        cross = lag[1:] + ms[1:, :, None] * ms[:-1, None, :]  # E[x_t x_{t-1}ᵀ]
        obs = (y[:, :, None] * y[:, None, :] - C @ ms[:, :, None] * y[:, None, :]
               - y[:, :, None] * (C @ ms[:, :, None]).transpose(0, 2, 1) + C @ xx @ C.T).sum(0)
        dfR, scaleR = M + float(T), np.linalg.inv(np.eye(M) + obs)
        resid = (xx[1:] - A @ np.swapaxes(cross, 1, 2) - cross @ A.T + A @ xx[:-1] @ A.T).sum(0)
        dfQ, scaleQ = D + T - 1.0, np.linalg.inv(np.eye(D) + resid)
        EQ, logdetQ = wishart_moments(dfQ, scaleQ)
        ER, logdetR = wishart_moments(dfR, scaleR)
        log_joint = (-0.5 * np.trace(xx[0]) - 0.5 * D * np.log(2 * np.pi)
                     + 0.5 * (T - 1) * (logdetQ - D * np.log(2 * np.pi)) - 0.5 * np.sum(EQ * resid)
                     + 0.5 * T * (logdetR - M * np.log(2 * np.pi)) - 0.5 * np.sum(ER * obs))
        trace.append(log_joint + chain_entropy(Ps, lag)
                     + wishart_prior_and_entropy(dfQ, scaleQ, D)
                     + wishart_prior_and_entropy(dfR, scaleR, M))
    return np.array(trace), {"mean": ms, "cov": Ps, "Q": (dfQ, scaleQ), "R": (dfR, scaleR)}


def chain_entropy(Ps, lag):
    """H of a Gaussian Markov chain from its smoothed covariances and lag-one
    covariances: Σ_t ½ log|2πe Cov(x_t | x_{t+1})|, the last element unconditioned."""
    D = Ps.shape[-1]
    conditional = [Ps[t] - lag[t + 1].T @ np.linalg.solve(Ps[t + 1], lag[t + 1])
                   for t in range(len(Ps) - 1)] + [Ps[-1]]
    return sum(0.5 * np.linalg.slogdet(2 * np.pi * np.e * S)[1] for S in conditional)

"""The lgssm model of LANGUAGE.md: with Q and R known (data), one sweep gives
the RTS smoother and the ELBO is the exact log likelihood; with Q and R latent,
every sweep equals a hand-written VB-EM; monotone ELBO (hypothesis)."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.stats import multivariate_normal

import vmpdsl
from chain_cases import LGSSM_KNOWN, kalman_rts, model, quiet_fit, simulate_lgssm, vb_lgssm


def joint_log_likelihood(y, A, C, Q, R):
    """log p(y) from the joint Gaussian of all observations (no filtering at all)."""
    T, D = len(y), A.shape[0]
    cov_x = np.zeros((T * D, T * D))  # x_t = A^t x_0 + Σ A^(t−s) w_s
    trans = [np.linalg.matrix_power(A, k) for k in range(T)]
    noise = [np.eye(D)] + [np.linalg.inv(Q)] * (T - 1)
    for t in range(T):
        for u in range(T):
            cov_x[t * D:(t + 1) * D, u * D:(u + 1) * D] = sum(
                trans[t - s] @ noise[s] @ trans[u - s].T for s in range(min(t, u) + 1))
    big_C = np.kron(np.eye(T), C)
    cov_y = big_C @ cov_x @ big_C.T + np.kron(np.eye(T), np.linalg.inv(R))
    return multivariate_normal(np.zeros(len(cov_y)), cov_y).logpdf(y.ravel())


@pytest.mark.parametrize("seed, T", [(0, 40), (1, 1), (2, 7)])
def test_known_noise_smoother_is_rts_and_elbo_is_the_log_likelihood(seed, T):
    rng = np.random.default_rng(seed)
    data, _ = simulate_lgssm(rng, T)
    Q, R = np.linalg.inv(0.09 * np.eye(2)), 4.0 * np.eye(3)
    fit = quiet_fit(vmpdsl.load(LGSSM_KNOWN), dict(data, Q=Q, R=R), max_iter=2, tol=0.0)
    means, covs, lag, loglik = kalman_rts(data["y"], data["A"], data["C"], Q, R)
    q = fit.posterior["x"]
    np.testing.assert_allclose(q["mean"], means, atol=1e-10)
    np.testing.assert_allclose(q["cov"], covs, atol=1e-10)
    np.testing.assert_allclose(q["cross_cov"][1:], lag[1:], atol=1e-10)
    np.testing.assert_allclose(fit.elbo, loglik, rtol=1e-11)
    if T <= 7:
        assert fit.elbo[0] == pytest.approx(joint_log_likelihood(data["y"], data["A"],
                                                                  data["C"], Q, R), rel=1e-10)


@pytest.mark.parametrize("seed, T", [(0, 60), (3, 5)])
def test_latent_noise_equals_hand_written_vb_em_every_sweep(seed, T):
    rng = np.random.default_rng(seed)
    data, _ = simulate_lgssm(rng, T)
    sweeps = 20
    fit = quiet_fit(model("lgssm"), data, max_iter=sweeps, tol=0.0)
    trace, ref = vb_lgssm(data["y"], data["A"], data["C"], sweeps)
    np.testing.assert_allclose(fit.elbo, trace, rtol=1e-10)
    np.testing.assert_allclose(fit.posterior["x"]["mean"], ref["mean"], atol=1e-9)
    np.testing.assert_allclose(fit.posterior["Q"]["scale"], ref["Q"][1], rtol=1e-9)
    np.testing.assert_allclose(fit.posterior["R"]["df"], ref["R"][0])


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(T=st.integers(1, 20), M=st.integers(1, 3), seed=st.integers(0, 2 ** 16))
def test_lgssm_elbo_never_decreases(T, M, seed):
    rng = np.random.default_rng(seed)
    data, _ = simulate_lgssm(rng, T, M=M)
    fit = quiet_fit(model("lgssm"), data, max_iter=25, tol=0.0)
    assert np.all(np.diff(fit.elbo) >= -1e-9 * np.abs(fit.elbo[1:]))


def test_trailing_missing_steps_end_the_sequence():
    """NaN after the last observation (missing="skip") is padding: the fit equals
    the fit of the truncated sequence, ELBO and smoother included."""
    rng = np.random.default_rng(4)
    data, _ = simulate_lgssm(rng, 30)
    padded = dict(data, y=np.concatenate([data["y"][:22], np.full((8, 3), np.nan)]))
    padded["y"][10] = np.nan  # a gap inside is an unobserved step
    short = dict(data, y=padded["y"][:22].copy())
    fit = quiet_fit(model("lgssm"), padded, missing="skip", max_iter=15, tol=0.0)
    ref = quiet_fit(model("lgssm"), short, missing="skip", max_iter=15, tol=0.0)
    np.testing.assert_allclose(fit.elbo, ref.elbo, rtol=1e-11)
    np.testing.assert_allclose(fit.posterior["x"]["mean"][:22], ref.posterior["x"]["mean"],
                               atol=1e-10)


LATENT_C = """model lgssm_c
dim T, D, M
data y[T, M]
data A[D, D]
Q ~ Wishart(D, eye(D))
for m in M:
    C[m] ~ MvNormal(zeros(D), eye(D))
    r[m] ~ Gamma(1.0, 1.0)
x[0] ~ MvNormal(zeros(D), eye(D))
for t in T[1:]:
    x[t] ~ MvNormal(A @ x[t-1], Q)
for t in T:
    for m in M:
        y[t, m] ~ Normal(dot(C[m], x[t]), r[m])
"""


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(T=st.integers(1, 20), seed=st.integers(0, 2 ** 16))
def test_latent_loadings_keep_the_elbo_monotone(T, seed):
    """A latent C (rows MvNormal, one noise precision per output) reads the
    chain's E[x xᵀ]; the transition's E[x x₋₁ᵀ] feeds q(Q)."""
    rng = np.random.default_rng(seed)
    data, _ = simulate_lgssm(rng, T)
    fit = quiet_fit(vmpdsl.load(LATENT_C), {"y": data["y"], "A": data["A"]}, seed=seed,
                    max_iter=25, tol=0.0)
    assert np.all(np.diff(fit.elbo) >= -1e-9 * np.abs(fit.elbo[1:]))


SEQUENCES_KNOWN = """model lgssm_seq
dim S, T, D, M
data y[S, T, M]
data A[D, D]
data C[M, D]
data Q[D, D]
data R[M, M]
for s in S:
    x[s, 0] ~ MvNormal(zeros(D), eye(D))
    for t in T[1:]:
        x[s, t] ~ MvNormal(A @ x[s, t-1], Q)
    for t in T:
        y[s, t] ~ MvNormal(C @ x[s, t], R)
"""


def test_ragged_sequences_elbo_is_the_sum_of_their_log_likelihoods():
    """Known noise, sequences of lengths 12, 5 and 1 padded with NaN: one sweep
    gives each sequence's RTS smoother, and the ELBO is Σ_s log p(y_s)."""
    rng = np.random.default_rng(12)
    lengths = [12, 5, 1]
    runs = [simulate_lgssm(rng, n)[0] for n in lengths]
    A, C = runs[0]["A"], runs[0]["C"]
    Q, R = np.linalg.inv(0.09 * np.eye(2)), 4.0 * np.eye(3)
    y = np.full((3, 12, 3), np.nan)
    for s, run in enumerate(runs):
        y[s, :lengths[s]] = run["y"]
    fit = quiet_fit(vmpdsl.load(SEQUENCES_KNOWN), {"y": y, "A": A, "C": C, "Q": Q, "R": R},
                    missing="skip", max_iter=2, tol=0.0)
    total = 0.0
    for s, run in enumerate(runs):
        means, covs, _, loglik = kalman_rts(run["y"], A, C, Q, R)
        total += loglik
        np.testing.assert_allclose(fit.posterior["x"]["mean"][s, :lengths[s]], means, atol=1e-10)
    np.testing.assert_allclose(fit.elbo, total, rtol=1e-11)


LOCAL_LEVEL = """model local_level
dim T
data y[T]
hyper q = 10.0, r = 2.0
x[0] ~ Normal(0.0, 1.0)
for t in T[1:]:
    x[t] ~ Normal(x[t-1], q)
for t in T:
    y[t] ~ Normal(x[t], r)
"""


def test_scalar_chain_is_the_one_dimensional_kalman_smoother():
    """A Normal chain (the local level model) is the case D = 1: known noise
    gives the RTS smoother and the exact log likelihood; latent noise
    precisions keep the ELBO monotone."""
    rng = np.random.default_rng(15)
    y = np.cumsum(0.3 * rng.normal(size=40)) + 0.7 * rng.normal(size=40)
    fit = quiet_fit(vmpdsl.load(LOCAL_LEVEL), {"y": y}, max_iter=2, tol=0.0)
    one = np.eye(1)
    means, covs, lag, loglik = kalman_rts(y[:, None], one, one, 10.0 * one, 2.0 * one)
    np.testing.assert_allclose(fit.posterior["x"]["mean"], means[:, 0], atol=1e-12)
    np.testing.assert_allclose(fit.posterior["x"]["cov"], covs[:, 0, 0], atol=1e-12)
    np.testing.assert_allclose(fit.posterior["x"]["cross_cov"][1:], lag[1:, 0, 0], atol=1e-12)
    np.testing.assert_allclose(fit.elbo, loglik, rtol=1e-12)
    latent = LOCAL_LEVEL.replace("hyper q = 10.0, r = 2.0\n",
                                 "q ~ Gamma(1.0, 1.0)\nr ~ Gamma(1.0, 1.0)\n")
    fit = quiet_fit(vmpdsl.load(latent), {"y": y}, max_iter=40, tol=0.0)
    assert np.all(np.diff(fit.elbo) >= -1e-9 * np.abs(fit.elbo[1:]))


@pytest.mark.parametrize("name, data", [
    ("hmm", {"x": np.zeros((0, 2)), "K": 2}),
    ("lgssm", {"y": np.zeros((0, 3)), "A": np.eye(2), "C": np.ones((3, 2))})])
def test_an_empty_chain_leaves_the_prior(name, data):
    """T = 0: no elements; q of the globals is their prior and the ELBO is 0."""
    fit = quiet_fit(model(name), data, max_iter=3)
    np.testing.assert_allclose(fit.elbo, 0.0, atol=1e-12)

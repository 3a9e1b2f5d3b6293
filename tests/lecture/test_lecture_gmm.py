"""Gaussian mixtures across the spectrum: ML EM (gmm_em), variational-Bayes EM
(gmm with point mu, Lambda) and the Bayesian gmm.

Which quantity gmm_em tracks.  A sweep updates pi, mu, Lambda (the M-step,
from the current responsibilities r_{t−1}) and then z (the E-step, at the new
θ_t).  The tracked objective is evaluated after the sweep:

    L_t = E_{q_t(z)}[log p(x, z | θ_t)] + H[q_t(z)],   q_t(z) = p(z | x, θ_t),

and since q_t is the exact posterior at θ_t the bound is tight:
L_t = log p(x | θ_t), the log-likelihood at the parameters of the t-th
M-step.  So a hand-written EM that starts with an M-step from the same R
produces, as its t-th log-likelihood, exactly the engine's t-th ELBO.
"""
import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from lecture_cases import mixture_data, model, quiet_fit


def m_step(x, R):
    Nk = R.sum(0)
    pi = Nk / len(x)
    mu = (R.T @ x) / Nk[:, None]
    cov = np.stack([(R[:, k, None] * (x - mu[k])).T @ (x - mu[k]) / Nk[k]
                    for k in range(R.shape[1])])
    return pi, mu, cov


def log_joint_terms(x, pi, mu, cov):
    """log π_k + log N(x_n | μ_k, Σ_k), shape (N, K)."""
    return np.stack([np.log(pi[k]) + multivariate_normal(mu[k], cov[k]).logpdf(x)
                     for k in range(len(pi))], axis=1)


def hand_em(x, R, iterations):
    """EM from responsibilities R: M-step, log-likelihood at θ_t, E-step."""
    trace = []
    for _ in range(iterations):
        pi, mu, cov = m_step(x, R)
        terms = log_joint_terms(x, pi, mu, cov)
        ll = logsumexp(terms, axis=1)
        trace.append(ll.sum())
        R = np.exp(terms - ll[:, None])
    return np.array(trace), (pi, mu, cov, R)


def start(x, K, seed):
    return np.random.default_rng(seed).dirichlet(np.ones(K), size=len(x))


def test_gmm_em_log_likelihood_trace_matches_hand_em():
    x, _, _ = mixture_data(seed=0, n_per=40)
    K, iterations = 3, 40
    R = start(x, K, seed=7)
    fit = quiet_fit(model("gmm_em"), {"x": x, "K": K}, init={"z": R},
                    max_iter=iterations, tol=0.0)
    trace, (pi, mu, cov, resp) = hand_em(x, R, fit.iterations)
    np.testing.assert_allclose(fit.elbo, trace, rtol=1e-10, atol=1e-10)
    assert np.all(np.diff(fit.elbo) >= -1e-9 * np.abs(fit.elbo[1:]))
    np.testing.assert_allclose(fit.posterior["pi"]["value"], pi, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(fit.posterior["mu"]["value"], mu, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(np.linalg.inv(fit.posterior["Lambda"]["value"]), cov,
                               rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(fit.posterior["z"]["probs"], resp, rtol=1e-9, atol=1e-12)


def test_gmm_em_first_value_is_log_likelihood_after_first_m_step():
    """Pin the bookkeeping: L_1 = log p(x | θ from one M-step on R)."""
    x, _, _ = mixture_data(seed=1, n_per=20)
    R = start(x, 2, seed=3)
    fit = quiet_fit(model("gmm_em"), {"x": x, "K": 2}, init={"z": R}, max_iter=1, tol=0.0)
    pi, mu, cov = m_step(x, R)
    expected = logsumexp(log_joint_terms(x, pi, mu, cov), axis=1).sum()
    np.testing.assert_allclose(fit.elbo[0], expected, rtol=1e-12)


def monotone(trace):
    return np.all(np.diff(trace) >= -1e-9 * np.abs(trace[1:]))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_vb_em_is_monotone(seed):
    x, _, _ = mixture_data(seed=seed, n_per=40)
    fit = quiet_fit(model("gmm"), {"x": x, "K": 4}, point=["mu", "Lambda"], seed=seed,
                    max_iter=300)
    assert set(fit.posterior["mu"]) == {"value"} and set(fit.posterior["Lambda"]) == {"value"}
    assert monotone(fit.elbo)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bayesian_gmm_is_monotone(seed):
    x, _, _ = mixture_data(seed=seed, n_per=40)
    fit = quiet_fit(model("gmm"), {"x": x, "K": 5}, seed=seed, max_iter=300)
    assert monotone(fit.elbo)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gmm_em_is_monotone_from_random_starts(seed):
    x, _, _ = mixture_data(seed=seed, n_per=40)
    fit = quiet_fit(model("gmm_em"), {"x": x, "K": 3}, seed=seed, max_iter=300)
    assert monotone(fit.elbo)


def recovered(fit, labels, centres, means):
    """Every true cluster is one fitted component: labels agree up to a
    relabelling, and that component's mean is near the true centre."""
    hard = fit.posterior["z"]["probs"].argmax(1)
    for c in range(len(centres)):
        ks = np.unique(hard[labels == c])
        assert len(ks) == 1, f"cluster {c} split over components {ks}"
        assert np.all(labels[hard == ks[0]] == c), f"component {ks[0]} mixes clusters"
        assert np.linalg.norm(means[ks[0]] - centres[c]) < 0.3
    return True


def best_of(restarts, name, data, **kwargs):
    """The fit with the highest final objective over seeded restarts (EM and VB
    find local optima from random responsibilities; restarts are the remedy)."""
    fits = [quiet_fit(model(name), data, seed=seed, **kwargs) for seed in range(restarts)]
    return max(fits, key=lambda f: f.elbo[-1])


@pytest.mark.parametrize("variant", ["em", "vbem", "bayes"])
def test_all_three_recover_well_separated_clusters(variant):
    x, labels, centres = mixture_data(seed=11, n_per=80)
    data = {"x": x, "K": 3}
    if variant == "em":
        fit = best_of(5, "gmm_em", data, max_iter=500)
    elif variant == "vbem":
        fit = best_of(5, "gmm", data, point=["mu", "Lambda"], max_iter=500)
    else:
        fit = best_of(5, "gmm", data, max_iter=500)
    assert fit.converged
    assert recovered(fit, labels, centres, fit.mean("mu"))


def test_bayesian_gmm_empties_surplus_components():
    x, labels, centres = mixture_data(seed=11, n_per=80)
    fit = best_of(5, "gmm", {"x": x, "K": 6}, hypers={"alpha0": 1e-3}, max_iter=1000)
    weights = fit.mean("pi")
    assert np.sum(weights > 0.05) == 3
    assert recovered(fit, labels, centres, fit.mean("mu"))

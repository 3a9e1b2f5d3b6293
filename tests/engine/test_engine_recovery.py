"""Oracle 5 (recovery): on data simulated from a model with large N, the
posterior means sit near the true values, within tolerances that shrink like
1/sqrt(N) (a few posterior standard deviations).  Mixture components are
matched to the true ones before comparing (label switching)."""
import itertools

import numpy as np
import pytest

from engine_cases import SIMULATORS, example, quiet_fit

Z = 6.0  # allowed error, in (asymptotic) posterior standard deviations


def fit_model(name, data, seed=0, max_iter=500):
    fit = quiet_fit(example(name), data, seed=seed, max_iter=max_iter, tol=1e-10)
    assert np.all(np.diff(fit.elbo) >= -1e-9 * np.abs(fit.elbo[1:]))
    return fit


def best_permutation(estimate, truth):
    """The permutation of estimate's components (axis 0) closest to truth."""
    K = len(truth)
    return min(itertools.permutations(range(K)),
               key=lambda p: float(np.sum((estimate[list(p)] - truth) ** 2)))


@pytest.mark.parametrize("N", [2000, 8000], ids=["N2000", "N8000"])
def test_linreg(N):
    rng = np.random.default_rng(N)
    w = np.array([1.5, -2.0, 0.5])
    alpha = 4.0
    data, truth = SIMULATORS["linreg"](rng, N=N, D=3, alpha=alpha, w=w)
    fit = fit_model("linreg", data)
    # sd(w_d) ≈ 1/sqrt(N α var(x_d)) with var(x_d) = 1; sd(α) ≈ α sqrt(2/N).
    np.testing.assert_allclose(fit.mean("w"), w, atol=Z / np.sqrt(N * alpha))
    assert abs(fit.mean("alpha") - alpha) < Z * alpha * np.sqrt(2.0 / N)


@pytest.mark.parametrize("N", [2000, 8000], ids=["N2000", "N8000"])
def test_normal_gamma(N):
    rng = np.random.default_rng(N + 1)
    mu, tau = -3.0, 0.25
    data, _ = SIMULATORS["normal_gamma"](rng, N=N, mu=mu, tau=tau)
    fit = fit_model("normal_gamma", data)
    assert abs(fit.mean("mu") - mu) < Z / np.sqrt(N * tau)
    assert abs(fit.mean("tau") - tau) < Z * tau * np.sqrt(2.0 / N)


def test_gmm_well_separated():
    N = 2000
    rng = np.random.default_rng(7)
    centres = [[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]]
    data, truth = SIMULATORS["gmm"](rng, N=N, K=3, D=2, mu=centres)
    K = 3
    fits = [fit_model("gmm", data, seed=s, max_iter=200) for s in range(2)]
    fit = max(fits, key=lambda f: f.elbo[-1])      # best of a few random starts
    mu_hat = fit.mean("mu")
    perm = list(best_permutation(mu_hat, truth["mu"]))
    n_k = np.bincount(truth["z"], minlength=K)
    for k_hat, k in zip(perm, range(K)):
        # sd of a component mean ≈ sqrt(diag cov_k / n_k)
        sd = np.sqrt(np.diag(truth["cov"][k]) / n_k[k])
        np.testing.assert_array_less(np.abs(mu_hat[k_hat] - truth["mu"][k]), Z * sd + 1e-12)
        lam_hat = fit.posterior["Lambda"]["df"][k_hat] * fit.posterior["Lambda"]["scale"][k_hat]
        rel = np.linalg.norm(lam_hat - truth["Lambda"][k]) / np.linalg.norm(truth["Lambda"][k])
        assert rel < Z * np.sqrt(2.0 / n_k[k])
    pi_hat = fit.mean("pi")[perm]
    pi = truth["pi"]
    np.testing.assert_array_less(np.abs(pi_hat - pi), Z * np.sqrt(pi * (1 - pi) / N))
    # the responsibilities classify (almost) every point as its true component
    labels = np.argsort(perm)[np.argmax(fit.mean("z"), axis=1)]
    assert np.mean(labels == truth["z"]) > 0.98


def test_hier():
    N, G = 6000, 5
    rng = np.random.default_rng(11)
    sigma = 2.0
    data, truth = SIMULATORS["hier"](rng, N=N, G=G, mu=3.0, tau=0.2, sigma=sigma)
    fit = fit_model("hier", data)
    n_g = np.bincount(data["g"], minlength=G)
    np.testing.assert_array_less(np.abs(fit.mean("theta") - truth["theta"]),
                                 Z / np.sqrt(n_g * sigma))
    assert abs(fit.mean("sigma") - sigma) < Z * sigma * np.sqrt(2.0 / N)


def test_poisson_mix():
    N = 4000
    rng = np.random.default_rng(12)
    rates, weights = np.array([2.0, 15.0]), np.array([0.35, 0.65])
    data, truth = SIMULATORS["poisson_mix"](rng, N=N, rates=rates, weights=weights)
    fits = [fit_model("poisson_mix", data, seed=s, max_iter=300) for s in range(2)]
    fit = max(fits, key=lambda f: f.elbo[-1])
    rate_hat = fit.mean("rate")
    perm = list(best_permutation(rate_hat, rates))
    n_k = weights * N
    np.testing.assert_array_less(np.abs(rate_hat[perm] - rates), Z * np.sqrt(rates / n_k))
    np.testing.assert_array_less(np.abs(fit.mean("pi")[perm] - weights),
                                 Z * np.sqrt(weights * (1 - weights) / N))


@pytest.mark.parametrize("N", [1000, 10000], ids=["N1000", "N10000"])
def test_coin(N):
    rng = np.random.default_rng(N + 3)
    p = 0.3
    data, _ = SIMULATORS["coin"](rng, N=N, p=p)
    fit = fit_model("coin", data)
    assert abs(fit.mean("p") - p) < Z * np.sqrt(p * (1 - p) / N)


def test_pca_low_rank_structure():
    # W and z are identified only up to a rotation; W zᵀ (the low-rank mean)
    # and W Wᵀ (the signal covariance) are not.
    # (mean-field VB-PCA converges slowly along the rotation of W and z, so
    # the fit stops after 200 sweeps; the structure is recovered by then)
    N, D, K, noise = 2000, 6, 2, 0.3
    rng = np.random.default_rng(13)
    data, truth = SIMULATORS["pca"](rng, N=N, D=D, K=K, noise=noise)
    fit = fit_model("pca", data, max_iter=200)
    W_hat, z_hat, mu_hat = fit.mean("W"), fit.mean("z"), fit.mean("mu")
    signal = truth["z"] @ truth["W"].T
    recon = z_hat @ W_hat.T
    # Each row's reconstruction error is the noise projected on the K-dim
    # signal subspace: RMS ≈ noise·sqrt(K/D), far below the signal.
    rms = np.sqrt(np.mean((recon + mu_hat - signal - truth["mu"]) ** 2))
    assert rms < 1.25 * noise * np.sqrt(K / D) + Z * noise / np.sqrt(N)
    assert rms < 0.05 * np.sqrt(np.mean(signal ** 2))
    # the signal covariance W Wᵀ, against the truth (relative, ~1/sqrt(N))
    WWt, WWt_true = W_hat @ W_hat.T, truth["W"] @ truth["W"].T
    # with z's sample covariance folded into the truth, only estimation noise remains
    Sz = np.cov(truth["z"].T, bias=True)
    target = truth["W"] @ Sz @ truth["W"].T
    assert np.linalg.norm(WWt - target) / np.linalg.norm(WWt_true) < Z * np.sqrt(2.0 / N)
    assert abs(fit.mean("tau") - truth["tau"]) < Z * truth["tau"] * np.sqrt(2.0 / (N * (D - K)))

"""Posterior predictives of models beyond the regression/mixture plans,
against closed forms computed here (scipy quadrature) or independent Monte
Carlo with a stated error."""
import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import logsumexp

from eco_cases import BLR, blr_fit, example, from_text, hier_data, hier_fit, quiet_fit, regression


def gamma_mixture_logpdf(y, mean, spread, q):
    """log ∫ N(y | mean, spread + 1/α) Gamma(α | q) dα by adaptive quadrature."""
    gamma = stats.gamma(q["shape"], scale=1 / q["rate"])
    f = lambda a: stats.norm.pdf(y, mean, np.sqrt(spread + 1 / a)) * gamma.pdf(a)
    return np.log(integrate.quad(f, 0, np.inf, epsabs=0, epsrel=1e-12, limit=200)[0])


def test_regression_with_intercept_is_exact():
    fit = blr_fit()
    Xn, yn = regression(seed=9, n=5)
    out = fit.predict({"X": Xn, "y": yn})
    assert out["method"].startswith("exact")
    q = fit.posterior
    mean = Xn @ q["w"]["mean"] + q["b"]["mean"]
    spread = np.einsum("ni,ij,nj->n", Xn, q["w"]["cov"], Xn) + 1 / q["b"]["precision"]
    np.testing.assert_allclose(out["mean"], mean, rtol=1e-12)
    a, b = q["alpha"]["shape"], q["alpha"]["rate"]
    np.testing.assert_allclose(out["var"], spread + b / (a - 1), rtol=1e-12)
    ref = [gamma_mixture_logpdf(y, m, s, q["alpha"]) for y, m, s in zip(yn, mean, spread)]
    np.testing.assert_allclose(out["log_density"], ref, rtol=1e-9)
    assert fit.predict({"X": Xn})["log_density"] is None  # inputs only: mean and var


def test_hier_known_groups_exact_and_new_group_by_monte_carlo():
    fit = hier_fit()
    q = fit.posterior
    new = {"y": np.array([0.3, -1.0]), "g": np.array([2, 0])}
    out = fit.predict(new)
    spread = 1 / q["theta"]["precision"][new["g"]]
    ref = [gamma_mixture_logpdf(y, q["theta"]["mean"][g], s, q["sigma"])
           for y, g, s in zip(new["y"], new["g"], spread)]
    np.testing.assert_allclose(out["log_density"], ref, rtol=1e-9)
    # an unseen group: theta_new ~ N(mu, 1/tau) from the drawn mu, tau; reference
    # E_q[N(y | m_mu, 1/λ_mu + 1/τ + 1/σ)] by a 2-D quadrature over q(τ) q(σ)
    unseen = fit.predict({"y": np.array([1.0]), "g": np.array([7])}, samples=40000, seed=1)
    assert "monte carlo" in unseen["method"]
    tau = stats.gamma(q["tau"]["shape"], scale=1 / q["tau"]["rate"])
    sig = stats.gamma(q["sigma"]["shape"], scale=1 / q["sigma"]["rate"])
    var = lambda t, s: 1 / q["mu"]["precision"] + 1 / t + 1 / s
    f = lambda t, s: stats.norm.pdf(1.0, q["mu"]["mean"], np.sqrt(var(t, s))) * tau.pdf(t) * sig.pdf(s)
    ref = np.log(integrate.dblquad(f, 0, np.inf, 0, np.inf, epsrel=1e-10)[0])
    # 40 000 draws: the standard error of the log mean is well below 0.02
    assert abs(unseen["log_density"][0] - ref) < 0.02


def test_coin_is_beta_bernoulli():
    x = np.array([1, 0, 0, 1, 1, 1, 0, 1])
    fit = quiet_fit(example("coin"), {"x": x})
    out = fit.predict({"x": np.array([1, 0])})
    p = (1 + x.sum()) / (2 + x.size)  # Laplace's rule of succession (Beta(1, 1) prior)
    np.testing.assert_allclose(np.exp(out["log_density"]), [p, 1 - p], rtol=1e-12)


COUNTS = """model counts
dim N
data c[N]: int
rate ~ Gamma(2.0, 0.5)
for n in N:
    c[n] ~ Poisson(rate)
"""


def test_poisson_gamma_is_negative_binomial():
    c = np.array([3, 5, 2, 4, 6])
    fit = quiet_fit(from_text(COUNTS), {"c": c})
    a, b = 2.0 + c.sum(), 0.5 + c.size  # the exact conjugate posterior
    new = np.array([0, 4, 11])
    out = fit.predict({"c": new})
    np.testing.assert_allclose(out["log_density"], stats.nbinom.logpmf(new, a, b / (b + 1)),
                               rtol=1e-10)
    np.testing.assert_allclose(out["mean"], a / b, rtol=1e-12)


def test_pca_importance_sampling_matches_the_marginal():
    """Y_n integrates z_n out exactly: N(μ, W Wᵀ + I/τ); averaged over draws of q."""
    rng = np.random.default_rng(2)
    Y = rng.normal(size=(60, 2)) @ np.array([[1.0, 0.5, 0.0], [0.0, 1.0, -1.0]]) \
        + 0.3 * rng.normal(size=(60, 3))
    fit = quiet_fit(example("pca"), {"Y": Y, "K": 2}, seed=0, max_iter=200)
    new = Y[:3]
    out = fit.predict({"Y": new}, samples=4000, seed=0)
    assert "importance" in out["method"]
    draws = fit.sample(4000, seed=5)
    ref = np.stack([stats.multivariate_normal.logpdf(
        new, draws["mu"][s], draws["W"][s] @ draws["W"][s].T + np.eye(3) / draws["tau"][s])
        for s in range(4000)])
    ref = logsumexp(ref, 0) - np.log(4000)
    np.testing.assert_allclose(out["log_density"], ref, atol=0.05)


def test_predictive_draws_of_an_unobserved_target():
    fit = hier_fit()
    out = fit.predict({"g": np.array([1, 1])}, samples=20000, seed=0)
    q = fit.posterior
    mean, var = q["theta"]["mean"][1], 1 / q["theta"]["precision"][1] + \
        q["sigma"]["rate"] / (q["sigma"]["shape"] - 1)
    assert np.all(np.abs(out["mean"] - mean) < 4 * np.sqrt(var / 20000))


def test_poisson_mix_is_a_mixture_of_negative_binomials():
    rng = np.random.default_rng(0)
    c = np.r_[rng.poisson(2, 60), rng.poisson(12, 60)]
    fit = quiet_fit(example("poisson_mix"), {"c": c, "K": 2}, seed=0)
    new = np.array([0, 3, 9, 20])
    out = fit.predict({"c": new})
    assert out["method"].startswith("exact") and out["samples"] == 0
    q = fit.posterior
    weights = q["pi"]["concentration"] / q["pi"]["concentration"].sum()
    nb = np.stack([stats.nbinom.logpmf(new, q["rate"]["shape"][k],
                                       q["rate"]["rate"][k] / (1 + q["rate"]["rate"][k]))
                   for k in range(2)], 1)
    np.testing.assert_allclose(out["log_density"], logsumexp(nb + np.log(weights), 1),
                               rtol=1e-10)
    np.testing.assert_allclose(out["responsibilities"], fit.local({"c": new})["z"]["probs"])


def test_lda_word_predictive_is_topic_mixture_of_dirichlet_means():
    rng = np.random.default_rng(4)
    doc, word = rng.integers(0, 3, 200), rng.integers(0, 6, 200)
    fit = quiet_fit(example("lda"), {"doc": doc, "word": word, "K": 2, "Dc": 3, "V": 6},
                    seed=0, max_iter=50)
    new = {"doc": np.array([0, 2, 1]), "word": np.array([5, 0, 3])}
    out = fit.predict(new)
    q = fit.posterior
    theta = q["theta"]["concentration"] / q["theta"]["concentration"].sum(1, keepdims=True)
    phi = q["phi"]["concentration"] / q["phi"]["concentration"].sum(1, keepdims=True)
    ref = np.log(np.einsum("nk,kn->n", theta[new["doc"]], phi[:, new["word"]]))
    np.testing.assert_allclose(out["log_density"], ref, rtol=1e-10)


def test_missing_inputs_and_rows_are_user_errors():
    from vmpdsl.errors import VmpDataError
    fit = hier_fit()
    with pytest.raises(VmpDataError, match="needs 'g' in the new data"):
        fit.predict({"N": 3})
    with pytest.raises(VmpDataError, match="must give the new rows"):
        fit.predict({})
    with pytest.raises(VmpDataError, match="only the rows"):
        blr_fit().predict({"X": np.ones((2, 3))})


def test_monte_carlo_rows_do_not_change_each_other():
    fit = hier_fit()
    both = fit.predict({"y": np.array([1.0, -2.0]), "g": np.array([9, 1])}, samples=600)
    one = fit.predict({"y": np.array([1.0]), "g": np.array([9])}, samples=600)
    np.testing.assert_allclose(both["log_density"][0], one["log_density"][0], rtol=1e-12)


def test_logistic_regression_predictive_by_monte_carlo():
    """p(y=1 | x) = E_q[σ(xᵀw)] with xᵀw ~ N(xᵀm, xᵀΣx): a 1-D quadrature."""
    from scipy.special import expit
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 2))
    y = (rng.random(80) < expit(X @ [1.5, -1.0])).astype(int)
    fit = quiet_fit(example("logreg"), {"X": X, "y": y}, seed=0)
    Xn = np.array([[0.3, -0.2], [-1.0, 0.5]])
    out = fit.predict({"X": Xn, "y": np.ones(2, dtype=int)}, samples=20000, seed=0)
    q = fit.posterior["w"]
    m, s = Xn @ q["mean"], np.sqrt(np.einsum("ni,ij,nj->n", Xn, q["cov"], Xn))
    ref = [integrate.quad(lambda u: expit(u) * stats.norm.pdf(u, a, b), -np.inf, np.inf)[0]
           for a, b in zip(m, s)]
    # σ ∈ (0, 1): the sd of the estimate is below 0.5 / √20000 ≈ 0.0035
    np.testing.assert_allclose(np.exp(out["log_density"]), ref, atol=0.015)


def test_pumps_importance_sampling_matches_the_marginal():
    """θ_i integrates out of Poisson(θ t) Gamma(θ | α, β) exactly: a negative
    binomial NB(α, β / (β + t)); then β is integrated over q(β) by quadrature."""
    rng = np.random.default_rng(1)
    t = rng.uniform(1, 10, 40)
    x = rng.poisson(0.8 * t)
    fit = quiet_fit(example("pumps"), {"t": t, "x": x}, seed=0)
    new = {"t": np.array([2.0, 8.0]), "x": np.array([1, 9])}
    out = fit.predict(new, samples=8000, seed=0)
    assert "importance" in out["method"]
    alpha, q = float(fit.posterior["alpha"]["value"]), fit.posterior["beta"]
    beta = stats.gamma(q["shape"], scale=1 / q["rate"])
    ref = [np.log(integrate.quad(lambda b: stats.nbinom.pmf(k, alpha, b / (b + tt)) * beta.pdf(b),
                                 0, np.inf)[0]) for k, tt in zip(new["x"], new["t"])]
    np.testing.assert_allclose(out["log_density"], ref, atol=0.03)


def test_a_negative_group_index_is_refused_not_wrapped():
    from vmpdsl.errors import VmpDataError
    with pytest.raises(VmpDataError, match="whole numbers ≥ 0"):
        hier_fit().predict({"y": np.array([0.0]), "g": np.array([-1])})


def test_lda_new_document_draws_its_topics_from_the_prior():
    """A token of an unseen document: p(w) = Σ_k E[θ_k] E[φ_kw] with E[θ] = 1/K
    under the symmetric Dirichlet prior (θ, φ independent).  40 000 draws:
    the estimate's relative sd is below 1%."""
    rng = np.random.default_rng(4)
    doc, word = rng.integers(0, 3, 200), rng.integers(0, 6, 200)
    fit = quiet_fit(example("lda"), {"doc": doc, "word": word, "K": 2, "Dc": 3, "V": 6},
                    seed=0, max_iter=50)
    out = fit.predict({"doc": np.array([4, 4]), "word": np.array([2, 5])}, samples=40000)
    assert "monte carlo" in out["method"]
    phi = fit.posterior["phi"]["concentration"]
    phi = phi / phi.sum(1, keepdims=True)
    np.testing.assert_allclose(out["log_density"], np.log(phi[:, [2, 5]].mean(0)), atol=0.03)

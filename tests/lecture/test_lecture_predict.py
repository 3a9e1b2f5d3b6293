"""New data: local posteriors and posterior predictives against closed forms.

Oracles are written here from the textbook formulas (never from the engine):
Gaussian / Student-t predictives of the regressions, the evidence ratio
p(y_new | y) = p(y, y_new) / p(y) for the exact model, Gaussian-mixture
densities and responsibilities from scipy, and numerical integration.
"""
import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import logsumexp

from vmpdsl.cli import main
from vmpdsl.errors import VmpDataError, VmpError

from lecture_cases import MODELS, mixture_data, model, quiet_fit, regression_data


def reg_split(seed=0):
    X, y = regression_data(seed=seed, n=50, d=3, noise=0.6)
    return (X[:40], y[:40]), (X[40:], y[40:])


# -------------------------------------------------------------- regression
def test_linreg_known_predictive_is_exact_gaussian():
    (X, y), (Xn, yn) = reg_split()
    alpha, lam = 3.0, 0.5
    fit = quiet_fit(model("linreg_known"), {"X": X, "y": y}, hypers={"alpha": alpha, "lambda": lam})
    S = np.linalg.inv(lam * np.eye(3) + alpha * X.T @ X)
    mu = alpha * S @ X.T @ y
    out = fit.predict({"X": Xn, "y": yn})
    mean, var = Xn @ mu, np.einsum("ni,ij,nj->n", Xn, S, Xn) + 1 / alpha
    np.testing.assert_allclose(out["mean"], mean, rtol=1e-10)
    np.testing.assert_allclose(out["var"], var, rtol=1e-10)
    np.testing.assert_allclose(fit.score({"X": Xn, "y": yn}),
                               stats.norm.logpdf(yn, mean, np.sqrt(var)), rtol=1e-10)
    assert "exact" in out["distribution"]


def test_linreg_known_score_is_evidence_ratio():
    """log p(y_new | y) = log p(y, y_new) − log p(y), each ELBO exact here."""
    (X, y), (Xn, yn) = reg_split(seed=1)
    m = model("linreg_known")
    for i in range(3):
        both = quiet_fit(m, {"X": np.vstack([X, Xn[i:i + 1]]), "y": np.append(y, yn[i])})
        alone = quiet_fit(m, {"X": X, "y": y})
        expected = both.elbo[-1] - alone.elbo[-1]
        np.testing.assert_allclose(alone.score({"X": Xn[i:i + 1], "y": yn[i:i + 1]})[0],
                                   expected, rtol=1e-9)


def test_linreg_em_predictive_is_student_t():
    (X, y), (Xn, yn) = reg_split(seed=2)
    fit = quiet_fit(model("linreg_em"), {"X": X, "y": y})
    w = fit.posterior["w"]["value"]
    a, b = fit.posterior["alpha"]["shape"], fit.posterior["alpha"]["rate"]
    out = fit.predict({"X": Xn, "y": yn})
    np.testing.assert_allclose(out["mean"], Xn @ w, rtol=1e-12)
    np.testing.assert_allclose(out["var"], b / (a - 1), rtol=1e-12)
    expected = stats.t.logpdf(yn, 2 * a, Xn @ w, np.sqrt(b / a))
    np.testing.assert_allclose(out["log_density"], expected, rtol=1e-12)
    # and that is ∫ N(y | xᵀw, 1/α) Gamma(α | a, b) dα
    i = 0
    direct, _ = integrate.quad(lambda t: stats.norm.pdf(yn[i], Xn[i] @ w, 1 / np.sqrt(t))
                               * stats.gamma.pdf(t, a, scale=1 / b), 0, np.inf, epsabs=0,
                               epsrel=1e-12, limit=200)
    np.testing.assert_allclose(np.exp(out["log_density"][i]), direct, rtol=1e-8)


def test_linreg_predictive_integrates_over_q_w_and_q_alpha():
    (X, y), (Xn, yn) = reg_split(seed=3)
    fit = quiet_fit(model("linreg"), {"X": X, "y": y})
    q = fit.posterior
    m, S = q["w"]["mean"], q["w"]["cov"]
    a, b = q["alpha"]["shape"], q["alpha"]["rate"]
    out = fit.predict({"X": Xn, "y": yn})
    spread = np.einsum("ni,ij,nj->n", Xn, S, Xn)
    np.testing.assert_allclose(out["mean"], Xn @ m, rtol=1e-12)
    # the posterior variance of w adds to the expected noise variance E[1/α]
    np.testing.assert_allclose(out["var"], spread + b / (a - 1), rtol=1e-12)
    assert np.all(out["var"] > b / (a - 1))
    q_alpha = stats.gamma(a, scale=1 / b)
    for i in range(len(yn)):
        direct, _ = integrate.quad(
            lambda t: stats.norm.pdf(yn[i], Xn[i] @ m, np.sqrt(spread[i] + 1 / t))
            * q_alpha.pdf(t), q_alpha.ppf(1e-16), q_alpha.isf(1e-16), points=[(a - 1) / b],
            epsabs=0, epsrel=1e-13, limit=500)
        np.testing.assert_allclose(out["log_density"][i], np.log(direct), rtol=1e-9, atol=1e-9)


def test_regression_predict_without_y_has_no_score():
    (X, y), (Xn, _) = reg_split()
    fit = quiet_fit(model("linreg"), {"X": X, "y": y})
    out = fit.predict({"X": Xn})
    assert "log_density" not in out and out["mean"].shape == (len(Xn),)
    with pytest.raises(VmpDataError, match="'y'"):
        fit.score({"X": Xn})
    with pytest.raises(VmpDataError, match="X"):
        fit.predict({"X": Xn[:, :2]})


# ---------------------------------------------------------------- mixtures
def mixture_fit(name, K=3, **kwargs):
    x, labels, _ = mixture_data(seed=4, n_per=50)
    return x, quiet_fit(model(name), {"x": x, "K": K}, seed=0, max_iter=300, **kwargs)


def hand_mixture_logpdf(x, weights, means, covs):
    return logsumexp(np.stack([np.log(weights[k]) + stats.multivariate_normal(
        means[k], covs[k]).logpdf(x) for k in range(len(weights))], axis=1), axis=1)


@pytest.mark.parametrize("name,kwargs", [("gmm_em", {}), ("gmm", {"point": ["mu", "Lambda"]}),
                                         ("gmm", {})])
def test_local_on_training_rows_reproduces_the_fit(name, kwargs):
    """z is updated last in a sweep, so its update from the final globals is the fit's q(z)."""
    x, fit = mixture_fit(name, **kwargs)
    np.testing.assert_allclose(fit.local({"x": x})["z"]["probs"], fit.posterior["z"]["probs"],
                               rtol=1e-10, atol=1e-12)


def test_gmm_em_local_and_density_are_the_textbook_ones():
    x, fit = mixture_fit("gmm_em")
    q = fit.posterior
    pi, mu, cov = q["pi"]["value"], q["mu"]["value"], np.linalg.inv(q["Lambda"]["value"])
    new = np.random.default_rng(9).normal(3.0, 4.0, size=(7, 2))
    terms = np.stack([np.log(pi[k]) + stats.multivariate_normal(mu[k], cov[k]).logpdf(new)
                      for k in range(3)], axis=1)
    resp = np.exp(terms - logsumexp(terms, axis=1, keepdims=True))
    np.testing.assert_allclose(fit.local({"x": new})["z"]["probs"], resp, rtol=1e-9, atol=1e-14)
    out = fit.predict({"x": new})
    assert out["method"] == "exact" and out["samples"] == 0
    np.testing.assert_allclose(out["log_density"], logsumexp(terms, axis=1), rtol=1e-10)
    np.testing.assert_allclose(fit.score({"x": new}), out["log_density"])


def test_vb_em_density_uses_the_dirichlet_mean_exactly():
    x, fit = mixture_fit("gmm", point=["mu", "Lambda"])
    q = fit.posterior
    weights = q["pi"]["concentration"] / q["pi"]["concentration"].sum()
    new = np.random.default_rng(10).normal(3.0, 4.0, size=(6, 2))
    out = fit.predict({"x": new})
    assert out["method"] == "exact"
    expected = hand_mixture_logpdf(new, weights, q["mu"]["value"],
                                   np.linalg.inv(q["Lambda"]["value"]))
    np.testing.assert_allclose(out["log_density"], expected, rtol=1e-10)


def test_joint_gmm_density_by_monte_carlo_matches_the_student_t_predictive():
    """Independent oracle, exact: under q(π) q(μ_k, Λ_k) Normal–Wishart the
    predictive is Σ_k E[π_k] St(x | m_k, L_k, ν_k + 1 − D) with
    L_k = (ν_k + 1 − D) β_k / (1 + β_k) W_k (PRML (10.81)–(10.82))."""
    x, fit = mixture_fit("gmm")
    q = fit.posterior
    weights = q["pi"]["concentration"] / q["pi"]["concentration"].sum()
    new = np.array([[0.0, 0.0], [6.0, 6.0], [3.0, 0.0], [6.0, -5.0]])
    out = fit.predict({"x": new}, samples=4000, seed=1)
    assert out["method"].startswith("monte carlo") and "4000 draws" in out["method"]
    D, density = 2, np.zeros(len(new))
    for k in range(3):
        beta, nu, W = q["mu"]["beta"][k], q["Lambda"]["df"][k], q["Lambda"]["scale"][k]
        dof = nu + 1 - D
        shape = np.linalg.inv(dof * beta / (1 + beta) * W)
        density += weights[k] * stats.multivariate_t(q["mu"]["mean"][k], shape, df=dof).pdf(new)
    np.testing.assert_allclose(out["log_density"], np.log(density), atol=0.02)


def test_bayesian_gmm_density_by_monte_carlo_matches_an_independent_estimate():
    """Independent oracle: integrate π (its mean) and μ_k (Gaussian, analytic:
    N(x | m_k, Λ_k⁻¹ + S_k)) exactly, and Λ_k by scipy's Wishart sampler
    (the factorized q(μ) q(Λ))."""
    x, fit = mixture_fit("gmm", mean_field=True)
    q = fit.posterior
    weights = q["pi"]["concentration"] / q["pi"]["concentration"].sum()
    new = np.array([[0.0, 0.0], [6.0, 6.0], [3.0, 0.0], [6.0, -5.0]])
    out = fit.predict({"x": new}, samples=4000, seed=1)
    assert out["method"].startswith("monte carlo") and out["samples"] == 4000
    assert "4000 draws" in out["method"]
    rng = np.random.default_rng(123)
    draws = 4000
    density = np.zeros(len(new))
    for k in range(3):
        lams = stats.wishart(df=q["Lambda"]["df"][k], scale=q["Lambda"]["scale"][k]).rvs(
            size=draws, random_state=rng)
        covs = np.linalg.inv(lams) + q["mu"]["cov"][k]
        dens = np.mean([stats.multivariate_normal(q["mu"]["mean"][k], c).pdf(new)
                        for c in covs], axis=0)
        density += weights[k] * dens
    np.testing.assert_allclose(out["log_density"], np.log(density), atol=0.02)
    # the same seed gives the same estimate
    np.testing.assert_array_equal(fit.predict({"x": new}, samples=4000, seed=1)["log_density"],
                                  out["log_density"])


def test_poisson_mixture_density_includes_the_base_measure():
    rng = np.random.default_rng(0)
    c = np.concatenate([rng.poisson(2.0, 60), rng.poisson(15.0, 60)])
    fit = quiet_fit(model("poisson_mix"), {"c": c, "K": 2}, seed=0, max_iter=300)
    new = np.array([0, 3, 14, 30])
    out = fit.predict({"c": new}, samples=3000, seed=0)
    q = fit.posterior
    weights = q["pi"]["concentration"] / q["pi"]["concentration"].sum()
    # Gamma–Poisson: the predictive of each component is negative binomial
    nb = np.stack([stats.nbinom.logpmf(new, q["rate"]["shape"][k],
                                       q["rate"]["rate"][k] / (1 + q["rate"]["rate"][k]))
                   for k in range(2)], axis=1)
    np.testing.assert_allclose(out["log_density"], logsumexp(nb + np.log(weights), axis=1),
                               atol=0.03)


# ------------------------------------------------------------------ errors
def test_local_without_local_latents_says_so():
    (X, y), _ = reg_split()
    with pytest.raises(VmpError, match="no local latents"):
        quiet_fit(model("linreg"), {"X": X, "y": y}).local({"X": X, "y": y})


def test_new_rows_must_match_the_global_dims():
    x, fit = mixture_fit("gmm_em")
    with pytest.raises(VmpDataError, match="dim D"):
        fit.local({"x": np.zeros((4, 3))})


# --------------------------------------------------------------------- CLI
def test_cli_predict(tmp_path, capsys):
    (X, y), (Xn, yn) = reg_split()
    np.savez(tmp_path / "train.npz", X=X, y=y)
    np.savez(tmp_path / "new.npz", X=Xn, y=yn)
    out_file = tmp_path / "pred.npz"
    code = main(["predict", str(MODELS / "linreg.vmp"), "--data", str(tmp_path / "train.npz"),
                 "--new", str(tmp_path / "new.npz"), "--out", str(out_file)])
    text = capsys.readouterr().out
    assert code == 0 and "log predictive density" in text
    fit = quiet_fit(model("linreg"), {"X": X, "y": y}, seed=0)
    saved = np.load(out_file)
    np.testing.assert_allclose(saved["log_density"], fit.score({"X": Xn, "y": yn}), rtol=1e-10)

    xm, _, _ = mixture_data(seed=0, n_per=30)
    np.savez(tmp_path / "mix.npz", x=xm)
    np.savez(tmp_path / "mixnew.npz", x=xm[:5])
    code = main(["predict", str(MODELS / "gmm.vmp"), "--data", str(tmp_path / "mix.npz"),
                 "--new", str(tmp_path / "mixnew.npz"), "--set", "K=3", "--point", "mu,Lambda",
                 "--out", str(out_file)])
    text = capsys.readouterr().out
    assert code == 0 and "exact" in text
    assert np.load(out_file)["z.probs"].shape == (5, 3)
    code = main(["predict", str(MODELS / "normal_gamma.vmp"), "--data",
                 str(tmp_path / "mix.npz"), "--new", str(tmp_path / "mixnew.npz")])
    assert code == 2

"""Fit.summary against scipy.stats marginals of q; Fit.sample's moments against q."""
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from eco_cases import blr_fit, example, faithful, gmm_fit, quiet_fit

from vmpdsl.posterior import SummaryTable, format_table, summary_text


def test_summary_quantiles_are_the_marginals_of_q():
    fit = gmm_fit()
    table = fit.summary()
    assert isinstance(table, pd.DataFrame)
    alpha = fit.posterior["pi"]["concentration"]
    for k in range(3):  # Dirichlet marginal: Beta(α_k, Σα − α_k)
        beta = stats.beta(alpha[k], alpha.sum() - alpha[k])
        row = table.loc[f"pi[{k}]"]
        np.testing.assert_allclose([row["mean"], row["sd"], row["2.5%"], row["97.5%"]],
                                   [beta.mean(), beta.std(), beta.ppf(0.025), beta.ppf(0.975)],
                                   rtol=1e-12)
    # mu's Gaussian marginal: under q(mu) q(Lambda) (the default joint block's is below)
    factorized = quiet_fit(example("gmm"), {"x": faithful(), "K": 3}, seed=0, mean_field=True)
    q, table_mf = factorized.posterior["mu"], factorized.summary()
    for k in range(3):
        for d in range(2):
            norm = stats.norm(q["mean"][k, d], np.sqrt(q["cov"][k, d, d]))
            row = table_mf.loc[f"mu[{k}, {d}]"]
            np.testing.assert_allclose([row["sd"], row["97.5%"]], [norm.std(), norm.ppf(0.975)],
                                       rtol=1e-12)


def test_joint_block_summary_is_its_student_t_marginal():
    """The default gmm's q(mu[k], Lambda[k]) is Normal–Wishart: mu's marginal is a
    Student-t, checked against mu | Lambda ~ N(m, (beta Lambda)⁻¹) with Lambda
    drawn by scipy.stats.wishart (an independent sampler)."""
    fit = gmm_fit()
    table, q = fit.summary("mu"), fit.posterior["mu"]
    rng = np.random.default_rng(3)
    for k in range(3):
        lams = stats.wishart(q["df"][k], q["scale"][k]).rvs(20000, random_state=rng)
        covs = np.linalg.inv(lams) / q["beta"][k]
        draws = q["mean"][k] + np.einsum("nij,nj->ni", np.linalg.cholesky(covs),
                                         rng.standard_normal((20000, 2)))
        for d in range(2):
            row = table.loc[f"mu[{k}, {d}]"]
            sd = draws[:, d].std()
            np.testing.assert_allclose(row["mean"], draws[:, d].mean(), atol=4 * sd / 141)
            np.testing.assert_allclose([row["2.5%"], row["97.5%"]],
                                       np.quantile(draws[:, d], [0.025, 0.975]), atol=0.1 * sd)


def test_wishart_elements_match_scipy_draws():
    """Diagonal quantiles are exact (V_ii χ²_ν), off-diagonal ones from draws:
    both against draws of scipy.stats.wishart (an independent sampler)."""
    fit = gmm_fit()
    table = fit.summary("Lambda", draws=20000)
    q = fit.posterior["Lambda"]
    k = int(np.argmax(q["df"]))
    ref = stats.wishart(q["df"][k], q["scale"][k]).rvs(20000, random_state=1)
    for i, j in ((0, 0), (0, 1), (1, 1)):
        row = table.loc[f"Lambda[{k}, {i}, {j}]"]
        lo, hi = np.quantile(ref[:, i, j], [0.025, 0.975])
        spread = ref[:, i, j].std()
        assert abs(row["mean"] - q["df"][k] * q["scale"][k, i, j]) < 1e-9 * spread + 1e-12
        assert abs(row["2.5%"] - lo) < 0.05 * spread and abs(row["97.5%"] - hi) < 0.05 * spread
    assert "Lambda[0, 1, 0]" not in table.index  # symmetric: upper triangle only


def test_summary_gamma_and_points():
    fit = blr_fit()
    q = fit.posterior["alpha"]
    gamma = stats.gamma(q["shape"], scale=1 / q["rate"])
    row = fit.summary("alpha", prob=0.9).loc["alpha"]
    np.testing.assert_allclose([row["5%"], row["95%"]], gamma.ppf([0.05, 0.95]), rtol=1e-12)
    em = quiet_fit(example("linreg_em"), {"X": np.eye(3), "y": np.ones(3)}, seed=0)
    w = em.summary("w")
    np.testing.assert_array_equal(w["sd"], 0.0)
    np.testing.assert_array_equal(w["2.5%"], em.posterior["w"]["value"])


@pytest.mark.parametrize("name", ["pi", "Lambda", "mu", "z"])
def test_draws_match_the_moments_of_q(name):
    fit, n = gmm_fit(), 4000
    draws = fit.sample(n, seed=3)[name]
    mean = fit.mean(name) if name != "Lambda" else \
        fit.posterior["Lambda"]["df"][:, None, None] * fit.posterior["Lambda"]["scale"]
    slack = 1e-12
    if name == "z":  # indices: compare the category frequencies with the probabilities
        draws, slack = np.eye(3)[draws], 1.0 / n  # (a single draw of a rare category)
        sd = np.sqrt(mean * (1 - mean))
    else:
        sd = draws.std(0)
    assert draws.shape == (n,) + np.shape(mean)
    assert np.all(np.abs(draws.mean(0) - mean) <= 4 * sd / np.sqrt(n) + slack)


def test_draws_covariance_of_a_gaussian():
    fit = blr_fit()
    draws = fit.sample(20000, seed=0)["w"]
    cov = fit.posterior["w"]["cov"]
    # sd of a sample covariance entry ≈ sqrt((Σ_ii Σ_jj + Σ_ij²) / n)
    tol = 4 * np.sqrt((np.outer(np.diag(cov), np.diag(cov)) + cov ** 2) / 20000)
    assert np.all(np.abs(np.cov(draws.T) - cov) <= tol)


def test_draws_are_seeded_and_checked():
    fit = blr_fit()
    a, b = fit.sample(5, seed=7), fit.sample(5, seed=7)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    with pytest.raises(Exception, match="positive whole number"):
        fit.sample(0)


def test_text_table_without_pandas_and_cli_lines():
    table = SummaryTable(["x[0]"], ("mean", "sd"), [[1e-5, 2.0]])
    assert "1e-05" in str(table)  # never rounded to 0
    text = summary_text(gmm_fit(), ("z",))
    assert "z: per-row Categorical over 272 rows" in text
    assert "z[0, 0]" not in text and "Lambda[1, 0, 1]" in text
    assert format_table([], ("mean",), []).strip() == "mean"


def test_summary_without_pandas_is_a_text_table(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now fails
    table = gmm_fit().summary("pi")
    assert isinstance(table, SummaryTable) and len(table) == 3
    alpha = gmm_fit().posterior["pi"]["concentration"]
    assert table.to_dict()["pi[1]"]["mean"] == pytest.approx(alpha[1] / alpha.sum(), rel=1e-12)
    assert "pi[2]" in str(table)

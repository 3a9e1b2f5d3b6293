"""A joint block's mean entry names its Student-t marginal as the contract
does (``cov``, ``precision``): checked against Monte Carlo draws from the
joint q itself, Λ ~ Wishart(W, ν) (τ ~ Gamma(a, b)), μ | Λ ~ N(m, (βΛ)⁻¹)."""
import numpy as np
import pytest
from scipy import stats

import vmpdsl

from engine_cases import quiet_fit
from test_blocks import NW_SINGLE

DRAWS = 200_000


def within_4_se(cov, products):
    """Each entry of ``cov`` against the mean of its draws' products, 4 standard errors."""
    estimate = products.mean(axis=0)
    se = products.std(axis=0) / np.sqrt(len(products))
    assert np.all(np.abs(cov - estimate) <= 4.0 * se), (cov, estimate, se)


def test_normal_gamma_cov_is_the_monte_carlo_variance_of_the_joint_q():
    x = np.random.default_rng(3).normal(1.0, 2.0, size=9)  # a = 1 + 9/2: 2a = 11 > 4 dof
    post = quiet_fit(vmpdsl.load("models/normal_gamma.vmp"), {"x": x}).posterior["mu"]
    rng = np.random.default_rng(4)
    tau = rng.gamma(post["shape"], 1.0 / post["rate"], size=DRAWS)
    mu = post["mean"] + rng.standard_normal(DRAWS) / np.sqrt(post["beta"] * tau)
    within_4_se(post["cov"], (mu - post["mean"]) ** 2)
    assert post["precision"] == pytest.approx(1.0 / post["cov"], rel=1e-12)


def test_normal_wishart_cov_is_the_monte_carlo_covariance_of_the_joint_q():
    x = np.random.default_rng(5).normal(size=(8, 2)) @ np.array([[1.0, 0.4], [0.0, 0.7]])
    post = quiet_fit(vmpdsl.load(NW_SINGLE), {"x": x}).posterior["mu"]
    assert post["df"] - 2 + 1 > 4  # ν' = ν − D + 1 = 4 + 8 − 1
    lam = stats.wishart(float(post["df"]), post["scale"]).rvs(DRAWS, random_state=6)
    chol = np.linalg.cholesky(np.linalg.inv(post["beta"] * lam))
    z = np.random.default_rng(7).standard_normal((DRAWS, 2, 1))
    dev = (chol @ z)[..., 0]  # μ − m
    within_4_se(post["cov"], dev[:, :, None] * dev[:, None, :])
    np.testing.assert_allclose(post["precision"] @ post["cov"], np.eye(2), atol=1e-12)


@pytest.mark.parametrize("source,data,hypers", [
    ("models/normal_gamma.vmp", {"x": np.array([0.3])}, {"a0": 0.4}),  # a = 0.9: 2a < 2 dof
    (NW_SINGLE, {"x": np.array([[0.3, -0.2]])}, {"nu0": 1.5}),      # ν' = 2.5 − 2 + 1 ≤ 2
])
def test_cov_is_inf_and_precision_zero_where_the_t_has_no_variance(source, data, hypers):
    model = vmpdsl.load(source)
    post = quiet_fit(model, data, hypers=hypers).posterior["mu"]
    assert np.all(np.isinf(post["cov"])) and np.all(post["precision"] == 0)


def test_summary_marginal_says_where_the_t_has_no_moments():
    """An empty component's mean is a t with dof ≤ 2: no sd (inf), and for
    dof ≤ 1 no mean (nan, where scipy says inf); elsewhere scipy's moments."""
    from scipy import stats
    from vmpdsl.families.normal_wishart import student_t_marginal
    dof = np.array([0.5, 1.0, 2.0, 3.0, 7.0])
    loc, scale = np.linspace(-1.0, 1.0, 5), np.full(5, 2.0)
    got = student_t_marginal(dof, loc, scale)
    assert np.all(np.isnan(got["mean"][:2])) and np.allclose(got["mean"][2:], loc[2:])
    assert np.all(np.isinf(got["sd"][:3]))
    assert np.allclose(got["sd"][3:], stats.t(dof[3:], loc[3:], scale[3:]).std())
    assert np.allclose(got["ppf"](0.975), stats.t(dof, loc, scale).ppf(0.975))

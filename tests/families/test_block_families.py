"""The joint block families (Normal–Wishart, Normal–Gamma) against scipy.stats
and Monte Carlo: densities, the coefficient convention, expectations, entropy,
marginals."""
import numpy as np
import pytest
from scipy import stats

from vmpdsl.families import get_family

NW = dict(mean=np.array([[0.5, -1.0], [2.0, 0.3]]), beta=np.array([2.0, 7.5]),
          df=np.array([4.5, 9.0]), scale=np.array([[[0.6, 0.1], [0.1, 0.3]],
                                                   [[0.2, -0.05], [-0.05, 0.4]]]))
NG = dict(mean=np.array([0.5, -2.0]), beta=np.array([3.0, 0.4]), shape=np.array([2.5, 6.0]),
          rate=np.array([1.5, 0.7]))
CASES = [("NormalWishart", NW), ("NormalGamma", NG)]
IDS = [name for name, _ in CASES]


def scipy_log_density(name, params, value, k):
    """log N(μ | m, (βΛ)⁻¹) + log W(Λ | W, ν) (or Gamma(τ | a, b)) of row k, by scipy."""
    mu, lam = value["mean"][k], value["precision"][k]
    if name == "NormalWishart":
        prec = params["beta"][k] * lam
        return (stats.multivariate_normal(params["mean"][k], np.linalg.inv(prec)).logpdf(mu)
                + stats.wishart(params["df"][k], params["scale"][k]).logpdf(lam))
    sd = 1 / np.sqrt(params["beta"][k] * lam)
    return (stats.norm(params["mean"][k], sd).logpdf(mu)
            + stats.gamma(params["shape"][k], scale=1 / params["rate"][k]).logpdf(lam))


def draws(name, params, n, seed=0):
    """n joint draws of each row: {"mean": (n, rows, ...), "precision": ...}."""
    family, rng = get_family(name), np.random.default_rng(seed)
    batch = [family.sample(params, rng) for _ in range(n)]
    return {key: np.stack([b[key] for b in batch]) for key in ("mean", "precision")}


@pytest.mark.parametrize("name,params", CASES, ids=IDS)
def test_log_density_is_scipys(name, params):
    value = get_family(name).sample(params, np.random.default_rng(1))
    got = get_family(name).log_density(value, params)
    want = [scipy_log_density(name, params, value, k) for k in range(2)]
    np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.parametrize("name,params", CASES, ids=IDS)
def test_coefficients_are_the_log_density_up_to_a_constant(name, params):
    """log q(x) − log q(y) = Σ_s <C_s, u_s(x) − u_s(y)>: the statistics xLx, Lx,
    L, logdet and their coefficients are the density's exponential-family form."""
    family = get_family(name)
    coeffs = family.coeffs_from_params(params)
    x, y = (family.sample(params, np.random.default_rng(s)) for s in (2, 3))
    ux, uy = family.point_expectations(x), family.point_expectations(y)
    inner = sum(np.sum((coeffs[s] * (ux[s] - uy[s])).reshape(2, -1), axis=1) for s in coeffs)
    diff = family.log_density(x, params) - family.log_density(y, params)
    np.testing.assert_allclose(inner, diff, rtol=1e-10)


@pytest.mark.parametrize("name,params", CASES, ids=IDS)
def test_params_and_coefficients_round_trip(name, params):
    family = get_family(name)
    back = family.params_from_coeffs(family.coeffs_from_params(params))
    for key, value in params.items():
        np.testing.assert_allclose(back[key], value, rtol=1e-12)


@pytest.mark.parametrize("name,params", CASES, ids=IDS)
def test_expectations_entropy_and_marginals_by_monte_carlo(name, params):
    family, n = get_family(name), 4000
    sample = draws(name, params, n)
    u = family.point_expectations(sample)
    expect = family.expectations(params)
    for stat in family.stats:
        mc, se = u[stat].mean(0), u[stat].std(0) / np.sqrt(n)
        assert np.all(np.abs(mc - expect[stat]) < 5 * se + 1e-12), stat
    logq = np.array([[scipy_log_density(name, params, {k: v[i] for k, v in sample.items()}, k)
                      for k in range(2)] for i in range(500)])
    entropy = family.entropy(params)
    assert np.all(np.abs(-logq.mean(0) - entropy) < 5 * logq.std(0) / np.sqrt(500))
    (q_mu, e_mu), (q_prec, e_prec) = family.marginals(params)
    np.testing.assert_allclose(e_mu["x"], params["mean"])
    second = np.einsum("n...i,n...j->...ij", sample["mean"], sample["mean"]) / n \
        if name == "NormalWishart" else (sample["mean"] ** 2).mean(0)
    np.testing.assert_allclose(e_mu["xx"], second, rtol=0.1, atol=0.05)
    np.testing.assert_allclose(e_prec["x"], sample["precision"].mean(0), rtol=0.06, atol=0.02)

"""Coefficients ↔ parameters: round trips, consistency with the density, failures."""
import re

import numpy as np
import pytest
from scipy.special import logsumexp

from family_cases import HAND_COEFFS, LATENT_CASES, RANK, STATS, ids, scipy_draws, spd
from vmpdsl.families import get_family


@pytest.mark.parametrize("case", LATENT_CASES, ids=ids(LATENT_CASES))
def test_params_from_hand_coeffs_round_trip(case):
    family = get_family(case.family)
    coeffs = HAND_COEFFS[case.family](case.params)
    params = family.params_from_coeffs(coeffs)
    assert tuple(params) == family.param_names
    for name, value in params.items():
        np.testing.assert_allclose(value, case.params[name], rtol=1e-9, atol=1e-12, err_msg=name)
    for name, value in family.coeffs_from_params(case.params).items():
        np.testing.assert_allclose(value, coeffs[name], rtol=1e-9, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("case", LATENT_CASES, ids=ids(LATENT_CASES))
def test_coefficients_and_log_density_agree_up_to_a_constant(case):
    # Σ_s <C_s, u_s(x)> − log p(x) must not depend on x.
    family = get_family(case.family)
    coeffs = HAND_COEFFS[case.family](case.params)
    for i, index in enumerate(np.ndindex(case.batch)):
        values, _ = scipy_draws(case, index, 5, seed=30 + i)
        element = case.element(index)
        stats = STATS[case.family](values, element)
        linear = sum(np.sum(np.asarray(coeffs[s])[index] * stats[s],
                            axis=tuple(range(1, 1 + RANK[case.family][s])))
                     for s in stats)
        gap = linear - family.log_density(values, element)
        np.testing.assert_allclose(gap, gap[0], rtol=0, atol=1e-8 * (1 + abs(gap[0])))


def test_batched_mvnormal_coefficients_give_batched_params():
    # A plate of K Gaussians over D: C_x (K, D), C_xx (K, D, D), asymmetric C_xx allowed.
    rng = np.random.default_rng(5)
    precision = spd(3, 6, (4,))
    mean = rng.normal(size=(4, 3))
    skew = rng.normal(size=(4, 3, 3))
    skew = skew - np.swapaxes(skew, -1, -2)
    coeffs = {"x": np.einsum("kij,kj->ki", precision, mean), "xx": -precision / 2 + skew}
    params = get_family("MvNormal").params_from_coeffs(coeffs)
    assert params["cov"].shape == (4, 3, 3)
    np.testing.assert_allclose(params["mean"], mean, rtol=1e-10)
    np.testing.assert_allclose(params["cov"], np.linalg.inv(precision), rtol=1e-10, atol=1e-14)


def test_shared_precision_broadcasts_over_the_plate():
    params = get_family("MvNormal").params_from_coeffs(
        {"x": np.ones((5, 2)), "xx": -0.5 * np.eye(2)})
    assert params["mean"].shape == (5, 2) and params["cov"].shape == (5, 2, 2)


SOFTMAX_CASES = [
    ("two-large-negative", [-1e5, -1e5 + 1], [1 / (1 + np.e), np.e / (1 + np.e)]),
    ("large-positive", [1e5, 1e5 + 1, 1e5], [1 / (2 + np.e), np.e / (2 + np.e), 1 / (2 + np.e)]),
    ("one-minus-inf", [-np.inf, 0.0], [0.0, 1.0]),
    ("batched-rows", [[-1e5, -1e5], [0.0, np.log(3)]], [[0.5, 0.5], [0.25, 0.75]]),
]


@pytest.mark.parametrize("coeffs, expected", [c[1:] for c in SOFTMAX_CASES],
                         ids=[c[0] for c in SOFTMAX_CASES])
def test_categorical_softmax_is_stable(coeffs, expected):
    probs = get_family("Categorical").params_from_coeffs({"onehot": np.array(coeffs)})["probs"]
    np.testing.assert_allclose(probs, expected, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("coeffs", [c[1] for c in SOFTMAX_CASES] + [
    np.random.default_rng(0).normal(scale=30.0, size=(50, 7))], ids=[c[0] for c in SOFTMAX_CASES] + ["random"])
def test_categorical_bound_share_is_inner_product_plus_entropy(coeffs):
    """The ELBO share of a latent just updated: <C, p> + H[p] = log Σ e^C per row."""
    family = get_family("Categorical")
    coeffs = {"onehot": np.array(coeffs, dtype=float)}
    params = family.params_from_coeffs(coeffs)
    share = family.bound_share(coeffs, params)
    np.testing.assert_allclose(share, logsumexp(coeffs["onehot"], axis=-1), rtol=1e-12)
    finite = np.isfinite(coeffs["onehot"]).all(axis=-1)
    with np.errstate(invalid="ignore"):  # −inf · 0 in rows the check below leaves out
        direct = np.sum(coeffs["onehot"] * params["probs"], axis=-1) + family.entropy(params)
    np.testing.assert_allclose(share[finite], direct[finite], rtol=1e-10, atol=1e-9)


INVALID_COEFFS = [
    ("normal-negative-precision", "Normal", {"x": 0.0, "xx": 0.5}, "Normal precision"),
    ("normal-nan", "Normal", {"x": 0.0, "xx": np.nan}, "Normal precision"),
    ("mvnormal-indefinite", "MvNormal", {"x": np.zeros(2), "xx": np.diag([-1.0, 1.0])},
     "MvNormal precision"),
    ("gamma-shape", "Gamma", {"x": -1.0, "log": -1.5}, "Gamma shape"),
    ("gamma-rate-in-batch", "Gamma", {"x": np.array([-1.0, 2.0]), "log": 1.0}, "index (1,)"),
    ("wishart-df", "Wishart", {"x": -0.5 * np.eye(3), "logdet": -1.6}, "Wishart df"),
    ("wishart-indefinite", "Wishart", {"x": 0.5 * np.eye(2), "logdet": 1.0}, "Wishart"),
    ("dirichlet", "Dirichlet", {"log": np.array([0.0, -1.0])}, "Dirichlet concentration"),
    ("categorical-all-minus-inf", "Categorical", {"onehot": np.full(3, -np.inf)}, "Categorical"),
    ("beta-b", "Beta", {"log": 1.0, "log1m": -2.0}, "Beta b"),
    ("bernoulli-nan", "Bernoulli", {"x": np.nan}, "Bernoulli"),
]


@pytest.mark.parametrize("family, coeffs, fragment", [c[1:] for c in INVALID_COEFFS],
                         ids=[c[0] for c in INVALID_COEFFS])
def test_invalid_coefficients_raise_floating_point_error(family, coeffs, fragment):
    with np.errstate(invalid="ignore"), pytest.raises(FloatingPointError, match=re.escape(fragment)):
        get_family(family).params_from_coeffs(coeffs)

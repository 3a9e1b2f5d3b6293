"""An update factors its matrix once: params_from_coeffs notes the
log-determinant (prelude's remember) and the expectations and entropy
read it.  Oracles: scipy's entropies, and the same functions on a copy of the
parameters (new arrays, so nothing noted: the log-determinant from scratch)."""
import gc

import numpy as np
import pytest
from scipy import stats

from vmpdsl.families.registry import get_family
from vmpdsl.runtime import prelude
from vmpdsl.runtime.prelude import remembered

from family_cases import spd


def fresh(params):
    return {k: np.array(v) for k, v in params.items()}


def mvnormal_coeffs(mean, precision):
    return {"x": (precision @ mean[..., None])[..., 0], "xx": -0.5 * precision}


@pytest.mark.parametrize("batch, shared", [((), False), ((3,), False), ((5,), True)])
def test_mvnormal_entropy_from_the_update_factor_is_scipys(batch, shared):
    family = get_family("MvNormal")
    mean = np.random.default_rng(1).normal(size=batch + (4,))
    precision = spd(4, 2) if shared else spd(4, 2, batch)
    coeffs = mvnormal_coeffs(mean, np.broadcast_to(precision, batch + (4, 4)))
    if shared:  # rows sharing one precision, as the emitted updates give it
        coeffs["xx"] = np.broadcast_to(-0.5 * precision, batch + (4, 4))
    params = family.params_from_coeffs(coeffs)
    assert remembered(params["precision"]) is not None  # the noted factor is read
    cached = family.entropy(params)
    scratch = family.entropy(fresh(params))
    np.testing.assert_allclose(cached, scratch, rtol=1e-13)
    rows = np.broadcast_to(precision, batch + (4, 4)).reshape(-1, 4, 4)
    want = [stats.multivariate_normal(np.zeros(4), np.linalg.inv(p)).entropy() for p in rows]
    np.testing.assert_allclose(np.ravel(cached), want, rtol=1e-12)


def test_wishart_expectations_and_entropy_from_the_update_factor_are_scipys():
    family = get_family("Wishart")
    df, scale = np.array([6.0, 9.5]), spd(3, 4, (2,)) / 10
    coeffs = {"x": -0.5 * np.linalg.inv(scale), "logdet": 0.5 * (df - 4.0)}
    params = family.params_from_coeffs(coeffs)
    assert remembered(params["scale"]) is not None
    np.testing.assert_allclose(family.entropy(params), family.entropy(fresh(params)), rtol=1e-13)
    want = [stats.wishart(d, s).entropy() for d, s in zip(df, scale)]
    np.testing.assert_allclose(family.entropy(params), want, rtol=1e-12)
    expected = family.expectations(params)["logdet"]
    np.testing.assert_allclose(expected, family.expectations(fresh(params))["logdet"], rtol=1e-13)


def test_normal_wishart_entropy_from_the_update_factor_equals_from_scratch():
    family = get_family("NormalWishart")
    beta, df, mean = np.array([2.0, 0.5]), np.array([5.0, 7.0]), np.array([[1.0, -2.0], [0.5, 0.0]])
    scale = spd(2, 6, (2,)) / 5
    params = {"mean": mean, "beta": beta, "df": df, "scale": scale}
    coeffs = family.coeffs_from_params(params)
    found = family.params_from_coeffs(coeffs)
    assert remembered(found["scale"]) is not None
    np.testing.assert_allclose(family.entropy(found), family.entropy(fresh(found)), rtol=1e-12)
    np.testing.assert_allclose(family.entropy(found), family.entropy(params), rtol=1e-10)


def test_a_noted_log_determinant_goes_with_its_array():
    params = get_family("MvNormal").params_from_coeffs(mvnormal_coeffs(np.ones(3), spd(3, 8)))
    key = id(params["precision"])
    assert key in prelude._REMEMBERED
    del params
    gc.collect()
    assert key not in prelude._REMEMBERED
    assert remembered(np.eye(3)) is None  # an array nothing noted
